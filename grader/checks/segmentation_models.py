"""Lab 1 checks, part 2: the encoder, the decoder and the whole model.

Block checks build the student's block on the drawn input shape: the shape
check runs it and reads the shape of what it returns (and that it depends
on its input); the output check copies the reference's weights into it and
compares outputs with the reference's (recorded on the fixed draw, or
computed from solutions/ on the instructor's secret one). Structure
(pooling layers, activations) is read only to explain a failure.
"""

import dataclasses

import numpy as np

from cvlab_ch9.grader.checks.segmentation_hints import (
    build_error_hint,
    build_or_explain,
    decoder_hint,
    encoder_hint,
    model_structure_hint,
)
from cvlab_ch9.grader.checks.segmentation_trimap import LAB
from cvlab_ch9.grader.core import blame_callees, check
from cvlab_ch9.grader.draw import distinct, integers, uniform
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.modelfacts import assert_parameter_count, default_model_expectations
from cvlab_ch9.grader.modeltools import (
    assert_close,
    assert_input_matters,
    copy_weights,
    effective_final_activation,
    is_model,
    layers_of,
    output_of,
    set_drawn_weights,
    type_name,
)

# -- the blocks ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BlockCase:
    """A drawn block input: ``input_shape`` (h, w, c), ``filters`` per stage and two float32 batches."""

    input_shape: tuple
    filters: tuple
    batch: np.ndarray
    other: np.ndarray

    @property
    def factor(self):
        return 2 ** len(self.filters)


def block_case(draw, stream, divisible):
    """Two or three stages of 2..8 filters; sides drawn (h != w likely), multiples of 2**stages if ``divisible``."""
    shapes, values = draw.shape_rng(LAB, stream), draw.rng(LAB, stream)
    stages = integers(shapes, 2, 3)
    unit = 2**stages if divisible else 1
    shape = (unit * integers(shapes, 2, 5), unit * integers(shapes, 2, 5), integers(shapes, 1, 4))
    filters = tuple(integers(shapes, 2, 8, size=stages))
    batch = (integers(shapes, 1, 3),) + shape
    return BlockCase(shape, filters, uniform(values, batch), uniform(values, batch))


def encoder_case(draw):
    return block_case(draw, "encoder", divisible=True)


def decoder_case(draw):
    return block_case(draw, "decoder", divisible=False)


#: Share of the reference block's outputs that must be positive (relu active) for its drawn weights to be kept.
LIVELY_SHARE = 0.2


def _reference_block(ref, name, case, rng, tries=20):
    """The reference block's drawn weights and outputs on ``case.batch``.

    Weights are drawn again (from the same stream) while relu silences most
    outputs: with few filters a draw can leave every last unit at 0, and
    then any block of the right shape (strides on the wrong convolution
    included) would equal it.
    """
    model = ref.build_block(name, case.input_shape, filters=case.filters)
    for _ in range(tries):
        set_drawn_weights(model, rng)
        output = model.predict(case.batch)
        if np.mean(output > 0) >= LIVELY_SHARE:
            break
    return {"weights": model.get_weights(), "output": output}


def assert_relu_everywhere(model, part):
    for layer in layers_of(model, "Conv2D", "Conv2DTranspose"):
        if layer.activation not in ("relu", "linear", None):
            raise AssertionError(f"every convolution of the {part} uses activation='relu'; {layer.name} uses {layer.activation}.")


def _block_shape_check(student, name, case, want, what, explain, rng, layers_hint):
    """The block's output on the drawn batch has shape ``want`` and depends on its input (weights from ``rng``)."""
    model = build_or_explain(student, name, case.input_shape, case.filters, layers_hint)
    got = output_of(model, case.batch, what).shape
    if got != want:
        raise AssertionError(explain(model, got))
    assert_input_matters(model, case.batch, case.other, what, rng)


def _block_outputs_check(student, expected, name, case, part, layers_text, explain, layers_hint):
    """With the reference's weights copied in, the block's outputs on the drawn batch are the reference's.

    ``explain(model)`` words a failure from the block's layers ('' when they say nothing).
    """
    model = build_or_explain(student, name, case.input_shape, case.filters, layers_hint)
    ref = expected[part]
    try:
        copy_weights(ref["weights"], model, f"the {part}'s layers differ from {layers_text}")
        assert_close(model.predict(case.batch), ref["output"], f"{part} output")
    except AssertionError:
        hint = explain(model)
        if hint:
            raise AssertionError(hint) from None
        assert_relu_everywhere(model, part)
        raise


# -- strided_downsampling ------------------------------------------------------


@expectation(LAB, name="encoder")
def encoder_expectation(ref, draw):
    return _reference_block(ref, "strided_downsampling", encoder_case(draw), draw.rng(LAB, "encoder", "weights"))


@check(LAB, "strided_downsampling", points=2)
def check_encoder_shapes(student, expected):
    """halves the resolution per stage and ends with filters[-1] channels (drawn sizes and filters)"""
    case = encoder_case(expected.draw)
    n, (h, w, _) = len(case.batch), case.input_shape
    want = (n, h // case.factor, w // case.factor, case.filters[-1])

    def explain(model, got):
        return encoder_hint(model, case.filters, got) or (
            f"with input {case.input_shape} and filters={case.filters} the encoder must "
            f"output {want} for a batch of {n}, got {got}. Each stage is Conv2D(f, 3, strides=2, ...) then "
            "Conv2D(f, 3, ...), both padding='same'.")

    _block_shape_check(student, "strided_downsampling", case, want, "the encoder", explain,
                       expected.draw.rng(LAB, "encoder", "lively"), encoder_hint)


@check(LAB, "strided_downsampling", points=2)
def check_encoder_outputs(student, expected):
    """with the reference weights, outputs equal the reference encoder"""
    case = encoder_case(expected.draw)
    _block_outputs_check(student, expected, "strided_downsampling", case, "encoder",
                         "Conv2D(f, 3, strides=2) + Conv2D(f, 3) per stage",
                         lambda model: encoder_hint(model, case.filters), encoder_hint)


# -- conv_transpose_decoder ----------------------------------------------------


@expectation(LAB, name="decoder")
def decoder_expectation(ref, draw):
    return _reference_block(ref, "conv_transpose_decoder", decoder_case(draw), draw.rng(LAB, "decoder", "weights"))


@check(LAB, "conv_transpose_decoder", points=2)
def check_decoder_shapes(student, expected):
    """doubles the resolution per stage and ends with filters[-1] channels (drawn sizes and filters)"""
    case = decoder_case(expected.draw)
    n, (h, w, _) = len(case.batch), case.input_shape
    want = (n, h * case.factor, w * case.factor, case.filters[-1])

    def explain(model, got):
        hint = decoder_hint(model, case.filters, got)
        if hint:
            return hint
        if tuple(got[1:3]) == (h, w):
            return ("the decoder output has the input's resolution: missing strides=2 in the decoder. The second "
                    "Conv2DTranspose of each stage must use strides=2 to double the resolution.")
        return (f"with input {case.input_shape} and filters={case.filters} the decoder must output {want} for a batch "
                f"of {n}, got {got}. Each stage is Conv2DTranspose(f, 3, ...) then Conv2DTranspose(f, 3, strides=2, "
                "...), both padding='same'.")

    _block_shape_check(student, "conv_transpose_decoder", case, want, "the decoder", explain,
                       expected.draw.rng(LAB, "decoder", "lively"), decoder_hint)


@check(LAB, "conv_transpose_decoder", points=2)
def check_decoder_outputs(student, expected):
    """with the reference weights, outputs equal the reference decoder"""
    case = decoder_case(expected.draw)
    _block_outputs_check(student, expected, "conv_transpose_decoder", case, "decoder",
                         "Conv2DTranspose(f, 3) + Conv2DTranspose(f, 3, strides=2) per stage",
                         lambda model: decoder_hint(model, case.filters), decoder_hint)


# -- build_segmentation_model --------------------------------------------------

DEFAULT_PARAMS = 2_880_643


def build(impl, **kwargs):
    try:
        model = impl.function("build_segmentation_model")(**kwargs)
    except ValueError as exc:
        hint = build_error_hint(str(exc))
        if hint:
            raise AssertionError(hint) from None
        raise
    if not is_model(model):
        raise AssertionError(f"build_segmentation_model() must return a keras.Model, got {type_name(model)}.")
    return model


@dataclasses.dataclass(frozen=True)
class ModelCase:
    """Drawn keyword arguments of build_segmentation_model and two float32 batches of pixels (0..255)."""

    kwargs: dict
    batch: np.ndarray
    other: np.ndarray


def model_case(draw, stream, square=True, classes=(2, 3, 4, 5)):
    """img_size a multiple of 2**stages (square, or with h != w), a number of ``classes``, one or two stages of 2..6 filters."""
    shapes, values = draw.shape_rng(LAB, stream), draw.rng(LAB, stream)
    stages = integers(shapes, 1, 2)
    sides = distinct(shapes, 3, 6, 2)
    img_size = tuple(2**stages * s for s in ((sides[0], sides[0]) if square else sides))
    kwargs = {"img_size": img_size, "num_classes": int(shapes.choice(classes)),
              "filters": tuple(integers(shapes, 2, 6, size=stages))}
    shape = (integers(shapes, 1, 2),) + img_size + (3,)
    return ModelCase(kwargs, uniform(values, shape, 0.0, 255.0), uniform(values, shape, 0.0, 255.0))


def default_batch(draw):
    """One drawn 200 x 200 image of pixels in 0..255 (the default model's input)."""
    return uniform(draw.rng(LAB, "default_model", "batch"), (1, 200, 200, 3), 0.0, 255.0)


DEFAULT_STREAM = default_model_expectations(LAB, build, default_batch)


def _count_hint(summary):
    return (f"the default model has {summary.params:,} parameters; the chapter's has {DEFAULT_PARAMS:,}. "
            "Check img_size=(200, 200), filters=(64, 128, 256) and the final Conv2D(num_classes, 3).")


def callee_checks(student, expected):
    """The student's blocks, each with its own checks (run only to name the cause of a model's failure)."""
    return [
        ("strided_downsampling", [lambda: check_encoder_shapes(student, expected),
                                  lambda: check_encoder_outputs(student, expected)]),
        ("conv_transpose_decoder", [lambda: check_decoder_shapes(student, expected),
                                    lambda: check_decoder_outputs(student, expected)]),
    ]


def _explained(model, kwargs, failure):
    """Raise ``failure``, or the model's own mistake instead when its layers show one."""
    hint = model_structure_hint(model, kwargs)
    if hint:
        raise AssertionError(hint) from None
    raise failure


@check(LAB, "build_segmentation_model", points=2)
def check_default_parameter_count(student, expected):
    """the default model has the chapter's 2,880,643 parameters"""
    with blame_callees(callee_checks(student, expected)):
        model = build(student)
        try:
            assert_parameter_count(model, expected, "default_model", DEFAULT_STREAM,
                                   default_batch(expected.draw), _count_hint)
        except AssertionError as exc:
            _explained(model, {}, exc)


def small_model_case(draw):
    return model_case(draw, "small_model")


@expectation(LAB, name="small_model")
def small_model_expectation(ref, draw):
    case = small_model_case(draw)
    model = build(ref, **case.kwargs)
    set_drawn_weights(model, draw.rng(LAB, "small_model", "weights"))
    return {"weights": model.get_weights(), "output": model.predict(case.batch)}


def _model_output_hint(model, case, got, want):
    """Why the model's outputs differ (behaviour first: what the probabilities do; then structure)."""
    (h, w), classes = case.kwargs["img_size"], case.kwargs["num_classes"]
    if got.shape != want.shape:
        return f"for img_size={(h, w)} and num_classes={classes} the model must output {want.shape}, got {got.shape}."
    if not np.allclose(got.sum(axis=-1), 1.0, atol=1e-3) or got.min() < -1e-6:
        final = effective_final_activation(model)
        return (f"wrong final activation ({final}): each pixel's values must be probabilities that sum to 1. End with "
                "Conv2D(num_classes, 3, activation='softmax', padding='same').")
    rescaled = model.predict(case.batch / 255.0)
    if rescaled.shape == want.shape and np.allclose(rescaled, want, atol=1e-4):
        return "add Rescaling(1.0 / 255) right after the Input: the model receives pixels in 0..255."
    if not layers_of(model, "Rescaling"):
        return "add Rescaling(1.0 / 255) right after the Input: the model receives pixels in 0..255."
    diff = float(np.abs(got - want).max())
    return (f"with the chapter's weights your model's outputs differ (max abs difference {diff:.3g}): check "
            "strided_downsampling and conv_transpose_decoder and the order Rescaling -> encoder -> decoder -> Conv2D.")


@check(LAB, "build_segmentation_model", points=3)
def check_model_outputs(student, expected):
    """rescales, encodes, decodes and ends in a per-pixel softmax (same outputs as the reference)"""
    case = small_model_case(expected.draw)
    with blame_callees(callee_checks(student, expected)):
        model, ref = build(student, **case.kwargs), expected["small_model"]
        try:
            copy_weights(ref["weights"], model,
                         "the model's layers differ from the chapter's (see strided_downsampling and "
                         "conv_transpose_decoder)")
            got, want = output_of(model, case.batch, "the model"), ref["output"]
        except (AssertionError, ValueError) as exc:
            _explained(model, case.kwargs, exc)
        if got.shape != want.shape or not np.allclose(got, want, atol=1e-5, rtol=1e-4):
            raise AssertionError(model_structure_hint(model, case.kwargs) or _model_output_hint(model, case, got, want))


#: Class counts of the shape checks: never 3, so a model that returns its RGB input has the wrong shape.
SHAPE_CHECK_CLASSES = (2, 4, 5, 6)


def assert_model_shape(student, expected, case, rng, hint=""):
    """The model's output for the drawn batch has shape (n, h, w, num_classes) and depends on it (weights from ``rng``)."""
    with blame_callees(callee_checks(student, expected)):
        model = build(student, **case.kwargs)
        (h, w), classes = case.kwargs["img_size"], case.kwargs["num_classes"]
        want = (len(case.batch), h, w, classes)
        try:
            got = output_of(model, case.batch, "the model").shape
        except ValueError as exc:
            _explained(model, case.kwargs, exc)
        if got != want:
            raise AssertionError(model_structure_hint(model, case.kwargs) or (
                f"build_segmentation_model(img_size={(h, w)}, num_classes={classes}, filters="
                f"{case.kwargs['filters']}) must map a batch {case.batch.shape} to {want}, got {got}.{hint}"))
        assert_input_matters(model, case.batch, case.other, "the model", rng)


@check(LAB, "build_segmentation_model", points=1)
def check_num_classes(student, expected):
    """honours img_size, num_classes and filters (output shapes for drawn values)"""
    assert_model_shape(student, expected, model_case(expected.draw, "num_classes", classes=SHAPE_CHECK_CLASSES),
                       expected.draw.rng(LAB, "num_classes", "lively"))

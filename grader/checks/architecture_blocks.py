"""Lab 2 checks, part 1: residual_block and conv_bn_relu, and what the block checks share.

Every input comes from the check's draw: odd input sides (so pooling must
round up like the strided shortcut), channel and filter counts, kernel
sizes. A shape check runs the student's block on the drawn batch and reads
the shape of what it returns; an output check copies the reference's
weights in (layer by layer, so layers created in another order still pair
up), gives BatchNormalization drawn statistics, and compares outputs in
inference mode, and in training mode where BatchNormalization uses batch
statistics. Correct code written differently passes: ``layers.Add()`` or
``keras.ops.add``, separate ``Activation``/``ReLU`` layers, Sequential
pieces. Structure (layer classes, strides, biases) only explains a failure.
"""

import dataclasses
import re

import numpy as np

from cvlab_ch9.grader.checks.architecture_hints import conv_bn_relu_hint, outputs, residual_hint
from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.draw import integers, uniform
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.modeltools import (
    assert_close,
    assert_input_matters,
    copy_weights_by_layer,
    effective_final_activation,
    flat_layers,
    layers_of,
    layers_with_weights,
    output_of,
    set_drawn_weights,
)

LAB = "architecture"
#: Tolerance of the block comparisons (BatchNormalization in float32).
BLOCK_TOL = {"atol": 1e-4, "rtol": 1e-4}


# -- shared helpers ------------------------------------------------------------

_SHAPES_RE = re.compile(r"\(([\d, None]+)\)")


def add_shapes(message):
    """The tensor shapes quoted in a Keras 'incompatible shapes' error, as int tuples (batch dropped)."""
    shapes = []
    for group in _SHAPES_RE.findall(message):
        dims = tuple(int(d) if d.strip().isdigit() else None for d in group.split(",") if d.strip())
        if len(dims) >= 3:
            shapes.append(tuple(d for d in dims if d is not None)[-3:])
    return shapes[:2]


def build_explained(impl, name, input_shape, explain, **kwargs):
    """``impl.build_block(...)``; a build-time shape error (ValueError) becomes ``AssertionError(explain(msg, kwargs))``."""
    try:
        return impl.build_block(name, input_shape, **kwargs)
    except ValueError as exc:
        raise AssertionError(explain(str(exc), kwargs)) from None


@dataclasses.dataclass(frozen=True)
class Case:
    """One drawn call of a block: its keyword arguments and two float32 batches in [-1, 1)."""

    kwargs: dict
    batch: np.ndarray
    other: np.ndarray


def odd_input(rng, channels=(2, 5)):
    """A drawn (h, w, c) input shape with odd sides 5..9."""
    return (2 * integers(rng, 2, 4) + 1, 2 * integers(rng, 2, 4) + 1, integers(rng, *channels))


def drawn_case(values, input_shape, batch_size, **kwargs):
    """A Case of ``kwargs`` with two batches of ``batch_size`` inputs drawn from the value stream ``values``."""
    shape = (batch_size,) + tuple(input_shape)
    return Case(kwargs, uniform(values, shape, -1.0, 1.0), uniform(values, shape, -1.0, 1.0))


def reference_block(ref, name, input_shape, case, rng, training_too=False):
    """What a check needs of the reference's block: its weights per layer and its outputs on ``case.batch``.

    Every weight is drawn from ``rng`` (BatchNormalization with non-trivial
    statistics, see :func:`set_drawn_weights`). Returns ``{"layers":
    layers_with_weights, "output": inference-mode output, "training_output":
    training-mode output (only if ``training_too``)}``.
    """
    model = ref.build_block(name, input_shape, **case.kwargs)
    set_drawn_weights(model, rng)
    out = {"layers": layers_with_weights(model), "output": model.predict(case.batch)}
    if training_too:
        out["training_output"] = model.predict(case.batch, training=True)
    return out


def compare_block(model, ref, what, batch, modes=("inference", "training")):
    """Outputs equal the reference in inference mode (and training mode where recorded)."""
    if "inference" in modes:
        assert_close(model.predict(batch), ref["output"], f"{what} (inference mode)", **BLOCK_TOL)
    if "training" in modes and "training_output" in ref:
        got = model.predict(batch, training=True)
        assert_close(got, ref["training_output"], f"{what} (training mode, batch statistics)", **BLOCK_TOL)


def shape_text(input_shape, batch):
    return f"x of shape {(len(batch),) + tuple(input_shape)}"


# -- residual_block ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ResidualCases:
    input_shape: tuple
    cases: tuple  # identity shortcut, 1x1 projection, strided 1x1 projection (new channels, then the same)


def residual_cases(draw):
    shapes, values = draw.shape_rng(LAB, "residual"), draw.rng(LAB, "residual")
    shape = odd_input(shapes)
    channels = shape[-1]
    other = integers(shapes, 2, 6)
    other += other == channels
    batch_size = integers(shapes, 2, 3)
    pooled = integers(shapes, 2, 6)
    pooled += pooled == channels
    return ResidualCases(shape, (
        drawn_case(values, shape, batch_size, filters=channels, pooling=False),
        drawn_case(values, shape, batch_size, filters=other, pooling=False),
        drawn_case(values, shape, batch_size, filters=pooled, pooling=True),
        # pooling with the input's channels: the shortcut is still projected (strides=2)
        drawn_case(values, shape, batch_size, filters=channels, pooling=True),
    ))


@expectation(LAB, name="residual_blocks")
def residual_blocks_expectation(ref, draw):
    cases = residual_cases(draw)
    rng = draw.rng(LAB, "residual", "weights")
    return [reference_block(ref, "residual_block", cases.input_shape, case, rng) for case in cases.cases]


def _expected_residual_shape(input_shape, batch, filters, pooling):
    h, w = (-(-side // 2) for side in input_shape[:2]) if pooling else input_shape[:2]
    return (len(batch), h, w, filters)


def _explain_residual_error(message, kwargs, input_shape, source=""):
    shapes = add_shapes(message)
    filters, pooling = kwargs["filters"], kwargs["pooling"]
    if len(shapes) == 2 and shapes[0][-1] != shapes[1][-1]:
        projection = "Conv2D(filters, 1, strides=2)" if pooling else "Conv2D(filters, 1)"
        return (
            f"the shortcut has {input_shape[-1]} channels but the main path has {filters}: when the channels differ, "
            f"project the shortcut with residual = {projection}(residual) before adding."
        )
    sides = sorted(s[0] for s in shapes) if len(shapes) == 2 else []
    if pooling and filters == input_shape[-1] and input_shape[0] in sides and "MaxPooling2D" in source:
        return (f"Your block projects the shortcut only when the channels differ; with pooling=True it must be "
                f"downsampled even when the channels already match ({filters}): residual = Conv2D(filters, 1, "
                "strides=2)(residual).")
    if pooling and sides == [input_shape[0] // 2, -(-input_shape[0] // 2)]:
        return "MaxPooling2D must use padding='same' (MaxPooling2D(2, padding='same')) so odd sizes round up like the strided shortcut."
    if pooling and input_shape[0] in sides:
        if "MaxPooling2D" not in source and "max_pool" not in source:
            return "with pooling=True the main path ends with MaxPooling2D(2, padding='same'); pooling is missing."
        return (
            "with pooling=True the shortcut must be downsampled like the main path: "
            "residual = Conv2D(filters, 1, strides=2)(residual) (strides=2 is missing)."
        )
    return f"adding the main path and the shortcut failed ({message.splitlines()[0]}); both must have the same shape."


def _residual(student, input_shape, case):
    source = student.source("residual_block")
    return build_explained(student, "residual_block", input_shape,
                        lambda msg, kw: _explain_residual_error(msg, kw, input_shape, source), **case.kwargs)


@check(LAB, "residual_block", points=2)
def check_residual_shapes(student, expected):
    """output shapes with an identity, a 1x1 and a strided 1x1 shortcut (drawn sizes and filters)"""
    cases = residual_cases(expected.draw)
    lively = expected.draw.rng(LAB, "residual", "lively")
    for case in cases.cases:
        model = _residual(student, cases.input_shape, case)
        want = _expected_residual_shape(cases.input_shape, case.batch, **case.kwargs)
        got = output_of(model, case.batch, "residual_block").shape
        if got == want:
            assert_input_matters(model, case.batch, case.other, "residual_block", lively)
            continue
        hint = residual_hint(model, case.kwargs, cases.input_shape[-1], student.source("residual_block"))
        if hint:
            raise AssertionError(hint)
        if case.kwargs["pooling"] and got[1] == cases.input_shape[0]:
            raise AssertionError(
                "with pooling=True the output must be downsampled: end the main path with "
                "MaxPooling2D(2, padding='same') and use Conv2D(filters, 1, strides=2) on the shortcut."
            )
        raise AssertionError(f"residual_block(x, **{case.kwargs}) with {shape_text(cases.input_shape, case.batch)} "
                             f"must return {want}, got {got}.")


def _residual_structure_hint(model, case, channels):
    """Why the residual block differs from the chapter's, from its layers (or '')."""
    projections = [layer for layer in layers_of(model, "Conv2D") if layer.kernel_size == (1, 1)]
    if case.kwargs["filters"] == channels and not case.kwargs["pooling"] and projections:
        return ("when the channels already match and pooling=False the shortcut is x itself: "
                "no Conv2D(filters, 1) projection in that case.")
    if case.kwargs["pooling"] and projections and projections[0].strides != (2, 2):
        return "with pooling=True the shortcut projection is Conv2D(filters, 1, strides=2)."
    convs = [layer for layer in layers_of(model, "Conv2D") if layer.kernel_size == (3, 3)]
    if len(convs) != 2:
        return f"the main path has two 3x3 Conv2D layers; found {len(convs)}."
    if any(layer.activation not in ("relu", "linear") for layer in convs):
        return "both 3x3 convolutions use activation='relu'."
    return ""


@check(LAB, "residual_block", points=3)
def check_residual_outputs(student, expected):
    """with the reference weights, outputs equal the chapter's residual block"""
    cases = residual_cases(expected.draw)
    for case, ref in zip(cases.cases, expected["residual_blocks"]):
        model = _residual(student, cases.input_shape, case)
        try:
            copy_weights_by_layer(
                ref["layers"], model,
                f"for {case.kwargs} the layers differ from the chapter's: two Conv2D(filters, 3, activation='relu', "
                "padding='same') and, when needed, a Conv2D(filters, 1) shortcut projection (with bias)",
            )
            compare_block(model, ref, f"residual_block output for {case.kwargs}", case.batch)
        except AssertionError as exc:
            got = outputs(model, case.batch)
            hint = residual_hint(model, case.kwargs, cases.input_shape[-1], student.source("residual_block"), got,
                                 np.asarray(ref["output"])) or _residual_structure_hint(model, case, cases.input_shape[-1])
            raise AssertionError(hint or (
                f"{exc} Check that the block returns the sum of the main path and the shortcut "
                "(layers.add([x, residual])) and that the shortcut starts from the block's input.")) from None


# -- conv_bn_relu --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConvBnReluCases:
    input_shape: tuple
    cases: tuple  # the default kernel_size, and a drawn other one


def conv_bn_relu_cases(draw):
    shapes, values = draw.shape_rng(LAB, "conv_bn_relu"), draw.rng(LAB, "conv_bn_relu")
    shape = (integers(shapes, 4, 8), integers(shapes, 4, 8), integers(shapes, 1, 4))
    filters = integers(shapes, 2, 6)
    batch_size = integers(shapes, 3, 5)
    return ConvBnReluCases(shape, (
        drawn_case(values, shape, batch_size, filters=filters),
        drawn_case(values, shape, batch_size, filters=integers(shapes, 2, 6), kernel_size=int(shapes.choice([1, 5]))),
    ))


def _conv_bn_relu(impl, input_shape, case):
    return build_explained(impl, "conv_bn_relu", input_shape,
                        lambda msg, kw: f"conv_bn_relu() could not be built: {msg.splitlines()[0]}", **case.kwargs)


@expectation(LAB, name="conv_bn_relu_blocks")
def conv_bn_relu_expectation(ref, draw):
    cases = conv_bn_relu_cases(draw)
    rng = draw.rng(LAB, "conv_bn_relu", "weights")
    return [reference_block(ref, "conv_bn_relu", cases.input_shape, case, rng, training_too=True) for case in cases.cases]


def _relu_position(layers):
    """Index of the first layer (LayerInfo) that applies relu, or None."""
    for index, layer in enumerate(layers):
        if layer.class_name == "ReLU" or (layer.class_name in ("Activation", "Conv2D") and layer.activation == "relu"):
            return index
    return None


def _conv_bn_relu_hint(model, got, source):
    """Why the block differs (behaviour: negative outputs; then its layers), or ''."""
    layers = [layer for layer in flat_layers(model) if layer.class_name != "InputLayer"]
    convs, norms = layers_of(model, "Conv2D"), layers_of(model, "BatchNormalization")
    if convs and convs[0].use_bias:
        return ("the convolution before BatchNormalization must have use_bias=False: batch normalization "
                "subtracts the mean, so a bias would be learned for nothing.")
    if len(convs) != 1 or not norms:
        return f"expected one Conv2D and one BatchNormalization, found {len(convs)} Conv2D and {len(norms)} BatchNormalization."
    relu_at, bn_at = _relu_position(layers), layers.index(norms[0])
    if relu_at is not None and relu_at < bn_at:
        return ("BatchNormalization comes after the activation: the chapter normalizes the convolution's output "
                "first, then applies relu (Conv2D(..., use_bias=False) -> BatchNormalization() -> Activation('relu')).")
    if got is not None and got.min() < -1e-6:
        if effective_final_activation(model) != "relu" and "relu" not in source:
            return "end with Activation('relu') after BatchNormalization: your block returns negative values."
        return "the block returns negative values: relu must come last, after BatchNormalization."
    return ""


def _check_conv_bn_relu(student, expected, mode):
    cases = conv_bn_relu_cases(expected.draw)
    for case, ref in zip(cases.cases, expected["conv_bn_relu_blocks"]):
        model = _conv_bn_relu(student, cases.input_shape, case)
        got = None
        try:
            copy_weights_by_layer(
                ref["layers"], model,
                f"with {case.kwargs} the layers differ from Conv2D(filters, kernel_size, padding='same', "
                "use_bias=False) -> BatchNormalization()",
            )
            got = model.predict(case.batch, training=mode == "training")
            compare_block(model, ref, f"conv_bn_relu output ({case.kwargs})", case.batch, modes=(mode,))
        except AssertionError as exc:
            hint = conv_bn_relu_hint(model, case.kwargs, cases.input_shape, got) or _conv_bn_relu_hint(
                model, got, student.source("conv_bn_relu"))
            raise AssertionError(hint or str(exc)) from None


@check(LAB, "conv_bn_relu", points=2)
def check_conv_bn_relu_training(student, expected):
    """Conv2D without bias, then BatchNormalization, then relu (training mode: batch statistics)"""
    _check_conv_bn_relu(student, expected, "training")


@check(LAB, "conv_bn_relu", points=2)
def check_conv_bn_relu_inference(student, expected):
    """same outputs as the reference in inference mode (moving statistics)"""
    _check_conv_bn_relu(student, expected, "inference")

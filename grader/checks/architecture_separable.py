"""Lab 2 checks, part 2: depthwise separable convolutions (separable_conv_params, xception_block).

Parameter counts on drawn sizes (and the docstring's example); the Xception
block on a drawn odd-sized input: its output shape, then its outputs with
the reference's weights copied in, in inference and training mode. Its
layers only explain a failure.
"""

import dataclasses

import numpy as np

from cvlab_ch9.grader.checks.architecture_blocks import (
    LAB,
    add_shapes,
    build_explained,
    compare_block,
    drawn_case,
    odd_input,
    reference_block,
    shape_text,
)
from cvlab_ch9.grader.checks.architecture_hints import (
    one_batchnorm_hint,
    outputs,
    pool_stride_hint,
    separable_hint,
    xception_bias_hint,
    xception_order_hint,
)
from cvlab_ch9.grader.core import check, sentence
from cvlab_ch9.grader.draw import integers
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.modeltools import (
    assert_input_matters,
    copy_weights_by_layer,
    flat_layers,
    layers_of,
    output_of,
    type_name,
)

# -- separable_conv_params -----------------------------------------------------

#: The docstring's example; every other case is drawn.
BOOK_SEPARABLE_CASE = (64, 64, 3)


def separable_cases(draw, stream="separable", count=2):
    """``BOOK_SEPARABLE_CASE`` (first, for the visible check) and ``count`` drawn (in, out, kernel_size)."""
    rng = draw.rng(LAB, stream)
    drawn = [(integers(rng, 1, 128), integers(rng, 1, 128), int(rng.choice([1, 3, 5, 7]))) for _ in range(count)]
    return ([BOOK_SEPARABLE_CASE] if stream == "separable" else []) + drawn


@expectation(LAB)
def separable_params(ref, draw):
    return [ref.call("separable_conv_params", *args) for args in separable_cases(draw)]


def params_hint(got, expected, args):
    """Hint for ``got`` (two ints) where ``expected`` = (regular, separable) bias-free counts of ``args`` (in, out, k)."""
    regular, separable = expected
    out_channels = args[1]
    if tuple(got) == (separable, regular):
        return "the two numbers are swapped: return (regular, separable)."
    if tuple(got) == (regular + out_channels, separable + out_channels):
        return "count weights only: the exercise asks for bias-free parameter counts (no + out_channels)."
    formula = separable_hint(got, expected, args)
    if formula:
        return formula
    if got[0] != regular:
        return f"a regular k x k convolution has k*k*in*out = {regular} weights."
    return (
        f"a depthwise separable convolution has k*k*in (one k x k filter per input channel) + in*out "
        f"(the 1x1 pointwise convolution) = {separable} weights."
    )


def student_params(student, *args):
    """The student's separable_conv_params(*args) as a tuple of two Python ints (hints for other types)."""
    got = student.function("separable_conv_params")(*args)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise AssertionError(f"return a tuple (regular, separable) of two ints; got {got!r}.")
    if not all(isinstance(v, (int, np.integer)) for v in got):
        raise AssertionError(f"return ints, not {[type_name(v) for v in got]}.")
    return tuple(int(v) for v in got)


@check(LAB, "separable_conv_params", points=1)
def check_separable_params(student, expected):
    """(64, 64, 3) -> (36864, 4672) and drawn sizes"""
    for args, want in zip(separable_cases(expected.draw), expected["separable_params"]):
        got, want = student_params(student, *args), tuple(want)
        if got != want:
            raise AssertionError(
                f"{sentence(params_hint(got, want, args))} (separable_conv_params{args} returned {got}, expected {want}.)"
            )


# -- xception_block ------------------------------------------------------------


def xception_case(draw):
    shapes = draw.shape_rng(LAB, "xception_block")
    shape = odd_input(shapes, channels=(2, 6))
    return shape, drawn_case(draw.rng(LAB, "xception_block"), shape, integers(shapes, 2, 4),
                             filters=integers(shapes, 2, 7))


def _explain_xception_error(message, input_shape, source="", filters=None):
    shapes = add_shapes(message)
    if len(shapes) == 2 and shapes[0][-1] != shapes[1][-1]:
        return (
            "the shortcut and the main path have different channel counts: project the shortcut with "
            "Conv2D(filters, 1, strides=2, padding='same', use_bias=False)."
        )
    sides = sorted(s[0] for s in shapes) if len(shapes) == 2 else []
    stride_3 = pool_stride_hint(sides, input_shape[0], source)
    if stride_3:
        return stride_3
    if input_shape[0] in sides and filters == input_shape[-1] and "MaxPooling2D" in source:
        return (f"Your block projects the shortcut only when the channel count changes; it must be downsampled "
                f"even when the channels already match ({filters}): Conv2D(filters, 1, strides=2, padding='same', "
                "use_bias=False).")
    if input_shape[0] in sides:
        if "MaxPooling2D" not in source and "max_pool" not in source:
            return "the main path ends with MaxPooling2D(3, strides=2, padding='same'); pooling is missing."
        return (
            "the shortcut must be downsampled like the main path: "
            "Conv2D(filters, 1, strides=2, padding='same', use_bias=False) (strides=2 is missing)."
        )
    if sides and sides[0] < -(-input_shape[0] // 2):
        return (f"Your MaxPooling2D(3, strides=2) has padding='valid', the default: the main path shrinks to {sides[0]} "
                f"pixels, the shortcut has {-(-input_shape[0] // 2)}; use MaxPooling2D(3, strides=2, padding='same').")
    return f"adding the main path and the shortcut failed ({message.splitlines()[0]}); both must have the same shape."


def _xception(impl, input_shape, case):
    source = impl.source("xception_block")
    return build_explained(impl, "xception_block", input_shape,
                        lambda msg, kw: _explain_xception_error(msg, input_shape, source, kw["filters"]),
                           **case.kwargs)


@expectation(LAB, name="xception_block")
def xception_block_expectation(ref, draw):
    shape, case = xception_case(draw)
    return reference_block(ref, "xception_block", shape, case, draw.rng(LAB, "xception_block", "weights"),
                           training_too=True)


@check(LAB, "xception_block", points=2)
def check_xception_shapes(student, expected):
    """halves the resolution (rounding up) and ends with `filters` channels (drawn sizes and filters)"""
    shape, case = xception_case(expected.draw)
    model = _xception(student, shape, case)
    want = (len(case.batch), -(-shape[0] // 2), -(-shape[1] // 2), case.kwargs["filters"])
    got = output_of(model, case.batch, "xception_block").shape
    if got != want:
        pools = layers_of(model, "MaxPooling2D")
        hint = ""
        if pools and pools[0].strides != (2, 2):
            hint = " The main path ends with MaxPooling2D(3, strides=2, padding='same') (strides=2 halves the size)."
        raise AssertionError(f"with {shape_text(shape, case.batch)} and filters={case.kwargs['filters']} the block "
                             f"must return {want}, got {got}.{hint}")
    assert_input_matters(model, case.batch, case.other, "xception_block",
                         expected.draw.rng(LAB, "xception_block", "lively"))
    # filters equal to the input's channels: the shortcut is still projected (strides=2)
    same = dataclasses.replace(case, kwargs={**case.kwargs, "filters": shape[-1]})
    got = output_of(_xception(student, shape, same), same.batch, "xception_block").shape
    if got != want[:3] + (shape[-1],):
        raise AssertionError(f"with {shape_text(shape, case.batch)} and filters={shape[-1]} (the input's channels) "
                             f"the block must return {want[:3] + (shape[-1],)}, got {got}.")


def _xception_structure_hint(model):
    """Why the block's layers differ from the chapter's (its layers, for the hint), or ''."""
    separable = layers_of(model, "SeparableConv2D")
    regular_3x3 = [layer for layer in layers_of(model, "Conv2D") if layer.kernel_size != (1, 1)]
    if regular_3x3 or len(separable) != 2:
        return (f"expected two SeparableConv2D(filters, 3, padding='same', use_bias=False), found {len(separable)} "
                f"(and {len(regular_3x3)} regular 3x3 Conv2D): use layers.SeparableConv2D, not Conv2D, in the main path.")
    if any(layer.use_bias for layer in separable):
        return "the SeparableConv2D layers are followed by BatchNormalization: use use_bias=False."
    shortcut = layers_of(model, "Conv2D")
    if not shortcut:
        return ("the strided residual is missing: residual = Conv2D(filters, 1, strides=2, padding='same', "
                "use_bias=False)(x), added to the pooled main path.")
    if shortcut[0].use_bias:
        return "the shortcut Conv2D(filters, 1, strides=2, padding='same') has use_bias=False in the chapter."
    if shortcut[0].strides != (2, 2):
        return "the shortcut projection must use strides=2."
    pools = layers_of(model, "MaxPooling2D")
    if not pools or pools[0].pool_size != (3, 3) or pools[0].strides != (2, 2):
        return "the main path ends with MaxPooling2D(3, strides=2, padding='same')."
    if len(layers_of(model, "BatchNormalization")) != 2:
        return "each SeparableConv2D is preceded by BatchNormalization() and Activation('relu')."
    return ""


def _xception_order_hint(model):
    names = [layer.class_name for layer in flat_layers(model) if layer.class_name not in ("InputLayer", "Conv2D", "Add")]
    first_bn = names.index("BatchNormalization") if "BatchNormalization" in names else None
    first_sep = names.index("SeparableConv2D") if "SeparableConv2D" in names else None
    if first_bn is not None and first_sep is not None and first_sep < first_bn:
        return (
            "The chapter's block is pre-activation: BatchNormalization -> Activation('relu') -> SeparableConv2D, "
            "so each SeparableConv2D comes after its BN and relu."
        )
    return "Check the order BN -> relu -> SeparableConv2D (twice) and that the shortcut starts from the block's input."


@check(LAB, "xception_block", points=3)
def check_xception_outputs(student, expected):
    """with the reference weights, outputs equal the reference (inference and training mode)"""
    shape, case = xception_case(expected.draw)
    model = _xception(student, shape, case)
    ref = expected["xception_block"]
    try:
        copy_weights_by_layer(
            ref["layers"], model,
            "the layers differ from BN -> relu -> SeparableConv2D(filters, 3, padding='same', use_bias=False), twice, "
            "MaxPooling2D(3, strides=2, padding='same') and a Conv2D(filters, 1, strides=2, padding='same', "
            "use_bias=False) shortcut.",
        )
        compare_block(model, ref, "xception_block output", case.batch)
    except AssertionError as exc:
        got = outputs(model, case.batch)
        hint = (xception_bias_hint(model) or one_batchnorm_hint(model) or _xception_structure_hint(model)
                or xception_order_hint(model, got, np.asarray(ref["output"]), student.source("xception_block")))
        raise AssertionError(hint or f"{exc} {_xception_order_hint(model)}") from None

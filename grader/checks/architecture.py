"""Checks for Lab 2 — architecture patterns (residual blocks, batch norm,
depthwise separable convolutions, mini-Xception).

Every model check builds the student's block on a tiny input, explains
structural differences with a hint, then copies the reference weights
(recorded layer by layer) into it and compares its outputs with the
reference's (in inference mode, and in training mode where
BatchNormalization uses batch statistics). Correct code written differently
passes: ``layers.Add()`` or ``keras.ops.add``, separate ``Activation``/``ReLU``
layers, Sequential pieces, layers created in another order.

One module for the lab's five exercises, like the other labs' check modules
(it is over 400 lines because each exercise's hints need their own helpers).
"""

import re

import numpy as np

from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.modeltools import (
    assert_close,
    copy_weights_by_layer,
    count_params_by_class,
    effective_final_activation,
    flat_layers,
    is_model,
    layers_of,
    layers_with_weights,
    randomize_batchnorm,
    seeded_inputs,
    type_name,
)

LAB = "architecture"
RANDOM_AUGMENTATION = ("RandomFlip", "RandomRotation", "RandomZoom")
#: Tolerance of the block comparisons (BatchNormalization in float32).
BLOCK_TOL = {"atol": 1e-4, "rtol": 1e-4}


# -- shared helpers ------------------------------------------------------------

_SHAPES_RE = re.compile(r"\(([\d, None]+)\)")


def _add_shapes(message):
    """The tensor shapes quoted in a Keras 'incompatible shapes' error, as int tuples (batch dropped)."""
    shapes = []
    for group in _SHAPES_RE.findall(message):
        dims = tuple(int(d) if d.strip().isdigit() else None for d in group.split(",") if d.strip())
        if len(dims) >= 3:
            shapes.append(tuple(d for d in dims if d is not None)[-3:])
    return shapes[:2]


def _build_block(impl, name, input_shape, explain, **kwargs):
    """``impl.build_block(...)``; a build-time shape error (ValueError) becomes ``AssertionError(explain(msg, kwargs))``."""
    try:
        return impl.build_block(name, input_shape, **kwargs)
    except ValueError as exc:
        raise AssertionError(explain(str(exc), kwargs)) from None


def reference_block(ref, name, input_shape, x, seed=0, training_too=False, **kwargs):
    """What a check needs of the reference's block: its weights per layer and its outputs on ``x``.

    BatchNormalization layers get seeded non-trivial statistics first (see
    :func:`randomize_batchnorm`). Returns ``{"layers": layers_with_weights,
    "output": inference-mode output, "training_output": training-mode output
    (only if ``training_too``)}``.
    """
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    model = ref.build_block(name, input_shape, **kwargs)
    randomize_batchnorm(model, seed)
    out = {"layers": layers_with_weights(model), "output": model.predict(x)}
    if training_too:
        out["training_output"] = model.predict(x, training=True)
    return out


def _compare_block(model, ref, what, x):
    """Outputs equal the recorded reference in inference mode (and training mode where recorded)."""
    assert_close(model.predict(x), ref["output"], f"{what} (inference mode)", **BLOCK_TOL)
    if "training_output" in ref:
        got = model.predict(x, training=True)
        assert_close(got, ref["training_output"], f"{what} (training mode, batch statistics)", **BLOCK_TOL)


# -- residual_block ------------------------------------------------------------

RES_INPUT = (7, 7, 4)  # odd size: MaxPooling2D(2) must use padding="same"
RES_CASES = (
    {"filters": 4, "pooling": False},  # identity shortcut
    {"filters": 6, "pooling": False},  # 1x1 projection
    {"filters": 6, "pooling": True},  # strided 1x1 projection
)


def residual_batch(seed):
    return seeded_inputs((2,) + RES_INPUT, seed=seed, low=-1.0, high=1.0)


@expectation(LAB, name="residual_blocks")
def residual_blocks_expectation(ref):
    return [
        reference_block(ref, "residual_block", RES_INPUT, residual_batch(seed), seed=seed, **case)
        for seed, case in enumerate(RES_CASES)
    ]


def _expected_residual_shape(filters, pooling):
    side = -(-RES_INPUT[0] // 2) if pooling else RES_INPUT[0]
    return (None, side, side, filters)


def _explain_residual_error(message, kwargs, source=""):
    shapes = _add_shapes(message)
    filters, pooling = kwargs["filters"], kwargs["pooling"]
    if len(shapes) == 2 and shapes[0][-1] != shapes[1][-1]:
        projection = "Conv2D(filters, 1, strides=2)" if pooling else "Conv2D(filters, 1)"
        return (
            f"the shortcut has {RES_INPUT[-1]} channels but the main path has {filters}: when the channels differ, "
            f"project the shortcut with residual = {projection}(residual) before adding."
        )
    sides = sorted(s[0] for s in shapes) if len(shapes) == 2 else []
    if pooling and sides == [RES_INPUT[0] // 2, -(-RES_INPUT[0] // 2)]:
        return "MaxPooling2D must use padding='same' (MaxPooling2D(2, padding='same')) so odd sizes round up like the strided shortcut."
    if pooling and RES_INPUT[0] in sides:
        if "MaxPooling2D" not in source and "max_pool" not in source:
            return "with pooling=True the main path ends with MaxPooling2D(2, padding='same'); pooling is missing."
        return (
            "with pooling=True the shortcut must be downsampled like the main path: "
            "residual = Conv2D(filters, 1, strides=2)(residual) (strides=2 is missing)."
        )
    return f"adding the main path and the shortcut failed ({message.splitlines()[0]}); both must have the same shape."


def _residual(student, **kwargs):
    source = student.source("residual_block")
    return _build_block(
        student, "residual_block", RES_INPUT, lambda msg, kw: _explain_residual_error(msg, kw, source), **kwargs
    )


@check(LAB, "residual_block", points=2)
def check_residual_shapes(student, expected):
    """output shapes with an identity, a 1x1 and a strided 1x1 shortcut"""
    for case in RES_CASES:
        model = _residual(student, **case)
        want, got = _expected_residual_shape(**case), model.summary.output_shape
        if got == want:
            continue
        if case["pooling"] and got is not None and got[1] == RES_INPUT[0]:
            raise AssertionError(
                "with pooling=True the output must be downsampled: end the main path with "
                "MaxPooling2D(2, padding='same') and use Conv2D(filters, 1, strides=2) on the shortcut."
            )
        raise AssertionError(f"residual_block(x, **{case}) with x of shape {(None,) + RES_INPUT} must return {want}, got {got}.")


@check(LAB, "residual_block", points=3)
def check_residual_outputs(student, expected):
    """with the reference weights, outputs equal the chapter's residual block"""
    for seed, case in enumerate(RES_CASES):
        model = _residual(student, **case)
        ref = expected["residual_blocks"][seed]
        projections = [layer for layer in layers_of(model, "Conv2D") if layer.kernel_size == (1, 1)]
        if case["filters"] == RES_INPUT[-1] and not case["pooling"] and projections:
            raise AssertionError(
                "when the channels already match and pooling=False the shortcut is x itself: "
                "no Conv2D(filters, 1) projection in that case."
            )
        if case["pooling"] and projections and projections[0].strides != (2, 2):
            raise AssertionError("with pooling=True the shortcut projection is Conv2D(filters, 1, strides=2).")
        copy_weights_by_layer(
            ref["layers"], model,
            f"for {case} the layers differ from the chapter's: two Conv2D(filters, 3, activation='relu', "
            "padding='same') and, when needed, a Conv2D(filters, 1) shortcut projection (with bias)",
        )
        _assert_residual_activations(model)
        try:
            _compare_block(model, ref, f"residual_block output for {case}", residual_batch(seed))
        except AssertionError as exc:
            raise AssertionError(
                f"{exc} Check that the block returns the sum of the main path and the shortcut "
                "(layers.add([x, residual])) and that the shortcut starts from the block's input."
            ) from None


def _assert_residual_activations(model):
    convs = [layer for layer in layers_of(model, "Conv2D") if layer.kernel_size == (3, 3)]
    if len(convs) != 2:
        raise AssertionError(f"the main path has two 3x3 Conv2D layers; found {len(convs)}.")
    if any(layer.activation not in ("relu", "linear") for layer in convs):
        raise AssertionError("both 3x3 convolutions use activation='relu'.")


# -- conv_bn_relu --------------------------------------------------------------

CBR_INPUT = (6, 6, 3)
CBR_FILTERS = 5
CBR_KERNEL_SIZES = (3, 1)


def _conv_bn_relu(impl, kernel_size=3):
    return _build_block(
        impl, "conv_bn_relu", CBR_INPUT,
        lambda msg, kw: f"conv_bn_relu() could not be built: {msg.splitlines()[0]}",
        filters=CBR_FILTERS, kernel_size=kernel_size,
    )


def conv_bn_relu_batch(seed):
    return seeded_inputs((4,) + CBR_INPUT, seed=seed, low=-1.0, high=1.0)


@expectation(LAB, name="conv_bn_relu_blocks")
def conv_bn_relu_expectation(ref):
    return [
        reference_block(ref, "conv_bn_relu", CBR_INPUT, conv_bn_relu_batch(seed), seed=seed, training_too=True,
                        filters=CBR_FILTERS, kernel_size=kernel_size)
        for seed, kernel_size in enumerate(CBR_KERNEL_SIZES)
    ]


def _relu_position(layers):
    """Index of the first layer (LayerInfo) that applies relu, or None."""
    for index, layer in enumerate(layers):
        if layer.class_name == "ReLU" or (layer.class_name in ("Activation", "Conv2D") and layer.activation == "relu"):
            return index
    return None


@check(LAB, "conv_bn_relu", points=2)
def check_conv_bn_relu_order(student, expected):
    """Conv2D without bias, then BatchNormalization, then relu"""
    model = _conv_bn_relu(student)
    layers = [layer for layer in flat_layers(model) if layer.class_name != "InputLayer"]
    convs, norms = layers_of(model, "Conv2D"), layers_of(model, "BatchNormalization")
    if len(convs) != 1 or not norms:
        raise AssertionError(
            f"expected one Conv2D and one BatchNormalization, found {len(convs)} Conv2D and {len(norms)} BatchNormalization."
        )
    if convs[0].use_bias:
        raise AssertionError(
            "the convolution before BatchNormalization must have use_bias=False: batch normalization "
            "subtracts the mean, so a bias would be learned for nothing."
        )
    relu_at, bn_at = _relu_position(layers), layers.index(norms[0])
    if relu_at is not None and relu_at < bn_at:
        raise AssertionError(
            "BatchNormalization comes after the activation: the chapter normalizes the convolution's output "
            "first, then applies relu (Conv2D(..., use_bias=False) -> BatchNormalization() -> Activation('relu'))."
        )
    if effective_final_activation(model) != "relu" and "relu" not in student.source("conv_bn_relu"):
        raise AssertionError("end with Activation('relu') after BatchNormalization.")


@check(LAB, "conv_bn_relu", points=2)
def check_conv_bn_relu_outputs(student, expected):
    """same outputs as the reference, in inference and training mode"""
    for seed, kernel_size in enumerate(CBR_KERNEL_SIZES):
        model = _conv_bn_relu(student, kernel_size=kernel_size)
        ref = expected["conv_bn_relu_blocks"][seed]
        copy_weights_by_layer(
            ref["layers"], model,
            f"with kernel_size={kernel_size} the layers differ from Conv2D(filters, kernel_size, padding='same', "
            "use_bias=False) -> BatchNormalization()",
        )
        _compare_block(model, ref, f"conv_bn_relu output (kernel_size={kernel_size})", conv_bn_relu_batch(seed))


# -- separable_conv_params -----------------------------------------------------

SEPARABLE_CASES = ((64, 64, 3), (3, 16, 5), (128, 32, 3))


@expectation(LAB)
def separable_params(ref):
    return [ref.call("separable_conv_params", *args) for args in SEPARABLE_CASES]


def params_hint(got, expected, out_channels):
    """Hint for ``got`` (two ints) where ``expected`` = (regular, separable) bias-free counts."""
    regular, separable = expected
    if tuple(got) == (separable, regular):
        return "the two numbers are swapped: return (regular, separable)."
    if tuple(got) == (regular + out_channels, separable + out_channels):
        return "count weights only: the exercise asks for bias-free parameter counts (no + out_channels)."
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
    """(64, 64, 3) -> (36864, 4672) and other sizes"""
    for args, want in zip(SEPARABLE_CASES, expected["separable_params"]):
        got, want = student_params(student, *args), tuple(want)
        if got != want:
            raise AssertionError(
                f"separable_conv_params{args} returned {got}, expected {want}: " + params_hint(got, want, args[1])
            )


# -- xception_block ------------------------------------------------------------

XB_INPUT = (7, 7, 4)
XB_FILTERS = 6
XB_SEED = 3


def _explain_xception_error(message, kwargs, source=""):
    shapes = _add_shapes(message)
    if len(shapes) == 2 and shapes[0][-1] != shapes[1][-1]:
        return (
            "the shortcut and the main path have different channel counts: project the shortcut with "
            "Conv2D(filters, 1, strides=2, padding='same', use_bias=False)."
        )
    sides = sorted(s[0] for s in shapes) if len(shapes) == 2 else []
    if XB_INPUT[0] in sides:
        if "MaxPooling2D" not in source and "max_pool" not in source:
            return "the main path ends with MaxPooling2D(3, strides=2, padding='same'); pooling is missing."
        return (
            "the shortcut must be downsampled like the main path: "
            "Conv2D(filters, 1, strides=2, padding='same', use_bias=False) (strides=2 is missing)."
        )
    if sides and sides[0] < -(-XB_INPUT[0] // 2):
        return "use MaxPooling2D(3, strides=2, padding='same'): with padding='valid' the main path shrinks too much."
    return f"adding the main path and the shortcut failed ({message.splitlines()[0]}); both must have the same shape."


def _xception(impl):
    source = impl.source("xception_block")
    return _build_block(
        impl, "xception_block", XB_INPUT, lambda msg, kw: _explain_xception_error(msg, kw, source), filters=XB_FILTERS
    )


def xception_batch():
    return seeded_inputs((3,) + XB_INPUT, seed=XB_SEED, low=-1.0, high=1.0)


@expectation(LAB, name="xception_block")
def xception_block_expectation(ref):
    return reference_block(ref, "xception_block", XB_INPUT, xception_batch(), seed=XB_SEED, training_too=True,
                           filters=XB_FILTERS)


@check(LAB, "xception_block", points=2)
def check_xception_structure(student, expected):
    """bias-free SeparableConv2D x2, strided pooling and a strided 1x1 shortcut"""
    model = _xception(student)
    separable = layers_of(model, "SeparableConv2D")
    regular_3x3 = [layer for layer in layers_of(model, "Conv2D") if layer.kernel_size != (1, 1)]
    if regular_3x3 or len(separable) != 2:
        raise AssertionError(
            f"expected two SeparableConv2D(filters, 3, padding='same', use_bias=False), found {len(separable)} "
            f"(and {len(regular_3x3)} regular 3x3 Conv2D): use layers.SeparableConv2D, not Conv2D, "
            "in the main path."
        )
    if any(layer.use_bias for layer in separable):
        raise AssertionError("the SeparableConv2D layers are followed by BatchNormalization: use use_bias=False.")
    want, got = (None, 4, 4, XB_FILTERS), model.summary.output_shape
    if got != want:
        raise AssertionError(f"with x of shape {(None,) + XB_INPUT} the block must return {want}, got {got}.")
    shortcut = layers_of(model, "Conv2D")
    if not shortcut:
        raise AssertionError(
            "the strided residual is missing: residual = Conv2D(filters, 1, strides=2, padding='same', "
            "use_bias=False)(x), added to the pooled main path."
        )
    if shortcut[0].use_bias:
        raise AssertionError("the shortcut Conv2D(filters, 1, strides=2, padding='same') has use_bias=False in the chapter.")
    if shortcut[0].strides != (2, 2):
        raise AssertionError("the shortcut projection must use strides=2.")
    pools = layers_of(model, "MaxPooling2D")
    if not pools or pools[0].pool_size != (3, 3) or pools[0].strides != (2, 2):
        raise AssertionError("the main path ends with MaxPooling2D(3, strides=2, padding='same').")
    if len(layers_of(model, "BatchNormalization")) != 2:
        raise AssertionError("each SeparableConv2D is preceded by BatchNormalization() and Activation('relu').")


@check(LAB, "xception_block", points=3)
def check_xception_outputs(student, expected):
    """with the reference weights, outputs equal the reference (inference and training mode)"""
    model = _xception(student)
    ref = expected["xception_block"]
    try:
        copy_weights_by_layer(
            ref["layers"], model,
            "the layers differ from BN -> relu -> SeparableConv2D(filters, 3, padding='same', use_bias=False), twice, "
            "MaxPooling2D(3, strides=2, padding='same') and a Conv2D(filters, 1, strides=2, padding='same', "
            "use_bias=False) shortcut.",
        )
        _compare_block(model, ref, "xception_block output", xception_batch())
    except AssertionError as exc:
        raise AssertionError(f"{exc} {_xception_order_hint(model)}") from None


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


# -- build_mini_xception -------------------------------------------------------

DEFAULT_PARAMS = 721_857
SMALL_XCEPTION = {"input_shape": (16, 16, 3), "block_filters": (4, 8)}
SMALL_AUGMENT = (True, False)

# typical mistakes and the parameter difference they cause with the defaults
_KNOWN_DIFFERENCES = {
    513: "the head has Dense(2, 'softmax') (1,026 parameters); with num_classes=1 use Dense(1, activation='sigmoid') (513).",
    32: "the first Conv2D(32, 5) has a bias: use use_bias=False (BatchNormalization follows in the first block).",
    -1536: "the first convolution is Conv2D(32, 3); the chapter's is Conv2D(32, 5, use_bias=False).",
    992: "the shortcut convolutions have biases: Conv2D(filters, 1, strides=2, padding='same', use_bias=False).",
    1984: "the SeparableConv2D layers have biases: use use_bias=False.",
}

_CLASS_HINTS = {
    "Dense": "the head is Dense(1, activation='sigmoid') for num_classes=1.",
    "Conv2D": "the only regular convolutions are Conv2D(32, 5, use_bias=False) and each block's "
    "Conv2D(filters, 1, strides=2, padding='same', use_bias=False) shortcut.",
    "SeparableConv2D": "each block has two SeparableConv2D(filters, 3, padding='same', use_bias=False).",
    "BatchNormalization": "each block has two BatchNormalization layers, one before each SeparableConv2D.",
}


def build_xception(impl, **kwargs):
    """The implementation's ``build_mini_xception(**kwargs)`` as a ModelHandle (AssertionError otherwise)."""
    model = impl.function("build_mini_xception")(**kwargs)
    if not is_model(model):
        raise AssertionError(f"build_mini_xception() must return a keras.Model, got {type_name(model)}.")
    return model


def param_counts(model):
    """``{"params": total, "by_class": {class name: params}}`` of a ModelHandle (recorded for hints)."""
    return {"params": model.summary.params, "by_class": count_params_by_class(model)}


def param_count_hint(model, ref_counts):
    """Why ``model``'s parameter count differs from the reference's ``ref_counts`` (see :func:`param_counts`)."""
    diff = model.summary.params - ref_counts["params"]
    if diff in _KNOWN_DIFFERENCES:
        return _KNOWN_DIFFERENCES[diff]
    mine, theirs = count_params_by_class(model), ref_counts["by_class"]
    details = [
        f"{name}: {mine.get(name, 0):,} vs {theirs.get(name, 0):,} ({_CLASS_HINTS.get(name, 'not in the chapter model')})"
        for name in sorted(set(mine) | set(theirs))
        if mine.get(name, 0) != theirs.get(name, 0)
    ]
    return "Per layer type (yours vs the chapter's) — " + "; ".join(details) if details else ""


@expectation(LAB, name="default_model")
def default_model_expectation(ref):
    return param_counts(build_xception(ref))


@check(LAB, "build_mini_xception", points=2)
def check_default_parameter_count(student, expected):
    """the default model has the chapter's 721,857 parameters"""
    model = build_xception(student)
    count = model.summary.params
    if count != DEFAULT_PARAMS:
        raise AssertionError(
            f"the default model has {count:,} parameters; the chapter's has {DEFAULT_PARAMS:,}. "
            + param_count_hint(model, expected["default_model"])
        )


def _factor_bound(factor):
    """0.1 for a factor given as 0.1, (-0.1, 0.1) or [-0.1, 0.1]."""
    return float(np.max(np.abs(np.asarray(factor, dtype="float64"))))


@check(LAB, "build_mini_xception", points=1)
def check_augmentation(student, expected):
    """RandomFlip/RandomRotation/RandomZoom only when augment=True"""
    with_aug = build_xception(student, augment=True, **SMALL_XCEPTION)
    names = [layer.class_name for layer in layers_of(with_aug, *RANDOM_AUGMENTATION)]
    if names != list(RANDOM_AUGMENTATION):
        raise AssertionError(
            f"with augment=True the model starts with RandomFlip('horizontal'), RandomRotation(0.1), RandomZoom(0.2); "
            f"found {names or 'no augmentation layers'}."
        )
    flip, rotation, zoom = layers_of(with_aug, *RANDOM_AUGMENTATION)
    rotation_factor = _factor_bound(rotation.get_config()["factor"])
    zoom_factor = _factor_bound(zoom.get_config()["height_factor"])
    if flip.get_config()["mode"] != "horizontal" or not np.isclose(rotation_factor, 0.1) or not np.isclose(zoom_factor, 0.2):
        raise AssertionError("use RandomFlip('horizontal'), RandomRotation(0.1) and RandomZoom(0.2).")
    without = build_xception(student, augment=False, **SMALL_XCEPTION)
    present = [layer.class_name for layer in flat_layers(without) if layer.class_name.startswith("Random")]
    if present:
        raise AssertionError(f"with augment=False the model must not augment; found {', '.join(present)}.")
    if not layers_of(without, "Rescaling"):
        raise AssertionError("add Rescaling(1.0 / 255) after the (optional) augmentation: inputs are pixels in 0..255.")


@check(LAB, "build_mini_xception", points=1)
def check_head(student, expected):
    """GlobalAveragePooling2D, Dropout(0.5) and a sigmoid (1 class) / softmax (n classes) output"""
    model = build_xception(student, augment=False, **SMALL_XCEPTION)
    dropouts = layers_of(model, "Dropout")
    if len(dropouts) != 1 or not np.isclose(dropouts[0].rate, 0.5):
        rates = [d.rate for d in dropouts]
        raise AssertionError(f"the head has one Dropout(0.5) after GlobalAveragePooling2D; found rates {rates}.")
    if not layers_of(model, "GlobalAveragePooling2D"):
        raise AssertionError("pool the last block's features with GlobalAveragePooling2D() before Dropout.")
    got = model.summary.output_shape
    final = effective_final_activation(model)
    if got != (None, 1) or final != "sigmoid":
        raise AssertionError(
            f"with num_classes=1 the output is Dense(1, activation='sigmoid') of shape (None, 1); got shape {got} "
            f"and final activation {final}."
        )
    multi = build_xception(student, augment=False, num_classes=3, **SMALL_XCEPTION)
    got, final = multi.summary.output_shape, effective_final_activation(multi)
    if got != (None, 3) or final != "softmax":
        raise AssertionError(
            f"with num_classes=3 the output is Dense(3, activation='softmax'); got shape {got} and final activation {final}."
        )


def reference_model(ref, x, seed, **kwargs):
    """``{"layers", "output", "params", "by_class"}`` of the reference's ``build_mini_xception(**kwargs)``.

    Built with Keras seeded by ``seed``; its BatchNormalization layers get
    seeded statistics before the weights and the inference-mode output on
    ``x`` are taken.
    """
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    model = build_xception(ref, **kwargs)
    randomize_batchnorm(model, seed)
    return {"layers": layers_with_weights(model), "output": model.predict(x), **param_counts(model)}


def small_model_batch(seed):
    return seeded_inputs((2,) + SMALL_XCEPTION["input_shape"], seed=seed)


@expectation(LAB, name="small_models")
def small_models_expectation(ref):
    return [
        reference_model(ref, small_model_batch(seed), seed, augment=augment, **SMALL_XCEPTION)
        for seed, augment in enumerate(SMALL_AUGMENT)
    ]


@check(LAB, "build_mini_xception", points=3)
def check_model_outputs(student, expected):
    """with the reference weights, outputs equal the reference (augmentation is identity at inference)"""
    for seed, augment in enumerate(SMALL_AUGMENT):
        model = build_xception(student, augment=augment, **SMALL_XCEPTION)
        ref = expected["small_models"][seed]
        copy_weights_by_layer(
            ref["layers"], model,
            "the layers differ from the chapter's mini-Xception (Rescaling, Conv2D(32, 5, use_bias=False), "
            "one xception_block per entry of block_filters, GlobalAveragePooling2D, Dropout, Dense)",
        )
        try:
            assert_close(model.predict(small_model_batch(seed)), ref["output"], f"model output (augment={augment})",
                         atol=1e-5, rtol=1e-4)
        except AssertionError as exc:
            hint = "" if layers_of(model, "Rescaling") else " Add Rescaling(1.0 / 255): inputs are pixels in 0..255."
            raise AssertionError(f"{exc}{hint}") from None

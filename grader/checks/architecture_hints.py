"""Lab 2 hints: what a failing block did, read from its layers, its outputs and its code.

Only failures are explained here (points come from the output comparisons
in :mod:`cvlab_ch9.grader.checks.architecture_blocks` and
:mod:`cvlab_ch9.grader.checks.architecture_separable`). Each function
returns one or two sentences starting with the student's mistake, or ''
when the evidence names none.
"""

import re

import numpy as np

from cvlab_ch9.grader.core import student_error
from cvlab_ch9.grader.modeltools import flat_layers, layers_of

#: ``residual = x`` (any name), the line that takes the shortcut.
_SHORTCUT_LINE = re.compile(r"^\s*(\w+)\s*=\s*x\s*(#.*)?$")


def tokens(model):
    """The block's layers as words: 'bn', 'relu', 'sep', 'conv', 'pool', 'add', 'concat' (others left out)."""
    out = []
    for layer in flat_layers(model):
        name = layer.class_name
        if name == "BatchNormalization":
            out.append("bn")
        elif name == "ReLU" or (name == "Activation" and layer.activation == "relu"):
            out.append("relu")
        elif name == "SeparableConv2D":
            out.append("sep")
        elif name in ("Add", "Concatenate"):
            out.append("add" if name == "Add" else "concat")
        elif name == "MaxPooling2D":
            out.append("pool")
    return out


def relu_after_add(model, got, want):
    """The block's relu comes after the addition: a relu layer after Add, or outputs never negative where the chapter's are."""
    words = tokens(model)
    if "add" in words and "relu" in words[words.index("add"):]:
        return True
    return got is not None and got.shape == want.shape and got.min() >= 0 and want.min() < -1e-3


def shortcut_taken_after(source, marker):
    """True when the code takes its shortcut (``residual = x``) after its first line containing ``marker``."""
    lines = source.splitlines()
    taken = next((i for i, line in enumerate(lines) if _SHORTCUT_LINE.match(line)), None)
    first = next((i for i, line in enumerate(lines) if marker in line), None)
    return taken is not None and first is not None and taken > first


def residual_hint(model, kwargs, channels, source, got=None, want=None):
    """The residual block's mistake (layers, outputs, code), or ''."""
    if layers_of(model, "Concatenate"):
        return ("Your block concatenates the shortcut with the main path (channels add up); add them instead: "
                "layers.add([x, residual]).")
    convs = layers_of(model, "Conv2D")
    projections = [layer for layer in convs if tuple(layer.kernel_size) == (1, 1)]
    main = [layer for layer in convs if tuple(layer.kernel_size) != (1, 1)]
    if len(main) == 3 and kwargs["filters"] != channels and not projections:
        return "Your shortcut projection is a 3x3 Conv2D; project with a 1x1 one, not 3x3: Conv2D(filters, 1)."
    if any(layer.activation == "relu" for layer in projections):
        return ("Your shortcut projection Conv2D(filters, 1) has activation='relu'; the projection is linear "
                "(no activation).")
    if kwargs["pooling"] and not layers_of(model, "MaxPooling2D") and any(
            tuple(layer.strides) == (2, 2) for layer in main):
        return ("Your block downsamples the main path with a strided Conv2D (strides=2) instead of MaxPooling2D; "
                "keep both convolutions at stride 1 and end the main path with MaxPooling2D(2, padding='same').")
    if shortcut_taken_after(source, "Conv2D("):
        return ("Your shortcut is taken after the first convolution (its output); take it from the block's input: "
                "residual = x before any layer.")
    if not layers_of(model, "Add") and not re.search(r"\badd\b|\+", source):
        return "Your block never adds the shortcut: it returns the main path only; return layers.add([x, residual])."
    if relu_after_add(model, got, want):
        return ("Your block applies relu after the add (its outputs are never negative); return "
                "layers.add([x, residual]) as it is.")
    return ""


def conv_bn_relu_hint(model, kwargs, input_shape, got):
    """The conv -> BN -> relu block's mistake (layers, outputs), or ''."""
    convs, norms = layers_of(model, "Conv2D"), layers_of(model, "BatchNormalization")
    if convs and convs[0].activation == "relu":
        return ("Your Conv2D has activation='relu', so relu comes before BatchNormalization; give the Conv2D no "
                "activation and end with Activation('relu') after BatchNormalization.")
    kernel = kwargs.get("kernel_size", 3)
    if convs and tuple(convs[0].kernel_size) != (kernel, kernel):
        return (f"Your Conv2D always has a {convs[0].kernel_size[0]}x{convs[0].kernel_size[1]} kernel (kernel_size="
                f"{kernel} here); pass kernel_size to Conv2D(filters, kernel_size, ...).")
    if convs and convs[0].config.get("padding", "same") != "same":
        shown = f" ({input_shape[:2]} shrinks to {tuple(got.shape[1:3])})" if got is not None else ""
        return f"Your Conv2D has padding='valid', the default{shown}; add padding='same'."
    for norm in norms:
        axis = norm.config.get("axis", -1)
        axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
        if axis not in (-1, 3):
            return (f"Your BatchNormalization normalizes axis {axis}; the channels are the last axis "
                    "(axis=-1, the default).")
    if "relu" not in tokens(model) and not any(layer.activation == "relu" for layer in convs) and (
            got is None or got.min() < -1e-6):
        return ("Your block has no relu: it returns negative values; end with Activation('relu') after "
                "BatchNormalization.")
    return ""


def separable_hint(got, want, args):
    """Which wrong formula gave ``got`` for ``args`` = (in, out, k), or ''."""
    cin, cout, k = args
    regular, separable = want
    if got[0] == k * cin * cout and got[0] != regular:
        return (f"Your regular count is kernel_size*in*out = {got[0]} (not squared); a regular k x k convolution "
                f"has k*k*in*out = {regular} weights.")
    if got[1] == k * cin + cin * cout and got[1] != separable:
        return (f"Your depthwise count is kernel_size*in (not squared); the depthwise part has k*k*in weights "
                f"(one k x k filter per input channel): {separable} in all.")
    if got[1] == k * k * cin + cout and got[1] != separable:
        return (f"Your pointwise count is out_channels only; the 1x1 pointwise convolution has in*out weights "
                f"(separable: k*k*in + in*out = {separable}).")
    if got[1] == k * k * cout + cin * cout and got[1] != separable:
        return (f"Your depthwise count has one k x k filter per output channel (k*k*out); the depthwise convolution "
                f"has one per input channel instead of out: k*k*in + in*out = {separable}.")
    return ""


def one_batchnorm_hint(model):
    """'' unless the xception block has a single BatchNormalization."""
    if len(layers_of(model, "BatchNormalization")) == 1:
        return ("Your block has only one BatchNormalization (found 1); each SeparableConv2D is preceded by its own "
                "BatchNormalization() and relu, so the second is missing.")
    return ""


def xception_order_hint(model, got=None, want=None, source=""):
    """The xception block's order mistake, from its layers, code (and outputs), or ''."""
    words = [w for w in tokens(model) if w in ("bn", "relu", "sep")]
    if shortcut_taken_after(source, "BatchNormalization"):
        return ("Your shortcut is taken after the first BatchNormalization and relu (the normalized input); take it "
                "from the block's input: residual = x before any layer.")
    if words[:3] == ["sep", "bn", "relu"]:
        return ("Your block applies BatchNormalization and relu after each SeparableConv2D (post-activation); the "
                "chapter's block is pre-activation: BN -> relu before each SeparableConv2D.")
    if words[:3] == ["bn", "sep", "relu"]:
        return ("Your block applies relu after each SeparableConv2D (BN -> SeparableConv2D -> relu); the chapter's "
                "order is pre-activation, relu before the SeparableConv2D: BN -> relu -> SeparableConv2D.")
    if relu_after_add(model, got, want):
        return ("Your block applies relu after the add (its outputs are never negative); return "
                "layers.add([x, residual]) as it is.")
    return ""


def xception_bias_hint(model):
    """'' unless a layer the chapter writes with use_bias=False has a bias."""
    if any(layer.use_bias for layer in layers_of(model, "SeparableConv2D")):
        return ("Your SeparableConv2D layers have biases (use_bias defaults to True); they are followed by "
                "BatchNormalization: use use_bias=False.")
    shortcut = layers_of(model, "Conv2D")
    if shortcut and shortcut[0].use_bias:
        return ("Your shortcut Conv2D(filters, 1) has a bias (use_bias defaults to True); give it use_bias=False "
                "as the chapter does.")
    return ""


def pool_stride_hint(sides, side, source=""):
    """The numeric signature of MaxPooling2D(3) without strides=2: the main path's side is ceil(side / 3).

    (padding='valid' with strides=2 can give the same side: code that writes strides is not this mistake.)
    """
    if re.search(r"MaxPooling2D\([^)]*strides", source):
        return ""
    if -(-side // 3) in sides and -(-side // 3) != -(-side // 2):
        return (f"Your MaxPooling2D(3) has no strides=2, so its stride defaults to the pool size 3: the main path "
                f"is ceil({side}/3) = {-(-side // 3)} pixels, the shortcut ceil({side}/2) = {-(-side // 2)}. "
                "Use MaxPooling2D(3, strides=2, padding='same').")
    return ""


def outputs(model, batch):
    """The block's inference output on ``batch``, or None when it cannot run."""
    try:
        return np.asarray(model.predict(batch))
    except Exception as exc:
        if not student_error(exc):
            raise
        return None


# -- build_mini_xception ----------------------------------------------------------

#: The configuration a failing mini-Xception is rebuilt with to read its layers (every argument off its default).
PROBE_CONFIG = {"input_shape": (22, 26, 3), "num_classes": 3, "block_filters": (4, 6), "augment": True}


def mini_xception_hint(model, source, config=PROBE_CONFIG):
    """The mini-Xception's own mistake, from its layers built for ``config`` (and its code), or ''."""
    inputs = model.summary.input_shapes
    if inputs and inputs[0] is not None and tuple(inputs[0][1:]) != tuple(config["input_shape"]):
        return (f"Your model ignores input_shape: its Input has shape {tuple(inputs[0])} for input_shape="
                f"{config['input_shape']}; use keras.Input(shape=input_shape).")
    separable = sorted({int(layer.filters) for layer in layers_of(model, "SeparableConv2D")})
    if separable and separable != sorted(set(config["block_filters"])):
        return (f"Your model ignores block_filters: its SeparableConv2D layers have {separable} filters for "
                f"block_filters={config['block_filters']}; call xception_block once per entry of block_filters.")
    dense = layers_of(model, "Dense")
    if dense and int(dense[-1].units) != config["num_classes"]:
        return (f"Your model always ends with Dense({dense[-1].units}) (num_classes={config['num_classes']} here): it "
                "ignores num_classes; use Dense(num_classes, activation='softmax') when num_classes > 1.")
    if not layers_of(model, "Rescaling") and "255" not in source:
        return "Your model has no Rescaling layer: add Rescaling(1.0 / 255) after the augmentation (pixels are 0..255)."
    if layers_of(model, "Flatten"):
        return ("Your model flattens the last block (Flatten); the chapter pools it with GlobalAveragePooling2D "
                "before Dropout(0.5) and the Dense head.")
    rates = [float(layer.rate) for layer in layers_of(model, "Dropout")]
    if rates and rates[0] != 0.5:
        return f"Your model uses Dropout({rates[0]:g}) instead of Dropout(0.5) before the Dense head."
    stem = [layer for layer in layers_of(model, "Conv2D") if tuple(layer.kernel_size) == (5, 5)]
    if stem and stem[0].config.get("padding") == "same":
        return ("Your first Conv2D(32, 5) has padding='same'; the chapter's uses the default padding='valid' "
                "(the image shrinks by 4 pixels).")
    if any(layer.use_bias for layer in layers_of(model, "SeparableConv2D")):
        return ("Your model's SeparableConv2D layers have biases (use_bias defaults to True): write the blocks by "
                "calling xception_block instead of inline code.")
    return ""

"""Lab 1 hints: what a failing encoder, decoder or model did, read from its layers and its output shapes.

Only failures are explained here; points come from the checks' comparisons
(:mod:`cvlab_ch9.grader.checks.segmentation_models`). Each function returns
one or two sentences starting with the student's mistake, or '' when the
evidence names none (the check then says what differs).
"""


from cvlab_ch9.grader.core import student_error
from cvlab_ch9.grader.modeltools import layers_of

POOLING = ("MaxPooling2D", "AveragePooling2D")

#: What a build error of a too-small input says (valid padding shrank it to nothing).
SHRINK_ERRORS = ("zero or negative", "negative dimension", "must be > 0", "incompatible")


def _stage_pairs(layers):
    """Consecutive pairs of ``layers`` (the two convolutions of each stage)."""
    return [tuple(layers[i:i + 2]) for i in range(0, len(layers) - 1, 2)]


def _strides(layer):
    return tuple(getattr(layer, "strides", (1, 1)) or (1, 1))


def _is_relu(layer):
    return layer.activation == "relu"


def _missing_relu(model, convs):
    """True when no convolution uses relu and no separate relu layer exists."""
    relu_layers = [layer for layer in layers_of(model, "ReLU", "Activation") if _is_relu(layer)]
    return not relu_layers and not any(_is_relu(layer) for layer in convs)


def _filters_used(convs):
    return tuple(int(layer.filters) for layer in convs if "filters" in layer.config)


def _stage_filters(filters):
    return tuple(f for f in filters for _ in range(2))


def encoder_hint(model, filters, got=None):
    """The encoder's mistake, from its layers (and ``got``, its output shape, when it has the wrong one), or ''."""
    pooling = layers_of(model, *POOLING)
    if pooling:
        return (f"Your encoder uses {pooling[0].class_name}; the chapter downsamples with strides=2 in the first "
                "Conv2D of each stage (pooling discards where things are).")
    convs = layers_of(model, "Conv2D")
    if len(convs) == 2 and len(filters) > 1 and _filters_used(convs) == _stage_filters(filters[:1]):
        return (f"Your encoder stops after the first stage (output {got}): the return is inside the loop. "
                "Return after the loop over filters.")
    if len(convs) == len(filters):
        return (f"Your encoder has one Conv2D per stage ({len(convs)} for filters={filters}); each stage has two: "
                "Conv2D(f, 3, strides=2, ...) then Conv2D(f, 3, ...).")
    return _stages_hint(model, convs, filters, "encoder", "Conv2D", (2, 1), got)


def decoder_hint(model, filters, got=None):
    """The decoder's mistake, from its layers (and ``got``, its output shape), or ''."""
    if layers_of(model, "UpSampling2D"):
        return "Your decoder uses UpSampling2D; the chapter upsamples with Conv2DTranspose(f, 3, strides=2, ...)."
    plain = layers_of(model, "Conv2D")
    transposed = layers_of(model, "Conv2DTranspose")
    if plain and transposed:
        return ("Your decoder uses a plain Conv2D for the stride-1 layer of each stage; use "
                "Conv2DTranspose(f, 3, padding='same') there too.")
    used = _filters_used(transposed)
    if used and used == _stage_filters(tuple(reversed(filters))) and tuple(filters) != tuple(reversed(filters)):
        return (f"Your decoder reverses the filters (its layers have {', '.join(map(str, used))} for "
                f"filters={filters}); use them in the order given: build_segmentation_model reverses them already.")
    return _stages_hint(model, transposed, filters, "decoder", "Conv2DTranspose", (1, 2), got)


def _stages_hint(model, convs, filters, part, kind, strides, got):
    """What the encoder's or decoder's convolutions ``convs`` (of class ``kind``) do wrong, stage by stage, or ''."""
    used = _filters_used(convs)
    if used and used != _stage_filters(filters):
        return (f"Your {part} ignores the filters argument: its {kind} layers have {', '.join(map(str, used))} "
                f"filters for filters={filters}. Loop over the filters passed in.")
    hint = _pair_hint(_stage_pairs(convs), part, kind, strides, got)
    if not hint and _missing_relu(model, convs):
        hint = f"Your {part}'s {kind} layers have no activation (linear); add activation='relu' to each."
    return hint


def _pair_hint(pairs, part, kind, want, got):
    """Strides and padding of each stage's two layers against the chapter's ``want`` strides (first, second)."""
    if not pairs:
        return ""
    strides = {tuple(s[0] for s in (_strides(a), _strides(b))) for a, b in pairs}
    shown = f" (output {got})" if got else ""
    strided_index = want.index(2)
    if strides == {(want[1], want[0])}:
        if part == "encoder":
            return "Your encoder puts strides=2 on the second Conv2D of each stage; put it on the first."
        return ("Your decoder puts the strides=2 Conv2DTranspose first in each stage, then the stride-1 one; "
                "the order is stride 1 first, strides=2 second.")
    if strides == {(2, 2)}:
        which = "the first" if strided_index == 0 else "the second"
        return (f"Your {part} puts strides=2 on both {kind} layers of each stage{shown}; only {which} has strides=2.")
    for position, name in ((strided_index, "strided"), (1 - strided_index, "stride-1")):
        if any(getattr(pair[position], "padding", "same") != "same" for pair in pairs):
            return _padding_hint(part, kind, position, name, got)
    return ""


def _padding_hint(part, kind, position, name, got):
    order = "first" if position == 0 else "second"
    signature = ""
    if part == "decoder":
        signature = " (2n+1 per stage instead of 2n)" if name == "strided" else " (n+2 per stage)"
    shown = f"{signature}{', output ' + str(got) if got else ''}"
    return (f"Your {part}'s {name} {kind} (the {order} of each stage) has padding='valid', the default{shown}; "
            f"add padding='same'.")


def build_or_explain(student, name, input_shape, filters, explain):
    """``student.build_block``; a build error from a shrinking input is explained on a larger input's layers.

    A stage with padding='valid' can shrink the drawn input to nothing, and
    Keras then refuses to build: the same code on a 16 times larger input
    builds, and its layers say which padding is missing.
    """
    try:
        return student.build_block(name, input_shape, filters=filters)
    except ValueError as exc:
        if not any(text in str(exc) for text in SHRINK_ERRORS):
            raise
        larger = (input_shape[0] * 16, input_shape[1] * 16, input_shape[2])
        hint = ""
        try:
            hint = explain(student.build_block(name, larger, filters=filters), filters, None)
        except Exception as probe_error:
            if not student_error(probe_error):
                raise
        if not hint:
            raise
        raise AssertionError(f"{hint} Keras could not build it on input {input_shape}: {str(exc).splitlines()[0]}") from None


# -- build_segmentation_model ---------------------------------------------------


def model_structure_hint(model, kwargs):
    """The whole model's own mistake (input, rescaling, decoder order, final layer), from its layers, or ''."""
    img_size, classes, filters = kwargs.get("img_size", (200, 200)), kwargs.get("num_classes", 3), kwargs.get(
        "filters", (64, 128, 256))
    hint = input_hint(model, img_size)
    if hint:
        return hint
    for layer in layers_of(model, "Rescaling"):
        scale, offset = float(layer.config.get("scale", 0)), float(layer.config.get("offset", 0))
        if abs(scale - 1 / 255) > 1e-6 or offset != 0:
            return (f"Your Rescaling uses scale={scale:.4g} and offset={offset:g}, mapping pixels to "
                    f"[{offset:g}, {255 * scale + offset:.3g}]; the chapter rescales to [0, 1] with Rescaling(1.0 / 255).")
    convs, transposed = layers_of(model, "Conv2D"), layers_of(model, "Conv2DTranspose")
    encoder_filters = _filters_used(convs[:-1])
    # (the default model: the student's own default filters are the count check's business)
    if "filters" in kwargs and encoder_filters and encoder_filters != _stage_filters(filters):
        return (f"Your model ignores filters: its encoder's Conv2D layers have {', '.join(map(str, encoder_filters))} "
                f"filters for filters={tuple(filters)}. Pass filters to strided_downsampling and the reversed filters "
                "to conv_transpose_decoder.")
    decoder_filters = _filters_used(transposed)
    if decoder_filters and decoder_filters == _stage_filters(filters) and tuple(filters) != tuple(reversed(filters)):
        return (f"Your model passes the filters to the decoder unreversed (its Conv2DTranspose layers have "
                f"{', '.join(map(str, decoder_filters))} filters); call conv_transpose_decoder(x, filters[::-1]).")
    return final_layer_hint(convs[-1] if convs else None, classes)


def input_hint(model, img_size):
    """'' unless the model's Input ignores img_size (hard-coded, square, or without the channel axis)."""
    shapes = model.summary.input_shapes if hasattr(model, "summary") else []
    if not shapes or shapes[0] is None or len(shapes[0]) != 4:
        return ""
    got = tuple(shapes[0][1:3])
    if got == tuple(img_size):
        return ""
    if got == (img_size[0], img_size[0]):
        return (f"Your model's Input is square, shape {tuple(shapes[0])} for img_size={tuple(img_size)}: img_size is "
                "(height, width), use Input(img_size + (3,)) instead of img_size[0] twice.")
    return (f"Your model ignores img_size: its Input has shape {tuple(shapes[0])} for img_size={tuple(img_size)}. "
            "Use Input(img_size + (3,)).")


def final_layer_hint(final, classes):
    """The final Conv2D's mistake (filters, kernel, padding), or ''."""
    if final is None:
        return ""
    if int(final.config.get("filters", classes)) != classes:
        return (f"Your final Conv2D always has {final.filters} filters (num_classes={classes} here); "
                "use Conv2D(num_classes, 3, ...), ignoring num_classes gives the wrong channels.")
    if tuple(final.config.get("kernel_size", (3, 3))) == (1, 1):
        return ("Your final Conv2D has a 1x1 kernel; the chapter ends with a 3x3 one: "
                "Conv2D(num_classes, 3, activation='softmax', padding='same').")
    if final.config.get("padding", "same") != "same":
        return ("Your final Conv2D has padding='valid', the default, so the output loses 2 pixels per side; "
                "add padding='same'.")
    return ""


def build_error_hint(message):
    """Hint for a ValueError raised while building the model, or ''."""
    if "found ndim=3" in message:
        return ("Your Input has no channel axis (Keras got inputs of ndim 3); use Input(img_size + (3,)) for the "
                "3 color channels.")
    return ""

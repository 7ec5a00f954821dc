"""Typical mistakes in Lab 3, part 1 (interpretation.py): extract_activations and activation_grid.

Sources: DLwP 2nd ed. listings 9.11-9.15 and the companion notebook
``chapter09_part03_interpreting-what-convnets-learn.ipynb`` (its grid:
``n_cols = n_features // images_per_row``, ``if channel_image.sum() != 0``,
one ``size`` for height and width, a float canvas); Keras 3 release notes
(Sequential models without ``.input``); keras-io issue 1903 (Grad-CAM and
Sequential models).
"""

from tools.mistakes.catalogue import Mistake, edited
from tools.mistakes.probes import rng_image

BOOK_GRID = "the companion notebook's grid code (listing 9.15)"

ACT_HEAD = "def extract_activations(model, image, layer_names=None):\n"
ACT_BATCH = "    batch = _as_batch(image)\n    _model_inputs(model, batch)\n"
ACT_DEFAULT = ("    if layer_names is None:\n"
               "        wanted = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.MaxPooling2D)\n"
               "        layer_names = [layer.name for layer in model.layers if isinstance(layer, wanted)]\n")
ACT_MODEL = ("    outputs = {name: model.get_layer(name).output for name in layer_names}\n"
             "    activation_model = keras.Model(inputs=model.inputs, outputs=outputs)\n"
             "    activations = activation_model(batch)\n")
ACT_RETURN = '    return {name: np.asarray(activations[name], dtype="float32")[0] for name in layer_names}\n'


def _act(batch=ACT_BATCH, default=ACT_DEFAULT, model=ACT_MODEL, ret=ACT_RETURN):
    return ACT_HEAD + batch + default + model + ret


GRID = '''def activation_grid(activation, images_per_row=16):
    h, w, channels = np.shape(activation)
    rows = math.ceil(channels / images_per_row)
    canvas = np.zeros(((h + 1) * rows - 1, (w + 1) * images_per_row - 1), dtype="uint8")
    for k in range(channels):
        channel = np.asarray(activation[:, :, k], dtype="float64")
        if channel.std() > 0:
            channel = np.clip((channel - channel.mean()) / channel.std() * 64 + 128, 0, 255)
        else:
            channel = np.zeros_like(channel)
        row, col = divmod(k, images_per_row)
        canvas[row * (h + 1) : row * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = channel.astype("uint8")
    return canvas
'''


def _grid(*replacements):
    """:data:`GRID` with each ``(old, new)`` replaced."""
    return edited(GRID, *replacements)


def _small_model():
    """A seeded functional model c1 (Conv2D) -> p1 (MaxPooling2D) -> c2 (Conv2D) for (10, 10, 3) images."""
    import keras  # noqa: PLC0415 - TensorFlow is slow to import; only the probes need it

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(10, 10, 3))
    x = keras.layers.Conv2D(4, 3, name="c1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="p1")(x)
    return keras.Model(inputs, keras.layers.Conv2D(2, 3, name="c2")(x))


def _two_layer_probe(module):
    """extract_activations with one layer name, on :func:`_small_model`."""
    return module.extract_activations(_small_model(), rng_image((10, 10, 3)), layer_names=["p1"])


MISTAKES = (
    # -- extract_activations ------------------------------------------------------------------
    Mistake(
        "act_keeps_batch_axis", "extract_activations", "returns each activation with its batch axis (1, h, w, c)",
        _act(ret='    return {name: np.asarray(activations[name], dtype="float32") for name in layer_names}\n'),
        (r"batch axis|\[0\]", r"\(1, \d+, \d+, \d+\)|has shape|\byou"),
        "listing 9.13 indexes `activations[0][0, :, :, 5]` later; the [0] is left to the caller",
    ),
    Mistake(
        "act_model_input", "extract_activations", "builds the activation model from model.input (Keras 2)",
        _act(model=ACT_MODEL.replace("inputs=model.inputs", "inputs=model.input")),
        (r"model\.inputs", r"\.input\b|Sequential|Keras 3"),
        "the book (TF 2.6) writes keras.Model(inputs=model.input, ...); Keras 3 Sequential models have no .input",
    ),
    Mistake(
        "act_isinstance_conv_pool", "extract_activations", "selects isinstance(layer, (Conv2D, MaxPooling2D)) as the book does",
        _act(default=ACT_DEFAULT.replace("keras.layers.SeparableConv2D, ", "")),
        (r"SeparableConv2D", r"missing|subclass|isinstance"),
        "listing 9.12 selects (layers.Conv2D, layers.MaxPooling2D); SeparableConv2D is not a Conv2D in Keras 3",
    ),
    Mistake(
        "act_every_layer", "extract_activations", "returns the output of every layer by default",
        _act(default="    if layer_names is None:\n        layer_names = [layer.name for layer in model.layers]\n"),
        (r"also returned|you returned|extra layers|not (a )?Conv2D",),
        "'intermediate activations' read as all layers",
    ),
    Mistake(
        "act_list_not_dict", "extract_activations", "returns a list of activations (the book's predict output)",
        _act(model="    activation_model = keras.Model(inputs=model.inputs, "
                   "outputs=[model.get_layer(n).output for n in layer_names])\n",
             ret="    return [a[0] for a in activation_model.predict(batch, verbose=0)]\n"),
        (r"dict", r"got list|a list|\byou"),
        "listing 9.13: activations = activation_model.predict(img_tensor) is a list",
    ),
    Mistake(
        "act_single_name_predict", "extract_activations", "zips layer_names with predict()'s outputs, which is no list for one layer",
        _act(model="    activation_model = keras.Model(inputs=model.inputs, "
                   "outputs=[model.get_layer(n).output for n in layer_names])\n"
                   "    activations = activation_model.predict(batch, verbose=0)\n",
             ret="    return {name: act[0] for name, act in zip(layer_names, activations)}\n"),
        (r"one (layer|name)|single (layer|name)|a single", r"predict|array|list|zip"),
        "the book's code has many layers; with one output, predict returns a bare array (bench/book.py guards it)",
        edge="layer_names with a single name",
        probe=_two_layer_probe,
    ),
    Mistake(
        "act_select_by_name", "extract_activations", "selects layers whose name contains 'conv' or 'pool'",
        _act(default="    if layer_names is None:\n"
                     '        layer_names = [l.name for l in model.layers if "conv" in l.name or "pool" in l.name]\n'),
        (r"class|type|isinstance", r"name"),
        "Xception's layer names (block1_conv1, block2_pool) suggest it",
    ),
    Mistake(
        "act_no_batch_axis_added", "extract_activations", "passes an (H, W, 3) image to the model without adding the batch axis",
        _act(batch='    batch = np.asarray(image, dtype="float32")\n'),
        (
            r"batch axis|\(1, H, W, 3\)|expand_dims|newaxis|\[None\]",
            r"add|accept|\(H, W, 3\)",
            r"\byou|missing|forg|did not add|without adding",
        ),
        "the book's get_img_array adds the axis before; the function's contract accepts (H, W, 3)",
    ),
    Mistake(
        "act_ignores_layer_names", "extract_activations", "always returns the default layers, whatever layer_names says",
        _act(default="    layer_names = [layer.name for layer in model.layers\n"
                     "                   if type(layer).__name__ in (\"Conv2D\", \"SeparableConv2D\", \"MaxPooling2D\")]\n"),
        (r"layer_names", r"got|\byou|ignor"),
        "the optional argument is forgotten",
    ),
    Mistake(
        "act_names_in_model_order", "extract_activations", "returns the requested layers in model order (and drops unknown names)",
        _act(default=ACT_DEFAULT + "    else:\n        layer_names = [l.name for l in model.layers if l.name in layer_names]\n"),
        (r"order", r"layer_names|given|requested|asked", r"got|\byou"),
        "filtering model.layers is the natural loop",
    ),
    Mistake(
        "act_empty_names_default", "extract_activations", "tests `if not layer_names:`, so an empty list gives every default layer",
        _act(default=ACT_DEFAULT.replace("if layer_names is None:", "if not layer_names:")),
        (r"\[\]|empty", r"None|no layers|nothing|\{\}"),
        "truthiness tests on optional arguments",
        edge="layer_names=[] (an empty list)",
        probe=lambda m: m.extract_activations(_small_model(), rng_image((10, 10, 3)), layer_names=[]),
    ),
    Mistake(
        "act_sorted_keys", "extract_activations", "returns the activations sorted by layer name",
        _act(ret='    return dict(sorted((name, np.asarray(activations[name])[0]) for name in layer_names))\n'),
        (r"order", r"got|sort|alphabet"),
        "sorted() makes printing tidy",
    ),
    # -- activation_grid ------------------------------------------------------------------------
    Mistake(
        "grid_global_normalization", "activation_grid", "standardizes with the whole activation's mean and std",
        _grid(("    for k in range(channels):\n",
               "    mean, std = np.mean(activation), np.std(activation)\n    for k in range(channels):\n"),
              ("(channel - channel.mean()) / channel.std()", "(channel - mean) / std")),
        (r"each channel|per.?channel|channel's own|its own", r"whole|global|all channels|entire"),
        "normalizing the whole tensor at once is the numpy reflex",
    ),
    Mistake(
        "grid_floor_rows", "activation_grid", "computes the rows with floor division (drops the last channels)",
        _grid(("rows = math.ceil(channels / images_per_row)", "rows = channels // images_per_row"),
              ("    for k in range(channels):\n", "    for k in range(rows * images_per_row):\n")),
        (r"ceil", r"floor|\byou|too few rows|drops"),
        BOOK_GRID + ": n_cols = n_features // images_per_row",
    ),
    Mistake(
        "grid_sum_condition", "activation_grid", "standardizes when the channel's sum is non-zero (a constant channel divides by 0)",
        _grid(("if channel.std() > 0:", "if channel.sum() != 0:")),
        (r"std", r"sum"),
        BOOK_GRID + ": if channel_image.sum() != 0",
    ),
    Mistake(
        "grid_constant_gray", "activation_grid", "draws a constant channel as 128 (mid-gray)",
        _grid(("channel = np.zeros_like(channel)", "channel = np.full_like(channel, 128)")),
        (r"constant|std (is )?0", r"\b0\b", r"mid-gr[ae]y|\byou|drew|values like 128|as 128"),
        "the standardized value of a constant is 'the mean', drawn at 128",
    ),
    Mistake(
        "grid_no_gutters", "activation_grid", "tiles the channels without the 1-pixel gutters",
        _grid(("canvas = np.zeros(((h + 1) * rows - 1, (w + 1) * images_per_row - 1)", "canvas = np.zeros((h * rows, w * images_per_row)"),
              ("canvas[row * (h + 1) : row * (h + 1) + h, col * (w + 1) : col * (w + 1) + w]",
               "canvas[row * h : row * h + h, col * w : col * w + w]")),
        (r"gutter", r"got|missing|without|no gutter|\byou"),
        "np.block-style tiling",
    ),
    Mistake(
        "grid_no_clip", "activation_grid", "leaves out the clip to 0..255, so values beyond 2 std wrap around in uint8",
        _grid(("np.clip((channel - channel.mean()) / channel.std() * 64 + 128, 0, 255)",
               "(channel - channel.mean()) / channel.std() * 64 + 128")),
        (r"clip", r"wrap|overflow|missing|without|never|forg|no clip|not clip"),
        "the clip looks redundant after standardizing",
    ),
    Mistake(
        "grid_square_tiles", "activation_grid", "uses one size (the height) for both sides of every tile",
        _grid(("    h, w, channels = np.shape(activation)\n", "    size, _, channels = np.shape(activation)\n    h = w = size\n")),
        (r"square|height.{0,30}width|width.{0,30}height",),
        BOOK_GRID + ": size = layer_activation.shape[1] for both sides",
    ),
    Mistake(
        "grid_float_canvas", "activation_grid", "returns the float canvas (no uint8)",
        _grid(('dtype="uint8")\n', ")\n"), ('= channel.astype("uint8")', "= channel")),
        (r"uint8", r"float64|float32|got dtype float"),
        BOOK_GRID + ": display_grid = np.zeros(...) is float",
    ),
    Mistake(
        "grid_min_max_scaling", "activation_grid", "min-max scales each channel to 0..255 instead of standardizing",
        _grid(("np.clip((channel - channel.mean()) / channel.std() * 64 + 128, 0, 255)",
               "(channel - channel.min()) / (channel.max() - channel.min()) * 255")),
        (r"min.?max|minimum|min\(\)", r"mean|std|standardi"),
        "min-max scaling is the usual 'to an image' conversion",
    ),
    Mistake(
        "grid_images_per_row_ignored", "activation_grid", "lays out 16 channels per row whatever images_per_row is",
        _grid(("    h, w, channels = np.shape(activation)\n", "    h, w, channels = np.shape(activation)\n    per_row = 16\n"),
              ("math.ceil(channels / images_per_row)", "math.ceil(channels / per_row)"),
              ("(w + 1) * images_per_row - 1", "(w + 1) * per_row - 1"),
              ("divmod(k, images_per_row)", "divmod(k, per_row)")),
        (r"images_per_row", r"ignor|hard.?cod|always 16|\byou"),
        "the book's images_per_row = 16 is a global",
    ),
    Mistake(
        "grid_columns_capped", "activation_grid", "makes the grid only as wide as the channel count when it is below images_per_row",
        _grid(("    rows = math.ceil(channels / images_per_row)\n",
               "    rows = math.ceil(channels / images_per_row)\n    cols = min(images_per_row, channels)\n"),
              ("(w + 1) * images_per_row - 1", "(w + 1) * cols - 1")),
        (r"images_per_row", r"width|wide|columns|full|fewer"),
        "'no empty columns' looks tidier",
        edge="images_per_row larger than the channel count",
        probe=lambda m: m.activation_grid(rng_image((4, 3, 3), seed=4)),
    ),
    Mistake(
        "grid_squeeze_one_channel", "activation_grid", "squeezes the activation (to drop a batch axis), which also drops a single channel",
        _grid(("    h, w, channels = np.shape(activation)\n",
               "    activation = np.squeeze(activation)  # (1, h, w, c) -> (h, w, c)\n    h, w, channels = activation.shape\n")),
        (r"one channel|1 channel|single channel|c ?= ?1|one-channel", r"squeeze|axis|drop"),
        "np.squeeze is the usual way to drop a batch axis",
        edge="an activation with one channel",
        probe=lambda m: m.activation_grid(rng_image((4, 5, 1), seed=2)),
    ),
    Mistake(
        "grid_rows_plus_one", "activation_grid", "computes rows = channels // images_per_row + 1 (one row too many when it divides)",
        _grid(("rows = math.ceil(channels / images_per_row)", "rows = channels // images_per_row + 1")),
        (r"ceil|rows", r"multiple|exact|extra row|empty row|too many"),
        "a home-made ceil",
        edge="a channel count that is a multiple of images_per_row",
        probe=lambda m: m.activation_grid(rng_image((4, 5, 16), seed=6), images_per_row=8),
    ),
    Mistake(
        "grid_row_col_swapped", "activation_grid", "places channel k at row k % images_per_row, column k // images_per_row",
        _grid(("row, col = divmod(k, images_per_row)", "col, row = divmod(k, images_per_row)")),
        (r"swap|transpos|the other way|exchang",),
        BOOK_GRID + " names the loop variables col/row the other way round",
    ),
)

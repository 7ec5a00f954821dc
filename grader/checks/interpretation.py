"""Checks for Lab 3 — interpreting convnets (activations, filter patterns, Grad-CAM).

Every check runs the student's function on tiny seeded models built here
(a non-square conv net with a plain head, the same net with a branching
head, Sequential models) and compares with the reference solution within a
tolerance. When the result differs, the check recomputes the usual
mistakes (no border crop, per-pixel normalization, no ReLU, wrong axes,
ignored class_index, ...) and names the one that matches.
"""

import functools
import math
import warnings

import numpy as np

from grader.core import check, student_function
from grader.modeltools import assert_close
from grader.reference import reference

LAB = "interpretation"
DEFAULT_ACTIVATION_LAYERS = ("Conv2D", "SeparableConv2D", "MaxPooling2D")

# -- test models ---------------------------------------------------------------
# Built once per grading process (the checks never train or change them).

CHAIN_INPUT = (24, 32, 3)  # non-square, so swapped axes cannot go unnoticed
NUM_CLASSES = 4


def _conv_body(inputs):
    """conv1 -> pool1 -> bn -> sepconv -> relu -> last_conv (9 x 13 x 10 for a 24 x 32 input)."""
    from keras import layers  # noqa: PLC0415

    x = layers.Conv2D(6, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.SeparableConv2D(8, 3, padding="same", name="sepconv")(x)
    x = layers.Activation("relu", name="sepconv_act")(x)
    return layers.Conv2D(10, 3, activation="relu", name="last_conv")(x)


@functools.cache
def chain_model():
    """Functional classifier whose head is a plain chain (Flatten -> Dense softmax)."""
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    keras.utils.set_random_seed(3)
    inputs = keras.Input(shape=CHAIN_INPUT)
    x = layers.Flatten(name="flatten")(_conv_body(inputs))
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="chain")


@functools.cache
def branching_model():
    """Same body; the head branches (GAP -> Dense and Flatten -> Dense, added, then softmax)."""
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    keras.utils.set_random_seed(4)
    inputs = keras.Input(shape=CHAIN_INPUT)
    features = _conv_body(inputs)
    pooled = layers.Dense(NUM_CLASSES, name="pooled_logits")(layers.GlobalAveragePooling2D(name="gap")(features))
    flat = layers.Dense(NUM_CLASSES, name="flat_logits")(layers.Flatten(name="flatten")(features))
    logits = layers.Add(name="add")([pooled, flat])
    outputs = layers.Activation("softmax", name="predictions")(logits)
    return keras.Model(inputs, outputs, name="branching")


@functools.cache
def called_sequential():
    """A Sequential softmax classifier without an Input layer, built by calling it once."""
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    keras.utils.set_random_seed(5)
    model = keras.Sequential(
        [
            layers.Conv2D(5, 3, activation="relu", name="seq_conv1"),
            layers.MaxPooling2D(2, name="seq_pool"),
            layers.SeparableConv2D(6, 3, activation="relu", name="seq_sepconv"),
            layers.Flatten(name="seq_flatten"),
            layers.Dense(3, activation="softmax", name="seq_predictions"),
        ],
        name="called_sequential",
    )
    model(np.zeros((1, 16, 20, 3), "float32"))
    return model


@functools.cache
def negative_sigmoid_model():
    """Sequential sigmoid classifier whose class score falls with every activation.

    ReLU activations (>= 0) times a Dense kernel of negative numbers: every
    channel's mean gradient is negative, so the Grad-CAM map is <= 0
    everywhere and its ReLU is all zeros.
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    keras.utils.set_random_seed(6)
    model = keras.Sequential(
        [
            keras.Input(shape=(12, 12, 3)),
            layers.Conv2D(4, 3, activation="relu", name="conv"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Dense(1, activation="sigmoid", name="score"),
        ],
        name="negative_sigmoid",
    )
    dense = model.get_layer("score")
    kernel, bias = dense.get_weights()
    dense.set_weights([-np.abs(kernel) - 0.1, bias])
    return model


@functools.cache
def conv_extractor():
    """Fully convolutional feature extractor (any H, W) -> (1, H, W, 4), 'same' padding."""
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    keras.utils.set_random_seed(7)
    inputs = keras.Input(shape=(None, None, 3))
    x = layers.Conv2D(6, 3, padding="same", activation="tanh", name="ex_conv1")(inputs)
    outputs = layers.Conv2D(4, 3, padding="same", name="ex_conv2")(x)
    return keras.Model(inputs, outputs, name="extractor")


def _image(shape, seed=0, low=0.0, high=1.0):
    """Seeded float32 array of ``shape`` drawn uniformly from [low, high)."""
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype("float32")


def _call(student, name, *args, **kwargs):
    """Call the student's function; turn the Keras 3 ``.input``/``.output`` error into a hint."""
    func = student_function(student, name)
    try:
        return func(*args, **kwargs)
    except AttributeError as exc:
        text = str(exc)
        if "input" in text or "output" in text:
            raise AssertionError(
                f"{name}() raised AttributeError: {text} Keras 3 Sequential models have no "
                "`.input`/`.output`: use the lists `model.inputs` and `model.outputs` "
                "(and `model.get_layer(name).output` for a layer)."
            ) from exc
        raise


def _as_float_array(value, what):
    """``value`` as a float32 np.ndarray (same shape); AssertionError naming ``what`` if it cannot be."""
    try:
        return np.asarray(value, dtype="float32")
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what} must be a numpy array or tensor; got {type(value).__name__}.") from exc


# -- extract_activations -------------------------------------------------------


def _expected_default_names(model):
    return [layer.name for layer in model.layers if type(layer).__name__ in DEFAULT_ACTIVATION_LAYERS]


def _check_activation_dict(got, ref, model):
    """Compare a student's activation dict with the reference's, with hints."""
    if not isinstance(got, dict):
        raise AssertionError(f"return a dict {{layer name: activation}}; got {type(got).__name__}.")
    names, expected = list(got), list(ref)
    if names != expected:
        layer_types = {layer.name: type(layer).__name__ for layer in model.layers}
        extra = [n for n in names if n not in expected]
        missing = [n for n in expected if n not in names]
        if extra:
            kinds = ", ".join(f"{n} ({layer_types.get(n, '?')})" for n in extra)
            raise AssertionError(
                f"by default return only Conv2D, SeparableConv2D and MaxPooling2D layers; you also returned {kinds}."
            )
        if missing:
            kinds = ", ".join(f"{n} ({layer_types.get(n, '?')})" for n in missing)
            raise AssertionError(
                f"missing layers: {kinds}. Select every layer whose class is Conv2D, SeparableConv2D or "
                "MaxPooling2D (SeparableConv2D is not a subclass of Conv2D)."
            )
        raise AssertionError(f"keep the model's layer order: expected keys {expected}, got {names}.")
    for name in expected:
        value = _as_float_array(got[name], f"the activation of {name}")
        want = ref[name]
        if value.shape == (1,) + want.shape:
            raise AssertionError(
                f"the activation of {name} has shape {value.shape}: drop the batch axis "
                f"(return activation[0], shape {want.shape})."
            )
        assert_close(value, want, f"activation of layer {name}", atol=1e-4, rtol=1e-3)


@check(LAB, "extract_activations", points=2)
def check_default_layers(student):
    """returns every Conv2D, SeparableConv2D and MaxPooling2D output, (h, w, c), in model order"""
    model = chain_model()
    image = _image(CHAIN_INPUT, seed=1)
    got = _call(student, "extract_activations", model, image)
    ref = reference(LAB).extract_activations(model, image)
    _check_activation_dict(got, ref, model)
    batched = _call(student, "extract_activations", model, image[np.newaxis])
    if not isinstance(batched, dict) or list(batched) != list(ref):
        raise AssertionError("accept an image with a batch axis too: (1, H, W, 3) must give the same result as (H, W, 3).")
    _check_activation_dict(batched, ref, model)


@check(LAB, "extract_activations", points=1)
def check_sequential_and_names(student):
    """works on a Sequential model and honours layer_names (in the order given)"""
    model = called_sequential()
    image = _image((16, 20, 3), seed=2)
    got = _call(student, "extract_activations", model, image)
    ref = reference(LAB).extract_activations(model, image)
    _check_activation_dict(got, ref, model)
    names = ["seq_sepconv", "seq_conv1"]
    got = _call(student, "extract_activations", model, image, layer_names=names)
    if not isinstance(got, dict) or list(got) != names:
        keys = list(got) if isinstance(got, dict) else type(got).__name__
        raise AssertionError(f"with layer_names={names} return exactly those layers, in that order; got {keys}.")
    ref = reference(LAB).extract_activations(model, image, layer_names=names)
    for name in names:
        assert_close(_as_float_array(got[name], name), ref[name], f"activation of layer {name}", atol=1e-4, rtol=1e-3)


@check(LAB, "extract_activations", points=1)
def check_unknown_layer(student):
    """an unknown layer name raises ValueError listing the model's layers"""
    model = chain_model()
    func = student_function(student, "extract_activations")
    try:
        func(model, _image(CHAIN_INPUT), layer_names=["no_such_layer"])
    except KeyError as exc:
        raise AssertionError(
            f"an unknown layer name raised KeyError({exc}); raise ValueError listing the available layers "
            "(model.get_layer(name) does)."
        ) from exc
    except ValueError as exc:
        if not any(name in str(exc) for name in _expected_default_names(model)):
            raise AssertionError(
                f"the ValueError must help: list the layer names one may use (e.g. conv1, sepconv); it said: {exc}"
            ) from None
        return
    raise AssertionError(
        "layer_names=['no_such_layer'] must raise ValueError listing the available layers "
        "(model.get_layer(name) already does)."
    )


# -- activation_grid -----------------------------------------------------------


def _activation(shape=(5, 6, 20), seed=3, constant_channels=()):
    """Seeded float32 (h, w, c) activation, N(1, 2); the ``constant_channels`` are all 3.0."""
    activation = np.random.default_rng(seed).normal(1.0, 2.0, size=shape).astype("float32")
    for k in constant_channels:
        activation[:, :, k] = 3.0
    return activation


def _grid(student, activation, **kwargs):
    """The student's grid; AssertionError when a NaN from 0 / 0 reached the uint8 conversion."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(divide="warn", invalid="warn"):
        warnings.simplefilter("always", RuntimeWarning)
        try:
            grid = _call(student, "activation_grid", activation, **kwargs)
        except ValueError as exc:
            if "negative dimensions" in str(exc):
                raise AssertionError(
                    f"activation_grid failed for {activation.shape[-1]} channels ({exc}): with fewer channels "
                    "than images_per_row, floor division gives 0 rows. rows = math.ceil(channels / images_per_row)."
                ) from exc
            if _is_shape_error(exc):
                raise AssertionError(
                    f"activation_grid failed to place a channel in the canvas ({str(exc).splitlines()[0]}): the "
                    "canvas is too small. rows = math.ceil(channels / images_per_row); channel k goes to row "
                    "k // images_per_row at y = row * (h + 1), column k % images_per_row at x = col * (w + 1)."
                ) from exc
            raise
    # np.where(std > 0, (x - m) / std, 0) warns "in divide" but discards the NaN: that is fine.
    # A NaN cast to uint8 warns "in cast": the constant channel was divided by its zero std.
    if any("cast" in str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)):
        raise AssertionError(
            "activation_grid divides by zero on a constant channel (0 / 0 = NaN, then cast to uint8): when a "
            "channel's std is 0, draw it as 0 instead of standardizing it."
        )
    return np.asarray(grid)


@check(LAB, "activation_grid", points=2)
def check_grid_shape(student):
    """rows = ceil(c / images_per_row), 1-pixel gutters, uint8 2-D canvas"""
    activation = _activation()  # 20 channels, 8 per row -> 3 rows, the last one partly empty
    h, w, c = activation.shape
    rows = math.ceil(c / 8)
    expected = ((h + 1) * rows - 1, (w + 1) * 8 - 1)
    grid = _grid(student, activation, images_per_row=8)
    if grid.shape != expected:
        if grid.shape == ((h + 1) * (c // 8) - 1, expected[1]):
            raise AssertionError(
                f"{c} channels at 8 per row need ceil({c} / 8) = {rows} rows; you used {c // 8} "
                "(floor), which drops the last channels. Use math.ceil."
            )
        if grid.shape == (h * rows, w * 8):
            raise AssertionError(f"leave a 1-pixel zero gutter between channels: expected shape {expected}, got {grid.shape}.")
        raise AssertionError(
            f"for an activation of shape {activation.shape} and images_per_row=8 the grid must have shape "
            f"((h + 1) * rows - 1, (w + 1) * images_per_row - 1) = {expected}; got {grid.shape}."
        )
    if grid.dtype != np.uint8:
        raise AssertionError(f"return a uint8 image (`.astype('uint8')` after clipping to 0..255); got dtype {grid.dtype}.")
    if grid[h, :].any() or grid[:, w].any():
        raise AssertionError("the 1-pixel gutters between channels must be 0.")


@check(LAB, "activation_grid", points=2)
def check_grid_values(student):
    """each channel standardized to (x - mean) / std * 64 + 128; a constant channel is drawn 0"""
    activation = _activation(constant_channels=(5,))
    grid = _grid(student, activation, images_per_row=8)
    expected = reference(LAB).activation_grid(activation, images_per_row=8)
    if grid.shape != expected.shape:
        raise AssertionError(f"grid shape {grid.shape}, expected {expected.shape} (see the shape check).")
    h, w = activation.shape[:2]
    constant_tile = grid[0:h, 5 * (w + 1) : 5 * (w + 1) + w]
    if constant_tile.any():
        raise AssertionError(
            f"channel 5 is constant (std 0) and must be drawn 0; you drew values like {int(constant_tile.max())}. "
            "Check `if std > 0` before standardizing."
        )
    diff = np.abs(grid.astype(int) - expected.astype(int))
    if diff.max() > 1:
        row, col = np.unravel_index(diff.argmax(), diff.shape)
        channel = (row // (h + 1)) * 8 + col // (w + 1)
        raise AssertionError(
            f"channel {channel} is drawn differently from (x - mean) / std * 64 + 128 clipped to 0..255 "
            f"(pixel ({row}, {col}): {grid[row, col]} instead of {expected[row, col]}). Channel k goes to "
            "row k // images_per_row, column k % images_per_row."
        )


@check(LAB, "activation_grid", points=1, hidden=True)
def check_grid_few_channels(student):
    """fewer channels than images_per_row still gives a full-width single row"""
    activation = _activation(shape=(4, 3, 3), seed=4)
    grid = _grid(student, activation)
    expected = reference(LAB).activation_grid(activation)
    if grid.shape != expected.shape:
        raise AssertionError(
            f"3 channels with the default images_per_row=16 give one row of width (w + 1) * 16 - 1: "
            f"expected shape {expected.shape}, got {grid.shape}."
        )
    if np.abs(grid.astype(int) - expected.astype(int)).max() > 1:
        raise AssertionError("with 3 channels the grid's values differ from the reference.")


# -- filter_loss ---------------------------------------------------------------

FILTER_IMAGE_SHAPE = (1, 12, 14, 3)


@check(LAB, "filter_loss", points=2)
def check_filter_loss(student):
    """mean activation of one filter, 2-pixel border excluded, differentiable"""
    import tensorflow as tf  # noqa: PLC0415

    extractor = conv_extractor()
    image = tf.constant(_image(FILTER_IMAGE_SHAPE, seed=5))
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = _call(student, "filter_loss", extractor, image, 2)
    got = _as_float_array(loss, "filter_loss")
    if got.size != 1:
        raise AssertionError(f"filter_loss must return a scalar (the mean); got shape {got.shape}.")
    got = float(got.reshape(()))
    activation = np.asarray(extractor(image))
    expected = float(reference(LAB).filter_loss(extractor, image, 2))
    if not np.isclose(got, expected, atol=1e-5, rtol=1e-4):
        hint = "take the mean of activation[:, 2:-2, 2:-2, filter_index]."
        if np.isclose(got, activation[..., 2].mean(), atol=1e-5, rtol=1e-4):
            hint = ("crop the 2-pixel border before averaging: activation[:, 2:-2, 2:-2, filter_index] "
                    "(border pixels see the zero padding and create artifacts).")
        elif np.isclose(got, activation[:, 2:-2, 2:-2, :].mean(), atol=1e-5, rtol=1e-4):
            hint = "keep only channel filter_index: activation[:, 2:-2, 2:-2, filter_index]."
        raise AssertionError(f"filter_loss = {got:.5f}, expected {expected:.5f}: {hint}")
    if tape.gradient(loss, image) is None:
        raise AssertionError(
            "no gradient flows from your loss to the image: compute it with TensorFlow/keras ops on "
            "feature_extractor(image) (not .predict() or numpy)."
        )


# -- gradient_ascent_step --------------------------------------------------------


def _raw_gradients(student, extractor, image, filter_index):
    """d filter_loss / d image for the student's own filter_loss (when differentiable) and the reference's.

    The step is graded against whichever the student's step follows, so a
    filter_loss mistake does not cost the gradient_ascent_step points too.
    """
    import tensorflow as tf  # noqa: PLC0415

    loss_functions = [getattr(student, "filter_loss", None), reference(LAB).filter_loss]
    gradients = []
    for loss_function in filter(callable, loss_functions):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = loss_function(extractor, image, filter_index)
        grads = tape.gradient(loss, image)
        if grads is not None:
            gradients.append(np.asarray(grads))
    return gradients


def _l2_normalized(grads, axis):
    """``grads`` divided by its L2 norm along ``axis`` (what a wrong ``axis=`` produces)."""
    norm = np.sqrt(np.sum(grads.astype("float64") ** 2, axis=axis, keepdims=True))
    return grads / np.maximum(norm, 1e-12)


def _cosine(a, b):
    """Cosine similarity (float) of two arrays of the same size, flattened, in float64."""
    a, b = np.ravel(a).astype("float64"), np.ravel(b).astype("float64")
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


@check(LAB, "gradient_ascent_step", points=2)
def check_gradient_step(student):
    """adds learning_rate times the gradient divided by its global L2 norm"""
    import tensorflow as tf  # noqa: PLC0415

    extractor = conv_extractor()
    image = tf.constant(_image(FILTER_IMAGE_SHAPE, seed=6, low=0.4, high=0.6))
    learning_rate = 2.5
    result = _as_float_array(_call(student, "gradient_ascent_step", extractor, image, 1, learning_rate), "the new image")
    if result.shape != FILTER_IMAGE_SHAPE:
        raise AssertionError(f"return the updated image with the input's shape {FILTER_IMAGE_SHAPE}; got {result.shape}.")
    step = result - np.asarray(image)
    # the gradient (of the student's loss or the reference's) that the step follows best
    raw = max(_raw_gradients(student, extractor, image, 1), key=lambda grads: abs(_cosine(step, grads)))
    expected = learning_rate * _l2_normalized(raw, None)
    cosine = _cosine(step, expected)
    if cosine < -0.99:
        raise AssertionError("you step against the gradient: gradient *ascent* is image + learning_rate * grads.")
    step_norm = float(np.linalg.norm(step))
    if np.allclose(step, learning_rate * raw, atol=1e-6, rtol=1e-3):
        raise AssertionError(
            "normalize the gradient before the step: grads = tf.math.l2_normalize(grads) "
            "(the raw gradient's size depends on the filter's scale)."
        )
    if cosine < 0.999:
        for what, axis in (("each pixel", -1), ("each channel", (0, 1, 2)), ("each value", 0)):
            if _cosine(step, _l2_normalized(raw, axis)) > 0.999:
                raise AssertionError(
                    f"you normalized {what} separately; divide by one L2 norm over the whole gradient "
                    "(tf.math.l2_normalize(grads, axis=None), the default)."
                )
    if cosine < 0.999:
        raise AssertionError(
            "the step does not follow the gradient of filter_loss with respect to the image: compute "
            "it with tf.GradientTape (tape.watch(image)) around filter_loss(feature_extractor, image, filter_index)."
        )
    if not np.isclose(step_norm, learning_rate, rtol=1e-3):
        raise AssertionError(
            f"the step's L2 norm is {step_norm:.4g}, expected learning_rate = {learning_rate}: divide the gradient "
            "by its global L2 norm (tf.math.l2_normalize(grads, axis=None)) and multiply by learning_rate."
        )
    assert_close(step, expected.astype("float32"), "gradient step", atol=1e-4, rtol=1e-3)


# -- generate_filter_pattern -----------------------------------------------------


def _own_steps(student, extractor, image, filter_index, learning_rate, iterations):
    """``iterations`` of the student's own gradient_ascent_step, (H, W, 3), or None without one.

    A loop around a wrong step is still a right loop: generate_filter_pattern
    is graded against either the reference or the student's own step.
    """
    step = getattr(student, "gradient_ascent_step", None)
    if not callable(step):
        return None
    for _ in range(iterations):
        image = step(extractor, image, filter_index, learning_rate)
    return np.asarray(image, dtype="float32")[0]


@check(LAB, "generate_filter_pattern", points=2)
def check_pattern_from_image(student):
    """runs `iterations` gradient-ascent steps from the given image and returns (H, W, 3) float32"""
    import tensorflow as tf  # noqa: PLC0415

    extractor = conv_extractor()
    start = _image(FILTER_IMAGE_SHAPE, seed=7, low=0.4, high=0.6)
    kwargs = {"iterations": 3, "learning_rate": 1.5, "image": tf.constant(start)}
    got = _call(student, "generate_filter_pattern", extractor, 2, **kwargs)
    got = _as_float_array(got, "the pattern")
    ref = reference(LAB)
    expected = ref.generate_filter_pattern(extractor, 2, **kwargs)
    if got.shape == start.shape:
        raise AssertionError(f"return one image (H, W, 3) = {expected.shape}: drop the batch axis (image[0]).")
    if got.shape != expected.shape:
        raise AssertionError(f"expected a pattern of shape {expected.shape}, got {got.shape}.")
    if np.allclose(got, start[0], atol=1e-6):
        raise AssertionError(
            "the pattern equals the start image: in the loop, update it with "
            "image = gradient_ascent_step(feature_extractor, image, filter_index, learning_rate)."
        )
    own_steps = _own_steps(student, extractor, kwargs["image"], 2, kwargs["learning_rate"], kwargs["iterations"])
    if not np.allclose(got, expected, atol=1e-3, rtol=1e-3) and not (
        own_steps is not None and np.allclose(got, own_steps, atol=1e-3, rtol=1e-3)
    ):
        for steps in (1, 30):
            if np.allclose(got, ref.generate_filter_pattern(extractor, 2, **{**kwargs, "iterations": steps}), atol=1e-3):
                raise AssertionError(f"you ran {steps} step(s) instead of `iterations` (3 here): loop range(iterations).")
        raise AssertionError(
            "the pattern differs from `iterations` calls of gradient_ascent_step(feature_extractor, image, "
            "filter_index, learning_rate) from the given image."
        )


@check(LAB, "generate_filter_pattern", points=1)
def check_seeded_start(student):
    """without an image, starts from seeded uniform(0.4, 0.6) noise of img_size"""
    extractor = conv_extractor()
    kwargs = {"iterations": 0, "img_size": (10, 14)}
    raw = np.asarray(_call(student, "generate_filter_pattern", extractor, 0, seed=11, **kwargs))
    if raw.shape != (10, 14, 3):
        raise AssertionError(f"img_size=(10, 14) must give a (10, 14, 3) pattern (height first); got {raw.shape}.")
    if raw.dtype != np.float32:
        raise AssertionError(f"return float32 (`.astype('float32')`); got {raw.dtype}.")
    first = raw
    if first.min() < 0.4 - 1e-6 or first.max() > 0.6 + 1e-6 or first.std() < 1e-3:
        raise AssertionError(
            f"with iterations=0 the result is the start image, which must be uniform noise in [0.4, 0.6); "
            f"got values from {first.min():.3f} to {first.max():.3f}."
        )
    again = _as_float_array(_call(student, "generate_filter_pattern", extractor, 0, seed=11, **kwargs), "the pattern")
    other = _as_float_array(_call(student, "generate_filter_pattern", extractor, 0, seed=12, **kwargs), "the pattern")
    if not np.array_equal(first, again):
        raise AssertionError(
            "the same seed must give the same start image: draw it with np.random.default_rng(seed).uniform(...) "
            "or tf.random.stateless_uniform(shape, seed=[seed, 0], ...) (tf.random.uniform(seed=...) changes "
            "from call to call)."
        )
    if np.array_equal(first, other):
        raise AssertionError("different seeds must give different start images: use the seed argument.")


# -- deprocess_image -------------------------------------------------------------


@check(LAB, "deprocess_image", points=2)
def check_deprocess(student):
    """standardizes to mean 128, std 64, clips, converts to uint8 and crops `crop` pixels per border"""
    image = np.random.default_rng(8).normal(0.3, 0.05, size=(20, 22, 3)).astype("float32")
    expected = reference(LAB).deprocess_image(image, crop=3)
    got = np.asarray(_call(student, "deprocess_image", image.copy(), crop=3))
    if got.shape == image.shape:
        raise AssertionError("crop `crop` pixels from each border: image[crop:-crop, crop:-crop] (shape (14, 16, 3) here).")
    if got.shape != expected.shape:
        raise AssertionError(f"with crop=3 a (20, 22, 3) image must become {expected.shape}; got {got.shape}.")
    if got.dtype != np.uint8:
        raise AssertionError(f"return uint8 (clip to 0..255, then `.astype('uint8')`); got {got.dtype}.")
    if np.abs(got.astype(int) - expected.astype(int)).max() > 1:
        raise AssertionError(
            "values differ from (x - mean) / std * 64 + 128 clipped to 0..255 (mean and std over the whole image)."
        )
    default = np.asarray(_call(student, "deprocess_image", np.resize(image, (60, 60, 3))))
    if default.shape != (10, 10, 3):
        raise AssertionError(f"the default crop is 25 pixels: a (60, 60, 3) image must become (10, 10, 3); got {default.shape}.")


@check(LAB, "deprocess_image", points=1)
def check_deprocess_constant(student):
    """a constant image (std 0) becomes all 128, not NaN"""
    image = np.full((8, 8, 3), 0.5, dtype="float32")
    with np.errstate(divide="ignore", invalid="ignore"):
        got = np.asarray(_call(student, "deprocess_image", image, crop=2))
    if got.shape != (4, 4, 3):
        raise AssertionError(f"with crop=2 an (8, 8, 3) image must become (4, 4, 3); got {got.shape}.")
    if not np.all(got == 128):
        raise AssertionError(
            "an image with std 0 must become all 128: skip the division when the std is 0 "
            f"(0 / 0 is NaN); got values {np.unique(got)[:5].tolist()}."
        )


# -- grad_cam --------------------------------------------------------------------


def _activation_and_grads(model, layer_name, batch, class_index):
    """The layer's activation (h, w, c) and d score / d activation, computed here independently."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    grad_model = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        activation, preds = grad_model(batch, training=False)
        score = preds[:, class_index]
    grads = tape.gradient(score, activation)
    return np.asarray(activation)[0], np.asarray(grads)[0]


def _normalized(heatmap):
    """(h, w) float heatmap divided by its max; all zeros (same shape, dtype) when the max is <= 0."""
    peak = heatmap.max()
    return heatmap / peak if peak > 0 else np.zeros_like(heatmap)


def _grad_cam_variants(model, layer_name, batch, class_index):
    """Heatmaps that the usual mistakes produce, name -> (h, w) array."""
    activation, grads = _activation_and_grads(model, layer_name, batch, class_index)
    weights = grads.mean(axis=(0, 1))
    raw = (activation * weights).mean(axis=-1)
    variants = {
        "no_relu": raw / raw.max() if raw.max() != 0 else raw,
        "not_normalized": np.maximum(raw, 0),
        "weights_over_height": _normalized(np.maximum((activation * grads.mean(axis=0)).mean(axis=-1), 0)),
        "sum_over_channels": _normalized(np.maximum((activation * weights).sum(axis=-1), 0)),
        "no_weights": _normalized(np.maximum(activation.mean(axis=-1), 0)),
    }
    return variants


_GRAD_CAM_HINTS = {
    "no_relu": "apply ReLU before normalizing (np.maximum(heatmap, 0)): Grad-CAM keeps only what speaks for the class.",
    "not_normalized": "divide the heatmap by its max so that its values lie in [0, 1].",
    "weights_over_height": (
        "average the gradients over (batch, height, width) — axis=(0, 1, 2) — to get one weight per channel; "
        "you averaged over the wrong axes."
    ),
    "sum_over_channels": "take the mean over channels of activation * weights (np.mean(..., axis=-1)), then ReLU and /max.",
    "no_weights": "weight each channel of the activation by the mean gradient of the class score before averaging.",
}


def _is_shape_error(exc):
    text = str(exc).lower()
    return any(word in text for word in ("broadcast", "incompatible shapes", "dimensions must be equal", "shape mismatch"))


def _grad_cam(student, model, image, layer_name, **kwargs):
    """The student's heatmap as float array, with NaN/shape hints."""
    import tensorflow as tf  # noqa: PLC0415

    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            result = _call(student, "grad_cam", model, image, layer_name, **kwargs)
        except (ValueError, tf.errors.InvalidArgumentError) as exc:
            if not _is_shape_error(exc):
                raise
            raise AssertionError(
                f"grad_cam failed with a shape mismatch ({type(exc).__name__}: {str(exc).splitlines()[0]}). "
                "The weights must be one number per channel: average the gradients (1, h, w, c) over "
                "axis=(0, 1, 2), then multiply the activation (h, w, c) by them."
            ) from exc
        heatmap = _as_float_array(result, "the heatmap")
    spatial = tuple(model.get_layer(layer_name).output.shape[1:3])
    if heatmap.shape == (1,) + spatial:
        raise AssertionError(f"return the heatmap without the batch axis: shape {spatial}, got {heatmap.shape}.")
    if heatmap.shape != spatial:
        raise AssertionError(
            f"the heatmap has the conv layer's spatial size {spatial} (mean over channels); got shape {heatmap.shape}."
        )
    if np.isnan(heatmap).any():
        raise AssertionError(
            "the heatmap contains NaN: when its max is 0 (nothing speaks for the class) return zeros "
            "instead of dividing 0 / 0."
        )
    dtype = np.asarray(result).dtype
    if dtype != np.float32:
        raise AssertionError(f"return a float32 heatmap (`.astype('float32')`); got {dtype}.")
    return heatmap


def _assert_heatmap(got, expected, model, layer_name, batch, class_index, what):
    """AssertionError with a hint unless the (h, w) float heatmaps ``got`` and ``expected`` agree (atol 2e-3).

    The hint names the usual mistake whose heatmap ``got`` matches, if any.
    """
    if np.allclose(got, expected, atol=2e-3):
        return
    if got.min() < -1e-6:
        raise AssertionError(f"{what}: the heatmap has negative values. {_GRAD_CAM_HINTS['no_relu']}")
    for name, variant in _grad_cam_variants(model, layer_name, batch, class_index).items():
        if variant.shape == got.shape and np.allclose(got, variant, atol=2e-3):
            raise AssertionError(f"{what}: {_GRAD_CAM_HINTS[name]}")
    diff = float(np.abs(got - expected).max())
    raise AssertionError(
        f"{what}: differs from the reference (max abs difference {diff:.3g}). Steps: gradient of "
        "preds[:, class_index] w.r.t. the conv layer's output; weights = mean over (batch, h, w); "
        "heatmap = mean over channels of activation * weights; ReLU; divide by the max."
    )


def _top_class(model, batch):
    """Index (int) of the top class of ``model`` for the first image of the float32 (1, H, W, 3) batch."""
    return int(np.argmax(np.asarray(model(batch, training=False))[0]))


@check(LAB, "grad_cam", points=3)
def check_grad_cam_top_class(student):
    """heatmap of the top predicted class: (h, w) float32 in [0, 1], as the reference"""
    model, layer = chain_model(), "last_conv"
    batch = _image((1,) + CHAIN_INPUT, seed=9)
    got = _grad_cam(student, model, batch, layer)
    expected = reference(LAB).grad_cam(model, batch, layer)
    _assert_heatmap(got, expected, model, layer, batch, _top_class(model, batch), "top-class heatmap")
    got3 = _grad_cam(student, model, batch[0], layer)
    if not np.allclose(got3, expected, atol=2e-3):
        raise AssertionError("an (H, W, 3) image without the batch axis must give the same heatmap as (1, H, W, 3).")


@check(LAB, "grad_cam", points=2)
def check_grad_cam_class_index(student):
    """class_index selects the class whose score is differentiated"""
    model, layer = chain_model(), "last_conv"
    batch = _image((1,) + CHAIN_INPUT, seed=9)
    top = _top_class(model, batch)
    ref = reference(LAB)
    top_map = ref.grad_cam(model, batch, layer)
    for class_index in range(NUM_CLASSES):
        if class_index == top:
            continue
        expected = ref.grad_cam(model, batch, layer, class_index=class_index)
        got = _grad_cam(student, model, batch, layer, class_index=class_index)
        if not np.allclose(got, expected, atol=2e-3) and np.allclose(got, top_map, atol=2e-3):
            raise AssertionError(
                f"class_index={class_index} gave the top class's heatmap: use preds[:, class_index] when "
                "class_index is given, and the top predicted class only when it is None."
            )
        _assert_heatmap(got, expected, model, layer, batch, class_index, f"heatmap for class_index={class_index}")


@check(LAB, "grad_cam", points=1)
def check_grad_cam_sequential(student):
    """works on a Sequential model (Keras 3: model.inputs / model.outputs)"""
    model, layer = called_sequential(), "seq_sepconv"
    batch = _image((1, 16, 20, 3), seed=10)
    got = _grad_cam(student, model, batch, layer)
    expected = reference(LAB).grad_cam(model, batch, layer)
    _assert_heatmap(got, expected, model, layer, batch, _top_class(model, batch), "Sequential model")


@check(LAB, "grad_cam", points=1)
def check_grad_cam_all_negative(student):
    """a map with nothing for the class (max 0) is all zeros, not NaN (single sigmoid output)"""
    model, layer = negative_sigmoid_model(), "conv"
    batch = _image((1, 12, 12, 3), seed=11)
    got = _grad_cam(student, model, batch, layer)
    if np.any(got != 0):
        if got.min() < 0:
            raise AssertionError(
                "every channel's weight is negative here, so after ReLU nothing is left: the heatmap must be all 0. "
                + _GRAD_CAM_HINTS["no_relu"]
            )
        raise AssertionError(
            "every channel's weight is negative here (the sigmoid score falls with every activation), so "
            "relu(map) is 0 everywhere and the heatmap must be all zeros: apply ReLU before dividing by the max, "
            "and return zeros when the max is 0."
        )
    got = _grad_cam(student, model, batch, layer, class_index=0)
    if np.any(got != 0):
        raise AssertionError("with one sigmoid output, class_index=0 is that output; the heatmap must again be all 0.")


@check(LAB, "grad_cam", points=1, hidden=True)
def check_grad_cam_branching_head(student):
    """works when the layers after the conv layer branch (not a plain chain)"""
    model, layer = branching_model(), "last_conv"
    batch = _image((1,) + CHAIN_INPUT, seed=12)
    try:
        got = _grad_cam(student, model, batch, layer)
    except (AssertionError, NotImplementedError):
        raise
    except Exception as exc:
        raise AssertionError(
            f"grad_cam failed ({type(exc).__name__}: {exc}) on a model whose head branches after the conv layer "
            "(two Dense layers added together). Do not re-chain the layers after it: build one model "
            "keras.Model(model.inputs, [conv_layer.output, model.outputs[0]]) that returns both."
        ) from exc
    expected = reference(LAB).grad_cam(model, batch, layer)
    _assert_heatmap(got, expected, model, layer, batch, _top_class(model, batch), "branching head")


# -- overlay_heatmap -------------------------------------------------------------

OVERLAY_IMAGE_SHAPE = (24, 30, 3)


def _overlay_inputs(seed=13):
    """(uint8 OVERLAY_IMAGE_SHAPE image, float32 (6, 5) heatmap in [0, 1] with a 0 and a 1), seeded."""
    rng = np.random.default_rng(seed)
    image = rng.integers(40, 200, size=OVERLAY_IMAGE_SHAPE).astype("uint8")
    heatmap = rng.uniform(0, 1, size=(6, 5)).astype("float32")
    heatmap[0, 0], heatmap[-1, -1] = 0.0, 1.0
    return image, heatmap


def _colormap_overlay(image, heatmap, name, alpha=0.4, scale=255):
    """The overlay with another colormap or color scale (for the hints)."""
    import matplotlib  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    colors = matplotlib.colormaps[name](np.arange(256))[:, :3]
    colored = colors[np.uint8(255 * heatmap)] * scale
    colored = tf.image.resize(colored, image.shape[:2], method="bilinear").numpy()
    total = alpha * colored + image
    total -= total.min()
    return (total / total.max() * 255).astype("uint8")


def _overlay(student, image, heatmap, **kwargs):
    """The student's overlay as an array; a shape mismatch while adding becomes a size hint."""
    import tensorflow as tf  # noqa: PLC0415

    try:
        return np.asarray(_call(student, "overlay_heatmap", image.copy(), heatmap.copy(), **kwargs))
    except (ValueError, tf.errors.InvalidArgumentError) as exc:
        if not _is_shape_error(exc):
            raise
        height, width = image.shape[:2]
        raise AssertionError(
            f"overlay_heatmap failed with a shape mismatch ({str(exc).splitlines()[0]}): resize the colored "
            f"heatmap to the image's size (H, W) = {(height, width)} before adding it. PIL's resize takes "
            "(width, height); tf.image.resize takes (height, width)."
        ) from exc


def _overlay_close(got, expected):
    """Close enough: other resizers (PIL bilinear, the book's default bicubic) differ by a few levels."""
    diff = np.abs(got.astype("float32") - expected.astype("float32"))
    # measured: the book's exact code (bicubic) is within mean 4.3 / 99th percentile 14 of the reference;
    # nearest-neighbour resizing, alpha 0.8 instead of 0.4 and the jet-like 'turbo' are at mean >= 9
    return float(diff.mean()) <= 6.0 and float(np.percentile(diff, 99)) <= 24


@check(LAB, "overlay_heatmap", points=2)
def check_overlay(student):
    """jet-colored heatmap resized to the image, added with alpha, uint8 (H, W, 3)"""
    image, heatmap = _overlay_inputs()
    got = _overlay(student, image, heatmap)
    expected = reference(LAB).overlay_heatmap(image, heatmap)
    height, width = image.shape[:2]
    if got.shape == (width, height, 3):
        raise AssertionError(
            f"the overlay has shape {got.shape}: height and width are swapped. PIL's resize takes (width, height), "
            "tf.image.resize takes (height, width)."
        )
    if got.shape != image.shape:
        raise AssertionError(
            f"resize the colored heatmap to the image's size (H, W) = {(height, width)} before adding; "
            f"the overlay must have shape {image.shape}, got {got.shape}."
        )
    if got.dtype != np.uint8:
        raise AssertionError(f"return uint8 (min-max rescale to 0..255, then `.astype('uint8')`); got {got.dtype}.")
    if _overlay_close(got, expected):
        return
    if _overlay_close(got, _colormap_overlay(image, heatmap, "jet", scale=1)):
        raise AssertionError(
            "the colormap gives RGB values in 0..1: multiply them by 255 before adding them to the 0..255 image."
        )
    for name in ("viridis", "gray", "hot", "turbo"):
        if _overlay_close(got, _colormap_overlay(image, heatmap, name)):
            raise AssertionError(f"you used the {name!r} colormap; the chapter uses matplotlib.colormaps['jet'].")
    raise AssertionError(
        "the overlay differs from the reference: color uint8(255 * heatmap) with matplotlib.colormaps['jet'] "
        "(RGB, times 255), resize bilinearly to (H, W), add alpha * colored + image, min-max rescale to 0..255."
    )


@check(LAB, "overlay_heatmap", points=1)
def check_overlay_alpha_and_rescale(student):
    """honours alpha and rescales the sum to the full 0..255 range"""
    image, heatmap = _overlay_inputs(seed=14)
    got = _overlay(student, image, heatmap, alpha=0.8)
    if got.shape != image.shape:
        raise AssertionError(f"the overlay must have the image's shape {image.shape}; got {got.shape}.")
    if int(got.min()) > 1 or int(got.max()) < 254:
        raise AssertionError(
            f"min-max rescale the sum to 0..255 (as keras.utils.array_to_img does); your values span "
            f"{int(got.min())}..{int(got.max())}."
        )
    expected = reference(LAB).overlay_heatmap(image, heatmap, alpha=0.8)
    if not _overlay_close(got, expected):
        if _overlay_close(got, reference(LAB).overlay_heatmap(image, heatmap)):
            raise AssertionError("use the alpha argument: alpha=0.8 gave the overlay of the default 0.4.")
        raise AssertionError("with alpha=0.8 the overlay differs from alpha * jet(heatmap) * 255 + image, rescaled.")

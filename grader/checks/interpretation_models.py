"""What the Lab 3 check modules share: test models, seeded inputs, calls into student code.

The grader builds these tiny models itself (in the judge, or in this process
for in-notebook feedback) and passes them to the student's functions as real
``keras.Model`` arguments; the sandbox receives their config and weights.
Every weight comes from a numpy ``default_rng(seed)``, never from a Keras
initializer, so the recorded expectations hold on any TensorFlow version and
platform.

The classifiers' heads after the Grad-CAM layer are linear up to the final
softmax, so :func:`class_score_gradient` can state d score / d activation
for them in closed form (the checks' mistake variants need it; no
GradientTape, no Grad-CAM, in the kit).

:func:`student_call` and :func:`student_gradient` run a student function
and turn Keras 3's missing ``.input``/``.output`` into a hint.
"""

import contextlib
import functools

import numpy as np

from cvlab_ch9.grader.modeltools import seeded_inputs, type_name

LAB = "interpretation"

CHAIN_INPUT = (24, 32, 3)  # non-square, so swapped axes cannot go unnoticed
NUM_CLASSES = 4
SEQUENTIAL_INPUT = (16, 20, 3)
NEGATIVE_INPUT = (12, 12, 3)


def image(shape, seed=0, low=0.0, high=1.0):
    """Seeded float32 array of ``shape`` drawn uniformly from [low, high)."""
    return seeded_inputs(shape, seed=seed, low=low, high=high)


# -- calling student code ----------------------------------------------------------------


@contextlib.contextmanager
def keras3_hint(name):
    """Turn the Keras 3 ``.input``/``.output`` AttributeError raised by student code into a hint."""
    try:
        yield
    except AttributeError as exc:
        text = str(exc)
        if "input" in text or "output" in text:
            raise AssertionError(
                f"{name}() raised AttributeError: {text} Keras 3 Sequential models have no "
                "`.input`/`.output`: use the lists `model.inputs` and `model.outputs` "
                "(and `model.get_layer(name).output` for a layer)."
            ) from exc
        raise


def student_call(student, name, *args, **kwargs):
    """The student's ``name(*args, **kwargs)`` as data, with the Keras 3 hint."""
    func = student.function(name)
    with keras3_hint(name):
        return func(*args, **kwargs)


def student_gradient(student, name, args, wrt):
    """``(value, d value / d args[wrt] or None)`` of the student's ``name(*args)``, with the Keras 3 hint."""
    student.function(name)  # MissingFunction when absent
    with keras3_hint(name):
        return student.gradient(name, args, {}, wrt)


def as_float_array(value, what):
    """``value`` as a float32 np.ndarray (same shape); AssertionError naming ``what`` if it cannot be."""
    try:
        return np.asarray(value, dtype="float32")
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what} must be a numpy array or tensor; got {type_name(value)}.") from exc


def as_array(value, what):
    """``value`` as an np.ndarray keeping its dtype (for shape and dtype checks); AssertionError if it is none."""
    return value if isinstance(value, np.ndarray) else as_float_array(value, what)


def is_shape_error(exc):
    text = str(exc).lower()
    return any(word in text for word in ("broadcast", "incompatible shapes", "dimensions must be equal", "shape mismatch"))


# -- numpy-seeded weights ---------------------------------------------------------------


def _glorot(shape, rng):
    """Glorot-uniform float32 values of a kernel ``shape`` (as Keras computes fans: receptive field x channels)."""
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def _weight_values(name, shape, rng):
    """Seeded values for one weight, chosen by its Keras name (kernel, bias, BatchNorm statistics)."""
    if name.endswith("kernel"):
        return _glorot(shape, rng)
    if name in ("gamma", "moving_variance"):
        return rng.uniform(0.8, 1.2, size=shape)
    if name in ("beta", "moving_mean"):
        return rng.normal(0.0, 0.1, size=shape)
    return rng.uniform(-0.05, 0.05, size=shape)  # biases: small, not all zero


def seed_weights(model, seed):
    """Set every weight of the Keras ``model`` from ``np.random.default_rng(seed)``, in ``model.weights`` order."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        shape = tuple(int(d) for d in weight.shape)
        weight.assign(_weight_values(weight.name, shape, rng).astype("float32"))
    return model


# -- the models ---------------------------------------------------------------------------
# Built once per grading process (the checks never train or change them). The
# classifiers' seeds are chosen so that, on the checks' images, the top class
# wins by a margin and every class's Grad-CAM map has a clearly positive
# maximum (and the top class's clear negatives before the ReLU), so the maps
# do not flip with rounding on another platform and each mistake shows
# (tests/test_grader_interpretation.py checks this).


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

    inputs = keras.Input(shape=CHAIN_INPUT)
    x = layers.Flatten(name="flatten")(_conv_body(inputs))
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="predictions")(x)
    return seed_weights(keras.Model(inputs, outputs, name="chain"), seed=1)


@functools.cache
def branching_model():
    """Same body; the head branches (GAP -> Dense and Flatten -> Dense, added, then softmax)."""
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    inputs = keras.Input(shape=CHAIN_INPUT)
    features = _conv_body(inputs)
    pooled = layers.Dense(NUM_CLASSES, name="pooled_logits")(layers.GlobalAveragePooling2D(name="gap")(features))
    flat = layers.Dense(NUM_CLASSES, name="flat_logits")(layers.Flatten(name="flatten")(features))
    logits = layers.Add(name="add")([pooled, flat])
    outputs = layers.Activation("softmax", name="predictions")(logits)
    return seed_weights(keras.Model(inputs, outputs, name="branching"), seed=4)


@functools.cache
def called_sequential():
    """A Sequential softmax classifier without an Input layer, built by calling it once."""
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

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
    model(np.zeros((1,) + SEQUENTIAL_INPUT, "float32"))
    return seed_weights(model, seed=0)


@functools.cache
def negative_sigmoid_model():
    """Sequential sigmoid classifier whose class score falls with every activation.

    ReLU activations (>= 0) times a Dense kernel of negative numbers: every
    channel's mean gradient is negative, so the Grad-CAM map is <= 0
    everywhere and its ReLU is all zeros.
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    model = keras.Sequential(
        [
            keras.Input(shape=NEGATIVE_INPUT),
            layers.Conv2D(4, 3, activation="relu", name="conv"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Dense(1, activation="sigmoid", name="score"),
        ],
        name="negative_sigmoid",
    )
    seed_weights(model, seed=6)
    dense = model.get_layer("score")
    kernel, bias = dense.get_weights()
    dense.set_weights([-np.abs(kernel) - 0.1, bias])
    return model


@functools.cache
def conv_extractor():
    """Fully convolutional feature extractor (any H, W) -> (1, H, W, 4), 'same' padding."""
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    inputs = keras.Input(shape=(None, None, 3))
    x = layers.Conv2D(6, 3, padding="same", activation="tanh", name="ex_conv1")(inputs)
    outputs = layers.Conv2D(4, 3, padding="same", name="ex_conv2")(x)
    return seed_weights(keras.Model(inputs, outputs, name="extractor"), seed=7)


# -- the heads, in closed form --------------------------------------------------------------


def _logit_map(model, layer_name):
    """Matrix J (h*w*c, classes) with logits = flatten(activation of ``layer_name``) @ J + bias.

    Defined for the test classifiers above, whose layers after the Grad-CAM
    layer are Flatten -> Dense (chain, Sequential) or GAP -> Dense plus
    Flatten -> Dense (branching); Flatten is row-major over (h, w, c).
    """
    h, w, _ = (int(d) for d in model.get_layer(layer_name).output.shape[1:])
    if model.name == "chain" and layer_name == "last_conv":
        return model.get_layer("predictions").get_weights()[0]
    if model.name == "called_sequential" and layer_name == "seq_sepconv":
        return model.get_layer("seq_predictions").get_weights()[0]
    if model.name == "branching" and layer_name == "last_conv":
        pooled = model.get_layer("pooled_logits").get_weights()[0]  # (c, classes), on the mean over h, w
        return model.get_layer("flat_logits").get_weights()[0] + np.tile(pooled, (h * w, 1)) / (h * w)
    raise ValueError(f"no closed-form head for layer {layer_name!r} of test model {model.name!r}")


def class_score_gradient(model, layer_name, batch, class_index):
    """d softmax score of ``class_index`` / d activation of ``layer_name``, float32 (h, w, c), for one image.

    The softmax Jacobian times the head's linear map: d p_k / d logits =
    p_k * (onehot(k) - p). ``batch`` is float32 (1, H, W, 3).
    """
    probs = np.asarray(model(batch, training=False), dtype="float64")[0]
    dscore_dlogits = probs[class_index] * ((np.arange(probs.size) == class_index) - probs)
    shape = tuple(int(d) for d in model.get_layer(layer_name).output.shape[1:])
    return (_logit_map(model, layer_name).astype("float64") @ dscore_dlogits).reshape(shape).astype("float32")


def top_class(model, batch):
    """Index (int) of the top class of ``model`` for the first image of the float32 (1, H, W, 3) batch."""
    return int(np.argmax(np.asarray(model(batch, training=False))[0]))

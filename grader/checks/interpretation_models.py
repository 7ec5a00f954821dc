"""What the Lab 3 check modules share: test models, drawn inputs, calls into student code.

The grader builds these tiny models itself (in the judge, or in this process
for in-notebook feedback) and passes them to the student's functions as real
``keras.Model`` arguments; the sandbox receives their config and weights.
Everything about them comes from the check's draw (:mod:`cvlab_ch9.grader.draw`):
input sizes (never square, so swapped axes show), filter and class counts,
and every weight (numpy, never a Keras initializer, so the recordings hold
on any TensorFlow version and platform). One set of models per draw.

A classifier's weights are drawn until, on its probe image, the top class
wins by a margin, every Grad-CAM map the checks compare has a clearly
positive maximum, the top class's map has clear negatives before the ReLU
and the classes' maps differ: then the maps do not flip with rounding and
every typical mistake shows (:func:`grad_cam_is_telling`).

The classifiers' heads after the Grad-CAM layer are linear up to the final
softmax, so :func:`class_score_gradient` can state d score / d activation
for them in closed form (the checks' mistake variants need it; no
GradientTape, no Grad-CAM, in the kit).

:func:`student_call` and :func:`student_gradient` run a student function
and turn Keras 3's missing ``.input``/``.output`` into a hint.
"""

import contextlib
import dataclasses

import numpy as np

from cvlab_ch9.grader.draw import distinct, integers, uniform
from cvlab_ch9.grader.modeltools import drawn_weights, type_name

LAB = "interpretation"
#: Draws of a classifier's weights tried before giving up, and probe images tried on each
#: (an image is accepted with probability 1/20 or more).
MAX_ATTEMPTS = 100
IMAGES_PER_ATTEMPT = 8


def image(rng, shape, low=0.0, high=1.0):
    """A drawn float32 array of ``shape``, uniform in [low, high)."""
    return uniform(rng, shape, low, high)


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
                f"Your {name}() raised AttributeError: {text} Keras 3 Sequential models have no "
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
        raise AssertionError(f"Your code returned a {type_name(value)} for {what}: return a numpy array or tensor.") from exc


def as_array(value, what):
    """``value`` as an np.ndarray keeping its dtype (for shape and dtype checks); AssertionError if it is none."""
    return value if isinstance(value, np.ndarray) else as_float_array(value, what)


def is_shape_error(exc):
    text = str(exc).lower()
    return any(word in text for word in ("broadcast", "incompatible shapes", "dimensions must be equal", "shape mismatch"))


# -- the models ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Classifier:
    """A drawn test classifier with its Grad-CAM layer and a probe batch (float32 (1, H, W, 3))."""

    model: object
    layer: str
    batch: np.ndarray

    @property
    def input_shape(self):
        return tuple(self.batch.shape[1:])


def seed_weights(model, rng):
    """Set every weight of the Keras ``model`` to drawn values (see :func:`cvlab_ch9.grader.modeltools.weight_values`)."""
    model.set_weights(drawn_weights(model, rng))
    return model


def _conv_body(inputs, rng):
    """conv1 -> pool1 -> bn -> sepconv -> relu -> last_conv, with drawn filter counts."""
    from keras import layers  # noqa: PLC0415

    x = layers.Conv2D(integers(rng, 4, 7), 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.SeparableConv2D(integers(rng, 5, 8), 3, padding="same", name="sepconv")(x)
    x = layers.Activation("relu", name="sepconv_act")(x)
    return layers.Conv2D(integers(rng, 6, 10), 3, activation="relu", name="last_conv")(x)


def _non_square(rng, heights, widths):
    height = integers(rng, *heights)
    width = integers(rng, *widths)
    return (height, width + (width == height), 3)


def _accepted(draw, name, build, layer, classes_of, top_not_first=False):
    """A :class:`Classifier` whose drawn weights pass :func:`grad_cam_is_telling` (built once per draw).

    ``top_not_first``: the probe's top class is never class 0, so that an explicit class_index=0 is told
    apart from the default (``if not class_index:`` treats 0 as None).
    """

    def make():
        import keras  # noqa: PLC0415

        model = build(draw.shape_rng(LAB, name))
        shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        probe = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])
        for attempt in range(MAX_ATTEMPTS):
            weights_rng = draw.rng(LAB, name, "weights", attempt)
            seed_weights(model, weights_rng)
            images = image(weights_rng, (IMAGES_PER_ATTEMPT,) + shape)
            activations, all_probs = (np.asarray(t) for t in probe(images, training=False))
            for index, (activation, probs) in enumerate(zip(activations, all_probs)):
                if top_not_first and int(np.argmax(probs)) == 0:
                    continue
                if grad_cam_is_telling(model, layer, classes_of(model, probs), activation, probs):
                    return Classifier(model, layer, images[index : index + 1])
        raise RuntimeError(f"no telling weights for the test model {name} in {MAX_ATTEMPTS} draws")

    return draw.cached((LAB, name), make)


def chain(draw):
    """Functional classifier whose head is a plain chain (Flatten -> Dense softmax); every class is probed."""

    def build(rng):
        import keras  # noqa: PLC0415
        from keras import layers  # noqa: PLC0415

        inputs = keras.Input(shape=_non_square(rng, (18, 24), (22, 30)))
        x = layers.Flatten(name="flatten")(_conv_body(inputs, rng))
        outputs = layers.Dense(integers(rng, 3, 5), activation="softmax", name="predictions")(x)
        return keras.Model(inputs, outputs, name="chain")

    return _accepted(draw, "chain", build, "last_conv", lambda model, probs: range(probs.size), top_not_first=True)


def branching(draw):
    """Same body; the head branches (GAP -> Dense and Flatten -> Dense, added, then softmax)."""

    def build(rng):
        import keras  # noqa: PLC0415
        from keras import layers  # noqa: PLC0415

        inputs = keras.Input(shape=_non_square(rng, (18, 24), (22, 30)))
        features = _conv_body(inputs, rng)
        classes = integers(rng, 3, 5)
        pooled = layers.Dense(classes, name="pooled_logits")(layers.GlobalAveragePooling2D(name="gap")(features))
        flat = layers.Dense(classes, name="flat_logits")(layers.Flatten(name="flatten")(features))
        logits = layers.Add(name="add")([pooled, flat])
        outputs = layers.Activation("softmax", name="predictions")(logits)
        return keras.Model(inputs, outputs, name="branching")

    return _accepted(draw, "branching", build, "last_conv", lambda model, probs: [int(np.argmax(probs))])


def called_sequential(draw):
    """A Sequential softmax classifier without an Input layer, built by calling it once."""

    def build(rng):
        import keras  # noqa: PLC0415
        from keras import layers  # noqa: PLC0415

        model = keras.Sequential(
            [
                layers.Conv2D(integers(rng, 3, 6), 3, activation="relu", name="seq_conv1"),
                layers.MaxPooling2D(2, name="seq_pool"),
                layers.SeparableConv2D(integers(rng, 4, 7), 3, activation="relu", name="seq_sepconv"),
                layers.Flatten(name="seq_flatten"),
                layers.Dense(integers(rng, 2, 4), activation="softmax", name="seq_predictions"),
            ],
            name="called_sequential",
        )
        model(np.zeros((1,) + _non_square(rng, (14, 18), (16, 22)), "float32"))
        return model

    return _accepted(draw, "called_sequential", build, "seq_sepconv", lambda model, probs: [int(np.argmax(probs))])


def negative_sigmoid(draw):
    """Sequential sigmoid classifier whose class score falls with every activation, and a probe batch.

    ReLU activations (>= 0) times a Dense kernel of negative numbers: every
    channel's mean gradient is negative, so the Grad-CAM map is <= 0
    everywhere and its ReLU is all zeros.
    """

    def make():
        import keras  # noqa: PLC0415
        from keras import layers  # noqa: PLC0415

        shapes, rng = draw.shape_rng(LAB, "negative_sigmoid"), draw.rng(LAB, "negative_sigmoid")
        side = integers(shapes, 10, 14)
        model = keras.Sequential(
            [
                keras.Input(shape=(side, side + integers(shapes, 1, 3), 3)),
                layers.Conv2D(integers(shapes, 3, 6), 3, activation="relu", name="conv"),
                layers.GlobalAveragePooling2D(name="gap"),
                layers.Dense(1, activation="sigmoid", name="score"),
            ],
            name="negative_sigmoid",
        )
        seed_weights(model, rng)
        dense = model.get_layer("score")
        kernel, bias = dense.get_weights()
        dense.set_weights([-np.abs(kernel) - 0.1, bias])
        return Classifier(model, "conv", image(rng, (1,) + tuple(int(d) for d in model.inputs[0].shape[1:])))

    return draw.cached((LAB, "negative_sigmoid"), make)


def conv_extractor(draw):
    """Fully convolutional feature extractor (any H, W) -> (1, H, W, filters), 'same' padding, drawn widths."""

    def make():
        import keras  # noqa: PLC0415
        from keras import layers  # noqa: PLC0415

        shapes = draw.shape_rng(LAB, "extractor")
        inputs = keras.Input(shape=(None, None, 3))
        x = layers.Conv2D(integers(shapes, 4, 8), 3, padding="same", activation="tanh", name="ex_conv1")(inputs)
        outputs = layers.Conv2D(integers(shapes, 3, 6), 3, padding="same", name="ex_conv2")(x)
        return seed_weights(keras.Model(inputs, outputs, name="extractor"), draw.rng(LAB, "extractor"))

    return draw.cached((LAB, "extractor"), make)


def extractor_filters(draw):
    """The drawn feature extractor's number of filters (its output channels)."""
    return int(conv_extractor(draw).outputs[0].shape[-1])


def num_classes(model):
    return int(model.outputs[0].shape[-1])


def probe_image(draw, stream, shape, low=0.0, high=1.0):
    """A drawn image of ``shape`` for the check ``stream``."""
    return image(draw.rng(LAB, stream, "image"), shape, low, high)


def layer_subset(rng, names):
    """A drawn non-empty ordered selection (2 or more when possible) of ``names``, never in their own order
    when it has 2 or more (so that code returning the model's order is told apart from code keeping the given one)."""
    count = integers(rng, min(2, len(names)), len(names))
    picked = distinct(rng, 0, len(names) - 1, count)
    if count >= 2 and picked == sorted(picked):
        picked = picked[::-1]
    return [names[i] for i in picked]


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


def class_score_gradient(model, layer_name, batch, class_index, probs=None):
    """d softmax score of ``class_index`` / d activation of ``layer_name``, float32 (h, w, c), for one image.

    The softmax Jacobian times the head's linear map: d p_k / d logits =
    p_k * (onehot(k) - p). ``batch`` is float32 (1, H, W, 3); ``probs`` the
    model's output for it, when known.
    """
    probs = np.asarray(model(batch, training=False) if probs is None else probs, dtype="float64").reshape(-1)
    dscore_dlogits = probs[class_index] * ((np.arange(probs.size) == class_index) - probs)
    shape = tuple(int(d) for d in model.get_layer(layer_name).output.shape[1:])
    return (_logit_map(model, layer_name).astype("float64") @ dscore_dlogits).reshape(shape).astype("float32")


def top_class(model, batch):
    """Index (int) of the top class of ``model`` for the first image of the float32 (1, H, W, 3) batch."""
    return int(np.argmax(np.asarray(model(batch, training=False))[0]))


def layer_activation(model, layer_name, batch):
    """The (h, w, c) output of ``layer_name`` for the first image of ``batch`` (the grader's own test models)."""
    import keras  # noqa: PLC0415

    return np.asarray(keras.Model(model.inputs, model.get_layer(layer_name).output)(batch, training=False))[0]


def raw_grad_cam(activation, gradients):
    """Grad-CAM before the ReLU and the /max, (h, w) float64, from (h, w, c) activation and gradients."""
    return (activation.astype("float64") * gradients.mean(axis=(0, 1))).mean(axis=-1)


def grad_cam_is_telling(model, layer, classes, activation, probs):
    """True when, on ``batch``, the Grad-CAM maps of ``classes`` are far from every rounding edge.

    ``activation`` is the (h, w, c) output of ``layer`` and ``probs`` the model's output for the probe. The top
    class wins by 0.01; every map's maximum before the ReLU is clearly away
    from 0 (beyond 0.1 of its largest magnitude: a positive one normalizes
    stably, a negative one gives a map of zeros), the top class's is clearly
    positive with clear negatives (a missing ReLU shows), and the maps of
    different classes differ by 0.1 somewhere (an ignored class_index shows).
    """
    ranked = np.sort(probs)
    if ranked.size > 1 and ranked[-1] - ranked[-2] < 0.01:
        return False
    top, maps = int(np.argmax(probs)), []
    for class_index in classes:
        raw = raw_grad_cam(activation, class_score_gradient(model, layer, None, class_index, probs))
        scale = np.abs(raw).max()
        if abs(raw.max()) <= 0.1 * scale:
            return False
        if class_index == top and (raw.max() <= 0 or raw.min() > -0.1 * raw.max()):
            return False
        maps.append(np.maximum(raw, 0) / raw.max() if raw.max() > 0 else np.zeros_like(raw))
    return all(np.abs(a - b).max() > 0.1 for i, a in enumerate(maps) for b in maps[i + 1:])

"""Probes: one call on which a mistake and the reference disagree, checked without the grader.

A probe is ``probe(module) -> value`` (see :attr:`catalogue.Mistake.probe`).
:func:`probe_disagrees` runs it on ``solutions/`` and on the mistake's module
and compares the two results, so an entry that only an edge value exposes
is shown to be a real mistake even while the grader misses it. The helpers
here build the small inputs the probes need.
"""

import numpy as np

from cvlab_ch9.impl import load_lab
from tools.mistakes.catalogue import module_text


class Raised:
    """What a probe gives when the call raised: the exception's class name."""

    def __init__(self, exc):
        self.name = type(exc).__name__

    def __repr__(self):
        return f"raised {self.name}"


def run_probe(probe, module):
    """``probe(module)``, or :class:`Raised` when it raises."""
    try:
        return probe(module)
    except Exception as exc:  # noqa: BLE001 - raising is one of the behaviours a probe compares
        return Raised(exc)


def same(a, b):
    """True when two probe results agree: both raised, or equal values (arrays within 1e-4, same shape and dtype)."""
    if isinstance(a, Raised) or isinstance(b, Raised):
        return isinstance(a, Raised) and isinstance(b, Raised)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.shape != b_arr.shape or a_arr.dtype.kind != b_arr.dtype.kind or a_arr.dtype != b_arr.dtype:
        return False
    if a_arr.dtype.kind in "fc":
        return bool(np.allclose(a_arr, b_arr, atol=1e-4, rtol=1e-4, equal_nan=False))
    return bool(np.array_equal(a_arr, b_arr))


def probe_disagrees(entry, directory):
    """``(disagrees, reference result, entry result)`` of the entry's probe.

    The entry's module is written to ``directory/<lab>.py`` and loaded fresh.
    """
    reference = load_lab(entry.lab, "solutions")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{entry.lab}.py"
    path.write_text(module_text(entry))
    student = load_lab(entry.lab, directory)
    want, got = run_probe(entry.probe, reference), run_probe(entry.probe, student)
    return not same(want, got), want, got


# -- inputs the probes share --------------------------------------------------------------


def rng_image(shape, seed=0, low=0.0, high=1.0):
    """Seeded float32 array of ``shape``, uniform in [low, high)."""
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype("float32")


def block_output_shape(block, input_shape, **kwargs):
    """Output shape (batch dropped) of ``block(keras.Input(input_shape), **kwargs)``."""
    import keras  # noqa: PLC0415 - TensorFlow is slow to import; only model probes need it

    return tuple(block(keras.Input(shape=input_shape), **kwargs).shape[1:])


def tiny_classifier(num_classes=3, input_shape=(12, 12, 3), seed=0):
    """A seeded functional classifier ``conv -> relu conv 'last_conv' -> GAP -> Dense softmax``."""
    import keras  # noqa: PLC0415 - TensorFlow is slow to import; only model probes need it
    from keras import layers  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(5, 3, activation="relu", name="last_conv")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def branching_classifier(num_classes=3, input_shape=(12, 12, 3), seed=0):
    """Like :func:`tiny_classifier`, but the head branches after ``last_conv``: GAP -> Dense plus Flatten -> Dense."""
    import keras  # noqa: PLC0415 - TensorFlow is slow to import; only model probes need it
    from keras import layers  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)
    features = layers.Conv2D(5, 3, activation="relu", name="last_conv")(x)
    pooled = layers.Dense(num_classes)(layers.GlobalAveragePooling2D()(features))
    flat = layers.Dense(num_classes)(layers.Flatten()(features))
    return keras.Model(inputs, layers.Activation("softmax")(layers.Add()([pooled, flat])))

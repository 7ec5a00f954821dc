"""Helpers for checking Keras models built by student code.

Checks compare *behaviour*, not source: they build the student's and the
reference model on the same small input, copy the reference weights into
the student's model and compare outputs within a tolerance. Structure is
inspected only to explain a difference with a precise hint.
"""

import numpy as np

from cvlab.layers import flat_layers

# every function imports keras lazily: TensorFlow is imported by the runner first, silently


def layers_of(model, *class_names):
    """Layers whose class name is one of ``class_names``."""
    return [layer for layer in flat_layers(model) if type(layer).__name__ in class_names]


def assert_symbolic(value, func_name):
    """Fail with a hint unless ``value`` is a Keras symbolic tensor."""
    import keras  # noqa: PLC0415

    if not isinstance(value, keras.KerasTensor):
        raise AssertionError(
            f"{func_name}() must return the output tensor of its last layer "
            f"(got {type(value).__name__}); did you forget `return x`?"
        )


def model_from_block(func, func_name, input_shape, **kwargs):
    """``keras.Model`` wrapping ``func(Input(input_shape), **kwargs)``."""
    import keras  # noqa: PLC0415

    inputs = keras.Input(shape=input_shape)
    outputs = func(inputs, **kwargs)
    assert_symbolic(outputs, func_name)
    return keras.Model(inputs, outputs)


def weight_shapes(model):
    """Shapes of ``model.weights`` in order."""
    return [tuple(w.shape) for w in model.weights]


def copy_weights(source, target, hint):
    """Copy ``source``'s weights into ``target``; AssertionError(hint) if they do not fit."""
    src, dst = weight_shapes(source), weight_shapes(target)
    if src != dst:
        raise AssertionError(f"{hint} (weight shapes: expected {_short(src)}, got {_short(dst)})")
    target.set_weights(source.get_weights())


def _short(shapes, limit=8):
    text = ", ".join(str(s) for s in shapes[:limit])
    return text + (f", … {len(shapes) - limit} more" if len(shapes) > limit else "")


def seeded_inputs(shape, seed=0, low=0.0, high=255.0):
    """Fixed float32 inputs of ``shape`` drawn uniformly from [low, high)."""
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype("float32")


def predict(model, x):
    """Model output as numpy, inference mode, no progress bar."""
    return np.asarray(model(x, training=False))


def assert_close(actual, expected, what, atol=1e-5, rtol=1e-4):
    """AssertionError naming ``what`` and the largest difference when not allclose."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape}, got {actual.shape}.")
    if not np.allclose(actual, expected, atol=atol, rtol=rtol):
        diff = float(np.max(np.abs(actual.astype("float64") - expected)))
        raise AssertionError(f"{what}: values differ from the reference (max abs difference {diff:.3g}).")


def activation_of(layer):
    """Name of a layer's activation function, or None."""
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) if activation is not None else None


def effective_final_activation(model):
    """Activation applied last: the last layer's own, or a trailing Activation/Softmax layer."""
    for layer in reversed(flat_layers(model)):
        name = type(layer).__name__
        if name == "Softmax":
            return "softmax"
        if name in ("Activation", "ReLU"):
            return activation_of(layer) or "relu"
        if hasattr(layer, "activation"):
            return activation_of(layer)
    return None


# -- helpers added for Lab 2 (architecture) -------------------------------------


def copy_weights_by_layer(source, target, hint):
    """Copy weights layer by layer, pairing layers by class name and weight shapes.

    Unlike :func:`copy_weights` this tolerates layers created in another
    order (e.g. a shortcut ``Conv2D`` built before the main path): each
    ``target`` layer that has weights takes the first unused ``source``
    layer of the same class whose weight shapes match.

    Raises:
        AssertionError: ``hint`` plus the layer that has no counterpart, or
            the layers of ``source`` left unused.
    """
    candidates = [layer for layer in flat_layers(source) if layer.weights]
    for layer in (layer for layer in flat_layers(target) if layer.weights):
        shapes = [tuple(w.shape) for w in layer.weights]
        match = next(
            (
                cand
                for cand in candidates
                if type(cand).__name__ == type(layer).__name__ and [tuple(w.shape) for w in cand.weights] == shapes
            ),
            None,
        )
        if match is None:
            raise AssertionError(f"{hint} (your {type(layer).__name__} with weight shapes {_short(shapes)} has no counterpart)")
        layer.set_weights(match.get_weights())
        candidates.remove(match)
    if candidates:
        missing = ", ".join(f"{type(c).__name__} {_short([tuple(w.shape) for w in c.weights], 2)}" for c in candidates)
        raise AssertionError(f"{hint} (missing: {missing})")


def randomize_batchnorm(model, seed=0):
    """Give every BatchNormalization layer non-trivial, seeded gamma/beta/moving statistics.

    Freshly built BN layers are the identity in inference mode (gamma 1,
    beta 0, mean 0, variance 1), which would hide a misplaced BN.
    """
    rng = np.random.default_rng(seed)
    for layer in layers_of(model, "BatchNormalization"):
        values = []
        for weight in layer.weights:
            shape, name = tuple(weight.shape), weight.path.rsplit("/", 1)[-1]
            if name in ("gamma", "moving_variance"):
                values.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
            else:  # beta, moving_mean
                values.append(rng.normal(0.0, 0.3, shape).astype("float32"))
        layer.set_weights(values)


def count_params_by_class(model):
    """``{layer class name: parameter count}`` over all (flattened) layers that have weights."""
    counts = {}
    for layer in flat_layers(model):
        if layer.weights:
            name = type(layer).__name__
            counts[name] = counts.get(name, 0) + int(sum(np.prod(w.shape) for w in layer.weights))
    return counts

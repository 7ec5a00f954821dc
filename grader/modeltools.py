"""Helpers for checking Keras models built by student code.

Checks compare *behaviour*, not source: the student's model is built (in
the sandbox) on a small input, the reference weights are copied into it and
its outputs must equal the reference's within a tolerance. Structure is read
from the model's :class:`~cvlab_ch9.grader.harness.summary.ModelSummary` only to
explain a difference with a precise hint.

Models here are :class:`~cvlab_ch9.grader.harness.local.ModelHandle` objects; their
layers are :class:`~cvlab_ch9.grader.harness.summary.LayerInfo` views.
"""

import numpy as np

from cvlab_ch9.grader.harness.summary import ModelSummary


def summary_of(model):
    """The ModelSummary of a ModelHandle, a ModelSummary, or a recorded summary dict."""
    if isinstance(model, ModelSummary):
        return model
    if isinstance(model, dict):
        return ModelSummary(model)
    return model.summary


def layers_of(model, *class_names):
    """Layers whose class name is one of ``class_names`` (nested models expanded)."""
    return summary_of(model).layers_of(*class_names)


def flat_layers(model):
    """Every layer (LayerInfo) of ``model``, nested models expanded."""
    return summary_of(model).layers


def is_model(value):
    """True for a model built by the implementation (a ModelHandle)."""
    from cvlab_ch9.grader.harness.local import ModelHandle  # noqa: PLC0415

    return isinstance(value, ModelHandle)


def type_name(value):
    """The type name of a returned value, as the student wrote it (Opaque values keep theirs)."""
    from cvlab_ch9.grader.harness.wire import Opaque  # noqa: PLC0415

    return value.type_name if isinstance(value, Opaque) else type(value).__name__


def copy_weights(weights, target, hint):
    """Set ``weights`` (list of arrays, the reference's) into ``target``; AssertionError(hint) if they do not fit."""
    src = [tuple(np.shape(w)) for w in weights]
    dst = summary_of(target).weight_shapes
    if src != dst:
        raise AssertionError(f"{hint} (weight shapes: expected {_short(src)}, got {_short(dst)})")
    target.set_weights(weights)


def _short(shapes, limit=8):
    text = ", ".join(str(s) for s in shapes[:limit])
    return text + (f", … {len(shapes) - limit} more" if len(shapes) > limit else "")


def layers_with_weights(model):
    """``[[class name, [arrays]]]`` for each layer of a ModelHandle that has weights (for recordings)."""
    layers = summary_of(model).layers
    weights = model.layer_weights()
    return [[layer.class_name, w] for layer, w in zip(layers, weights) if w]


def copy_weights_by_layer(source_layers, target, hint):
    """Copy weights layer by layer, pairing layers by class name and weight shapes.

    Unlike :func:`copy_weights` this tolerates layers created in another
    order (e.g. a shortcut ``Conv2D`` built before the main path): each
    ``target`` layer that has weights takes the first unused source layer
    of the same class whose weight shapes match.

    Args:
        source_layers: ``[[class name, [arrays]]]`` of the reference (see :func:`layers_with_weights`).
        target: the student's ModelHandle.

    Raises:
        AssertionError: ``hint`` plus the layer that has no counterpart, or
            the reference layers left unused.
    """
    candidates = [(name, list(weights)) for name, weights in source_layers]
    assignments = {}
    for layer in (layer for layer in summary_of(target).layers if layer.has_weights):
        position = next(
            (i for i, (name, weights) in enumerate(candidates)
             if name == layer.class_name and [tuple(np.shape(w)) for w in weights] == layer.weight_shapes),
            None,
        )
        if position is None:
            raise AssertionError(
                f"{hint} (your {layer.class_name} with weight shapes {_short(layer.weight_shapes)} has no counterpart)"
            )
        # by position: list.remove would compare the arrays of same-class candidates with ==
        assignments[layer.index] = candidates.pop(position)[1]
    if candidates:
        missing = ", ".join(f"{name} {_short([tuple(np.shape(w)) for w in weights], 2)}" for name, weights in candidates)
        raise AssertionError(f"{hint} (missing: {missing})")
    target.set_layer_weights(assignments)


def seeded_inputs(shape, seed=0, low=0.0, high=255.0):
    """Fixed float32 inputs of ``shape`` drawn uniformly from [low, high)."""
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype("float32")


def assert_close(actual, expected, what, atol=1e-5, rtol=1e-4):
    """AssertionError naming ``what`` and the largest difference when not allclose."""
    try:
        actual = np.asarray(actual, dtype="float64") if not isinstance(actual, np.ndarray) else actual
    except (TypeError, ValueError):
        raise AssertionError(f"{what}: expected an array of shape {np.shape(expected)}, got {type_name(actual)}.") from None
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape}, got {actual.shape}.")
    if not np.issubdtype(actual.dtype, np.number) and actual.dtype != bool:
        raise AssertionError(f"{what}: expected numbers, got an array of {actual.dtype}.")
    if not np.allclose(actual, expected, atol=atol, rtol=rtol):
        diff = float(np.nanmax(np.abs(actual.astype("float64") - expected))) if actual.size else 0.0
        raise AssertionError(f"{what}: values differ from the reference (max abs difference {diff:.3g}).")


def effective_final_activation(model):
    """Activation applied last: the last layer's own, or a trailing Activation/Softmax layer."""
    for layer in reversed(summary_of(model).layers):
        if layer.class_name == "Softmax":
            return "softmax"
        if layer.class_name in ("Activation", "ReLU"):
            return layer.activation or "relu"
        if "activation" in layer.config:
            return layer.activation
    return None


def randomize_batchnorm(model, seed=0):
    """Give every BatchNormalization layer of a ModelHandle non-trivial, seeded gamma/beta/statistics.

    Freshly built BN layers are the identity in inference mode (gamma 1,
    beta 0, mean 0, variance 1), which would hide a misplaced BN. Weights are
    in Keras' order: gamma, beta, moving mean, moving variance.
    """
    rng = np.random.default_rng(seed)
    assignments = {}
    for layer in layers_of(model, "BatchNormalization"):
        values = []
        for position, shape in enumerate(layer.weight_shapes):
            if position in (0, 3):  # gamma, moving_variance
                values.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
            else:  # beta, moving_mean
                values.append(rng.normal(0.0, 0.3, shape).astype("float32"))
        assignments[layer.index] = values
    model.set_layer_weights(assignments)


def count_params_by_class(model):
    """``{layer class name: parameter count}`` over all (flattened) layers that have weights."""
    return summary_of(model).count_params_by_class()

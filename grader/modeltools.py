"""Helpers for checking Keras models built by student code.

Checks compare *behaviour*, not source: the student's model is built (in
the sandbox) on a small drawn input, the reference weights are copied into
it and its outputs must equal the reference's within a tolerance; or its
outputs' shapes and their dependence on the input are read. Structure is
read from the model's :class:`~cvlab_ch9.grader.harness.summary.ModelSummary` (the
sandbox's own description, never evidence) only to explain a difference
with a precise hint, and to pair layers for the weight copy (whose outputs
then decide).

Models here are :class:`~cvlab_ch9.grader.harness.local.ModelHandle` objects; their
layers are :class:`~cvlab_ch9.grader.harness.summary.LayerInfo` views.
"""

import contextlib

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
    of the same class whose weight shapes match. Where that fails but the
    model's weights have the reference's shapes in the reference's order
    (the student's own Layer subclass made of the same layers), they are
    copied as one list.

    Args:
        source_layers: ``[[class name, [arrays]]]`` of the reference (see :func:`layers_with_weights`).
        target: the student's ModelHandle.

    Raises:
        AssertionError: ``hint`` plus the layer that has no counterpart, or
            the reference layers left unused.
    """
    flat = [w for _, weights in source_layers for w in weights]
    try:
        _copy_layer_by_layer(source_layers, target, hint)
    except AssertionError:
        # layers of the student's own classes (a subclassed Layer made of the chapter's layers) hold the same
        # weights in the same order: take them as one list when the shapes agree
        if [tuple(np.shape(w)) for w in flat] != summary_of(target).weight_shapes:
            raise
        target.set_weights(flat)


def _copy_layer_by_layer(source_layers, target, hint):
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


def layer_shapes(layers):
    """``[[class name, [shape tuples]]]`` of :func:`layers_with_weights` output (what a recording needs of them)."""
    return [[name, [tuple(int(d) for d in np.shape(w)) for w in weights]] for name, weights in layers]


def weight_values(kind, shape, rng):
    """Drawn float32 values for one weight: ``kind`` is its Keras name (kernel, bias, gamma, moving_variance...).

    Kernels lie on Glorot's scale (fans as Keras computes them), scales and
    variances around 1 (never 0), shifts and means around 0: a model with
    these weights computes something non-trivial, and BatchNormalization is
    not the identity (which would hide where it sits).
    """
    if kind in ("gamma", "moving_variance"):
        values = rng.uniform(0.7, 1.3, size=shape)
    elif kind in ("beta", "moving_mean"):
        values = rng.normal(0.0, 0.15, size=shape)
    elif len(shape) >= 2:
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        limit = np.sqrt(6.0 / (receptive * (shape[-2] + shape[-1])))
        values = rng.uniform(-limit, limit, size=shape)
    else:
        values = rng.uniform(-0.05, 0.05, size=shape)  # biases: small, not all zero
    return values.astype("float32")


_BATCHNORM_KINDS = ("gamma", "beta", "moving_mean", "moving_variance")


def drawn_layer_weights(shapes, rng, lively=False):
    """``[[class name, [arrays]]]`` for :func:`layer_shapes` output, drawn (see :func:`weight_values`).

    A BatchNormalization layer's arrays are gamma, beta, moving mean and
    moving variance, in Keras' order; every other 1-D array is a bias,
    ``lively``: between 0.5 and 1.5, so that every relu unit is active.
    """
    out = []
    for name, layer in shapes:
        kinds = _BATCHNORM_KINDS if name == "BatchNormalization" and len(layer) == 4 else [None] * len(layer)
        arrays = []
        for kind, shape in zip(kinds, layer):
            if kind is None and len(shape) < 2 and lively:
                arrays.append(rng.uniform(0.5, 1.5, size=tuple(shape)).astype("float32"))
            else:
                arrays.append(weight_values(kind or ("kernel" if len(shape) >= 2 else "bias"), tuple(shape), rng))
        out.append([name, arrays])
    return out


def drawn_weights(model, rng):
    """Drawn values for every weight of a Keras ``model``, in ``model.weights`` order."""
    return [weight_values(w.name, tuple(int(d) for d in w.shape), rng) for w in model.weights]


def sample_positions(rng, shape, count=512):
    """Flat indices of ``count`` drawn entries of an array of ``shape`` (all of them when it is smaller)."""
    size = int(np.prod(shape))
    return np.sort(rng.choice(size, size=min(count, size), replace=False))


def output_of(model, batch, what):
    """``model.predict(batch)`` as a float array (AssertionError naming ``what`` when it is not one)."""
    got = model.predict(batch)
    if not np.issubdtype(np.asarray(got).dtype, np.number):
        raise AssertionError(f"{what} did not return numbers (got an array of {np.asarray(got).dtype}).")
    return np.asarray(got)


def assert_input_matters(model, batch, other, what, rng):
    """AssertionError unless ``model`` gives different outputs for the different inputs ``batch`` and ``other``.

    A constant answer (zeros, ones, a fixed table) has the right shape at best; it scores nothing.
    The model first gets drawn weights with positive biases (from ``rng``): with its own initial
    weights a correct block of few filters can have every relu unit dead, and answer zeros.
    """
    # a model that does not take weights layer by layer (its own kind of layers) is judged with its own
    with contextlib.suppress(ValueError, TypeError, IndexError, KeyError):
        set_drawn_weights(model, rng, lively=True)
    first, second = output_of(model, batch, what), output_of(model, other, what)
    if first.shape == second.shape and np.allclose(first, second, atol=1e-6, rtol=1e-5):
        raise AssertionError(
            f"{what} gives the same output for different inputs: compute it from the input tensor with the "
            "layers the exercise asks for (a constant tensor of the right shape is not a block)."
        )


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


def set_drawn_weights(model, rng, lively=False):
    """Give every weight of a ModelHandle drawn values (see :func:`weight_values`), layer by layer.

    The reference's models get their weights this way, never from a Keras
    initializer: the values are the draw's (so a model built once can serve
    many draws), and BatchNormalization is not the identity, which would
    hide where it sits.
    """
    layers = [layer for layer in summary_of(model).layers if layer.has_weights]
    drawn = drawn_layer_weights([[layer.class_name, layer.weight_shapes] for layer in layers], rng, lively)
    model.set_layer_weights({layer.index: weights for layer, (_, weights) in zip(layers, drawn)})


def count_params_by_class(model):
    """``{layer class name: parameter count}`` over all (flattened) layers that have weights."""
    return summary_of(model).count_params_by_class()

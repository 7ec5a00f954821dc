"""A Keras model described as plain data, and read-only views of that description.

:func:`summarize` runs where the model lives (the sandbox, or the judge for
the reference); :class:`ModelSummary` and :class:`LayerInfo` read the result
anywhere. The checks inspect structure only through these views, so the
same check code works on a model in this process and on one in the sandbox.

Self-contained: standard library (Keras imported lazily by
:func:`summarize` and :func:`flat_layers` only).
"""

import math

#: Config values longer than this are cut (a custom object's repr can be huge).
MAX_CONFIG_TEXT = 200
#: Nesting kept in a whole model's config (a functional model inside a model is about 20 deep).
MAX_CONFIG_DEPTH = 48


def flat_layers(model):
    """All layers of ``model`` in order, nested models (e.g. a Sequential block) and the student's own
    composite layers (see :func:`_expanded`) expanded."""
    import keras  # noqa: PLC0415 - the judge imports TensorFlow quietly first

    out = []
    for layer in model.layers:
        out.extend(flat_layers(layer) if isinstance(layer, keras.Model) else _expanded(layer))
    return out


def _expanded(layer):
    """``[layer]``, or the sublayers of a student's own Layer subclass made of Keras layers (in creation order).

    Such a layer (a conv -> BN -> relu block written as a class) holds no
    weights of its own: described as its sublayers, its weights pair with
    the chapter's layer by layer. One with weights of its own stays whole.
    """
    import keras  # noqa: PLC0415

    inner = list(getattr(layer, "_layers", None) or [])
    if not inner or type(layer).__module__.startswith("keras"):
        return [layer]
    held = [w for sub in inner for w in sub.weights]
    if len(held) != len(layer.weights) or {id(w) for w in held} != {id(w) for w in layer.weights}:
        return [layer]
    return [leaf for sub in inner for leaf in (flat_layers(sub) if isinstance(sub, keras.Model) else _expanded(sub))]


def _plain(value, depth=0, max_depth=12):
    """``value`` made of dict/list/str/int/float/bool/None (tuples become lists, others their text)."""
    if depth > max_depth:
        return str(value)[:MAX_CONFIG_TEXT]
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:MAX_CONFIG_TEXT]
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1, max_depth) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1, max_depth) for v in value]
    try:
        import numpy as np  # noqa: PLC0415

        if isinstance(value, np.generic):
            return _plain(value.item(), depth + 1, max_depth)
    except ImportError:
        pass
    return str(value)[:MAX_CONFIG_TEXT]


def model_config(model):
    """``keras.saving.serialize_keras_object(model)`` as plain data (the judge may rebuild it; see grader.rebuild)."""
    import keras  # noqa: PLC0415

    return _plain(keras.saving.serialize_keras_object(model), max_depth=MAX_CONFIG_DEPTH)


def _shape(shape):
    """A shape as a list of int/None, or None when it is not a plain shape."""
    try:
        return [None if d is None else int(d) for d in shape]
    except (TypeError, ValueError):
        return None


def _output_shape(layer):
    try:
        return _shape(layer.output.shape)
    except (AttributeError, ValueError, RuntimeError, TypeError):
        return None


def _weight_shapes(layer):
    return [[int(d) for d in w.shape] for w in layer.weights]


def summarize(model):
    """The plain-data description of a Keras model (a dict; see :class:`ModelSummary`)."""
    layers = []
    for layer in flat_layers(model):
        try:
            config = _plain(layer.get_config())
        except Exception as exc:  # noqa: BLE001 - a student's custom layer may not implement get_config
            config = {"__error__": f"{type(exc).__name__}: {exc}"[:MAX_CONFIG_TEXT]}
        shapes = _weight_shapes(layer)
        layers.append(
            {
                "class_name": type(layer).__name__,
                "name": str(layer.name),
                "config": config,
                "weights": shapes,
                "params": int(sum(math.prod(s) for s in shapes)),
                "output": _output_shape(layer),
            }
        )
    weight_shapes = [[int(d) for d in w.shape] for w in model.weights]
    return {
        "class_name": type(model).__name__,
        "name": str(model.name),
        "params": int(sum(math.prod(s) for s in weight_shapes)),
        "inputs": [_shape(t.shape) for t in _tensors(model, "inputs")],
        "outputs": [_shape(t.shape) for t in _tensors(model, "outputs")],
        "weights": weight_shapes,
        "layers": layers,
    }


def _tensors(model, attribute):
    try:
        return list(getattr(model, attribute) or [])
    except (AttributeError, ValueError):
        return []


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value


class LayerInfo:
    """Read-only view of one layer of a :func:`summarize` description.

    Config entries read as attributes (``layer.strides``, ``layer.use_bias``;
    lists come back as tuples), as they do on a Keras layer.

    Attributes:
        class_name: e.g. ``"Conv2D"``.
        name: the layer's name.
        config: its ``get_config()`` as plain data.
        weight_shapes: list of shape tuples.
        params: parameter count (int).
        output_shape: tuple with None for the batch, or None.
        index: position among the model's flattened layers.
    """

    def __init__(self, data, index):
        self.class_name = data["class_name"]
        self.name = data["name"]
        self.config = data.get("config") or {}
        self.weight_shapes = [tuple(s) for s in data.get("weights", [])]
        self.params = int(data.get("params", 0))
        self.output_shape = _tuple(data.get("output"))
        self.index = index

    def __getattr__(self, key):
        config = self.__dict__.get("config", {})
        if key in config:
            return _tuple(config[key])
        raise AttributeError(f"{self.__dict__.get('class_name', 'layer')} has no config entry {key!r}")

    @property
    def has_weights(self):
        return bool(self.weight_shapes)

    @property
    def activation(self):
        """The activation's name (``"relu"``, ``"softmax"``, ``"linear"``...) or None."""
        if self.class_name == "ReLU":
            return "relu"
        if self.class_name == "Softmax":
            return "softmax"
        value = self.config.get("activation")
        if isinstance(value, dict):
            value = (value.get("config") or {}).get("name") or value.get("class_name")
        return value if isinstance(value, str) else None

    def get_config(self):
        return dict(self.config)

    def __repr__(self):
        return f"<{self.class_name} {self.name}>"


class ModelSummary:
    """Read-only view of a :func:`summarize` description.

    Attributes:
        class_name: ``"Functional"``, ``"Sequential"``...
        params: total parameter count (int).
        output_shapes: list of shape tuples (None for the batch).
        weight_shapes: shapes of ``model.weights`` in order.
        layers: list of :class:`LayerInfo`, nested models expanded.
    """

    def __init__(self, data):
        self.data = data
        self.class_name = data.get("class_name", "")
        self.name = data.get("name", "")
        self.params = int(data.get("params", 0))
        self.input_shapes = [_tuple(s) for s in data.get("inputs", [])]
        self.output_shapes = [_tuple(s) for s in data.get("outputs", [])]
        self.weight_shapes = [tuple(s) for s in data.get("weights", [])]
        self.layers = [LayerInfo(layer, i) for i, layer in enumerate(data.get("layers", []))]

    @property
    def output_shape(self):
        """Shape tuple of the first output (None for the batch)."""
        return self.output_shapes[0] if self.output_shapes else None

    def layers_of(self, *class_names):
        """Layers whose class name is one of ``class_names``."""
        return [layer for layer in self.layers if layer.class_name in class_names]

    def count_params_by_class(self):
        """``{layer class name: parameter count}`` over the layers that have weights."""
        counts = {}
        for layer in self.layers:
            if layer.has_weights:
                counts[layer.class_name] = counts.get(layer.class_name, 0) + layer.params
        return counts

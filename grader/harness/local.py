"""An implementation (student code or the reference) used in this process.

:class:`Implementation` is the interface the checks use: call a function of
the implementation, build one of its blocks into a model, take a gradient
through one of its functions. Every result is plain data (numpy arrays,
numbers, strings, containers) or a :class:`ModelHandle`; structure is read
from a :class:`summary.ModelSummary`. The same interface is served over a
pipe by the sandbox (``cvlab_ch9.grader.sandbox`` and ``cvlab_ch9.grader.remote`` on the judge's side), so a check never
holds a live object of the student's.

Self-contained (standard library, numpy, Keras/TensorFlow imported lazily):
the sandbox imports this module from a private copy.
"""

import ast
import inspect
import os
import textwrap
import traceback

import numpy as np

from .summary import ModelSummary, model_config, summarize
from .wire import ALLOWED_DTYPES, ModelSpec, Opaque, Tensor

MAX_RESULT_DEPTH = 32
MAX_RESULT_ITEMS = 100_000


class MissingFunction(AssertionError):
    """The implementation has no function of that name."""


# -- plain data from Python values ---------------------------------------------------


def _is_tensor_like(value):
    """True for tf.Tensor, tf.Variable, keras.Variable and the like (they have .numpy() and .shape)."""
    return hasattr(value, "numpy") and hasattr(value, "shape") and hasattr(value, "dtype")


def built_model(model):
    """``model``, its layers' weights created: a subclassed Model that ``model.build(shape)`` only marked built
    (Keras 3 creates no sublayer weights then) is called once on zeros of that shape, as its first fit would."""
    import keras  # noqa: PLC0415

    shape = (getattr(model, "_build_shapes_dict", None) or {}).get("input_shape")
    if model.weights or not isinstance(shape, (tuple, list)) or len(shape) < 2:
        return model
    try:
        model(keras.ops.zeros((1,) + tuple(shape[1:])))
    except Exception:  # noqa: BLE001 - a model that cannot run is graded as it is; its checks say why
        return model
    return model


def to_data(value, wrap_model, depth=0, budget=None):
    """``value`` as plain data; Keras models become ``wrap_model(model)``; other objects Opaque.

    Tensors and variables become numpy arrays; numpy scalars become Python
    numbers; containers are converted item by item.
    """
    import keras  # noqa: PLC0415

    budget = budget if budget is not None else [MAX_RESULT_ITEMS]
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_RESULT_DEPTH:
        return Opaque("too large", "a value too large or too deeply nested to compare")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item() if value.dtype.name in ALLOWED_DTYPES else Opaque(type(value).__name__, repr(value)[:200])
    if isinstance(value, np.ndarray):
        return value if value.dtype.name in ALLOWED_DTYPES else Opaque(f"ndarray[{value.dtype}]", "")
    if isinstance(value, keras.Model):
        return wrap_model(built_model(value))
    if isinstance(value, keras.KerasTensor):
        return Opaque("KerasTensor", f"symbolic tensor of shape {tuple(value.shape)}")
    if _is_tensor_like(value):
        try:
            array = np.asarray(value.numpy())
        except Exception as exc:  # noqa: BLE001 - e.g. a symbolic tensor without values
            return Opaque(type(value).__name__, f"{type(exc).__name__}: {exc}"[:200])
        return to_data(array, wrap_model, depth + 1, budget)
    if isinstance(value, (list, tuple)):
        items = [to_data(v, wrap_model, depth + 1, budget) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool, tuple)) and key is not None:
                key = Opaque(type(key).__name__, repr(key)[:200])
            out[key if not isinstance(key, Opaque) else repr(key)] = to_data(item, wrap_model, depth + 1, budget)
        return out
    return Opaque(type(value).__name__, _short_repr(value))


def _short_repr(value):
    try:
        return repr(value)[:200]
    except Exception:  # noqa: BLE001 - a hostile __repr__ must not break the conversion
        return ""


def to_call_value(value, build_model=None):
    """A call argument as the student's function receives it: Tensor -> tf.Tensor, specs -> models."""
    if isinstance(value, Tensor):
        import tensorflow as tf  # noqa: PLC0415

        return tf.constant(value.array)
    if isinstance(value, ModelSpec):
        if build_model is None:
            raise TypeError("a model description cannot be used here")
        return build_model(value)
    if isinstance(value, LocalModel):
        return value.model
    if isinstance(value, list):
        return [to_call_value(v, build_model) for v in value]
    if isinstance(value, tuple):
        return tuple(to_call_value(v, build_model) for v in value)
    if isinstance(value, dict):
        return {k: to_call_value(v, build_model) for k, v in value.items()}
    return value


# -- models -----------------------------------------------------------------------------


class ModelHandle:
    """A model the checks can inspect and run without holding it.

    Attributes:
        summary: :class:`ModelSummary` of the model.
    """

    summary: ModelSummary

    def predict(self, x, training=False):
        """``model(x, training=training)`` as a numpy array (the first output)."""
        raise NotImplementedError

    def get_weights(self):
        """``model.get_weights()``: list of numpy arrays."""
        raise NotImplementedError

    def set_weights(self, weights):
        """``model.set_weights(weights)``."""
        raise NotImplementedError

    def layer_weights(self):
        """Weights of every flattened layer: list (one entry per layer) of lists of arrays."""
        raise NotImplementedError

    def set_layer_weights(self, assignments):
        """Set weights layer by layer: ``{flat layer index: [arrays]}``."""
        raise NotImplementedError

    def config(self):
        """The model's Keras config as plain data (what the judge may rebuild with built-in layers)."""
        raise NotImplementedError


class LocalModel(ModelHandle):
    """A Keras model in this process behind the :class:`ModelHandle` interface."""

    def __init__(self, model):
        self.model = model
        self._summary = None

    @property
    def summary(self):
        if self._summary is None:
            self._summary = ModelSummary(summarize(self.model))
        return self._summary

    def predict(self, x, training=False):
        out = self.model(to_call_value(x), training=bool(training))
        if isinstance(out, (list, tuple)):
            out = out[0]
        if isinstance(out, dict):
            out = next(iter(out.values()))
        return np.asarray(out)

    def get_weights(self):
        return [np.asarray(w) for w in self.model.get_weights()]

    def set_weights(self, weights):
        self.model.set_weights([np.asarray(w) for w in weights])

    def layer_weights(self):
        from .summary import flat_layers  # noqa: PLC0415

        return [[np.asarray(w) for w in layer.get_weights()] for layer in flat_layers(self.model)]

    def set_layer_weights(self, assignments):
        from .summary import flat_layers  # noqa: PLC0415

        layers = flat_layers(self.model)
        for index, weights in assignments.items():
            layers[int(index)].set_weights([np.asarray(w) for w in weights])

    def config(self):
        return model_config(self.model)


def build_model_from_spec(spec):
    """A Keras model from a :class:`ModelSpec` (config + weights), as the judge built it."""
    import keras  # noqa: PLC0415

    if spec.config.get("class_name") == "Sequential" and spec.config.get("module") == "keras":
        model = _sequential_from_config(spec.config["config"])
    else:
        model = keras.saving.deserialize_keras_object(spec.config, safe_mode=True)
    model.set_weights(spec.weights)
    return model


def _sequential_from_config(config):
    """A Sequential model built from its config the way its constructor builds it: one graph.

    ``Sequential.from_config`` adds the layers one by one and rebuilds the
    graph after each (Keras 3.15): every layer then has several inbound
    nodes, ``layer.output`` belongs to the first, dead graph, and a model
    ``keras.Model(model.inputs, [layer.output, model.outputs[0]])`` (Grad-CAM)
    gets no gradient between its two outputs.
    """
    import keras  # noqa: PLC0415

    layers = [keras.saving.deserialize_keras_object(c, safe_mode=True) for c in config["layers"]]
    model = keras.Sequential(layers, name=config.get("name"), trainable=config.get("trainable", True))
    shape = config.get("build_input_shape")
    if not model.built and isinstance(shape, (list, tuple)) and shape:
        model.build(tuple(shape))
    return model


def spec_of(model, key):
    """The :class:`ModelSpec` of a Keras model built by the grader (a test model)."""
    import keras  # noqa: PLC0415

    return ModelSpec(key, keras.saving.serialize_keras_object(model), model.get_weights())


# -- implementations -------------------------------------------------------------------------


def not_symbolic_message(func_name, type_name):
    """The hint for a block function that did not return a Keras tensor."""
    return (
        f"{func_name}() must return the output tensor of its last layer "
        f"(got {type_name}); did you forget `return x`?"
    )


class Implementation:
    """The interface the checks use on student code and on the reference.

    Subclasses implement :meth:`has`, :meth:`call`, :meth:`_build_block`,
    :meth:`gradient` and :meth:`source`.

    Attributes:
        display_file: where the code lives, for messages (``labs/segmentation.py``).
    """

    display_file = "your implementation"

    def has(self, name):
        """True when the implementation defines a callable ``name``."""
        raise NotImplementedError

    def call(self, name, *args, **kwargs):
        """``name(*args, **kwargs)`` with the result as plain data or ModelHandles."""
        raise NotImplementedError

    def _build_block(self, name, input_shape, kwargs):
        """ModelHandle of ``Model(Input(input_shape), name(Input, **kwargs))``, or an Opaque result."""
        raise NotImplementedError

    def gradient(self, name, args, kwargs, wrt):
        """``(value, d value / d args[wrt])`` of ``name(*args, **kwargs)``; the gradient is None when none flows.

        ``args[wrt]`` is watched as a ``tf.Tensor``; value and gradient come back as arrays.
        """
        raise NotImplementedError

    def source(self, name):
        """The code of function ``name`` without its docstring (for wording hints), or ''."""
        raise NotImplementedError

    def locate(self, exc):
        """``(file name, line, code)`` of the student's line that raised ``exc``, or None."""
        return getattr(exc, "student_location", None)

    def function(self, name):
        """A callable running ``name`` of this implementation; MissingFunction when there is none."""
        if not self.has(name):
            raise MissingFunction(f"{self.display_file} has no function named {name}(); keep the name from the skeleton.")

        def run(*args, **kwargs):
            return self.call(name, *args, **kwargs)

        run.__name__ = name
        return run

    def build_block(self, name, input_shape, **kwargs):
        """The block function ``name`` applied to ``keras.Input(input_shape)``, as a ModelHandle.

        Raises:
            MissingFunction: no such function.
            AssertionError: it did not return a Keras tensor.
        """
        if not self.has(name):
            raise MissingFunction(f"{self.display_file} has no function named {name}(); keep the name from the skeleton.")
        result = self._build_block(name, tuple(input_shape), kwargs)
        if isinstance(result, ModelHandle):
            return result
        type_name = result.type_name if isinstance(result, Opaque) else type(result).__name__
        raise AssertionError(not_symbolic_message(name, type_name))


def function_source(func):
    """Code of ``func`` without docstring and comments, or '' when it cannot be read."""
    try:
        return strip_docstring(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError):
        return ""


def strip_docstring(code):
    """The first function in ``code`` without its docstring, unparsed (comments dropped), or ''."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    funcs = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not funcs:
        return ""
    func = funcs[0]
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        func.body = body[1:] or [ast.Pass()]
    return ast.unparse(func)


def function_source_in(text, name):
    """Code of top-level function ``name`` in module source ``text`` (docstring dropped), or ''."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return strip_docstring(ast.get_source_segment(text, node) or "")
    return ""


class LocalImplementation(Implementation):
    """Functions found by name in a module or a namespace (notebook globals), run in this process.

    Exceptions raised by the code propagate unchanged.

    Args:
        namespace: a module, or a mapping of names to objects.
        display_file: shown in messages.
        build_model: turns a :class:`ModelSpec` argument into a model (the sandbox passes one).
        is_student_file: ``f(filename) -> bool`` for traceback frames in student code
            (default: the module's own file).
    """

    def __init__(self, namespace, display_file="your implementation", build_model=None, is_student_file=None):
        self.namespace = namespace if isinstance(namespace, dict) else vars(namespace)
        self.display_file = display_file
        self.build_model = build_model
        if is_student_file is None:
            own = self.namespace.get("__file__")
            own = os.path.realpath(own) if own else None
            is_student_file = lambda filename: own is not None and os.path.realpath(filename) == own  # noqa: E731
        self.is_student_file = is_student_file

    def locate(self, exc):
        where = frame_in(exc, self.is_student_file)
        if where is None:
            return super().locate(exc)
        filename = where[0] if where[0].startswith("<") else os.path.basename(where[0])
        return filename, where[1], where[2]

    def has(self, name):
        return callable(self.namespace.get(name))

    def _get(self, name):
        if not self.has(name):
            raise MissingFunction(f"{self.display_file} has no function named {name}(); keep the name from the skeleton.")
        return self.namespace[name]

    def _args(self, args, kwargs):
        return [to_call_value(a, self.build_model) for a in args], {
            k: to_call_value(v, self.build_model) for k, v in kwargs.items()
        }

    def call(self, name, *args, **kwargs):
        func = self._get(name)
        args, kwargs = self._args(args, kwargs)
        return to_data(func(*args, **kwargs), LocalModel)

    def _build_block(self, name, input_shape, kwargs):
        import keras  # noqa: PLC0415

        func = self._get(name)
        inputs = keras.Input(shape=input_shape)
        _, kwargs = self._args((), kwargs)
        outputs = func(inputs, **kwargs)
        if not isinstance(outputs, keras.KerasTensor):
            return Opaque(type(outputs).__name__)
        return LocalModel(keras.Model(inputs, outputs))

    def gradient(self, name, args, kwargs, wrt):
        import tensorflow as tf  # noqa: PLC0415

        func = self._get(name)
        args, kwargs = self._args(args, kwargs)
        args = list(args)
        args[wrt] = tf.convert_to_tensor(args[wrt])
        with tf.GradientTape() as tape:
            tape.watch(args[wrt])
            value = func(*args, **kwargs)
        try:
            grads = tape.gradient(value, args[wrt])
        except (ValueError, TypeError, AttributeError):
            grads = None  # not a tensor result: nothing to differentiate
        return to_data(value, LocalModel), None if grads is None else np.asarray(grads)

    def source(self, name):
        func = self.namespace.get(name)
        return function_source(func) if callable(func) else ""


def frame_in(exc, is_student_file):
    """``(file name, line number, code)`` of the deepest traceback frame of ``exc`` in student code, or None."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if is_student_file(frame.filename):
            return frame.filename, frame.lineno, frame.line or ""
    return None

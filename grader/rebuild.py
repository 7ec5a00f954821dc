"""The student's model rebuilt in the judge from its Keras config, and held to the real one.

What the sandbox says about a model (its layer summary, its parameter count)
is the submission's word about itself and scores nothing. Its *config* is
plain data; the judge rebuilds it here, with Keras' built-in layers only (an
allowlist, ``safe_mode=True``, no custom objects, caps on sizes and a budget
on the weights it may allocate), into a model that no student code touched.
That model describes the student's only if both compute the same function:
:func:`verified_model` draws weights, sets them into both, runs both on the
check's drawn inputs and compares. Then, and only then, structure read from
the rebuilt model (parameter counts per layer type, strides, layer order)
is the judge's own evidence.

Layers that act only in training mode (random augmentation, dropout) are not
exercised by that comparison; their settings read from a verified model are
the config's word (see the notes of the checks that read them).

A model that cannot be rebuilt (a subclassed Layer or Model, keras.ops code
the allowlist does not know, a config too large) is not a mistake: the
checks then rely on behaviour alone (the reference's weights copied in, the
outputs compared), so equivalent code written any way still scores.
"""

import contextlib
import copy
import math
import threading

import numpy as np

from cvlab_ch9.grader.harness.local import LocalModel
from cvlab_ch9.grader.harness.summary import ModelSummary, summarize
from cvlab_ch9.grader.modeltools import drawn_weights
from cvlab_ch9.grader.sandbox import SandboxFailure

#: Built-in layers a rebuilt model may use (everything the chapter needs, and its usual rewrites).
ALLOWED_LAYERS = frozenset({
    "InputLayer", "Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D", "Dense",
    "BatchNormalization", "LayerNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax",
    "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Dropout",
    "SpatialDropout2D", "Flatten", "Reshape", "Rescaling", "RandomFlip", "RandomRotation", "RandomZoom",
    "RandomTranslation", "RandomContrast", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
    "Concatenate", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Identity",
})
#: Config objects other than layers (keras module -> class names).
ALLOWED_OBJECTS = {
    "keras": frozenset({"Sequential", "Functional", "DTypePolicy", "FloatDTypePolicy"}),
    "keras.src.models.functional": frozenset({"Functional"}),
    "keras.src.models.sequential": frozenset({"Sequential"}),
    "keras.initializers": None,  # any built-in initializer
    "keras.regularizers": None,
    "keras.constraints": None,
}
#: keras.ops calls recorded in a functional graph (module keras.src.ops.*): elementwise arithmetic only.
ALLOWED_OPS = frozenset({"Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Relu",
                         "Sigmoid", "Softmax", "Tanh", "Negative", "Absolute", "Square", "Sqrt", "Mean", "Sum"})
#: Largest value of a size-like config entry (filters, units, kernel size, strides...).
SIZE_CAPS = {"filters": 2048, "units": 4096, "kernel_size": 11, "strides": 8, "pool_size": 8, "size": 8,
             "depth_multiplier": 8, "dilation_rate": 8, "padding": 64, "cropping": 64}
MAX_LAYERS = 400
MAX_CONFIG_NODES = 200_000
MAX_INPUT_SIDE = 1024
#: Weights (float32 values) a rebuild may allocate in the judge: 4x the default segmentation model.
MAX_WEIGHT_VALUES = 12_000_000
#: Values of all layer outputs for one sample (the comparison runs one or two samples).
MAX_ACTIVATION_VALUES = 40_000_000


class NotRebuilt(Exception):
    """The config cannot be rebuilt here (not a mistake of the student's: the checks fall back to behaviour)."""


# -- the config, read as data -------------------------------------------------------------


def _size_values(value):
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [v for item in value for v in _size_values(item)]
    return []


def _check_object(node):
    name, module = node.get("class_name"), node.get("module")
    if not isinstance(name, str):
        raise NotRebuilt("a config object without a class name")
    if name.startswith("__"):
        if name not in ("__keras_tensor__", "__tuple__") or module is not None:
            raise NotRebuilt(f"config object {name}")
        return False
    registered = node.get("registered_name")
    if registered not in (None, name):
        raise NotRebuilt(f"a registered custom object ({registered})")
    if module == "keras.layers":
        if name not in ALLOWED_LAYERS:
            raise NotRebuilt(f"layer {name}")
        return True
    if isinstance(module, str) and module.startswith("keras.src.ops."):
        if name not in ALLOWED_OPS:
            raise NotRebuilt(f"operation {name}")
        return True
    if module in ALLOWED_OBJECTS:
        allowed = ALLOWED_OBJECTS[module]
        if allowed is not None and name not in allowed:
            raise NotRebuilt(f"{module}.{name}")
        return name in ("Sequential", "Functional")
    raise NotRebuilt(f"{module}.{name}" if module else name)


def validate_config(config):
    """Raise :class:`NotRebuilt` unless ``config`` is plain data of allowed Keras objects within the caps.

    Returns:
        The number of layers (and recorded keras.ops calls) in it.
    """
    if not isinstance(config, dict):
        raise NotRebuilt("the config is not a dict")
    stack, nodes, layers = [config], 0, 0
    while stack:
        node = stack.pop()
        nodes += 1
        if nodes > MAX_CONFIG_NODES:
            raise NotRebuilt("the config is too large")
        if isinstance(node, dict):
            if "class_name" in node:
                layers += _check_object(node)
            for key, value in node.items():
                if key in SIZE_CAPS and any(v > SIZE_CAPS[key] or v < 0 for v in _size_values(value)):
                    raise NotRebuilt(f"{key}={value} is beyond what the grader rebuilds")
                if key in ("batch_shape", "input_shape", "batch_input_shape") and any(
                        v > MAX_INPUT_SIDE for v in _size_values(value)):
                    raise NotRebuilt(f"input shape {value} is too large")
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
        elif not (node is None or isinstance(node, (str, int, float, bool))):
            raise NotRebuilt(f"a config value of type {type(node).__name__}")
    if layers > MAX_LAYERS:
        raise NotRebuilt(f"{layers} layers")
    return layers


# -- rebuilding with a budget on allocations ------------------------------------------------

_BUDGET = threading.local()
_HOOK_LOCK = threading.Lock()


def _install_budget_hook():
    """Make Keras' TensorFlow variables count against this thread's budget (a no-op outside :func:`_budget`).

    The weights of a rebuilt model are allocated while Keras deserializes it,
    before any shape can be read: a config asking for a 10**10-value kernel
    must stop at the request, not when the judge runs out of memory.
    """
    from keras.src.backend.tensorflow import core  # noqa: PLC0415 - the variables of the TensorFlow backend

    with _HOOK_LOCK:
        variable = core.Variable
        if getattr(variable, "_cvlab_budgeted", False):
            return
        original = variable._initialize_with_initializer

        def budgeted(self, initializer):
            left = getattr(_BUDGET, "left", None)
            if left is not None:
                size = math.prod(int(d) for d in self._shape)
                if size > left:
                    raise NotRebuilt("the model's weights are larger than the grader rebuilds")
                _BUDGET.left = left - size
            return original(self, initializer)

        variable._initialize_with_initializer = budgeted
        variable._cvlab_budgeted = True


@contextlib.contextmanager
def _budget(values):
    _install_budget_hook()
    _BUDGET.left = values
    try:
        yield
    finally:
        _BUDGET.left = None


def rebuild(config, seed):
    """A Keras model built here from ``config`` (validated; built-in layers only; ``safe_mode``).

    Raises:
        NotRebuilt: the config is outside what the judge rebuilds, or Keras refused it.
    """
    import keras  # noqa: PLC0415

    validate_config(config)
    keras.utils.set_random_seed(seed)
    try:
        with _budget(MAX_WEIGHT_VALUES):
            # a copy: Keras takes entries out of the dicts it deserializes
            model = keras.saving.deserialize_keras_object(copy.deepcopy(config), safe_mode=True)
    except NotRebuilt:
        raise
    except Exception as exc:  # noqa: BLE001 - any refusal of Keras' means: not rebuildable here
        raise NotRebuilt(f"Keras could not rebuild it ({type(exc).__name__})") from None
    if not isinstance(model, keras.Model):
        raise NotRebuilt("the config is not a model")
    return model


def _activation_values(model):
    total = 0
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError, RuntimeError):
            continue
        dims = list(shape[1:])
        if any(d is None for d in dims):
            raise NotRebuilt("a layer output of unknown size")
        total += math.prod(int(d) for d in dims)
    return total


# -- held to the real model -------------------------------------------------------------------


class Rebuilt:
    """A student's model as the judge rebuilt and verified it.

    Attributes:
        model: the Keras model (built here; never touched by student code).
        summary: its :class:`~cvlab_ch9.grader.harness.summary.ModelSummary`, made here.
    """

    def __init__(self, model):
        self.model = model
        self.summary = ModelSummary(summarize(model))

    @property
    def params(self):
        return self.summary.params


def verified_model(handle, rng, seed, batch, atol=1e-4, rtol=1e-3):
    """The judge's own copy of the student's model ``handle``, or None when it cannot vouch for one.

    The config is rebuilt (:func:`rebuild`); drawn weights go into both models
    (the student's keeps them); both run in inference mode on ``batch`` and
    must agree. A model that runs in this process (the student's own feedback
    run) is its own evidence.

    Args:
        handle: a :class:`~cvlab_ch9.grader.harness.local.ModelHandle`.
        rng: numpy Generator for the weights (from the check's draw).
        seed: int seed for Keras while rebuilding.
        batch: float32 inputs of the model's input shape.

    Returns:
        :class:`Rebuilt`, or None (not rebuildable here, or it computes something else than its config says).
    """
    if isinstance(handle, LocalModel):
        return Rebuilt(handle.model)
    try:
        config = handle.config()
    except SandboxFailure:
        raise
    except Exception:  # noqa: BLE001 - get_config of a custom layer failed: a model the judge cannot rebuild
        return None
    try:
        model = rebuild(config, seed)
        if _activation_values(model) * max(1, len(batch)) > MAX_ACTIVATION_VALUES:
            return None
        weights = drawn_weights(model, rng)
        model.set_weights(weights)
        want = np.asarray(model(batch, training=False))
    except NotRebuilt:
        return None
    except (ValueError, TypeError):  # the rebuilt model does not run on the check's inputs
        return None
    try:
        handle.set_weights(weights)
    except (ValueError, TypeError):  # the student's model does not take these weights: its config says otherwise
        return None
    got = handle.predict(batch)
    if got.shape != want.shape or not np.allclose(got, want, atol=atol * max(1.0, float(np.abs(want).max())), rtol=rtol):
        return None
    return Rebuilt(model)

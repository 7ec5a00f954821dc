"""The submission behind the checks' interface: the sandbox's replies read as values.

:class:`RemoteImplementation` puts a :class:`~cvlab_ch9.grader.sandbox.Sandbox` behind
the same :class:`~cvlab_ch9.grader.harness.local.Implementation` interface the checks
use on the reference. Every answer is checked (types, shapes) and only ever
used as a value to compare; the verdict is computed here, in a process that
never imports the submission. Exceptions and warnings raised by student
code come back rebuilt as this side's types.
"""

import builtins
import warnings

from cvlab_ch9.grader.harness.local import Implementation, ModelHandle, function_source_in, spec_of
from cvlab_ch9.grader.harness.summary import ModelSummary
from cvlab_ch9.grader.harness.wire import ModelRef, Tensor
from cvlab_ch9.grader.sandbox import SandboxFailure, SandboxViolationError, StudentException, StudentExit

# -- answers as values ---------------------------------------------------------------------

_BUILTIN_EXCEPTIONS = {
    name: obj for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, Exception)
}


def _tf_errors():
    try:
        import tensorflow as tf  # noqa: PLC0415

        return {name: getattr(tf.errors, name) for name in dir(tf.errors)
                if isinstance(getattr(tf.errors, name), type) and issubclass(getattr(tf.errors, name), Exception)}
    except ImportError:
        return {}


def rebuild_exception(info):
    """An exception of the same (or the nearest known) class as the one the sandbox described.

    Never SystemExit or KeyboardInterrupt: those become :class:`StudentExit`.
    """
    if not isinstance(info, dict):
        return StudentException("the sandbox described an exception it could not send")
    message = str(info.get("message", ""))
    mro = [m for m in info.get("mro") or [] if isinstance(m, str)]
    type_name = str(info.get("type", "Exception"))
    if type_name == "SystemExit" or "SystemExit" in mro:
        exc = StudentExit(message)
    elif type_name == "SandboxViolation":
        exc = SandboxViolationError(message)
    else:
        exc = None
        tf_errors = _tf_errors()
        for name in mro:
            if name in tf_errors and info.get("module", "").startswith("tensorflow"):
                exc = _construct(tf_errors[name], message, tf_error=True)
            elif name in _BUILTIN_EXCEPTIONS and name not in ("BaseException",):
                exc = _construct(_BUILTIN_EXCEPTIONS[name], message)
            if exc is not None:
                break
        exc = exc or StudentException(message)
    exc.remote_type = type_name
    location = info.get("location")
    exc.student_location = tuple(location) if isinstance(location, list) and len(location) == 3 else None
    return exc


def _construct(cls, message, tf_error=False):
    try:
        return cls(None, None, message) if tf_error else cls(message)
    except Exception:  # noqa: BLE001 - classes with other constructors (UnicodeDecodeError...)
        return None


_WARNING_CLASSES = {name: cls for name, cls in vars(builtins).items()
                    if isinstance(cls, type) and issubclass(cls, Warning)}


def replay_warnings(items):
    """Issue here the warnings student code raised in the sandbox (a check may be listening)."""
    for item in (items or [])[:20]:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item):
            warnings.warn(item[1], _WARNING_CLASSES.get(item[0], UserWarning), stacklevel=2)


class RemoteModel(ModelHandle):
    """A model that lives in the sandbox, known by its handle."""

    def __init__(self, implementation, ref):
        self._impl = implementation
        self.handle = ref.handle
        self.summary = ModelSummary(ref.summary)

    def _ask(self, op, *args, **fields):
        return self._impl._value(op, handle=self.handle, args=list(args), **fields)

    def predict(self, x, training=False):
        return self._impl.expect_array(self._ask("predict", x, training=bool(training)), "the model's output")

    def get_weights(self):
        return self._ask("get_weights")

    def set_weights(self, weights):
        self._ask("set_weights", list(weights))

    def layer_weights(self):
        return self._ask("layer_weights")

    def set_layer_weights(self, assignments):
        self._ask("set_layer_weights", dict(assignments))

    def config(self):
        return self._ask("config")


def _weights_digest(weights):
    """A short hash of a list of arrays (tells two test models of the same name and id apart)."""
    import hashlib  # noqa: PLC0415

    digest = hashlib.blake2b(digest_size=8)
    for array in weights:
        digest.update(repr(array.shape).encode() + array.tobytes())
    return digest.hexdigest()


class RemoteImplementation(Implementation):
    """The submission in a :class:`Sandbox`, behind the checks' Implementation interface.

    Args:
        sandbox: a ready Sandbox.
        display_file: shown in messages, e.g. ``labs/segmentation.py``.
        sources: ``[code text]`` of the submission, read here for hints (never executed here).
        variant: which of several loaded variants to use (the grader's own tests), or None.
    """

    def __init__(self, sandbox, display_file, sources=(), variant=None):
        self.sandbox = sandbox
        self.display_file = display_file
        self.sources = list(sources)
        self.variant = variant
        #: What the sandbox refused while this implementation was used (for the report; no score change).
        self.refused = []
        self._has = {}
        self._specs = {}

    def _encode_arg(self, value):
        import keras  # noqa: PLC0415

        if isinstance(value, RemoteModel):
            return ModelRef(value.handle, {})
        if isinstance(value, keras.Model):
            key = f"{value.name}-{id(value)}"
            if key not in self._specs:
                spec = spec_of(value, key)
                # the sandbox keeps the models it built by key: another draw's model may reuse a freed id
                spec.key = f"{key}-{_weights_digest(spec.weights)}"
                self._specs[key] = spec
            return self._specs[key]
        if hasattr(value, "numpy") and hasattr(value, "dtype") and hasattr(value, "shape"):
            return Tensor(value.numpy())
        if isinstance(value, list):
            return [self._encode_arg(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._encode_arg(v) for v in value)
        if isinstance(value, dict):
            return {k: self._encode_arg(v) for k, v in value.items()}
        return value

    def _wrap(self, value):
        if isinstance(value, ModelRef):
            return RemoteModel(self, value)
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._wrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        return value

    def _value(self, op, args=(), kwargs=None, **fields):
        if self.variant is not None:
            fields["variant"] = self.variant
        reply = self.sandbox.request(op, args=self._encode_arg(list(args)),
                                     kwargs=self._encode_arg(dict(kwargs or {})), **fields)
        replay_warnings(reply.get("warnings"))
        self.refused.extend(v[:300] for v in (reply.get("violations") or [])[:5] if isinstance(v, str))
        if reply.get("threads"):
            self.sandbox.dirty = True
        if "error" in reply:
            raise rebuild_exception(reply["error"])
        return self._wrap(reply["value"])

    @staticmethod
    def expect_array(value, what):
        import numpy as np  # noqa: PLC0415

        if not isinstance(value, np.ndarray):
            raise SandboxFailure("protocol", f"{what} is not an array")
        return value

    def has(self, name):
        if name not in self._has:
            answer = self._value("has", names=[name])
            self._has[name] = bool(isinstance(answer, dict) and answer.get(name) is True)
        return self._has[name]

    def call(self, name, *args, **kwargs):
        return self._value("call", args, kwargs, name=name)

    def _build_block(self, name, input_shape, kwargs):
        return self._value("build", (), kwargs, name=name, input_shape=list(input_shape))

    def gradient(self, name, args, kwargs, wrt):
        result = self._value("gradient", args, kwargs, name=name, wrt=int(wrt))
        if not (isinstance(result, list) and len(result) == 2):
            raise SandboxFailure("protocol", "a gradient reply must hold a value and a gradient")
        return result[0], result[1]

    def source(self, name):
        for text in self.sources:
            found = function_source_in(text, name)
            if found:
                return found
        return ""

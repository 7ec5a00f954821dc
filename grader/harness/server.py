"""The sandbox: a process that runs one submission's code and answers with plain data.

The judge (``grader.remote``) starts it with ``python -I`` from a private
scratch folder holding a copy of this package and the submission only, so
neither the project, nor the answer key, nor the recordings are on its
path. Over two pipes the judge sends requests ("call trimap_to_classes with
this array", "build strided_downsampling on Input((32, 32, 3))", "run model
3 on this batch") and the sandbox answers with values, never verdicts.

Startup: read the init message, silence stdout/stderr, import TensorFlow,
answer ``{"started": true}``, cap memory, arm the audit hook
(:mod:`.guard`), load the submission, answer ``{"ready": ...}``; then serve
requests until ``{"op": "stop"}`` or the pipe closes.

Self-contained: standard library, numpy, TensorFlow/Keras, this package.
"""

import importlib.util
import linecache
import os
import sys
import threading
import warnings

from . import guard
from .local import LocalImplementation, LocalModel, build_model_from_spec, frame_in
from .wire import ModelRef, WireError, encode, read_frame

MAX_WARNINGS = 20
MAX_MESSAGE_CHARS = 2000
#: Top-level packages of the project that submissions may not import.
PROJECT_PACKAGES = ("solutions", "labs", "grader", "cvlab", "ui", "course", "bench", "tools", "models", "kit")


def _safe_text(value, limit=MAX_MESSAGE_CHARS):
    try:
        text = str(value)
    except Exception:  # a hostile __str__ must not stop the reply
        text = ""
    return text if len(text) <= limit else text[:limit] + " [...]"


class Channel:
    """Frames in and out over two file descriptors."""

    def __init__(self, read_fd, write_fd):
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.write_fd = write_fd
        self.lock = threading.Lock()

    def read_exactly(self, n):
        chunks, remaining = [], n
        while remaining:
            chunk = self.reader.read(remaining)
            if not chunk:
                raise EOFError("the judge closed the pipe")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def receive(self):
        return read_frame(self.read_exactly)

    def send(self, value):
        data = encode(value)
        with self.lock:
            view = memoryview(data)
            while view:
                written = os.write(self.write_fd, view)
                view = view[written:]


class Submission:
    """The student's code loaded into one namespace, from a module file or notebook cells."""

    def __init__(self, init):
        self.lab = init["lab"]
        self.files = set()
        self.cell_errors = []
        self.namespace = None
        self.variants = {}

    def is_student_file(self, filename):
        return filename in self.files or os.path.realpath(filename) in self.files

    def load_module(self, path, module_name=None):
        path = os.path.realpath(path)
        self.files.add(path)
        name = os.path.basename(path)
        module_name = module_name or self.lab
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            return {"status": "error", "message": f"{name} has a syntax error on line {exc.lineno}: {exc.msg}. Fix it and run again."}
        except SystemExit:
            return {"status": "error", "message": f"{name} calls exit() while being imported; keep module-level code to imports and definitions."}
        except BaseException as exc:  # every import failure becomes the lab's message
            where = frame_in(exc, self.is_student_file)
            line = f" (line {where[1]}: {where[2].strip()})" if where else ""
            return {
                "status": "error",
                "message": f"importing {name} raised {type(exc).__name__}: {_safe_text(exc, 300)}{line}. "
                "Keep module-level code to imports and definitions.",
            }
        finally:
            self.namespace = vars(module)
        return None

    def load_modules(self, paths):
        """Several variants of the lab (the grader's own tests): ``{alias: path}`` -> ``{alias: problem}``."""
        problems, namespaces = {}, {}
        for alias, path in paths.items():
            problems[alias] = self.load_module(path, module_name=f"{self.lab}_{alias}")
            namespaces[alias] = self.namespace
        self.namespace = None
        self.variants = namespaces
        return problems

    def load_cells(self, cells):
        """Run notebook cells one by one in one namespace; a failing cell does not stop the others."""
        self.namespace = {"__name__": self.lab}
        for number, cell in enumerate(cells, 1):
            filename = f"<cell {cell.get('name') or number}>"
            source = cell["source"]
            self.files.add(filename)
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            try:
                exec(compile(source, filename, "exec"), self.namespace)  # noqa: S102 - the sandbox runs student code
            except SyntaxError as exc:
                self.cell_errors.append(f"cell {cell.get('name') or number} has a syntax error on line {exc.lineno}: {exc.msg}")
            except BaseException as exc:  # a notebook goes on after a failing cell
                self.cell_errors.append(f"cell {cell.get('name') or number} raised {type(exc).__name__}: {_safe_text(exc, 300)}")
        return None


def describe_exception(exc, submission):
    """Plain-data description of an exception raised by student code."""
    where = frame_in(exc, submission.is_student_file)
    info = {
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "mro": [cls.__name__ for cls in type(exc).__mro__],
        "message": _safe_text(exc),
        "location": None if where is None else [os.path.basename(where[0]) if not where[0].startswith("<") else where[0], where[1], where[2]],
    }
    if isinstance(exc, SystemExit):
        info["message"] = _safe_text(exc.code)
    return info


class Server:
    """Answers the judge's requests about one submission."""

    def __init__(self, channel, submission):
        self.channel = channel
        self.submission = submission
        self.impls = {}
        self.models = {}
        self.specs = {}
        self.violations = []

    def build_spec(self, spec):
        if spec.key not in self.specs:
            self.specs[spec.key] = build_model_from_spec(spec)
        return self.specs[spec.key]

    def model(self, request):
        handle = request.get("handle")
        if handle not in self.models:
            raise KeyError(f"no model {handle!r}")
        return self.models[handle]

    def resolve(self, value):
        """Arguments: ModelRefs back to the models they name."""
        if isinstance(value, ModelRef):
            return self.model({"handle": value.handle})
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def implementation(self, variant=None):
        if variant not in self.impls:
            namespace = self.submission.namespace if variant is None else self.submission.variants[variant]
            self.impls[variant] = LocalImplementation(namespace or {}, build_model=self.build_spec)
        return self.impls[variant]

    def handle(self, request):
        op = request.get("op")
        impl = self.implementation(request.get("variant"))
        args = self.resolve(request.get("args", []))
        kwargs = self.resolve(request.get("kwargs", {}))
        if op == "has":
            return {name: impl.has(name) for name in request["names"]}
        if op == "call":
            return self._rewrap(impl.call(request["name"], *args, **kwargs))
        if op == "build":
            result = impl._build_block(request["name"], tuple(request["input_shape"]), kwargs)
            return self._rewrap(result)
        if op == "gradient":
            value, grads = impl.gradient(request["name"], args, kwargs, int(request["wrt"]))
            return [self._rewrap(value), grads]
        model = self.model(request)
        if op == "predict":
            return model.predict(args[0], training=bool(request.get("training", False)))
        if op == "get_weights":
            return model.get_weights()
        if op == "set_weights":
            model.set_weights(args[0])
            return None
        if op == "layer_weights":
            return model.layer_weights()
        if op == "set_layer_weights":
            model.set_layer_weights(args[0])
            return None
        raise ValueError(f"unknown request {op!r}")

    def _rewrap(self, value):
        """LocalModels produced by LocalImplementation become handles the judge can name."""
        if isinstance(value, LocalModel):
            handle = len(self.models) + 1
            self.models[handle] = value
            return ModelRef(handle, value.summary.data)
        if isinstance(value, list):
            return [self._rewrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._rewrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self._rewrap(v) for k, v in value.items()}
        return value

    def answer(self, request):
        reply = {"id": request.get("id")}
        threads_before = set(threading.enumerate())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _ignore_library_warnings()  # Keras' own (e.g. input structure) would be re-issued as noise in the judge
            try:
                reply["value"] = self.handle(request)
            except BaseException as exc:  # student code may raise anything, SystemExit included
                reply["error"] = describe_exception(exc, self.submission)
        reply["warnings"] = [[w.category.__name__, _safe_text(w.message, 500)] for w in caught[:MAX_WARNINGS]]
        reply["violations"], self.violations = self.violations[:5], []
        reply["threads"] = any(t.is_alive() for t in set(threading.enumerate()) - threads_before)
        try:
            self.channel.send(reply)
        except WireError as exc:
            reply.pop("value", None)
            reply["error"] = {"type": "ResultError", "module": "", "mro": ["ResultError"], "location": None,
                              "message": f"the result cannot be sent to the grader ({exc})"}
            self.channel.send(reply)

    def serve(self):
        while True:
            try:
                request = self.channel.receive()
            except (EOFError, WireError):
                return
            if not isinstance(request, dict) or request.get("op") == "stop":
                return
            self.answer(request)


def _import_tensorflow():
    import tensorflow as tf  # noqa: PLC0415
    import keras  # noqa: F401, PLC0415

    import logging  # noqa: PLC0415

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    _ignore_library_warnings()


def _ignore_library_warnings():
    """Ignore the warnings Keras raises about its own use (not student code's numerics)."""
    warnings.filterwarnings("ignore", module="keras")


def _take_standard_streams():
    """The channel's (read fd, write fd): the original stdin/stdout, which then point at the null device.

    Student code that prints writes to the null device (or to stderr when
    debugging), never into the channel.
    """
    read_fd, write_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the sandbox
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    return read_fd, write_fd


def main():
    """Entry point: ``python -I -c "...; main()"`` with the channel on stdin/stdout."""
    channel = Channel(*_take_standard_streams())
    init = channel.receive()
    if not init.get("debug"):
        guard.silence_output()
    _import_tensorflow()
    channel.send({"started": True})
    submission = Submission(init)
    server = Server(channel, submission)
    policy = guard.PathPolicy(init["read_roots"], init.get("deny_roots", ()), init.get("write_roots", ()))
    memory_cap = guard.limit_memory(float(init["memory_gb"]))
    os.chdir(init["workdir"])
    guard.install_audit_hook(policy, PROJECT_PACKAGES, server.violations.append)
    problems = None
    if init["kind"] == "module":
        problem = submission.load_module(init["path"])
    elif init["kind"] == "modules":
        problems, problem = submission.load_modules(init["paths"]), None
    else:
        problem = submission.load_cells(init["cells"])
    violations, server.violations = server.violations[:5], []
    if problem is None and violations:
        name = os.path.basename(init.get("path") or "your notebook")
        problem = {"status": "error", "message": f"{name} tried {violations[0]} while being imported; "
                   "that is not allowed, so every check of this lab scores 0."}
    channel.send({"ready": True, "problem": problem, "problems": problems,
                  "cell_errors": submission.cell_errors[:10], "memory_limited": memory_cap is not None})
    if problem is None:
        server.serve()

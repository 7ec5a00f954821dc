"""The sandbox: a process that runs one submission's code and answers with plain data.

The judge (``cvlab_ch9.grader.sandbox``) starts it with ``python -I`` from a private
scratch folder holding a copy of this package and the submission only, so
neither the project, nor the answer key, nor the recordings are on its
path. Over two pipes the judge sends requests ("call trimap_to_classes with
this array", "build strided_downsampling on Input((32, 32, 3))", "run model
3 on this batch") and the sandbox answers with values, never verdicts.

Startup: the kernel's confinement (:mod:`.confine`, before this module and
numpy are even imported), read the init message, silence stdout/stderr,
import TensorFlow, answer ``{"started": true, "confinement": ...}``, cap
memory, arm the audit hook (:mod:`.guard`: friendly messages, not the
protection), load the submission, answer ``{"ready": ...}``; then serve
requests until ``{"op": "stop"}`` or the pipe closes.

Self-contained: standard library, numpy, TensorFlow/Keras, this package.
"""

import __future__

import ast
import linecache
import os
import sys
import threading
import types
import warnings

from . import guard
from .local import LocalImplementation, LocalModel, build_model_from_spec, frame_in
from .wire import ModelRef, WireError, encode_signed, read_frame

MAX_WARNINGS = 20
MAX_MESSAGE_CHARS = 2000
#: Top-level packages of the project that submissions may not import.
PROJECT_PACKAGES = ("solutions", "labs", "grader", "cvlab", "cvlab_ch9", "ui", "course", "bench", "tools", "models", "kit")


def _safe_text(value, limit=MAX_MESSAGE_CHARS):
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a hostile __str__ must not stop the reply
        text = ""
    return text if len(text) <= limit else text[:limit] + " [...]"


class Channel:
    """Frames in and out over two file descriptors."""

    def __init__(self, read_fd, write_fd):
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.write_fd = write_fd
        self.lock = threading.Lock()
        self.key = None

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
        data = encode_signed(value, self.key)
        with self.lock:
            view = memoryview(data)
            while view:
                written = os.write(self.write_fd, view)
                view = view[written:]


class Submission:
    """The student's code loaded into one namespace, from a module file or notebook cells."""

    def __init__(self, init, progress=lambda index, name: None):
        self.lab = init["lab"]
        self.skip = set(init.get("skip") or ())
        self.progress = progress
        self.files = set()
        self.cell_errors = []
        self.namespace = None
        self.variants = {}

    def is_student_file(self, filename):
        return filename in self.files or os.path.realpath(filename) in self.files

    def load_module(self, path, module_name=None):
        """Load a module file statement by statement.

        A top-level statement that raises (an import the sandbox refuses, a
        stray call) is noted and skipped; the rest of the module still
        loads, as later notebook cells run after a failing one. Only a syntax
        error stops the whole file.

        Returns:
            None, or ``{"status", "message"}`` when the file cannot be loaded.
        """
        path = os.path.realpath(path)
        self.files.add(path)
        name = os.path.basename(path)
        module_name = module_name or self.lab
        with open(path, encoding="utf-8") as file:
            source = file.read()
        module = types.ModuleType(module_name)
        module.__file__ = path
        sys.modules[module_name] = module
        self.namespace = vars(module)
        try:
            tree = ast.parse(source, filename=path)
        except SyntaxError as exc:
            return {"status": "error", "message": f"{name} has a syntax error on line {exc.lineno}: {exc.msg}. Fix it and run again."}
        linecache.cache[path] = (len(source), None, source.splitlines(True), path)
        flags = _future_flags(tree)
        for index, statement in enumerate(tree.body):
            if index in self.skip:
                continue
            self.progress(index, f"{name}, line {statement.lineno}")
            try:
                code = compile(ast.Module([statement], type_ignores=[]), path, "exec", flags=flags, dont_inherit=True)
                exec(code, self.namespace)  # the sandbox exists to run student code
            except SystemExit:
                self.cell_errors.append(f"{name}, line {statement.lineno}: calls exit() while being imported")
            except BaseException as exc:  # noqa: BLE001 - the other statements still load
                self.cell_errors.append(f"{name}, line {statement.lineno} raised {type(exc).__name__}: {_safe_text(exc, 300)}")
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
            if number - 1 in self.skip:
                continue
            self.progress(number - 1, f"cell {cell.get('name') or number}")
            filename = f"<cell {cell.get('name') or number}>"
            source = cell["source"]
            self.files.add(filename)
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            try:
                exec(compile(source, filename, "exec"), self.namespace)  # the sandbox exists to run student code
            except SyntaxError as exc:
                self.cell_errors.append(f"cell {cell.get('name') or number} has a syntax error on line {exc.lineno}: {exc.msg}")
            except BaseException as exc:  # noqa: BLE001 - a notebook goes on after a failing cell
                self.cell_errors.append(f"cell {cell.get('name') or number} raised {type(exc).__name__}: {_safe_text(exc, 300)}")
        return None


def _future_flags(tree):
    """Compiler flags of the module's ``from __future__ import ...`` statements."""
    flags = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            for alias in node.names:
                feature = getattr(__future__, alias.name, None)
                flags |= getattr(feature, "compiler_flag", 0)
    return flags


def _shown_file(filename):
    """A traceback file name as messages show it: the base name of a file, ``<cell x>`` as it is."""
    return filename if filename.startswith("<") else os.path.basename(filename)


def describe_exception(exc, submission):
    """Plain-data description of an exception raised by student code."""
    where = frame_in(exc, submission.is_student_file)
    info = {
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "mro": [cls.__name__ for cls in type(exc).__mro__],
        "message": _safe_text(exc),
        "location": None if where is None else [_shown_file(where[0]), where[1], where[2]],
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
        if op == "config":
            return model.config()
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
            except BaseException as exc:  # noqa: BLE001 - student code may raise anything, SystemExit included
                reply["error"] = describe_exception(exc, self.submission)
        reply["warnings"] = [[w.category.__name__, _safe_text(w.message, 500)] for w in caught[:MAX_WARNINGS]]
        reply["violations"] = self.violations[:5]
        self.violations.clear()  # in place: the audit hook appends to this list
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
    import logging  # noqa: PLC0415

    import keras  # noqa: F401, PLC0415
    import tensorflow as tf  # noqa: PLC0415

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


def main(confinement=None):
    """Entry point: ``python -I -c "...; main(confinement)"`` with the channel on stdin/stdout.

    Args:
        confinement: what :func:`.confine.enter` applied (``{"layers", "details"}``), told to the judge.
    """
    channel = Channel(*_take_standard_streams())
    init = channel.receive()
    channel.key = bytes.fromhex(init.pop("key"))
    if not init.get("debug"):
        guard.silence_output()
    _import_tensorflow()
    channel.send({"started": True, "confinement": confinement})
    # before each statement or cell: the judge restarts without the one that hangs
    submission = Submission(init, progress=lambda index, name: channel.send({"loading": index, "name": name}))
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
    for what in server.violations[:3]:
        submission.cell_errors.append(f"the grader refused {what} while the code was loaded")
    server.violations.clear()
    channel.send({"ready": True, "problem": problem, "problems": problems,
                  "cell_errors": submission.cell_errors[:10], "memory_limited": memory_cap is not None})
    if problem is None:
        server.serve()

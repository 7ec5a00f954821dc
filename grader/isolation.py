"""Protections for the worker process that runs student code.

The runner (:mod:`grader.runner`) grades each lab in a spawned worker. Inside
that worker, student code runs in the same interpreter as the checks, so the
worker arms four protections before the student's module is imported:

- :func:`silence_output` points file descriptors 1 and 2 at /dev/null, so
  prints (and TensorFlow's C++ logs) never reach the grader's JSON output.
- :func:`limit_address_space` caps virtual memory a fixed margin above what
  TensorFlow already reserved, so one huge allocation raises MemoryError at
  once; the parent also watches the worker's resident memory
  (:func:`resident_bytes`) and stops it above the limit.
- :class:`TamperGuard` remembers the functions and classes the checks rely
  on (numpy, keras' public API, builtins, the grader's and the reference's
  modules) and reports any that student code replaced, e.g.
  ``np.allclose = lambda *a, **k: True``. The runner scores that check 0 and
  restarts the worker, so a patch never earns points or leaks into other
  checks.
- :class:`SolutionsGuard`, an audit hook, refuses to open, list, link or run
  anything under ``solutions/`` (and to start programs) when student code is
  on the call stack, and records the attempt so that the check scores 0.
  :meth:`SolutionsGuard.protect_module` makes the loaded reference's
  functions refuse calls from student code, and
  :func:`reused_reference_functions` catches exercise functions that *are*
  the reference's (``f = reference("lab").f``).

Limits: the guards stop accidents and casual cheating, not a determined
attacker. Student code shares the interpreter with the checks and the
loaded reference module, so code that digs the original functions out of
the wrappers' closures, walks ``gc`` to the result pipe, or uses
``ctypes`` is not caught. Full
protection would need the reference results computed in another process
(the parent) and only plain arrays crossing into the worker.
"""

import functools
import os
import resource
import sys
import sysconfig
import types
from pathlib import Path

GIB = 1024**3


# -- output ---------------------------------------------------------------------


def silence_output():
    """Send this process's stdout and stderr (fds 1 and 2 and the Python streams) to /dev/null."""
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115


# -- memory ---------------------------------------------------------------------


def _status_field(pid, field):
    """A ``kB`` field of /proc/<pid>/status in bytes, or None where /proc is unavailable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def resident_bytes(pid):
    """Resident set size of process ``pid`` in bytes (None if unknown, e.g. it has ended)."""
    return _status_field(pid, "VmRSS")


def limit_address_space(limit_bytes):
    """Cap this process's virtual memory at its current size + ``limit_bytes`` + a thread margin.

    TensorFlow reserves about 1 GB of address space it never touches, and
    every thread it starts later reserves a stack and a malloc arena, hence
    the margin (256 MB per CPU, at least 2 GB). Returns the cap in bytes, or
    None when the platform has no RLIMIT_AS or /proc.
    """
    current = _status_field("self", "VmSize")
    if current is None or not hasattr(resource, "RLIMIT_AS"):
        return None
    margin = max(2 * GIB, (os.cpu_count() or 1) * 256 * 1024**2)
    cap = current + int(limit_bytes) + margin
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return cap


# -- tampering ------------------------------------------------------------------

#: Modules whose functions and classes checks call (every loaded submodule of the
#: packages, plus these single modules).
GUARDED_PACKAGES = ("numpy", "grader", "cvlab")
GUARDED_MODULES = (
    "builtins",
    "math",
    "keras",
    "keras.layers",
    "keras.metrics",
    "keras.models",
    "keras.ops",
    "keras.utils",
    "keras.activations",
    "keras.backend",
    "keras.random",
    "tensorflow",
)


def _is_guarded_value(value):
    return isinstance(value, (type, types.ModuleType)) or callable(value)


def _own_classes(module):
    """Classes reachable as attributes of ``module`` and defined by numpy, keras, grader or cvlab."""
    prefixes = ("numpy", "keras", "grader", "cvlab", "_cvlab_impl_")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "__module__", "").startswith(prefixes):
            yield value


class TamperGuard:
    """Detects replaced functions, classes and modules that the checks rely on.

    A snapshot records, by identity, every callable, class and module
    attribute of the guarded modules, the attributes of the classes they
    define, and the ``sys.modules`` entries of the guarded names. Data
    attributes (counters, caches) are ignored, so library state may change.
    """

    def __init__(self, extra_modules=()):
        self._modules = self._collect_modules(extra_modules)
        self._entries = []  # (label, namespace, key, value)
        self._sys_modules = {name: sys.modules.get(name) for name in self._modules}
        seen_classes = set()
        for name, module in self._modules.items():
            self._record(name, vars(module))
            for cls in _own_classes(module):
                if id(cls) not in seen_classes:
                    seen_classes.add(id(cls))
                    self._record(f"{cls.__module__}.{cls.__qualname__}", cls.__dict__, keep_keys=True)

    @staticmethod
    def _collect_modules(extra_modules):
        modules = {}
        for name, module in list(sys.modules.items()):
            if module is None:
                continue
            package = name.split(".", 1)[0]
            if package in GUARDED_PACKAGES or name in GUARDED_MODULES:
                modules[name] = module
        for module in extra_modules:
            modules[module.__name__] = module
        return modules

    def _record(self, label, namespace, keep_keys=False):
        for key, value in list(namespace.items()):
            if _is_guarded_value(value) or isinstance(value, (staticmethod, classmethod, property)):
                self._entries.append((label, namespace, key, value))
        if keep_keys:
            self._entries.append((label, namespace, None, frozenset(namespace.keys())))

    def changes(self):
        """Names (``"numpy.allclose"``) replaced, deleted or added since the snapshot, sorted."""
        changed = set()
        for name, module in self._sys_modules.items():
            if sys.modules.get(name) is not module:
                changed.add(f"sys.modules[{name!r}]")
        for label, namespace, key, value in self._entries:
            if key is None:
                added = set(namespace.keys()) - value
                changed.update(f"{label}.{k}" for k in added if _is_guarded_value(namespace[k]))
            else:
                current = namespace.get(key, _MISSING)
                if current is not value and not _same_module(value, current):
                    changed.add(f"{label}.{key}")
        return sorted(changed)


_MISSING = object()


def _same_module(before, after):
    """True when a lazily loaded module replaced its placeholder (e.g. ``tf.keras`` on first use)."""
    lazy = isinstance(before, types.ModuleType) and type(before) is not types.ModuleType  # a LazyLoader
    return lazy and isinstance(after, types.ModuleType)


def describe_tampering(names, where):
    """A message for a student whose code replaced ``names`` while ``where`` ran."""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (
        f"Your code replaced {shown} while {where}. The grader relies on numpy, Keras and its own "
        "functions, so a check whose code changes them scores 0. Remove the assignment and "
        "compute the result yourself."
    )


# -- solutions ------------------------------------------------------------------

#: Audit events that name a path as their first argument.
_PATH_EVENTS = {
    "open", "os.listdir", "os.scandir", "os.link", "os.symlink", "os.rename",
    "shutil.copyfile", "shutil.copytree", "glob.glob",
}
#: Audit events that start another program.
_PROGRAM_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "pty.spawn"}


def _trusted_roots(solutions_dir):
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    package_root = Path(__file__).resolve().parent.parent
    roots.update({str(package_root / "grader"), str(package_root / "cvlab"), str(solutions_dir)})
    return tuple(os.path.realpath(r) + os.sep for r in roots)


_RUNNER_FILE = str(Path(__file__).resolve().parent / "runner.py")
_RUNNER = "runner"  # marks the runner's frames: the stack below them is the grader's own


class SolutionsGuard:
    """An audit hook keeping student code away from ``solutions/`` and from starting programs.

    "Student code" is any frame, above the runner's own frames, whose file
    lies outside the standard library, site-packages, ``grader/``,
    ``cvlab/`` and ``solutions/`` (the student's module, code it ``exec``s). The hook is permanent once
    installed (audit hooks cannot be removed), and only active after
    :meth:`arm`. Attempts are recorded; :meth:`take_violations` returns and
    clears them.
    """

    def __init__(self, solutions_dir):
        self.solutions_dir = os.path.realpath(solutions_dir)
        self._roots = _trusted_roots(self.solutions_dir)
        self._trusted = {}
        self._violations = []
        self._armed = False

    def install(self):
        sys.addaudithook(self._hook)

    def arm(self):
        self._armed = True

    def take_violations(self):
        found, self._violations = self._violations, []
        return found

    def _is_trusted_file(self, filename):
        trusted = self._trusted.get(filename)
        if trusted is None:
            resolved = os.path.realpath(filename)
            if resolved == _RUNNER_FILE:
                trusted = _RUNNER
            elif filename.startswith("<frozen") or "__autograph_generated_file" in filename:
                trusted = True
            else:
                trusted = resolved.startswith(self._roots)
            self._trusted[filename] = trusted
        return trusted

    def _student_on_stack(self):
        """True when a student frame lies between this hook and the runner's frames."""
        frame = sys._getframe(2)
        while frame is not None:
            trusted = self._is_trusted_file(frame.f_code.co_filename)
            if trusted is _RUNNER:
                return False
            if not trusted:
                return True
            frame = frame.f_back
        return False

    def _under_solutions(self, path):
        if isinstance(path, int) or path is None:
            return False
        try:
            resolved = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return resolved == self.solutions_dir or resolved.startswith(self.solutions_dir + os.sep)

    def protect_module(self, module):
        """Make every function defined in ``module`` refuse calls that come from student code.

        Checks call the reference directly (no student frame on the stack);
        a student function calling ``reference(lab).f(...)`` is recorded as
        a violation and gets PermissionError.
        """
        for name, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
                setattr(module, name, self._guarded_call(value))

    def _guarded_call(self, func):
        guard = self

        @functools.wraps(func)
        def guarded(*args, **kwargs):
            if guard._armed and guard._student_on_stack():
                message = f"calling the reference solution's {func.__name__}()"
                guard._violations.append(message)
                raise PermissionError(f"The grader does not allow {message}.")
            return func(*args, **kwargs)

        return guarded

    def _display(self, path):
        """``solutions/<file>`` for a path under the solutions folder."""
        resolved = os.path.realpath(os.fsdecode(path))
        inside = os.path.relpath(resolved, self.solutions_dir)
        return f"{os.path.basename(self.solutions_dir)}/{inside}"

    def _hook(self, event, args):
        if not self._armed:
            return
        if event in _PATH_EVENTS:
            paths = args[:2] if event in ("os.link", "os.symlink", "os.rename", "shutil.copyfile", "shutil.copytree") else args[:1]
            target = next((p for p in paths if self._under_solutions(p)), None)
            if target is not None and self._student_on_stack():
                message = f"reading {self._display(target)} (the reference solutions)"
                self._violations.append(message)
                raise PermissionError(f"The grader does not allow {message}.")
        elif event in _PROGRAM_EVENTS and self._student_on_stack():
            message = "starting another program"
            self._violations.append(message)
            raise PermissionError(f"The grader does not allow {message}.")


def reused_reference_functions(student, references):
    """Names of functions in ``student`` that are functions of a reference module.

    Catches ``trimap_to_classes = reference("segmentation").trimap_to_classes``
    (also through ``functools.partial`` or a new function on the same code).
    """
    ref_codes = set()
    for module in references:
        for value in vars(module).values():
            value = getattr(value, "__wrapped__", value)  # protected by SolutionsGuard.protect_module
            code = getattr(value, "__code__", None)
            if code is not None and getattr(value, "__module__", None) == module.__name__:
                ref_codes.add(id(code))
    reused = []
    for name, value in vars(student).items():
        inner = getattr(value, "func", value)  # functools.partial
        inner = getattr(inner, "__func__", inner)  # bound method
        inner = getattr(inner, "__wrapped__", inner)
        code = getattr(inner, "__code__", None)
        if code is not None and id(code) in ref_codes:
            reused.append(name)
    return sorted(reused)

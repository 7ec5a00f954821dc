"""Check registry, results, and running one check in this process."""

import dataclasses
import importlib
from types import SimpleNamespace

from cvlab.impl import (
    LAB_NAMES,
    ImplementationError,
    display_path,
    not_implemented_message,
    not_implemented_target,
    student_function,  # noqa: F401 - the checks find the student's functions with it
    student_location,
)

PASSED = "passed"
FAILED = "failed"
NOT_IMPLEMENTED = "not implemented"
ERROR = "error"
TIMEOUT = "timeout"

DEFAULT_TIMEOUT_S = 120.0


@dataclasses.dataclass(frozen=True)
class Check:
    """One graded check.

    Attributes:
        id: ``"<lab>.<exercise>.<name>"``, unique.
        lab: module name, e.g. ``"segmentation"``.
        exercise: the function under test, e.g. ``"trimap_to_classes"``.
        title: one line shown in reports.
        points: points awarded when the check passes.
        func: ``func(student)``; raises AssertionError with a hint.
        timeout_s: wall-clock limit when run isolated.
        hidden: not shown to students before the deadline (nbgrader).
    """

    id: str
    lab: str
    exercise: str
    title: str
    points: float
    func: object
    timeout_s: float = DEFAULT_TIMEOUT_S
    hidden: bool = False


@dataclasses.dataclass
class CheckResult:
    """Outcome of one check; ``status`` is one of the module constants."""

    id: str
    lab: str
    exercise: str
    title: str
    status: str
    score: float
    max_score: float
    message: str = ""
    seconds: float = 0.0

    @property
    def passed(self):
        return self.status == PASSED


_REGISTRY = {}


def check(lab, exercise, points, name=None, title=None, timeout_s=DEFAULT_TIMEOUT_S, hidden=False):
    """Decorator registering ``func(student)`` as a graded check."""

    def register(func):
        check_name = name or func.__name__.removeprefix("check_")
        check_id = f"{lab}.{exercise}.{check_name}"
        if check_id in _REGISTRY:
            raise ValueError(f"duplicate check id {check_id}")
        doc_title = (func.__doc__ or check_name).strip().splitlines()[0]
        _REGISTRY[check_id] = Check(
            check_id, lab, exercise, title or doc_title, float(points), func, timeout_s, hidden
        )
        return func

    return register


def _load_check_modules():
    for lab in LAB_NAMES:
        try:
            importlib.import_module(f"grader.checks.{lab}")
        except ModuleNotFoundError as exc:
            if exc.name != f"grader.checks.{lab}":
                raise


def all_checks(lab=None, exercise=None, include_hidden=True):
    """Registered checks in registration order, optionally filtered."""
    _load_check_modules()
    return [
        c
        for c in _REGISTRY.values()
        if (lab is None or c.lab == lab)
        and (exercise is None or c.exercise == exercise)
        and (include_hidden or not c.hidden)
    ]


def get_check(check_id):
    """The check with this id (KeyError with the known ids otherwise)."""
    _load_check_modules()
    if check_id not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown check {check_id!r}; known checks: {known}")
    return _REGISTRY[check_id]


def labs_with_checks():
    """Lab names that have at least one check, in lab order."""
    present = {c.lab for c in all_checks()}
    return [lab for lab in LAB_NAMES if lab in present]


def _not_implemented(exc, chk, student):
    """'Not implemented yet: write f() in labs/lab.py.' from ``NotImplementedError("lab.f")``."""
    lab, function = not_implemented_target(exc) or (chk.lab, chk.exercise)
    where = getattr(student, "__file__", None)
    return not_implemented_message(function, display_path(where) if where else f"labs/{lab}.py")


#: Memory limit (GB) the isolated runner enforces in this process, for messages; None in-process.
_memory_limit_gb = None


def set_memory_limit_note(limit_gb):
    """Make out-of-memory messages name ``limit_gb`` (called by the grading worker)."""
    global _memory_limit_gb
    _memory_limit_gb = limit_gb


def memory_message(limit_gb=None):
    """The message for code that needs too much memory."""
    limit = f" used more than {limit_gb:g} GB of memory" if limit_gb else " ran out of memory"
    return f"Your code{limit}. Look for an array, list or model that grows without bound."


def is_memory_error(exc):
    """True for MemoryError and TensorFlow's out-of-memory ResourceExhaustedError."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError"


def classify_exception(exc, chk, student):
    """Map an exception raised by a check to ``(status, message)``."""
    if isinstance(exc, SystemExit):
        return ERROR, f"Your code called exit() (SystemExit: {exc.code}) while running {chk.exercise}(); return a value instead."
    if isinstance(exc, NotImplementedError):
        return NOT_IMPLEMENTED, _not_implemented(exc, chk, student)
    if isinstance(exc, AssertionError):
        return FAILED, str(exc) or f"{chk.title}: the result is not what the chapter's version gives."
    if isinstance(exc, ImplementationError):
        return ERROR, str(exc)
    if is_memory_error(exc):
        return ERROR, memory_message(_memory_limit_gb)
    return ERROR, f"Your code raised {type(exc).__name__}: {exc}{student_location(exc, getattr(student, '__file__', None))}"


#: Longest message kept from a failing check (student exceptions can be huge).
MAX_MESSAGE_CHARS = 2000


def _safe_classification(exc, chk, student):
    """:func:`classify_exception`, surviving exceptions whose ``str()`` itself fails; message truncated."""
    try:
        status, message = classify_exception(exc, chk, student)
    except Exception:  # noqa: BLE001 - a hostile __str__ must not crash grading
        status, message = ERROR, f"Your code raised {type(exc).__name__} (its message could not be shown)."
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " [...]"
    return status, message


def run_check(chk, student):
    """Run ``chk`` against ``student`` in this process; return a CheckResult."""
    return run_check_detailed(chk, student)[0]


def run_check_detailed(chk, student):
    """Like :func:`run_check`; returns ``(CheckResult, exception or None)``.

    Every ``Exception`` and ``SystemExit`` becomes a graded result;
    KeyboardInterrupt still stops the caller.
    """
    import time  # noqa: PLC0415 - keep module import light

    start = time.perf_counter()
    error = None
    try:
        chk.func(student)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure becomes a graded result, none escapes
        error = exc
        status, message = _safe_classification(exc, chk, student)
    else:
        status, message = PASSED, ""
    result = CheckResult(
        chk.id,
        chk.lab,
        chk.exercise,
        chk.title,
        status,
        chk.points if status == PASSED else 0.0,
        chk.points,
        message,
        time.perf_counter() - start,
    )
    return result, error


def failed_result(chk, status, message, seconds=0.0):
    """A zero-score CheckResult for ``chk``."""
    return CheckResult(chk.id, chk.lab, chk.exercise, chk.title, status, 0.0, chk.points, message, seconds)


def namespace_from(mapping):
    """An implementation object from a dict of functions (e.g. notebook globals)."""
    return SimpleNamespace(**mapping)

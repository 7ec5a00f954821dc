"""Check registry, results, and running one check against an implementation.

A check is ``func(student, expected)``: ``student`` is an
:class:`~cvlab_ch9.grader.harness.local.Implementation` (the submission, in the
sandbox or in this process) and ``expected`` the lab's
:class:`~cvlab_ch9.grader.expect.Expected` values (recorded from ``solutions/``, or
computed from it on the instructor's side) with the draw its inputs come
from (``expected.draw``). It raises AssertionError with a hint when the
student's results differ.

Visible checks live in ``grader/checks/<lab>.py``; hidden checks (graded,
never shown before the deadline, absent from the student kit) in
``grader/hidden/<lab>.py``.
"""

import contextlib
import dataclasses
import importlib
import re
import time

from cvlab_ch9.grader.harness.local import MissingFunction
from cvlab_ch9.impl import LAB_NAMES, not_implemented_message, not_implemented_target

PASSED = "passed"
FAILED = "failed"
NOT_IMPLEMENTED = "not implemented"
ERROR = "error"
TIMEOUT = "timeout"

DEFAULT_TIMEOUT_S = 120.0
#: Longest message kept from a failing check (student exceptions can be huge).
MAX_MESSAGE_CHARS = 2000


@dataclasses.dataclass(frozen=True)
class Check:
    """One graded check.

    Attributes:
        id: ``"<lab>.<exercise>.<name>"``, unique.
        lab: module name, e.g. ``"segmentation"``.
        exercise: the function under test, e.g. ``"trimap_to_classes"``.
        title: one line shown in reports.
        points: points awarded when the check passes.
        func: ``func(student, expected)``; raises AssertionError with a hint.
        timeout_s: wall-clock limit in the sandbox.
        hidden: graded but not shown to students before the deadline.
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
    """Decorator registering ``func(student, expected)`` as a graded check."""

    def register(func):
        check_name = name or func.__name__.removeprefix("check_")
        check_id = f"{lab}.{exercise}.{check_name}"
        if check_id in _REGISTRY:
            raise ValueError(f"duplicate check id {check_id}")
        doc_title = (func.__doc__ or check_name).strip().splitlines()[0]
        _REGISTRY[check_id] = Check(check_id, lab, exercise, title or doc_title, float(points), func, timeout_s, hidden)
        return func

    return register


def _import_optional(module_name):
    try:
        importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, module_name.rsplit(".", 1)[0]):
            raise


def _load_check_modules():
    for lab in LAB_NAMES:
        _import_optional(f"cvlab_ch9.grader.checks.{lab}")
        _import_optional(f"cvlab_ch9.grader.hidden.{lab}")  # absent from the student kit


def _ordered(checks):
    """Lab order, then exercise order (of first registration), visible before hidden."""
    registered = list(_REGISTRY)
    first = {}
    for index, check_id in enumerate(registered):
        chk = _REGISTRY[check_id]
        first.setdefault((chk.lab, chk.exercise), index)
    return sorted(
        checks,
        key=lambda c: (LAB_NAMES.index(c.lab) if c.lab in LAB_NAMES else 99, first[(c.lab, c.exercise)],
                       c.hidden, registered.index(c.id)),
    )


def all_checks(lab=None, exercise=None, include_hidden=True):
    """Registered checks in lab and exercise order, optionally filtered."""
    _load_check_modules()
    return _ordered(
        c for c in _REGISTRY.values()
        if (lab is None or c.lab == lab)
        and (exercise is None or c.exercise == exercise)
        and (include_hidden or not c.hidden)
    )


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


def has_hidden_checks():
    """True where the hidden checks are installed (the instructor's side, not the student kit)."""
    return any(c.hidden for c in all_checks())


# -- messages -------------------------------------------------------------------------

#: A first word that is plain prose (not an identifier such as ``mean_iou`` or ``separable_conv_params(...)``).
_PROSE_START = re.compile(r"[a-z]+(?![\w(.=\[])")


def sentence(text):
    """``text`` as the hint style writes it: a capitalised first word (unless it is code), a final full stop."""
    text = text.strip()
    if _PROSE_START.match(text):
        text = text[0].upper() + text[1:]
    if text and not text.rstrip(")'\"").endswith((".", "!", "?")):
        text += "."
    return text


def student_error(exc):
    """True when ``exc`` comes from the student's code, not from the grader's machinery.

    The hints that catch a student's exception to explain it let a dead
    sandbox (SandboxFailure), a broken recording and a missing exercise
    (NotImplementedError) through, as :func:`run_check` needs them.
    """
    from cvlab_ch9.grader.reference import RecordingError  # noqa: PLC0415 - the grader's upper modules import this one
    from cvlab_ch9.grader.sandbox import SandboxFailure  # noqa: PLC0415

    return not isinstance(exc, (SandboxFailure, RecordingError, NotImplementedError, MissingFunction))


def callee_hint(callee, own_hint=""):
    """The hint of a caller that fails because the student's ``callee`` is wrong (one convention for all labs).

    ``own_hint`` is the callee's own first hint on the same draw, appended
    so the student reads the cause where the caller failed.
    """
    first = f"Your {callee} is wrong (see its check); fix it first."
    return f"{first} {sentence(own_hint)}" if own_hint else first


@contextlib.contextmanager
def blame_callees(callee_checks):
    """Inside: a failure becomes the callee's hint when the student's callee fails its own check.

    ``callee_checks`` is ``[(callee name, [zero-argument functions that raise AssertionError])]``,
    tried in order only after a failure (a correct submission pays nothing).
    """
    try:
        yield
    except (AssertionError, ValueError, TypeError) as failure:
        for callee, checks in callee_checks:
            for run in checks:
                try:
                    run()
                except AssertionError as exc:
                    raise AssertionError(callee_hint(callee, str(exc))) from None
                except Exception as exc:
                    if not student_error(exc):
                        raise
                    raise AssertionError(callee_hint(callee)) from None
        raise failure



def not_implemented(exc, chk, display_file):
    """'Not implemented yet: write f() in labs/lab.py.' from ``NotImplementedError("lab.f")``."""
    _, function = not_implemented_target(exc) or (chk.lab, chk.exercise)
    return not_implemented_message(function, display_file)


def memory_message(limit_gb=None):
    """The message for code that needs too much memory."""
    limit = f" used more than {limit_gb:g} GB of memory" if limit_gb else " ran out of memory"
    return f"Your code{limit}. Look for an array, list or model that grows without bound."


def is_memory_error(exc):
    """True for MemoryError and TensorFlow's out-of-memory ResourceExhaustedError."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError" or getattr(
        exc, "remote_type", None) == "ResourceExhaustedError"


def location_text(exc, student):
    """' (file.py, line N: code)' of the line of student code that raised ``exc``, or ''."""
    where = student.locate(exc) if student is not None else None
    if not where:
        return ""
    filename, lineno, line = where
    return f" ({filename}, line {lineno}: {line.strip()})"


def classify_exception(exc, chk, student, memory_limit_gb=None):
    """Map an exception raised while a check ran to ``(status, message)``."""
    from cvlab_ch9.grader.sandbox import SandboxViolationError, StudentExit  # noqa: PLC0415

    display_file = getattr(student, "display_file", f"labs/{chk.lab}.py")
    if isinstance(exc, (SystemExit, StudentExit)):
        code = exc.code if isinstance(exc, SystemExit) else str(exc)
        return ERROR, f"Your code called exit() (SystemExit: {code}) while running {chk.exercise}(); return a value instead."
    if isinstance(exc, SandboxViolationError):
        return ERROR, (f"Your code tried something the grader does not allow while {chk.exercise}() was checked ({exc}); "
                       "that check scores 0.")
    if isinstance(exc, NotImplementedError):
        return NOT_IMPLEMENTED, not_implemented(exc, chk, display_file)
    if isinstance(exc, MissingFunction):
        return FAILED, str(exc)
    if isinstance(exc, AssertionError):
        return FAILED, sentence(str(exc) or f"{chk.title}: the result is not what the chapter's version gives.")
    if is_memory_error(exc):
        return ERROR, memory_message(memory_limit_gb)
    name = getattr(exc, "remote_type", None) or type(exc).__name__
    return ERROR, f"Your code raised {name}: {exc}{location_text(exc, student)}"


def _safe_classification(exc, chk, student, memory_limit_gb):
    """:func:`classify_exception`, surviving exceptions whose ``str()`` itself fails; message truncated."""
    try:
        status, message = classify_exception(exc, chk, student, memory_limit_gb)
    except Exception:  # noqa: BLE001 - a hostile __str__ must not crash grading
        status, message = ERROR, f"Your code raised {type(exc).__name__} (its message could not be shown)."
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " [...]"
    return status, message


def run_check(chk, student, expected, memory_limit_gb=None, passthrough=()):
    """Run ``chk`` against ``student``; return a CheckResult.

    Every ``Exception`` and ``SystemExit`` becomes a graded result, except
    the classes in ``passthrough`` (the judge lets sandbox failures through
    to restart the sandbox); KeyboardInterrupt still stops the caller.
    """
    start = time.perf_counter()
    try:
        chk.func(student, expected)
    except passthrough:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure becomes a graded result, none escapes
        status, message = _safe_classification(exc, chk, student, memory_limit_gb)
    else:
        status, message = PASSED, ""
    return CheckResult(
        chk.id, chk.lab, chk.exercise, chk.title, status, chk.points if status == PASSED else 0.0, chk.points,
        message, time.perf_counter() - start,
    )


def failed_result(chk, status, message, seconds=0.0):
    """A zero-score CheckResult for ``chk``."""
    return CheckResult(chk.id, chk.lab, chk.exercise, chk.title, status, 0.0, chk.points, message, seconds)

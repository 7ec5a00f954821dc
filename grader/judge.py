"""The judge: grade a submission without ever importing it.

For each lab, the submission's code runs in a :class:`~cvlab_ch9.grader.sandbox.Sandbox`
(a separate ``python -I`` process with no project on its path, confined by the
kernel where it offers that: :mod:`cvlab_ch9.grader.isolation` says how far,
and ``Limits(require_isolation=True)`` refuses to grade where it is not
enough). The checks run here, in the judge,
against the sandbox's answers, which are only ever values: a submission
cannot send a verdict, reach the checks or the reference, or change how they
compare. The reference side comes from a provider of :mod:`cvlab_ch9.grader.expect`:
live from ``solutions/`` on the instructor's side, on inputs drawn in secret
for each grading (:mod:`cvlab_ch9.grader.draw`); recorded in the kit, on the
fixed draw the recordings were made with.

Limits per check: a wall-clock timeout (the check's own, or ``timeout_s``)
and a memory limit; a check that outruns them, crashes the sandbox or
answers with something unreadable scores 0 with a message, and a fresh
sandbox grades the next check. Limits per submission (one lab of one
student, :mod:`cvlab_ch9.grader.budget`): one deadline for loading it (all
top-level statements or cells together; what hung is skipped and the rest
loaded again), a wall-clock and a CPU budget for all of its grading, and a
bounded number of sandbox restarts; once one is spent, the checks left score
0 with a sentence. The next lab's sandbox starts (imports TensorFlow) while
the current lab is graded.
"""

import dataclasses
import hashlib
import time
from pathlib import Path

from cvlab_ch9.grader.budget import Budget, LimitError, Limits, statements_to_skip
from cvlab_ch9.grader.core import ERROR, TIMEOUT, all_checks, failed_result, memory_message, run_check
from cvlab_ch9.grader.expect import Expected, LiveReference, RecordedReference, RecordingError
from cvlab_ch9.grader.isolation import isolation_status
from cvlab_ch9.grader.reference import ReferenceChoiceError, choose_reference
from cvlab_ch9.grader.remote import RemoteImplementation
from cvlab_ch9.grader.sandbox import Sandbox, SandboxFailure
from cvlab_ch9.impl import LAB_NAMES, display_path, lab_path, resolve_source
from cvlab_ch9.paths import REPO_ROOT

#: Most times loading is tried again without what hung (each try is also a sandbox restart).
MAX_LOAD_RETRIES = 3


class GraderError(RuntimeError):
    """The grader itself cannot run (not the student's fault)."""


# -- what is graded ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LabCode:
    """One lab of a submission, as text (never imported by the judge).

    Attributes:
        lab: the lab name.
        display_file: where it came from, for messages (``labs/segmentation.py``).
        text: the module's code (kind "module"), or None when the file is missing.
        cells: ``[{"name", "source"}]`` for notebook code (kind "cells").
        refusal: why the submitted file was not read (a link, not a regular file): every check scores 0 with it.
    """

    lab: str
    display_file: str
    text: str | None = None
    cells: tuple = ()
    refusal: str | None = None

    @property
    def kind(self):
        return "cells" if self.cells else "module"

    @property
    def sources(self):
        return [c["source"] for c in self.cells] if self.cells else [self.text or ""]

    def problem(self):
        """``(status, message)`` when the code cannot be loaded at all (refused, missing, syntax error), else None."""
        if self.refusal is not None:
            return ERROR, self.refusal
        if self.kind == "cells":
            return None
        if self.text is None:
            return ERROR, (
                f"{self.display_file} does not exist. Expected one module per lab ({', '.join(LAB_NAMES)}); "
                "copy the skeleton from labs/ if you deleted it."
            )
        try:
            compile(self.text, self.display_file, "exec")
        except SyntaxError as exc:
            return ERROR, f"{Path(self.display_file).name} has a syntax error on line {exc.lineno}: {exc.msg}. Fix it and run again."
        except ValueError as exc:  # null bytes
            return ERROR, f"{Path(self.display_file).name} cannot be read as Python ({exc})."
        return None

    def sandbox_files(self):
        return {f"{self.lab}.py": self.text} if self.kind == "module" else {}

    def sandbox_init(self):
        if self.kind == "module":
            return {"kind": "module", "file": f"{self.lab}.py"}
        return {"kind": "cells", "cells": [dict(c) for c in self.cells]}

    def content_hash(self):
        """sha256 (hex) of the code that is graded: a re-saved file or notebook with the same code hashes the same."""
        digest = hashlib.sha256()
        if self.refusal is not None:
            digest.update(b"\0refused\0" + self.refusal.encode())
        elif self.kind == "cells":
            for cell in self.cells:
                digest.update(cell["name"].encode() + b"\0" + cell["source"].encode() + b"\0")
        elif self.text is None:
            digest.update(b"\0missing")
        else:
            digest.update(self.text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()


def read_lab(lab, source="labs"):
    """The :class:`LabCode` of ``<source>/<lab>.py`` (text None when the file is missing or unreadable)."""
    path = lab_path(lab, source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    return LabCode(lab, display_path(path), text)


#: The grading code every lab shares (with the lab's own checks and reference, it decides a grade).
SHARED_GRADING_CODE = ("core.py", "expect.py", "judge.py", "budget.py", "remote.py", "sandbox.py", "modeltools.py", "harness/*.py")


def grader_fingerprint(lab):
    """Hash of what decides a grade of ``lab`` besides the code: the checks, the reference and the judge.

    The lab's check modules are ``grader/checks/<lab>*.py`` (Lab 3 spreads over several) and
    ``grader/hidden/<lab>.py``; its reference is ``solutions/<lab>.py``; the judge, the sandbox and
    the comparisons are :data:`SHARED_GRADING_CODE`. A change to any of them makes every verdict of
    the lab out of date.
    """
    grader_dir = Path(__file__).resolve().parent
    paths = sorted(grader_dir.glob(f"*/{lab}*.py"))
    paths += sorted(p for pattern in SHARED_GRADING_CODE for p in grader_dir.glob(pattern))
    digest = hashlib.sha256()
    for path in paths:
        if path.is_file():
            digest.update(b"grader/" + path.relative_to(grader_dir).as_posix().encode() + b"\0" + path.read_bytes())
    solution = REPO_ROOT / "solutions" / f"{lab}.py"
    if solution.is_file():
        digest.update(b"solutions/" + f"{lab}.py".encode() + b"\0" + solution.read_bytes())
    return digest.hexdigest()[:16]


# -- the reference side ------------------------------------------------------------------


def reference_provider(kind="auto"):
    """The provider of expected values: "live" (solutions/), "recorded", or "auto" (live where available)."""
    try:
        return choose_reference(kind, live=LiveReference, recorded=RecordedReference)
    except ReferenceChoiceError as exc:
        raise GraderError(str(exc)) from None


# -- grading ---------------------------------------------------------------------------------


class _LabGrader:
    """Grades the checks of one lab, with as many sandboxes as crashes require and the budget allows."""

    def __init__(self, code, checks, provider, limits, extra_deny):
        self.code, self.checks, self.provider, self.limits = code, checks, provider, limits
        self.extra_deny = extra_deny
        self.budget = Budget(limits)
        self.sandbox = None
        self.spare = None
        self.notes = []
        self.skip = set()
        self.skipped_notes = []
        self.load_retries = 0

    def start(self):
        if self.code.problem() is None and self.sandbox is None:
            self.sandbox = self._new_sandbox()

    def _new_sandbox(self):
        """A fresh sandbox, or None when the restarts budget is spent."""
        if not self.budget.may_start():
            return None
        sandbox = Sandbox(self.code.lab, self.code.sandbox_files(), self.code.sandbox_init(),
                          self.limits.memory_gb, self.extra_deny, skip=self.skip)
        self.budget.started(sandbox)
        return sandbox

    def _close(self, sandbox, kill=False):
        if sandbox is not None:
            self.budget.ended(sandbox)
            sandbox.kill() if kill else sandbox.stop()

    def _spent(self):
        """``(status, message)`` for every check left once a budget is spent, else None."""
        spent = self.budget.exhausted()
        return None if spent is None else (TIMEOUT if spent == "wall" else ERROR, self.budget.sentence())

    def _ready(self, sandbox):
        """None when checks can run in ``sandbox``, else ``(status, message)`` for every remaining check."""
        load_s = self.limits.load_timeout_s
        deadline, cut = self.budget.deadline_after(load_s)
        name = Path(self.code.display_file).name
        try:
            info = sandbox.wait_ready(max(deadline - time.monotonic(), 0.0))
        except SandboxFailure as exc:
            now = time.monotonic()
            self._close(sandbox, kill=True)
            if self._spent() is not None or (exc.kind == "timeout" and cut):  # the watchdog may end one that starts
                self.budget.spent = self.budget.spent or "wall"
                return self._spent()
            if exc.kind == "startup":
                raise GraderError(f"The grading sandbox for {self.code.lab} could not start ({exc.detail}); "
                                  "set CVLAB_SANDBOX_DEBUG=1 to see its output.") from None
            if exc.kind == "timeout" and exc.trace and self.load_retries < MAX_LOAD_RETRIES:
                # like a notebook cell that is interrupted: skip what hung, load the rest
                self.load_retries += 1
                for index, note in statements_to_skip(exc.trace, now, load_s):
                    self.skip.add(index)
                    self.skipped_notes.append(note)
                self.sandbox = self._new_sandbox()
                return self._ready(self.sandbox) if self.sandbox is not None else self._spent()
            if exc.kind == "timeout":
                return TIMEOUT, f"Importing {name} did not finish in {load_s:g} s; keep module-level code to imports and definitions."
            if exc.kind == "memory":
                return ERROR, memory_message(self.limits.memory_gb) + f" (while importing {name})"
            return ERROR, (f"The grading process ended while importing {name}{exc.detail}; "
                           "keep module-level code to imports and definitions.")
        problem = info["problem"]
        self.notes = self.skipped_notes + info["cell_errors"]
        return None if problem is None else (ERROR if problem.get("status") != TIMEOUT else TIMEOUT, problem["message"])

    def _sandbox_for_next(self):
        """A ready sandbox, or ``(None, problem)``."""
        if self.sandbox is None:
            self.sandbox, self.spare = self.spare or self._new_sandbox(), None
            if self.sandbox is None:
                return self._spent()
        problem = self._ready(self.sandbox) if self.sandbox.ready_info is None else None
        if problem is not None:
            self.sandbox = None
        return problem

    def run(self, on_ready=lambda: None):
        problem = self.code.problem()
        results = []
        self.budget.begin()
        try:
            if problem is None:
                self.start()
                problem = self._sandbox_for_next()
            on_ready()
            for index, chk in enumerate(self.checks):
                problem = problem or self._spent()
                if problem is None and self.sandbox is None:
                    problem = self._sandbox_for_next()
                if problem is not None:
                    results.append(failed_result(chk, *problem))
                    continue
                result, healthy = self._run_one(chk)
                results.append(result)
                if not healthy:
                    self._close(self.sandbox, kill=True)
                    self.sandbox = None
                    if self.spare is None and index + 1 < len(self.checks) and self._spent() is None:
                        self.spare = self._new_sandbox()  # a crashing lab tends to crash again: keep one warm
        finally:
            self.budget.end()
            for sandbox in (self.sandbox, self.spare):
                self._close(sandbox)
            self.sandbox = self.spare = None
        return results

    def _run_one(self, chk):
        """``(CheckResult, whether the sandbox can grade another check)``."""
        timeout_s = self.limits.timeout_for(chk)
        start = time.perf_counter()
        self.sandbox.deadline, cut = self.budget.deadline_after(timeout_s)
        student = RemoteImplementation(self.sandbox, self.code.display_file, self.code.sources)
        expected = Expected(self.provider, chk.lab)
        try:
            result = run_check(chk, student, expected, self.limits.memory_gb, passthrough=(SandboxFailure, RecordingError))
        except SandboxFailure as exc:
            if exc.kind == "timeout" and cut:
                self.budget.spent = self.budget.spent or "wall"
            problem = self._spent() or self._failure_message(chk, exc, timeout_s)
            return failed_result(chk, *problem, time.perf_counter() - start), False
        finally:
            self.sandbox.deadline = None
        if not result.passed and self.notes:
            result.message = f"{result.message} (While loading your code: {self.notes[0]}; the rest was loaded.)"
        if student.refused:
            result.message = f"{result.message} (The grader refused {student.refused[0]}.)".strip()
        return result, not self.sandbox.dirty

    def _failure_message(self, chk, exc, timeout_s):
        if exc.kind == "timeout":
            return TIMEOUT, f"Stopped after {timeout_s:g} s: {chk.exercise}() did not finish. Look for a loop that never ends."
        if exc.kind == "memory":
            return ERROR, memory_message(self.limits.memory_gb) + f" (while checking {chk.exercise}())"
        if exc.kind == "ended":
            return ERROR, (f"The grading process ended while running {chk.exercise}(){exc.detail}: "
                           "did your code call os._exit() or crash the interpreter?")
        return ERROR, (f"The grader could not read what your code returned for {chk.exercise}() ({exc.detail}); "
                       "return plain values (arrays, numbers, models).")


def check_isolation(limits):
    """Raise :class:`GraderError` (one sentence) when ``limits`` require isolation the kernel does not offer here.

    Returns:
        the :class:`~cvlab_ch9.grader.isolation.Isolation` every sandbox of this process gets.
    """
    try:
        status = isolation_status()
    except LookupError as exc:  # $CVLAB_SANDBOX_USER names no user
        raise GraderError(str(exc)) from None
    if limits.require_isolation and not status.protected:
        raise GraderError(status.refusal)
    return status


def grade_code(codes, lab=None, reference="auto", include_hidden=None, limits=None, extra_deny=()):
    """Grade submitted code, one sandbox per lab (more after crashes).

    Args:
        codes: ``{lab: LabCode}``; a lab missing from it is graded as a missing file.
        lab: one lab name, or None for every lab with checks.
        reference: "auto", "live", "recorded", or a provider object (its ``for_grading()`` is
            what grades: the live reference draws fresh secret inputs for every call).
        include_hidden: also run hidden checks (default: where they are installed and the reference is live).
        limits: :class:`Limits` (default: from the environment).
        extra_deny: folders the sandbox may not read (other submissions, the course folder).

    Returns:
        list[CheckResult] in check order.

    Raises:
        GraderError: the grader itself cannot run, or ``limits.require_isolation``
            and the kernel does not confine the sandbox here.
    """
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    try:
        limits = limits or Limits.resolve()
    except LimitError as exc:
        raise GraderError(str(exc)) from None
    check_isolation(limits)
    import_tensorflow()
    provider = reference_provider(reference) if isinstance(reference, str) else reference
    # a fresh secret draw for this grading (the live reference); the recordings' fixed draw stays fixed
    provider = provider.for_grading()
    if include_hidden is None:
        include_hidden = provider.kind == "live"
    by_lab = {}
    for chk in all_checks(lab=lab, include_hidden=include_hidden):
        by_lab.setdefault(chk.lab, []).append(chk)
    graders = [
        _LabGrader(codes.get(name) or LabCode(name, f"{name}.py"), checks, provider, limits, extra_deny)
        for name, checks in by_lab.items()
    ]
    results = []
    try:
        for index, grader in enumerate(graders):
            following = graders[index + 1] if index + 1 < len(graders) else None
            results.extend(grader.run(on_ready=following.start if following else lambda: None))
    except RecordingError as exc:
        raise GraderError(str(exc)) from None
    finally:
        for grader in graders:
            for sandbox in (grader.sandbox, grader.spare):
                grader._close(sandbox, kill=True)
    return results


def grade(source="labs", lab=None, reference="auto", include_hidden=None, timeout_s=None, memory_limit_gb=None, limits=None,
          require_isolation=False):
    """Grade the lab modules in ``source`` (``"labs"``, ``"solutions"`` or a directory).

    See :func:`grade_code`; the limits are ``limits``, else from the arguments, else
    the environment (:mod:`cvlab_ch9.grader.budget`).
    """
    try:
        limits = limits or Limits.resolve(timeout_s, memory_limit_gb, require_isolation=require_isolation)
    except LimitError as exc:
        raise GraderError(str(exc)) from None
    directory = resolve_source(source)
    codes = {name: read_lab(name, directory) for name in LAB_NAMES}
    return grade_code(codes, lab=lab, reference=reference, include_hidden=include_hidden, limits=limits)

"""Grade an implementation, each lab in a child process with per-check limits.

TensorFlow is not fork-safe, so workers are fresh interpreters; one
worker grades one lab, and the next lab's worker starts (imports TensorFlow)
while the current lab is being graded. Student code that

- loops forever is stopped at the check's timeout,
- ends the process (``os._exit``, a segfault, ``SystemExit``) or
- uses more memory than the limit (the parent watches its resident memory;
  the worker's address space is capped too),
- replaces functions the checks rely on (``np.allclose = ...``) or
- tries to read ``solutions/``

scores 0 on that check with a message saying so; the worker is restarted
where its state can no longer be trusted, so one exercise never changes
the others' scores. A lab file with a syntax error scores 0 on each of its
checks without starting a worker.

Limits: ``timeout_s`` (every check's wall-clock limit; default: the one the
check declares) and ``memory_limit_gb`` (default 3), from the arguments of
:func:`grade`, else the environment variables ``CVLAB_GRADER_TIMEOUT`` and
``CVLAB_GRADER_MEMORY_GB``.
"""

import contextlib
import dataclasses
import multiprocessing
import os
import subprocess
import sys
import threading
import time

from cvlab.impl import ImplementationError, lab_path, load_lab, named_source, resolve_source
from cvlab.paths import REPO_ROOT
from grader.core import (
    DEFAULT_TIMEOUT_S,
    ERROR,
    TIMEOUT,
    CheckResult,
    all_checks,
    failed_result,
    memory_message,
    run_check,
)

TIMEOUT_ENV = "CVLAB_GRADER_TIMEOUT"
MEMORY_ENV = "CVLAB_GRADER_MEMORY_GB"
DEFAULT_MEMORY_GB = 3.0
#: Seconds a fresh worker may take to import TensorFlow and the checks.
STARTUP_LIMIT_S = 300.0
#: How often the parent checks a busy worker's memory.
POLL_S = 0.05

_STOP = None


class GraderError(RuntimeError):
    """The grader itself cannot run (not the student's fault)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Per-check limits for isolated grading.

    Attributes:
        timeout_s: wall-clock seconds for every check (and for importing the
            student's module); None: each check's own ``timeout_s``.
        memory_gb: most resident memory a worker may use, in GB.
    """

    timeout_s: float | None = None
    memory_gb: float = DEFAULT_MEMORY_GB

    @classmethod
    def resolve(cls, timeout_s=None, memory_gb=None):
        """Limits from the arguments, else the environment, else the defaults."""
        if timeout_s is None:
            timeout_s = _env_float(TIMEOUT_ENV)
        if memory_gb is None:
            memory_gb = _env_float(MEMORY_ENV) or DEFAULT_MEMORY_GB
        if timeout_s is not None and timeout_s <= 0:
            raise GraderError(f"The timeout must be a positive number of seconds, not {timeout_s}.")
        if memory_gb <= 0:
            raise GraderError(f"The memory limit must be a positive number of GB, not {memory_gb}.")
        return cls(timeout_s, float(memory_gb))

    def timeout_for(self, chk):
        return self.timeout_s if self.timeout_s is not None else chk.timeout_s

    @property
    def memory_bytes(self):
        return int(self.memory_gb * 1024**3)


def _env_float(name):
    value = os.environ.get(name)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        raise GraderError(f"{name}={value!r} is not a number; set it to seconds (timeout) or GB (memory).") from None


# -- worker (child process) -----------------------------------------------------


def worker_entry(argv):
    """Entry point of a worker process: ``FD LAB SOURCE MEMORY_GB`` (see :class:`_Worker`)."""
    from multiprocessing.connection import Connection  # noqa: PLC0415

    fd, lab, source, memory_gb = argv
    _worker_main(Connection(int(fd)), lab, source, float(memory_gb))


def _worker_main(conn, lab, source, memory_gb):
    """Child process: import TensorFlow, arm the guards, load the student's lab, run checks."""
    from grader.isolation import silence_output  # noqa: PLC0415 - only in the child

    silence_output()
    try:
        _serve(conn, lab, source, memory_gb)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the parent has gone away; nothing is left to report to


def _references(lab):
    """Reference modules to protect: the solution of ``lab`` (empty if it cannot load)."""
    from grader.reference import reference  # noqa: PLC0415

    try:
        return [reference(lab)]
    except ImplementationError:
        return []


def _serve(conn, lab, source, memory_gb):
    from cvlab.paths import SOLUTIONS_DIR  # noqa: PLC0415
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415
    from grader.core import set_memory_limit_note  # noqa: PLC0415
    from grader.isolation import SolutionsGuard, TamperGuard, limit_address_space  # noqa: PLC0415

    import_tensorflow()
    checks = {c.id: c for c in all_checks(lab=lab)}
    references = _references(lab)
    solutions_guard = SolutionsGuard(SOLUTIONS_DIR)
    solutions_guard.install()
    for module in references:
        solutions_guard.protect_module(module)
    tamper_guard = TamperGuard(extra_modules=references)
    set_memory_limit_note(memory_gb)
    conn.send(("started",))

    limit_address_space(memory_gb * 1024**3)
    solutions_guard.arm()
    student, problem, blocked = _load(lab, source, solutions_guard, tamper_guard, references)
    conn.send(("ready", problem))
    while True:
        check_id = conn.recv()
        if check_id is _STOP:
            break
        chk = checks[check_id]
        if chk.exercise in blocked:
            conn.send(("result", dataclasses.asdict(failed_result(chk, ERROR, blocked[chk.exercise])), False))
            continue
        result, restart = _run_guarded(chk, student, solutions_guard, tamper_guard)
        conn.send(("result", dataclasses.asdict(result), restart))
    conn.close()


def _load(lab, source, solutions_guard, tamper_guard, references):
    """Import the student's module under the guards.

    Returns:
        (module or None, (status, message) for every check or None,
        {exercise: message} for exercises that reuse the reference).
    """
    from grader.isolation import describe_tampering, reused_reference_functions  # noqa: PLC0415

    name = lab_path(lab, source).name
    try:
        student = load_lab(lab, source)
        problem = None
    except ImplementationError as exc:
        student, problem = None, (ERROR, str(exc))
    except SystemExit:
        student, problem = None, (ERROR, f"{name} calls exit() while being imported; keep module-level code to imports and definitions.")
    violations = solutions_guard.take_violations()
    changed = tamper_guard.changes()
    if violations:
        problem = (ERROR, f"{name} tried {violations[0]} while being imported; that is not allowed, so every check of this lab scores 0.")
    elif changed:
        problem = (ERROR, describe_tampering(changed, f"{name} was being imported"))
    blocked = {}
    if student is not None and problem is None:
        for func_name in reused_reference_functions(student, references):
            blocked[func_name] = (
                f"{func_name} in {name} is the reference solution's function, not yours; write it yourself."
            )
    return student, problem, blocked


def _run_guarded(chk, student, solutions_guard, tamper_guard):
    """Run one check; returns (CheckResult, whether the worker must be restarted)."""
    from grader.core import run_check_detailed  # noqa: PLC0415
    from grader.isolation import describe_tampering  # noqa: PLC0415

    threads_before = set(threading.enumerate())
    result, _ = run_check_detailed(chk, student)
    violations = solutions_guard.take_violations()
    changed = tamper_guard.changes()
    # threads the student's code left running could change the next checks: start afresh
    leftover_threads = any(t.is_alive() for t in set(threading.enumerate()) - threads_before)
    if changed:
        message = describe_tampering(changed, f"{chk.exercise}() was being checked")
        return failed_result(chk, ERROR, message, result.seconds), True
    if violations:
        message = f"Your code tried {violations[0]} while {chk.exercise}() was being checked; that check scores 0."
        return failed_result(chk, ERROR, message, result.seconds), leftover_threads
    return result, leftover_threads


# -- parent side ------------------------------------------------------------------


def _exit_description(exitcode):
    if exitcode is None:
        return ""
    if exitcode < 0:
        return f" (killed by signal {-exitcode})"
    return f" (exit code {exitcode})"


def _source_argument(source):
    """``"labs"``/``"solutions"`` as they are, any other source as an absolute path."""
    return named_source(source) or str(resolve_source(source))


class _Worker:
    """A fresh Python process grading one lab, driven over a socket pair.

    Started with ``subprocess`` rather than ``multiprocessing``: nothing of
    the caller's ``__main__`` (a UI, a script without a main guard) is
    imported again in the worker, and its stdout/stderr go to /dev/null.
    """

    def __init__(self, lab, source, limits):
        self.lab = lab
        self.limits = limits
        self.conn, child_conn = multiprocessing.Pipe()
        child_fd = child_conn.fileno()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        command = [
            sys.executable, "-c", "import sys; from grader.runner import worker_entry; worker_entry(sys.argv[1:])",
            str(child_fd), lab, _source_argument(source), repr(limits.memory_gb),
        ]
        self.process = subprocess.Popen(
            command, pass_fds=(child_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env,
        )
        child_conn.close()

    @property
    def alive(self):
        return self.process.poll() is None

    def _await(self, timeout_s, watch_memory=True):
        """Wait for one message: ("message", payload) | ("timeout",) | ("memory",) | ("ended", exitcode)."""
        deadline = time.monotonic() + timeout_s
        from grader.isolation import resident_bytes  # noqa: PLC0415

        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ("timeout",)
            try:
                if self.conn.poll(min(remaining, POLL_S)):
                    return ("message", self.conn.recv())
            except (EOFError, ConnectionError, OSError):
                return ("ended", self._wait_exit(5))
            if watch_memory:
                rss = resident_bytes(self.process.pid)
                if rss is not None and rss > self.limits.memory_bytes:
                    return ("memory",)

    def wait_ready(self):
        """Wait until the student's module is loaded.

        Returns:
            None when checks can run, else ``(status, message)`` that every
            check of the lab gets (import error, hang, crash, tampering).

        Raises:
            GraderError: the worker could not import TensorFlow and the checks.
        """
        outcome = self._await(STARTUP_LIMIT_S, watch_memory=False)
        if outcome[0] != "message" or outcome[1][0] != "started":
            self.kill()
            raise GraderError(
                f"The grading worker for {self.lab} could not start{_exit_description(self.process.returncode)}; "
                "run `python -m grader --no-isolation` to see the error."
            )
        name = f"{self.lab}.py"
        load_timeout = self.limits.timeout_s or DEFAULT_TIMEOUT_S
        outcome = self._await(load_timeout)
        kind = outcome[0]
        if kind == "message":
            return outcome[1][1]
        self.kill()
        if kind == "timeout":
            return TIMEOUT, f"Importing {name} did not finish in {load_timeout:g} s; keep module-level code to imports and definitions."
        if kind == "memory":
            return ERROR, memory_message(self.limits.memory_gb) + f" (while importing {name})"
        return ERROR, (
            f"The grading process ended while importing {name}{_exit_description(outcome[1])}; "
            "keep module-level code to imports and definitions."
        )

    def run(self, chk):
        """Run one check; returns (CheckResult, whether this worker can run more checks)."""
        start = time.perf_counter()
        timeout_s = self.limits.timeout_for(chk)
        self.conn.send(chk.id)
        outcome = self._await(timeout_s)
        kind = outcome[0]
        if kind == "message":
            _, payload, restart = outcome[1]
            if restart:
                self.kill()
            return CheckResult(**payload), not restart
        self.kill()
        if kind == "timeout":
            status, message = TIMEOUT, (
                f"Stopped after {timeout_s:g} s: {chk.exercise}() did not finish. Look for a loop that never ends."
            )
        elif kind == "memory":
            status, message = ERROR, memory_message(self.limits.memory_gb) + f" (while checking {chk.exercise}())"
        else:
            status, message = ERROR, (
                f"The grading process ended while running {chk.exercise}(){_exit_description(outcome[1])}: "
                "did your code call os._exit() or crash the interpreter?"
            )
        return failed_result(chk, status, message, time.perf_counter() - start), False

    def _wait_exit(self, timeout_s):
        """The worker's exit code once it ends (None if still running after ``timeout_s``)."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """Ask the worker to finish, then make sure it has."""
        with contextlib.suppress(BrokenPipeError, OSError):  # the worker is already gone; kill() below cleans up
            self.conn.send(_STOP)
        self._wait_exit(10)
        self.kill()

    def kill(self):
        if self.alive:
            self.process.kill()
        self._wait_exit(10)
        self.conn.close()


def _syntax_problem(lab, source):
    """``(ERROR, message)`` when ``<lab>.py`` is missing or does not compile, else None.

    Runs no student code, so no worker is started for a lab that cannot load.
    """
    path = lab_path(lab, source)
    if not path.is_file():
        try:
            load_lab(lab, source)  # a missing file raises before anything is executed
        except ImplementationError as exc:
            return ERROR, str(exc)
        return None
    try:
        compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as exc:
        return ERROR, f"{path.name} has a syntax error on line {exc.lineno}: {exc.msg}. Fix it and run again."
    return None


def _grade_lab(worker, lab, source, checks, limits, on_ready):
    """Run ``checks`` of ``lab`` starting with ``worker``; restart workers as needed."""
    results = []
    spare = None
    try:
        problem = worker.wait_ready()
        on_ready()
        for index, chk in enumerate(checks):
            if problem is not None:
                results.append(failed_result(chk, *problem))
                continue
            if worker is None:
                worker, spare = spare or _Worker(lab, source, limits), None
                problem = worker.wait_ready()
                if problem is not None:
                    results.append(failed_result(chk, *problem))
                    continue
            result, alive = worker.run(chk)
            results.append(result)
            if not alive:
                worker = None
                if spare is None and index + 1 < len(checks):
                    spare = _Worker(lab, source, limits)  # a crashing lab tends to crash again: keep one warm
    finally:
        if worker is not None:
            worker.stop()
        if spare is not None:
            spare.kill()  # never used: nothing to finish
    return results


def _grade_all_isolated(by_lab, source, limits):
    """Grade every lab; the next lab's worker starts once the current one is ready."""
    problems = {lab: _syntax_problem(lab, source) for lab in by_lab}
    to_start = [lab for lab in by_lab if problems[lab] is None]
    started = {}

    def start_next():
        pending = [lab for lab in to_start if lab not in started]
        if pending:
            started[pending[0]] = _Worker(pending[0], source, limits)

    results = []
    try:
        for lab, checks in by_lab.items():
            if problems[lab] is not None:
                results.extend(failed_result(c, *problems[lab]) for c in checks)
                continue
            if lab not in started:
                start_next()
            results.extend(_grade_lab(started[lab], lab, source, checks, limits, on_ready=start_next))
    finally:
        for worker in started.values():
            if worker.alive:
                worker.kill()
    return results


def grade_lab_inprocess(lab, source, checks):
    """Run ``checks`` in this process (no timeouts); for notebooks and pytest."""
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    try:
        student = load_lab(lab, source)
    except ImplementationError as exc:  # one message for every check of the lab
        return [failed_result(c, ERROR, str(exc)) for c in checks]
    return [run_check(c, student) for c in checks]


def grade(source="labs", lab=None, isolate=True, include_hidden=True, timeout_s=None, memory_limit_gb=None):
    """Grade ``source`` (``"labs"``, ``"solutions"`` or a directory).

    Args:
        source: where the lab modules are.
        lab: one lab name, or None for every lab with checks.
        isolate: run each lab in a child process with per-check limits.
        include_hidden: also run hidden checks.
        timeout_s: seconds allowed per check (isolated only); None: the
            ``CVLAB_GRADER_TIMEOUT`` environment variable, else each check's own.
        memory_limit_gb: memory a worker may use (isolated only); None: the
            ``CVLAB_GRADER_MEMORY_GB`` environment variable, else 3.

    Returns:
        list[CheckResult] in registration order.

    Raises:
        GraderError: the grader itself cannot run (bad limits, worker start-up failure).
    """
    checks = all_checks(lab=lab, include_hidden=include_hidden)
    by_lab = {}
    for chk in checks:
        by_lab.setdefault(chk.lab, []).append(chk)
    if not isolate:
        results = []
        for lab_name, lab_checks in by_lab.items():
            results.extend(grade_lab_inprocess(lab_name, source, lab_checks))
        return results
    return _grade_all_isolated(by_lab, source, Limits.resolve(timeout_s, memory_limit_gb))

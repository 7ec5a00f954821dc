"""Grade an implementation, each lab in a child process with per-check timeouts.

TensorFlow is not fork-safe, so workers are started with ``spawn``. A
check that hangs is stopped at its timeout, a check whose code kills the
worker (``os._exit``, a segfault) scores 0 with a message, and the worker
is restarted for the remaining checks: one exercise never hides the others.
"""

import dataclasses
import multiprocessing
import time

from grader.core import (
    ERROR,
    TIMEOUT,
    CheckResult,
    all_checks,
    get_check,
    load_student,
    run_check,
)

_STOP = None


def _worker_main(conn, lab, source):
    """Child process: load the student's lab, then run check ids sent by the parent."""
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415 - only in the child

    import_tensorflow()
    try:
        student = load_student(lab, source)
        load_error = None
    except Exception as exc:  # reported per check below, never raised
        student, load_error = None, exc
    while True:
        check_id = conn.recv()
        if check_id is _STOP:
            break
        chk = get_check(check_id)
        if load_error is not None:
            result = CheckResult(chk.id, chk.lab, chk.exercise, chk.title, ERROR, 0.0, chk.points, str(load_error))
        else:
            result = run_check(chk, student)
        conn.send(dataclasses.asdict(result))
    conn.close()


class _Worker:
    """A spawned process grading one lab, driven over a pipe."""

    def __init__(self, lab, source):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child_conn, lab, str(source)), daemon=True)
        self.process.start()
        child_conn.close()

    def run(self, chk, startup_grace_s):
        """Send one check; return its result dict, or a TIMEOUT/ERROR result."""
        start = time.perf_counter()
        self.conn.send(chk.id)
        try:
            ready = self.conn.poll(chk.timeout_s + startup_grace_s)
            if ready:
                return CheckResult(**self.conn.recv())
            message = (
                f"Stopped after {chk.timeout_s:.0f} s: {chk.exercise}() did not finish. "
                "Look for a loop that never ends."
            )
            status = TIMEOUT
        except (EOFError, ConnectionError, OSError):
            message = (
                f"The grading process ended while running {chk.exercise}() "
                "(did your code call exit() or crash the interpreter?)."
            )
            status = ERROR
        self.kill()
        return CheckResult(
            chk.id, chk.lab, chk.exercise, chk.title, status, 0.0, chk.points, message,
            time.perf_counter() - start,
        )

    def stop(self):
        try:
            self.conn.send(_STOP)
        except (BrokenPipeError, OSError):
            pass  # the worker is already gone
        self.process.join(timeout=10)
        self.kill()

    def kill(self):
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)
        self.conn.close()


#: Seconds a fresh worker may spend importing TensorFlow on top of a check's timeout.
STARTUP_GRACE_S = 60.0


def grade_lab_isolated(lab, source, checks):
    """Run ``checks`` (all of ``lab``) in a worker process; return results in order."""
    results = []
    worker = None
    for chk in checks:
        fresh = worker is None
        if fresh:
            worker = _Worker(lab, source)
        result = worker.run(chk, STARTUP_GRACE_S if fresh else 0.0)
        results.append(result)
        if result.status in (TIMEOUT, ERROR) and not worker.process.is_alive():
            worker = None
    if worker is not None:
        worker.stop()
    return results


def grade_lab_inprocess(lab, source, checks):
    """Run ``checks`` in this process (no timeouts); for notebooks and pytest."""
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    try:
        student = load_student(lab, source)
    except Exception as exc:  # one message for every check of the lab
        return [
            CheckResult(c.id, c.lab, c.exercise, c.title, ERROR, 0.0, c.points, str(exc)) for c in checks
        ]
    return [run_check(c, student) for c in checks]


def grade(source="labs", lab=None, isolate=True, include_hidden=True):
    """Grade ``source`` (``"labs"``, ``"solutions"`` or a directory).

    Args:
        source: where the lab modules are.
        lab: one lab name, or None for every lab with checks.
        isolate: run each lab in a child process with per-check timeouts.
        include_hidden: also run hidden checks.

    Returns:
        list[CheckResult] in registration order.
    """
    checks = all_checks(lab=lab, include_hidden=include_hidden)
    by_lab = {}
    for chk in checks:
        by_lab.setdefault(chk.lab, []).append(chk)
    run = grade_lab_isolated if isolate else grade_lab_inprocess
    results = []
    for lab_name, lab_checks in by_lab.items():
        results.extend(run(lab_name, source, lab_checks))
    return results

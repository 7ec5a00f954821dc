"""How far each Dask worker's kernel confines student code, and what the batch reports say about it.

The kernel that confines a sandbox is the *worker's* (a remote worker's may
differ from the instructor's machine), so every
:class:`~cvlab_ch9.grader.batch.tasks.Outcome` carries its worker's
:meth:`~cvlab_ch9.grader.isolation.Isolation.as_dict` (the verdict keeps it
inside its sealed bytes), and:

- without ``--require-isolation`` a submission graded on a worker that lacks
  confinement is recorded as usual; its ``results.json`` carries the
  sentence, and the run's summary says it once with how many submissions
  were graded so and on which workers (:func:`unprotected_summary`);
- with ``--require-isolation`` the run is refused up front when this machine
  (no ``--scheduler``) or any connected worker (:func:`worker_isolation`,
  run on every worker before the judges warm up) lacks confinement
  (:func:`workers_problem`); a worker that joins later without it refuses each
  task (:class:`WorkerRefused`, reported as not graded by name; a re-run
  grades them), and an outcome that does not say it was confined is refused
  by :func:`~cvlab_ch9.grader.batch.tasks.outcome_problem`.
"""

import os
import socket

from cvlab_ch9.grader.isolation import isolation_status

#: The isolation of an outcome or verdict that does not say (an older worker or verdict).
UNKNOWN = {"protected": False, "warning": None}
#: Workers named in one sentence.
MAX_NAMED = 5
#: What to run instead, as the single-run reports say it.
INSTEAD = "grade on Linux 5.13 or newer with Landlock and user namespaces enabled (see docs/grading-security.md)"


class WorkerRefused(RuntimeError):
    """A worker refused a task because ``--require-isolation`` and its kernel cannot confine student code.

    Attributes:
        worker: the refusing worker's ``host:pid`` (the engine sends the task to another worker).
    """

    def __init__(self, message, worker=None):
        super().__init__(message)
        self.worker = worker

    def __reduce__(self):  # travels from the worker to the engine with its worker
        return type(self), (str(self), self.worker)


def worker_name():
    """``host:pid`` of this process (how reports name a worker)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_isolation():
    """This process's isolation as a dict (``Isolation.as_dict()`` plus ``"worker"``); run on every worker.

    A sandbox user that does not exist (``$CVLAB_SANDBOX_USER``) reads as
    unprotected, with that sentence as its ``"warning"``.
    """
    try:
        status = isolation_status().as_dict()
    except LookupError as exc:
        status = {**UNKNOWN, "warning": f"{exc}."}
    return {**status, "worker": worker_name()}


def is_protected(isolation):
    """True when an outcome's or verdict's isolation dict says the kernel confined the sandbox fully."""
    return isinstance(isolation, dict) and isolation.get("protected") is True


def _named(workers):
    workers = sorted(workers)
    shown = ", ".join(workers[:MAX_NAMED])
    return shown + (f" and {len(workers) - MAX_NAMED} more" if len(workers) > MAX_NAMED else "")


def _why(isolation):
    """Why an unprotected isolation dict's worker does not confine: its warning's middle ("the kernel there leaves ...")."""
    warning = (isolation or {}).get("warning") or ""
    reason = warning.split(": ", 1)[1].split("; grade on ", 1)[0] if ": " in warning else ""
    return reason.replace("the kernel here", "the kernel there").rstrip(".") or (
        "its worker did not say how its kernel confined the student's code (a verdict of an earlier cvlab)")


def workers_problem(statuses):
    """None when every worker of ``statuses`` (``{address: worker_isolation()}``) confines fully, else the refusal sentence."""
    unprotected = {address: status for address, status in statuses.items() if not is_protected(status)}
    if not unprotected:
        return None
    names = [str((status or {}).get("worker") or address) for address, status in unprotected.items()]
    first = next(iter(unprotected.values()))
    return (f"--require-isolation: refusing to grade, because {len(unprotected)} of {len(statuses)} Dask worker(s) "
            f"({_named(names)}) cannot confine student code: {_why(first)}; stop them and {INSTEAD}, "
            "then run the same command again.")


def unprotected_summary(unprotected, graded):
    """The one sentence of a run's summary when some submissions were graded without confinement, else None.

    Args:
        unprotected: ``{worker: (how many submissions, isolation dict)}`` of the unprotected outcomes accepted.
        graded: how many submissions the run graded.
    """
    if not unprotected:
        return None
    count = sum(n for n, _ in unprotected.values())
    first = next(iter(unprotected.values()))[1]
    return (f"WARNING: {count} of {graded} submission(s) graded in this run are not protected against a hostile "
            f"submission (graded on worker(s) {_named(unprotected)}): {_why(first)}; {INSTEAD}, and pass --require-isolation to "
            "refuse otherwise.")


def report_isolation(document, isolations):
    """Add the isolation of a student's graded labs to a Gradescope ``results.json`` document (a dict, changed in place).

    ``extra_data.isolation`` has the shape of the single-run report (an
    unprotected lab's isolation if any, else the first) plus ``"labs"``:
    ``{lab: {"protected", "worker"}}``; when any lab is unprotected, its
    sentence is added to ``output``.
    """
    if not isolations:
        return document
    unprotected = [status for status in isolations.values() if not is_protected(status)]
    shown = unprotected[0] if unprotected else next(iter(isolations.values()))
    labs = {lab: {"protected": is_protected(status), "worker": (status or {}).get("worker")} for lab, status in isolations.items()}
    document.setdefault("extra_data", {})["isolation"] = {**UNKNOWN, **(shown or {}), "labs": labs}
    if unprotected:
        warning = (unprotected[0] or {}).get("warning") or (
            f"This grade is not protected against a hostile submission: {_why(unprotected[0])}; {INSTEAD}.")
        document["output"] = " ".join(part for part in (document.get("output"), warning) if part)
    return document

"""The grading engine: every submission a task on Dask distributed, one writer for the results.

:func:`run_batch` starts an in-process ``LocalCluster`` (worker processes with
one thread each) or connects to an existing scheduler, registers
:class:`WarmJudgePlugin` (each worker imports TensorFlow and computes the
reference's expectations once, also a worker that replaces a dead one),
submits one :func:`~cvlab_ch9.grader.batch.tasks.grade_task` per submission and hands
each result to ``record`` in this process as it arrives: only this process
writes verdicts or gradebooks.

What Dask gives and what this adds:

- A worker that dies mid-task: the scheduler runs its tasks again on another
  worker (a task that kills three workers is given up and reported). The
  result arrives once per task, and ``record`` is idempotent besides.
- A task that raises (the grader itself could not run): tried once more,
  then reported as not graded; nothing is recorded for it.
- A worker of another grader version (its fingerprint of the lab differs
  from this machine's): its result is refused, not recorded.
- Ctrl+C, or the scheduler going away: the loop stops; what was recorded
  stays recorded, and the same command grades the rest.
"""

import asyncio
import contextlib
import dataclasses
import logging
import os
import time

from distributed import WorkerPlugin

from cvlab_ch9.grader.batch.progress import Progress
from cvlab_ch9.grader.batch.tasks import grade_task, warm_judge
from cvlab_ch9.grader.judge import grader_fingerprint

#: Seconds to wait for a scheduler to answer, and for its first worker.
CONNECT_TIMEOUT_S = 10.0
#: Extra tries for a task that raised (a sandbox that could not start, say).
RETRIES = 1


class BatchError(RuntimeError):
    """The batch cannot run (no scheduler, no workers); the message says what to do."""


@dataclasses.dataclass
class BatchRun:
    """What one run of the engine did.

    Attributes:
        total: tasks submitted.
        recorded: results written by the writer.
        duplicates: results the writer already had (same student, lab, code and grader).
        failed: ``{"student/lab": reason}`` for tasks that were not graded.
        graded_seconds: wall time from the first task submitted to the last result.
        warm_seconds: wall time to start the cluster and warm the judges.
        workers: worker processes that graded.
        cpu_s: CPU seconds the workers and their sandboxes spent on the graded tasks.
        interrupted: why the run stopped early, or None.
    """

    total: int
    recorded: int = 0
    duplicates: int = 0
    failed: dict = dataclasses.field(default_factory=dict)
    graded_seconds: float = 0.0
    warm_seconds: float = 0.0
    workers: int = 0
    cpu_s: float = 0.0
    interrupted: str | None = None

    @property
    def graded(self):
        return self.recorded + self.duplicates

    @property
    def per_minute(self):
        """Submissions graded per minute once the workers were warm."""
        return 60.0 * self.graded / self.graded_seconds if self.graded_seconds > 0 else 0.0

    @property
    def cpu_per_submission(self):
        return self.cpu_s / self.graded if self.graded else 0.0


class WarmJudgePlugin(WorkerPlugin):
    """On every worker (and every replacement): import TensorFlow and compute the labs' expectations once.

    Registered again by every run (with that run's labs); a worker that is warm already returns at once.
    """

    def __init__(self, labs):
        self.labs = sorted(labs)

    async def setup(self, worker):
        # in a thread: the worker's event loop keeps answering heartbeats meanwhile
        await asyncio.get_running_loop().run_in_executor(None, warm_judge, self.labs)


def default_workers():
    """Worker processes for this machine: one per core, at most one per 2 GB of memory (judge + sandbox)."""
    import psutil  # noqa: PLC0415 - only where a cluster is sized

    by_memory = int(psutil.virtual_memory().total / 2**31)
    return max(1, min(os.cpu_count() or 1, by_memory))


@contextlib.contextmanager
def _quiet_dask_logs():
    """Dask's own log lines (a traceback when the scheduler goes away) stay off stderr; the run says it in a sentence."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def dask_client(workers=None, scheduler=None, connect_timeout_s=CONNECT_TIMEOUT_S):
    """A connected ``distributed.Client``: to ``scheduler``, else to a new in-process LocalCluster of ``workers``."""
    import dask  # noqa: PLC0415 - Dask's modules load only when a batch runs
    from distributed import Client, LocalCluster  # noqa: PLC0415

    if scheduler:
        with _quiet_dask_logs():
            try:
                client = Client(scheduler, timeout=connect_timeout_s)
            except (OSError, TimeoutError, ValueError):
                raise BatchError(
                    f"No Dask scheduler answered at {scheduler} within {connect_timeout_s:g} s: start one there "
                    f"(`dask scheduler`, then `dask worker {scheduler}` on each grading machine), "
                    "or leave out --scheduler to grade on this machine."
                ) from None
            with client:
                try:
                    client.wait_for_workers(1, timeout=connect_timeout_s)
                except (OSError, TimeoutError):
                    raise BatchError(f"The Dask scheduler at {scheduler} has no workers: start `dask worker {scheduler}` "
                                     "on each grading machine, in an environment with cvlab installed.") from None
                yield client
        return
    # one task per worker at a time: a second one queued behind a long submission could wait while another worker idles
    config = {"distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(config), LocalCluster(
        n_workers=workers or default_workers(), threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR, memory_limit=0,  # the sandboxes have their own memory limit
    ) as cluster, Client(cluster) as client:
        yield client


def _failure_reason(exc):
    name = type(exc).__name__
    if name == "KilledWorker":
        return "its worker died every time it graded it (more memory than the machine has?); grade it alone to see why"
    return f"the grader could not run ({name}: {str(exc)[:300]})"


def run_batch(tasks, record, workers=None, scheduler=None, progress=None, connect_timeout_s=CONNECT_TIMEOUT_S):
    """Grade ``tasks`` on Dask; ``record(outcome) -> bool`` (written?) runs here for every result.

    Args:
        tasks: :class:`~cvlab_ch9.grader.batch.tasks.GradeTask` s (distinct keys).
        record: the single writer; returns False for a verdict it already had.
        workers: LocalCluster worker processes (default :func:`default_workers`); ignored with ``scheduler``.
        scheduler: ``tcp://HOST:PORT`` of an existing Dask scheduler, or None.
        progress: a :class:`~cvlab_ch9.grader.batch.progress.Progress` for ``len(tasks)`` (default: one on stderr).

    Returns:
        BatchRun.

    Raises:
        BatchError: no scheduler, no workers, or the workers cannot warm the judge.
    """
    from distributed import as_completed  # noqa: PLC0415

    run = BatchRun(total=len(tasks))
    if not tasks:
        return run
    labs = sorted({t.lab for t in tasks})
    expected = {lab: grader_fingerprint(lab) for lab in labs}
    by_key = {t.key: t for t in tasks}
    start = time.perf_counter()
    with dask_client(workers, scheduler, connect_timeout_s) as client:
        try:
            client.register_plugin(WarmJudgePlugin(labs), name="cvlab-warm-judge")
        except Exception as exc:  # noqa: BLE001 - whatever a worker raised while warming, as a sentence
            raise BatchError(f"The Dask workers could not start the judge ({type(exc).__name__}: {str(exc)[:300]}); "
                             "every worker needs cvlab with solutions/ installed.") from None
        run.workers = len(client.scheduler_info()["workers"])
        run.warm_seconds = time.perf_counter() - start
        progress = progress or Progress(len(tasks))
        graded_start = time.perf_counter()
        futures = client.map(grade_task, tasks, key=list(by_key), pure=False, retries=RETRIES)
        try:
            _collect(as_completed(futures), by_key, expected, record, run, progress)
        except KeyboardInterrupt:
            run.interrupted = "interrupted (Ctrl+C)"
        except (OSError, TimeoutError, asyncio.CancelledError) as exc:
            run.interrupted = f"the Dask scheduler stopped answering ({type(exc).__name__})"
        finally:
            progress.close()
            run.graded_seconds = time.perf_counter() - graded_start
            if run.interrupted:
                with contextlib.suppress(Exception):  # the scheduler may be gone already
                    client.cancel(futures)
    return run


def _collect(completed, by_key, expected, record, run, progress):
    for future in completed:
        task = by_key[future.key]
        failed = True
        if future.status == "finished":
            outcome = future.result()
            if outcome.grader != expected[task.lab]:
                run.failed[task.name] = (
                    f"the worker {outcome.worker} grades {task.lab} with other checks or another reference than "
                    f"this machine (fingerprint {outcome.grader}, here {expected[task.lab]}): install the same cvlab "
                    "on every worker")
            else:
                failed = False
                run.cpu_s += outcome.cpu_s
                if record(outcome):
                    run.recorded += 1
                else:
                    run.duplicates += 1
        elif future.status == "error":
            run.failed[task.name] = _failure_reason(future.exception())
        else:  # cancelled or lost: the scheduler went away
            run.interrupted = f"the Dask scheduler went away (a task was {future.status})"
            return
        future.release()
        progress.update(failed=failed)

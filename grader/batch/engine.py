"""The grading engine: every submission a task on Dask distributed, one writer for the results.

:func:`run_batch` starts an in-process ``LocalCluster`` (worker processes with
one thread each) or connects to an existing scheduler, over TLS with client
certificates (:mod:`cvlab_ch9.grader.batch.cluster`), registers
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
- A task that runs longer than ``task_timeout_s`` (the judge's own budgets
  end every submission well before): given up, reported, and its worker
  restarted so that nothing of it keeps running.
- A result is recorded on the judge's evidence only: the verdict the judge
  computed on the worker must match the task it was sent for (student, lab,
  code hash, this machine's grader fingerprint, the lab's checks, scores
  within their points, :func:`~cvlab_ch9.grader.batch.tasks.outcome_problem`);
  anything else is refused and reported, not recorded.
- Confinement (:mod:`cvlab_ch9.grader.batch.confinement`): every accepted
  outcome carries its worker's; :attr:`BatchRun.unprotected` counts those
  graded without it, per worker, for the summary's one sentence. With
  ``--require-isolation`` in the tasks' limits, every connected worker is asked
  first (``client.run``, before the judges warm up) and the run is refused up
  front when one lacks confinement; a worker that joins later refuses each task,
  which is then sent to a worker found confined up front (:class:`_Elsewhere`), and
  reported as not graded where none is left.
- Ctrl+C, or the scheduler going away: the loop stops; what was recorded
  stays recorded, and the same command grades the rest.
"""

import asyncio
import contextlib
import dataclasses
import functools
import logging
import threading
import time

from distributed import WorkerPlugin

from cvlab_ch9.grader.batch.cluster import CONNECT_TIMEOUT_S, BatchError, dask_client
from cvlab_ch9.grader.batch.confinement import WorkerRefused, is_protected, unprotected_summary, worker_isolation, workers_problem
from cvlab_ch9.grader.batch.progress import Progress
from cvlab_ch9.grader.batch.tasks import grade_task, outcome_problem, warm_judge
from cvlab_ch9.grader.judge import grader_fingerprint

#: Extra tries for a task that raised (a sandbox that could not start, say).
RETRIES = 1
#: The event a task logs on its worker when it starts (the engine times it from then).
STARTED_TOPIC = "cvlab-task-started"
#: How often the engine looks for results and for tasks past their timeout.
POLL_S = 0.2
#: The key suffix of a task sent to another worker after its first one refused it (no confinement).
ELSEWHERE = "-elsewhere"
#: Seconds a worker restart (after a task ran past its timeout) may take.
RESTART_TIMEOUT_S = 120


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
        unprotected: ``{worker: (submissions, isolation dict)}`` of accepted outcomes graded without full
            kernel confinement.
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
    unprotected: dict = dataclasses.field(default_factory=dict)

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

    @property
    def isolation_warning(self):
        """The summary's one sentence when some submissions were graded without confinement, else None."""
        return unprotected_summary(self.unprotected, self.graded)

    def count_isolation(self, outcome):
        if not is_protected(outcome.isolation):
            count, _ = self.unprotected.get(outcome.worker, (0, None))
            self.unprotected[outcome.worker] = (count + 1, outcome.isolation)


class WarmJudgePlugin(WorkerPlugin):
    """On every worker (and every replacement): import TensorFlow and compute the labs' expectations once.

    Registered again by every run (with that run's labs); a worker that is warm already returns at once.
    """

    def __init__(self, labs):
        self.labs = sorted(labs)

    async def setup(self, worker):
        # in a thread: the worker's event loop keeps answering heartbeats meanwhile
        await asyncio.get_running_loop().run_in_executor(None, warm_judge, self.labs)


def announced(grade, task, key=None):
    """Run ``grade(task)`` on a worker, first telling the engine that it starts (its timeout runs from then).

    ``key``: the future's key when it is not ``task.key`` (a task sent to another worker).
    """
    from distributed import get_worker  # noqa: PLC0415 - on the worker

    with contextlib.suppress(ValueError):  # not on a worker (called directly)
        get_worker().log_event(STARTED_TOPIC, {"key": key or task.key})
    return grade(task)


def _failure_reason(exc):
    if isinstance(exc, WorkerRefused):
        return str(exc)
    name = type(exc).__name__
    if name == "KilledWorker":
        return "its worker died every time it graded it (more memory than the machine has?); grade it alone to see why"
    return f"the grader could not run ({name}: {str(exc)[:300]})"


class _Watch:
    """When each task started (from the workers' events), to find the ones past their timeout."""

    def __init__(self, timeout_s, clock=time.monotonic):
        self.timeout_s = timeout_s
        self.clock = clock
        self.started = {}
        self.lock = threading.Lock()

    def on_event(self, event):
        _, message = event
        if isinstance(message, dict) and "key" in message:
            with self.lock:
                self.started.setdefault(message["key"], self.clock())

    def overdue(self, pending):
        """Keys among ``pending`` that started more than ``timeout_s`` ago."""
        now = self.clock()
        with self.lock:
            return [key for key in pending if key in self.started and now - self.started[key] > self.timeout_s]


def run_batch(tasks, record, workers=None, scheduler=None, progress=None, connect_timeout_s=CONNECT_TIMEOUT_S,
              tls_dir=None, insecure=False, task_timeout_s=None, grade=grade_task, warm=True, local_tls=True):
    """Grade ``tasks`` on Dask; ``record(outcome) -> bool`` (written?) runs here for every accepted result.

    Args:
        tasks: :class:`~cvlab_ch9.grader.batch.tasks.GradeTask` s (distinct keys).
        record: the single writer; returns False for a verdict it already had.
        workers: LocalCluster worker processes (default: one per core); ignored with ``scheduler``.
        scheduler: ``tls://HOST:PORT`` of an existing Dask scheduler (``tcp://`` with ``insecure``), or None.
        progress: a :class:`~cvlab_ch9.grader.batch.progress.Progress` for ``len(tasks)`` (default: one on stderr).
        tls_dir: the folder of ``python -m grader batch certs`` for ``scheduler``.
        task_timeout_s: longest a task may run (default: the tasks' ``Limits.task_timeout_s``).
        grade: the function a worker runs per task (:func:`~cvlab_ch9.grader.batch.tasks.grade_task`).
        warm: register :class:`WarmJudgePlugin` (TensorFlow and the reference on every worker).
        local_tls: see :func:`~cvlab_ch9.grader.batch.cluster.dask_client` (False only to measure what TLS costs).

    Returns:
        BatchRun.

    Raises:
        BatchError: the scheduler is refused or does not answer, no workers, or the workers cannot warm the judge.
    """
    from distributed import as_completed  # noqa: PLC0415

    run = BatchRun(total=len(tasks))
    if not tasks:
        return run
    labs = sorted({t.lab for t in tasks})
    expected = {lab: (grader_fingerprint(lab), _check_points(lab)) for lab in labs}
    by_key = {t.key: t for t in tasks}
    watch = _Watch(task_timeout_s or max(t.limits.task_timeout_s for t in tasks))
    start = time.perf_counter()
    with dask_client(workers, scheduler, connect_timeout_s, tls_dir, insecure, local_tls) as client:
        confined = check_workers(client) if any(t.limits.require_isolation for t in tasks) else None
        if warm:
            try:
                client.register_plugin(WarmJudgePlugin(labs), name="cvlab-warm-judge")
            except Exception as exc:  # noqa: BLE001 - whatever a worker raised while warming, as a sentence
                raise BatchError(f"The Dask workers could not start the judge ({type(exc).__name__}: {str(exc)[:300]}); "
                                 "every worker needs cvlab with solutions/ installed.") from None
        run.workers = len(client.scheduler_info()["workers"])
        run.warm_seconds = time.perf_counter() - start
        progress = progress or Progress(len(tasks))
        client.subscribe_topic(STARTED_TOPIC, watch.on_event)
        graded_start = time.perf_counter()
        futures = client.map(functools.partial(announced, grade), tasks, key=list(by_key), pure=False, retries=RETRIES)
        completed = as_completed(futures)
        elsewhere = _Elsewhere(client, grade, confined or {}, completed, futures, by_key)
        try:
            _collect(client, completed, futures, by_key, expected, record, run, progress, watch, elsewhere)
        except KeyboardInterrupt:
            run.interrupted = "interrupted (Ctrl+C)"
        except (OSError, TimeoutError, asyncio.CancelledError) as exc:
            run.interrupted = f"the Dask scheduler stopped answering ({type(exc).__name__})"
        finally:
            progress.close()
            run.graded_seconds = time.perf_counter() - graded_start
            if run.interrupted:
                _quiet_event_loop_logs()
                with contextlib.suppress(Exception):  # the scheduler may be gone already
                    client.cancel(futures)
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(STARTED_TOPIC)
    return run


#: Loggers of the client's event loop thread: a callback of a cancelled task may still raise there.
EVENT_LOOP_LOGGERS = ("tornado.application", "asyncio")


def _quiet_event_loop_logs():
    """After a stop the run already reports in one sentence, keep the event loop's callbacks off stderr.

    The client's event loop runs in its own thread: a callback of a task the
    interruption cancelled (Ctrl+C, a scheduler gone) may still raise there
    while the client closes, and tornado would print its traceback under the
    sentence. Only those two loggers, only for the rest of this run.
    """
    for name in EVENT_LOOP_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def check_workers(client):
    """Refuse (:class:`BatchError`, one sentence) when a connected worker's kernel cannot confine student code."""
    try:
        statuses = client.run(worker_isolation)
    except Exception as exc:  # noqa: BLE001 - whatever a worker raised, as a sentence
        raise BatchError(f"--require-isolation: the Dask workers could not say how they confine student code "
                         f"({type(exc).__name__}: {str(exc)[:300]}); every worker needs cvlab of this version.") from None
    problem = workers_problem(statuses)
    if problem:
        raise BatchError(problem)
    return statuses


def _check_points(lab):
    from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415 - the registry loads the check modules

    return [(c.id, c.points) for c in all_checks(lab=lab, include_hidden=True)]


def _stop_overdue(client, futures, by_key, run, progress, watch, given_up):
    """Give up the tasks past their timeout and restart the workers that ran them (in the background)."""
    pending = [f.key for f in futures if f.key not in given_up and f.status == "pending"]
    overdue = watch.overdue(pending)
    if not overdue:
        return
    processing = client.processing()
    workers = sorted({worker for worker, keys in processing.items() if set(keys) & set(overdue)})
    for key in overdue:
        given_up.add(key)
        task = by_key[key]
        run.failed[task.name] = (f"grading it took longer than {watch.timeout_s:g} s (the task timeout) and was stopped; "
                                 "grade it alone to see why")
        progress.update(failed=True)
    client.cancel([f for f in futures if f.key in overdue])
    if workers:  # a worker still runs the task: restart it, so nothing of it keeps running
        threading.Thread(target=_restart, args=(client, workers), daemon=True).start()


def _restart(client, workers):
    with contextlib.suppress(Exception):  # a worker without a nanny cannot be restarted; the scheduler copes
        client.restart_workers(workers, timeout=RESTART_TIMEOUT_S, raise_for_error=False)


class _Elsewhere:
    """Sends a task that a worker refused (no confinement) to a worker found confined up front, once per task.

    Args:
        confined: ``{address: worker_isolation()}`` of the workers asked before grading (all confined).
    """

    def __init__(self, client, grade, confined, completed, futures, by_key):
        self.client, self.grade, self.completed, self.futures, self.by_key = client, grade, completed, futures, by_key
        self.workers = {address: status.get("worker") for address, status in confined.items()}

    def __call__(self, key, exc):
        """True when the task of ``key``, refused with ``exc``, was sent to another confined worker."""
        if not isinstance(exc, WorkerRefused) or key.endswith(ELSEWHERE):
            return False
        self.workers = {a: w for a, w in self.workers.items() if w != exc.worker}  # it lost its confinement
        try:
            alive = set(self.client.scheduler_info()["workers"])
        except Exception:  # noqa: BLE001 - the scheduler going away is noticed by the loop
            return False
        targets = sorted(set(self.workers) & alive)
        if not targets:
            return False
        task = self.by_key[key]
        future = self.client.submit(functools.partial(announced, self.grade, key=key + ELSEWHERE), task,
                                    key=key + ELSEWHERE, pure=False, workers=targets, allow_other_workers=False)
        self.by_key[future.key] = task
        self.futures.append(future)
        self.completed.add(future)
        return True


def _collect(client, completed, futures, by_key, expected, record, run, progress, watch, elsewhere=None):
    given_up = set()
    while not completed.is_empty():
        ready = completed.next_batch(block=False)
        if not ready:
            _stop_overdue(client, futures, by_key, run, progress, watch, given_up)
            time.sleep(POLL_S)
            continue
        for future in ready:
            if future.key in given_up:
                continue
            if not _take(future, by_key[future.key], expected, record, run, progress, elsewhere):
                return


def _take(future, task, expected, record, run, progress, elsewhere=None):
    """Handle one finished future; False when the run must stop (the scheduler went away).

    ``elsewhere(key, exc) -> bool``: sends a task refused by its worker to another one (then nothing is counted yet).
    """
    failed = True
    if future.status == "finished":
        outcome = future.result()
        problem = outcome_problem(task, outcome, *expected[task.lab])
        if problem is not None:
            run.failed[task.name] = f"its result was refused: {problem}"
        else:
            failed = False
            run.cpu_s += outcome.cpu_s
            run.count_isolation(outcome)
            if record(outcome):
                run.recorded += 1
            else:
                run.duplicates += 1
    elif future.status == "error":
        exc = future.exception()
        if elsewhere is not None and elsewhere(future.key, exc):
            future.release()
            return True
        run.failed[task.name] = _failure_reason(exc)
    else:  # cancelled or lost: the scheduler went away
        run.interrupted = f"the Dask scheduler went away (a task was {future.status})"
        return False
    future.release()
    progress.update(failed=failed)
    return True

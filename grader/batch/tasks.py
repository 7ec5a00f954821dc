"""One submission, one task: what travels to a worker and what comes back.

A :class:`GradeTask` carries the submission's code as text (a
:class:`~cvlab_ch9.grader.judge.LabCode`), never a path, so a worker on another machine
needs no shared folder. :func:`grade_task` runs on the worker: the judge
grades the code in a fresh sandbox process of its own (timeouts, budgets,
memory limit, crash isolation: everything :mod:`cvlab_ch9.grader.judge`
does), against the live reference of this worker, which :func:`warm_judge`
built once per worker process. Nothing of one student's sandbox outlives
their task; only the judge's side (TensorFlow, the loaded reference) is
reused: each submission's expected values are computed on its own secret
draw and frozen read-only.

What comes back is the judge's :class:`Outcome`; the writer records it only
when :func:`outcome_problem` finds it consistent with the task it was sent
for (the same student, lab and code, this grader's fingerprint, exactly the
lab's checks, full points exactly for a pass and none beyond a check's points;
with ``--require-isolation``, a worker that says its kernel confined the sandbox).
Each outcome carries its worker's confinement
(:mod:`cvlab_ch9.grader.batch.confinement`).
"""

import dataclasses
import os
import time

from cvlab_ch9.grader.batch.confinement import WorkerRefused, is_protected, worker_isolation, worker_name
from cvlab_ch9.grader.budget import Limits
from cvlab_ch9.grader.core import PASSED
from cvlab_ch9.grader.judge import grader_fingerprint


@dataclasses.dataclass(frozen=True)
class GradeTask:
    """One submission to grade (plain data: it is pickled to a worker).

    Attributes:
        student: the student's id (a folder name).
        lab: the lab name.
        code: the :class:`~cvlab_ch9.grader.judge.LabCode` to grade.
        code_hash: ``code.content_hash()``.
        limits: the judge's :class:`~cvlab_ch9.grader.judge.Limits`.
        deny: folders the sandbox may not read (the other submissions).
    """

    student: str
    lab: str
    code: object
    code_hash: str
    limits: Limits = Limits()
    deny: tuple = ()

    @property
    def key(self):
        """The Dask key: unique per student, lab and code."""
        return f"grade-{self.lab}-{self.student}-{self.code_hash[:16]}"

    @property
    def name(self):
        return f"{self.student}/{self.lab}"


@dataclasses.dataclass
class Outcome:
    """What a worker returns for one task.

    Attributes:
        student, lab, code_hash: as in the task.
        grader: the worker's :func:`~cvlab_ch9.grader.judge.grader_fingerprint` of the lab.
        results: list[CheckResult] in check order.
        seconds: wall time of the grading on the worker.
        cpu_s: CPU seconds the worker and its sandboxes used for it (POSIX; Windows counts the worker only).
        worker: ``host:pid`` of the worker process.
        isolation: the worker's confinement (:func:`~cvlab_ch9.grader.batch.confinement.worker_isolation`),
            None when the worker did not say.
    """

    student: str
    lab: str
    code_hash: str
    grader: str
    results: list
    seconds: float
    cpu_s: float
    worker: str
    isolation: dict | None = None

    @property
    def score(self):
        return sum(r.score for r in self.results)


def outcome_problem(task, outcome, fingerprint, checks):
    """None when ``outcome`` is a verdict the writer may record for ``task``, else why not (a sentence's end).

    Args:
        task: the :class:`GradeTask` that was sent.
        outcome: what came back.
        fingerprint: this machine's :func:`~cvlab_ch9.grader.judge.grader_fingerprint` of the lab.
        checks: ``[(check id, points)]`` of the lab, hidden checks included, in order.
    """
    if not isinstance(outcome, Outcome):
        return f"the worker returned a {type(outcome).__name__}, not a verdict"
    if (outcome.student, outcome.lab, outcome.code_hash) != (task.student, task.lab, task.code_hash):
        return (f"the worker returned a verdict for {outcome.student}/{outcome.lab} (code {str(outcome.code_hash)[:12]}), "
                "not for the submission it was sent")
    if task.limits.require_isolation and not is_protected(outcome.isolation):
        return (f"the worker {outcome.worker} did not confine the student's code (--require-isolation): stop it or give it "
                "kernel confinement (see docs/grading-security.md), then run the same command again")
    if outcome.grader != fingerprint:
        return (f"the worker {outcome.worker} grades {task.lab} with other checks or another reference than this machine "
                f"(fingerprint {outcome.grader}, here {fingerprint}): install the same cvlab on every worker")
    results = outcome.results if isinstance(outcome.results, list) else []
    if [(getattr(r, "id", None), getattr(r, "max_score", None)) for r in results] != list(checks):
        return "the worker's verdict does not hold exactly the lab's checks and their points"
    for result in results:
        score = result.score
        if not isinstance(score, (int, float)) or not 0 <= score <= result.max_score or (
                (result.status == PASSED) != (score == result.max_score)):  # full points exactly for a pass
            return f"the worker's verdict gives {result.id} {score!r} of {result.max_score:g} points with status {result.status!r}"
    return None


@dataclasses.dataclass
class WarmJudge:
    """The judge's side of one worker process, built once: TensorFlow and the live reference."""

    reference: object
    labs: set
    seconds: float

    def reference_for(self, task):
        """The reference to grade ``task`` with (today the worker's warm one; a fresh draw per task would go here)."""
        return self.reference


_JUDGE = []


def process_cpu_s():
    """CPU seconds of this process plus its finished (waited-for) children, sandboxes included."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _frozen(value):
    """``value`` with every numpy array made read-only (a check cannot change what the next student is compared with)."""
    if hasattr(value, "flags") and hasattr(value, "setflags"):
        value.setflags(write=False)
    elif isinstance(value, dict):
        for item in value.values():
            _frozen(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _frozen(item)
    return value


class FrozenReference:
    """A :class:`~cvlab_ch9.grader.expect.LiveReference` whose values are read-only once computed."""

    kind = "live"

    def __init__(self, live):
        self.live = live

    @property
    def draw(self):
        return self.live.draw

    def for_grading(self):
        """The worker's reference on a fresh secret draw for one submission (solution modules stay loaded)."""
        return FrozenReference(self.live.for_grading())

    def get(self, lab, name):
        return _frozen(self.live.get(lab, name))


def warm_judge(labs=()):
    """This process's judge, warmed up on the expectations of ``labs`` (hidden ones included).

    The first call imports TensorFlow and loads the reference; later calls
    add the labs not seen yet. Costs one TensorFlow import per worker, not
    per submission. Each submission is graded on a fresh secret draw
    (``grade_code`` asks the reference ``for_grading()``); computing one
    draw's values here loads the solution modules and warms Keras up.
    """
    from cvlab_ch9.grader.expect import WORKER_STRUCTURE_REUSE, LiveReference, expectations_of  # noqa: PLC0415
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - TensorFlow is slow to import

    start = time.perf_counter()
    if not _JUDGE:
        import_tensorflow()
        # shapes shared by a few submissions in a row keep the reference's models built; values never shared
        _JUDGE.append(WarmJudge(FrozenReference(LiveReference(structure_reuse=WORKER_STRUCTURE_REUSE)), set(), 0.0))
    judge = _JUDGE[0]
    for lab in set(labs) - judge.labs:
        for item in expectations_of(lab, include_hidden=True):
            judge.reference.get(lab, item.name)
        judge.labs.add(lab)
    judge.seconds += time.perf_counter() - start
    return judge


def grade_task(task):
    """Grade one :class:`GradeTask` (on a worker); returns its :class:`Outcome`.

    Raises:
        WorkerRefused: ``task.limits.require_isolation`` and this worker's kernel cannot
            confine the sandbox (checked before anything else runs).
        GraderError: the grader itself could not run (the sandbox did not
            start): the submission is not graded, and a re-run tries again.
    """
    from cvlab_ch9.grader.judge import GraderError, check_isolation, grade_code  # noqa: PLC0415

    try:
        check_isolation(task.limits)
    except GraderError as exc:
        raise WorkerRefused(f"the worker {worker_name()} refused to grade it: {exc}", worker_name()) from None
    isolation = worker_isolation()
    judge = warm_judge([task.lab])
    cpu, start = process_cpu_s(), time.perf_counter()
    results = grade_code({task.lab: task.code}, lab=task.lab, reference=judge.reference_for(task), include_hidden=True,
                         limits=task.limits, extra_deny=list(task.deny))
    return Outcome(task.student, task.lab, task.code_hash, grader_fingerprint(task.lab), results,
                   time.perf_counter() - start, process_cpu_s() - cpu, isolation["worker"], isolation)


def grade_serially(task):
    """The results of ``task`` graded the plain way, in this process, with a fresh reference (what the engine must equal)."""
    from cvlab_ch9.grader.judge import grade_code  # noqa: PLC0415

    return grade_code({task.lab: task.code}, lab=task.lab, reference="live", include_hidden=True,
                      limits=task.limits, extra_deny=list(task.deny))

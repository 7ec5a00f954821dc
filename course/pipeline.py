"""Release and grade the course with the real nbgrader; the judge decides every score.

The course's data lives in the course folder the instructor names
(:mod:`course.folder`: ``--course DIR``, ``$CVLAB_COURSE_DIR``, else the
checkout's ``course_data/``), never in the code. Student ids are its
``submitted/`` folder names, checked (:mod:`cvlab_ch9.grader.batch.ids`): a
refused folder is reported by name and the others are graded.

Grading has two phases:

1. *Judge.* Every submitted notebook is taken apart into the code the
   student wrote (:mod:`course.judging`: answer cells and added cells, the
   read-only cells as the source has them) and graded by the judge
   (:mod:`cvlab_ch9.grader.judge`): the code runs in a sandbox process, the checks
   and the reference (``solutions/``, hidden checks included) stay in the
   judge. Each submission is one task of :mod:`cvlab_ch9.grader.batch.engine` on
   Dask (a LocalCluster of ``workers`` processes, or ``scheduler``'s
   cluster); this process is the one writer of the verdicts,
   ``verdicts/<lab>/<student>.json`` with the code's hash and the grader's
   fingerprint. A re-run skips submissions whose code (and the grader) did
   not change. Nothing of the student's runs in nbgrader's process or a
   Jupyter kernel.
2. *Record, one writer* (:mod:`course.record`). One ``nbgrader autograde``
   per lab records the submissions whose verdict is newer than their last
   record, without executing them, from record copies whose nbgrader
   metadata is the source's; a student nbgrader cannot record never stops
   the others, and is reported by name. The gradebook's scores are then
   compared with the sealed verdicts; a difference is recorded again.

Confinement is the workers' (:mod:`cvlab_ch9.grader.batch.confinement`): each
verdict carries its worker's, the run's summary says in one sentence how many
submissions were judged without kernel confinement and where, and the
Gradescope exports carry it. ``--require-isolation`` refuses before anything is
judged (this machine when it runs the workers, every worker of a cluster) and
judges again verdicts that were made without confinement.

Then ``generate_feedback`` (for the labs that got a record in this run) and
``export`` (CSV) run as usual, and a
Gradescope-style ``results.json`` per student and lab is written from the
verdicts with :func:`cvlab_ch9.grader.report.to_gradescope`.
"""

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from course.folder import CONFIG_NAME, CourseError, course_folder, ensure_config, old_data_hint
from course.notebooks import COURSE_DIR, ROOT_ENV, notebook_labs, write_notebooks
from course.record import gradebook_mismatches, record_lab
from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.processes import kill_tree, start_group
from cvlab_ch9.quiet import QUIET_ENV

__all__ = ["CONFIG_NAME", "COURSE_DIR", "CourseError", "autograde", "export", "grade", "release", "run_nbgrader",
           "submissions"]
DEFAULT_CHECK_TIMEOUT_S = 120.0
#: nbgrader's CSV export, written with the csv module (nbgrader's own joins fields with commas unquoted).
CSV_EXPORTER = "course.csv_export.CsvExport"


@dataclasses.dataclass
class GradingRun:
    """What one autograde run did.

    Attributes:
        submissions: {lab: [student, ...]} found in ``submitted/``.
        failed: {"<student>/<lab>": reason} for submissions that could not
            be graded (not a notebook, nbgrader could not record them).
        judged: how many submissions were tried in this run (judged, or found unreadable).
        skipped: how many were unchanged since their verdict and not judged again.
        seconds: wall time of both phases.
        workers: Dask worker processes that judged.
        recorded: submissions recorded into the gradebook in this run.
        recorded_labs: the labs with at least one submission recorded in this run (their feedback is out of date).
        record_seconds: wall time of the record phase.
        batch: the :class:`cvlab_ch9.grader.batch.engine.BatchRun` of the judge phase.
    """

    submissions: dict
    failed: dict
    judged: int
    skipped: int
    seconds: float
    workers: int
    recorded: int = 0
    record_seconds: float = 0.0
    batch: object = None
    recorded_labs: set = dataclasses.field(default_factory=set)

    @property
    def count(self):
        return sum(len(students) for students in self.submissions.values())

    @property
    def per_minute(self):
        """Submissions (one student's notebook for one lab) judged and recorded per minute in this run."""
        return 60.0 * self.judged / self.seconds if self.seconds > 0 else 0.0

    @property
    def records_per_second(self):
        """Submissions the record phase (nbgrader, one writer into the gradebook) recorded per second."""
        return self.recorded / self.record_seconds if self.record_seconds > 0 else 0.0


def nbgrader_env():
    """Environment for nbgrader: repo importable, TensorFlow quiet, venv scripts on PATH."""
    env = dict(os.environ)
    env[ROOT_ENV] = str(REPO_ROOT)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    # nbgrader runs the `alembic` script of its environment by name: put the venv's bin/ first
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH", "")) if p)
    for key, value in QUIET_ENV.items():
        env.setdefault(key, value)
    return env


def run_nbgrader(course_dir, *args, timeout_s=None):
    """Run ``nbgrader <args>`` in ``course_dir`` (which holds nbgrader_config.py).

    The process gets its own process group; on timeout it is killed with
    everything it started, on POSIX and Windows alike.

    Returns:
        str: the combined output.

    Raises:
        CourseError: nbgrader exited non-zero or timed out.
    """
    course_dir = Path(course_dir).resolve()
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course_dir}"]
    process = start_group(
        command, cwd=course_dir, env=nbgrader_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", errors="replace",
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_tree(process)
        process.communicate()
        raise CourseError(f"`nbgrader {' '.join(args)}` did not finish within {timeout_s:.0f} s and was stopped.") from None
    if process.returncode != 0:
        tail = "\n".join(output.splitlines()[-25:])
        raise CourseError(f"`nbgrader {' '.join(args)}` failed (exit {process.returncode}):\n{tail}")
    return output


def course_labs(course_dir=None):
    """Labs with a source notebook in ``course_dir/source``, in lab order."""
    source = course_folder(course_dir) / "source"
    return [lab for lab in notebook_labs() if (source / lab / f"{lab}.ipynb").is_file()]


def release(course_dir=None, labs=None, log=print):
    """Regenerate the source notebooks from solutions/ and run ``generate_assignment``.

    Args:
        course_dir: the course folder (default :func:`course.folder.course_folder`); gets an
            ``nbgrader_config.py`` from the template when it has none.
        labs: lab names; default every lab with a solution and checks.

    Returns:
        list[Path]: the release notebooks.
    """
    course_dir = ensure_config(course_folder(course_dir))
    written = write_notebooks(source_dir=course_dir / "source")
    if written:
        log(f"regenerated source notebooks: {', '.join(written)}")
    released = []
    for lab in labs or notebook_labs():
        run_nbgrader(course_dir, "generate_assignment", lab, "--force")
        released.append(course_dir / "release" / lab / f"{lab}.ipynb")
        log(f"released {released[-1]}")
    return released


def submitted_students(course_dir, lab):
    """``(students, refused)``: the ids with a ``submitted/<student>/<lab>/`` folder (sorted), and
    ``{"<folder>/<lab>": sentence}`` for folders refused (a name that is no usable id, a link)."""
    from cvlab_ch9.grader.batch.files import is_real_folder  # noqa: PLC0415
    from cvlab_ch9.grader.batch.ids import id_problem, is_hidden  # noqa: PLC0415

    submitted = Path(course_dir) / "submitted"
    students, refused = [], {}
    for folder in sorted(submitted.iterdir()) if is_real_folder(submitted) else []:
        if is_hidden(folder.name) or not (folder / lab).is_dir():
            continue
        problem = id_problem(folder.name)
        if problem is None and not (is_real_folder(folder) and is_real_folder(folder / lab)):
            problem = "the submission folder is a link, which the grader does not follow: copy the folder itself"
        if problem is None:
            students.append(folder.name)
        else:
            refused[f"{folder.name if id_problem(folder.name) is None else repr(folder.name)}/{lab}"] = problem
    return students, refused


def submissions(course_dir, lab):
    """Student ids with a ``submitted/<student>/<lab>/`` folder, sorted (refused folders left out)."""
    return submitted_students(course_dir, lab)[0]


# -- phase 1: the judge ------------------------------------------------------------


def judge_tasks(course_dir, found, limits, force=False):
    """The submissions of ``found`` ({lab: [student]}) to judge, read here as code.

    Returns:
        ``(tasks, unreadable, skipped, store)``: a :class:`cvlab_ch9.grader.batch.tasks.GradeTask`
        per submission whose verdict is missing, was made from other code or by
        another grader, changed on disk since it was written, or (with
        ``limits.require_isolation``) was made without kernel confinement (every one with
        ``force``), ``{"<student>/<lab>": reason}`` for files that are not
        notebooks, how many were up to date, and the verdict store (its
        ``changed`` lists the verdicts found changed).
    """
    from course.judging import notebook_code, verdict_store  # noqa: PLC0415
    from cvlab_ch9.grader.batch.files import Refused  # noqa: PLC0415
    from cvlab_ch9.grader.batch.tasks import GradeTask  # noqa: PLC0415
    from cvlab_ch9.grader.judge import LabCode, grader_fingerprint  # noqa: PLC0415

    store = verdict_store(course_dir, replace=force)
    tasks, unreadable, skipped = [], {}, 0
    for lab, students in found.items():
        fingerprint = grader_fingerprint(lab)
        source = course_dir / "source" / lab / f"{lab}.ipynb"
        for student in students:
            submitted = course_dir / "submitted" / student / lab / f"{lab}.ipynb"
            try:
                code = notebook_code(submitted, source, lab, root=course_dir / "submitted")
            except Refused as exc:  # a link: 0 with the sentence, recorded like any verdict
                code = LabCode(lab, submitted.name, refusal=str(exc))
            except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for a file that is not a notebook
                unreadable[f"{student}/{lab}"] = (
                    f"{submitted.name} is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})")
                continue
            digest = code.content_hash()
            if not force and store.is_current(lab, student, digest, fingerprint, protected=limits.require_isolation):
                skipped += 1
                continue
            tasks.append(GradeTask(student, lab, code, digest, limits, (str(course_dir),)))
    return tasks, unreadable, skipped, store


def needs_record(course_dir, lab, student):
    """True when the student's verdict is newer than what the gradebook got (its autograded notebook)."""
    from course.judging import verdict_path  # noqa: PLC0415

    verdict = verdict_path(course_dir, lab, student)
    autograded = course_dir / "autograded" / student / lab / f"{lab}.ipynb"
    return verdict.is_file() and (not autograded.is_file() or autograded.stat().st_mtime < verdict.stat().st_mtime)


# -- phase 2: record (course.record) -----------------------------------------------------


def _record(course_dir, found, failed, force, store, log):
    """Record the new verdicts of ``found`` and every score the gradebook lacks; returns ``{lab: how many}``."""
    recorded = {}
    for lab, students in found.items():
        differing = gradebook_mismatches(course_dir, lab, store)
        recordable = [s for s in students if f"{s}/{lab}" not in failed
                      and (force or s in differing or needs_record(course_dir, lab, s))]
        if not recordable:
            continue
        not_recorded = record_lab(course_dir, lab, recordable, log)
        for student, (score, judged) in gradebook_mismatches(course_dir, lab, store).items():
            if student in recordable and f"{student}/{lab}" not in not_recorded:
                not_recorded[f"{student}/{lab}"] = (f"the gradebook holds {score} points, the judge's verdict {judged:g}; "
                                                    "run `python -m course grade` again")
        for name, reason in not_recorded.items():
            log(f"could not record {name}: {reason}")
        failed.update(not_recorded)
        recorded[lab] = len(recordable) - len(not_recorded)
    return recorded


def autograde(course_dir, labs=None, workers=None, check_timeout_s=DEFAULT_CHECK_TIMEOUT_S, force=False, log=print,
              scheduler=None, progress=None, limits=None, tls_dir=None, insecure=False, task_timeout_s=None,
              connect_timeout_s=None):
    """Judge every changed submission of ``labs`` on Dask, then record the new verdicts.

    Args:
        workers: LocalCluster worker processes (default: one per core); ignored with ``scheduler``.
        scheduler: ``tls://HOST:PORT`` of an existing Dask cluster (with ``tls_dir``), or None.
        progress: a :class:`cvlab_ch9.grader.batch.progress.Progress` (default: a bar on stderr).
        limits: the judge's :class:`cvlab_ch9.grader.budget.Limits` (default: ``check_timeout_s`` per check,
            the rest from the environment).
        tls_dir, insecure, task_timeout_s, connect_timeout_s: see :func:`cvlab_ch9.grader.batch.engine.run_batch`.

    Returns:
        GradingRun. Submissions that cannot be graded or recorded are listed
        with the reason; the others are in the gradebook, in ``autograded/``
        and in ``verdicts/``.

    Raises:
        CourseError: no scheduler answered, ``limits.require_isolation`` and this machine (without
            ``scheduler``) or a worker cannot confine student code (before anything is judged), or the
            run was interrupted (the verdicts judged so far are kept; a re-run records them).
    """
    from cvlab_ch9.grader.batch.cluster import CONNECT_TIMEOUT_S, BatchError  # noqa: PLC0415
    from cvlab_ch9.grader.batch.engine import run_batch  # noqa: PLC0415
    from cvlab_ch9.grader.budget import LimitError, Limits  # noqa: PLC0415
    from cvlab_ch9.grader.judge import GraderError, check_isolation  # noqa: PLC0415

    course_dir = course_folder(course_dir)
    try:
        limits = limits or Limits.resolve(timeout_s=check_timeout_s)
        if not scheduler:  # this machine runs the workers; a cluster's workers are asked when the run connects
            check_isolation(limits)
    except (LimitError, GraderError) as exc:
        raise CourseError(str(exc)) from None
    found, failed = {}, {}
    for lab in labs or course_labs(course_dir):
        found[lab], refused = submitted_students(course_dir, lab)
        failed.update(refused)
    found = {lab: students for lab, students in found.items() if students}
    start = time.perf_counter()
    tasks, unreadable, skipped, store = judge_tasks(course_dir, found, limits, force)
    failed.update(unreadable)
    tried = len(tasks) + len(unreadable)  # an unreadable file counts as tried: it is tried again next time
    for name, reason in failed.items():
        log(f"could not grade {name}: {reason}")
    if skipped:
        log(f"{skipped} submission(s) unchanged since their verdict: not judged again")
    if store.changed:
        log(f"{len(store.changed)} verdict(s) changed on disk since they were written, judged again: "
            f"{', '.join(sorted(store.changed))}")
    try:
        batch = run_batch(tasks, store.record, workers=workers, scheduler=scheduler, progress=progress,
                          tls_dir=tls_dir, insecure=insecure, task_timeout_s=task_timeout_s,
                          connect_timeout_s=connect_timeout_s or CONNECT_TIMEOUT_S)
    except BatchError as exc:
        raise CourseError(str(exc)) from None
    for name, reason in batch.failed.items():
        log(f"could not grade {name}: {reason}")
    failed.update(batch.failed)
    if batch.isolation_warning:
        log(batch.isolation_warning)
    if batch.interrupted:
        raise CourseError(f"judging stopped early: {batch.interrupted}. The {batch.graded} verdict(s) judged are kept: "
                          "run `python -m course grade` again to judge the rest and record them.")
    record_start = time.perf_counter()
    by_lab = _record(course_dir, found, failed, force, store, log)
    recorded = sum(by_lab.values())
    run = GradingRun(found, failed, tried, skipped, time.perf_counter() - start, batch.workers, recorded,
                     time.perf_counter() - record_start, batch, {lab for lab, count in by_lab.items() if count})
    log(
        f"judged {run.judged} and recorded {recorded} of {run.count} submissions ({', '.join(found) or 'none'}) "
        f"in {run.seconds:.1f} s with {batch.workers} worker(s): {batch.per_minute:.1f} judged per minute, "
        f"{batch.cpu_per_submission:.1f} CPU s each; recording {run.record_seconds:.1f} s"
    )
    return run


def gradescope_results(course_dir, lab, student):
    """The Gradescope ``results.json`` document (a dict) of one judged submission.

    Scores and hints come from the judge's verdict (the same numbers the
    gradebook holds). Hidden checks are marked ``"visibility": "hidden"``.
    The worker's confinement is in ``extra_data.isolation``, and its sentence in
    ``output`` when the submission was judged without it.
    """
    from course.judging import verdict_store  # noqa: PLC0415
    from cvlab_ch9.grader.batch.confinement import report_isolation  # noqa: PLC0415
    from cvlab_ch9.grader.batch.verdicts import verdict_results  # noqa: PLC0415
    from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415
    from cvlab_ch9.grader.report import to_gradescope  # noqa: PLC0415

    document = verdict_store(course_dir).read(lab, student)
    if document is None:
        raise CourseError(f"no verdict for {student}/{lab} (or it changed since it was written): "
                          "run `python -m course grade` first.")
    hidden = {c.id for c in all_checks(lab=lab) if c.hidden}
    return report_isolation(json.loads(to_gradescope(verdict_results(document), hidden=hidden)),
                            {lab: document.get("isolation")})


def export(course_dir=None, labs=None, log=print):
    """Write ``exports/grades.csv`` (nbgrader export, quoted CSV) and ``exports/gradescope/<lab>/<student>.json``."""
    course_dir = course_folder(course_dir)
    exports = course_dir / "exports"
    exports.mkdir(exist_ok=True)
    run_nbgrader(course_dir, "export", "--to", str(exports / "grades.csv"), f"--ExportApp.plugin_class={CSV_EXPORTER}")
    written = [exports / "grades.csv"]
    for lab in labs or course_labs(course_dir):
        for student in submissions(course_dir, lab):
            if not (course_dir / "autograded" / student / lab / f"{lab}.ipynb").is_file():
                continue
            target = exports / "gradescope" / lab / f"{student}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(gradescope_results(course_dir, lab, student), indent=2) + "\n")
            written.append(target)
    log(f"exported {exports / 'grades.csv'} and {len(written) - 1} Gradescope results.json file(s)")
    return written


def grade(course_dir=None, labs=None, workers=None, check_timeout_s=DEFAULT_CHECK_TIMEOUT_S, force=False, log=print,
          scheduler=None, **cluster):
    """Judge and record every submission, generate feedback, export grades.

    ``cluster``: ``limits``, ``tls_dir``, ``insecure``, ``task_timeout_s``, ``connect_timeout_s`` of :func:`autograde`.

    Returns:
        GradingRun of the autograde step.
    """
    course_dir = course_folder(course_dir)
    if not (course_dir / "gradebook.db").is_file():
        raise CourseError(f"{course_dir} has no gradebook yet: run `python -m course release` first."
                          + old_data_hint(course_dir))
    run = autograde(course_dir, labs, workers, check_timeout_s, force, log, scheduler=scheduler, **cluster)
    for lab in run.submissions:
        if lab in run.recorded_labs or not (course_dir / "feedback").is_dir():
            run_nbgrader(course_dir, "generate_feedback", lab, "--force")
            log(f"{lab}: feedback in {course_dir / 'feedback'}")
        else:
            log(f"{lab}: nothing recorded in this run, its feedback is up to date")
    export(course_dir, list(run.submissions), log)
    return run

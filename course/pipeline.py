"""Release and grade the course with the real nbgrader; the judge decides every score.

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
2. *Record, one writer.* One ``nbgrader autograde`` per lab reads the
   submitted notebooks whose verdict is newer than their last record,
   without executing them: nbgrader's own preprocessors restore locked and
   deleted cells, :class:`JudgeOutputs` writes each test cell's output from
   the verdict, and SaveAutoGrades scores the cells into the sqlite gradebook.

Then ``generate_feedback`` and ``export`` (CSV) run as usual, and a
Gradescope-style ``results.json`` per student and lab is written from the
verdicts with :func:`cvlab_ch9.grader.report.to_gradescope`.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course.notebooks import COURSE_DIR, ROOT_ENV, notebook_labs, write_notebooks
from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.processes import kill_tree, start_group
from cvlab_ch9.quiet import QUIET_ENV

CONFIG_NAME = "nbgrader_config.py"
DEFAULT_CHECK_TIMEOUT_S = 120.0

#: Autograde preprocessors of the record phase: nbgrader's defaults without Execute, plus the judge's outputs.
RECORD_SANITIZE = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
RECORD_AUTOGRADE = [
    "course.preprocessors.JudgeOutputs",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]


class CourseError(RuntimeError):
    """An nbgrader step failed; the message carries the end of its log."""


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


def course_labs(course_dir=COURSE_DIR):
    """Labs with a source notebook in ``course_dir/source``, in lab order."""
    source = Path(course_dir) / "source"
    return [lab for lab in notebook_labs() if (source / lab / f"{lab}.ipynb").is_file()]


def release(course_dir=COURSE_DIR, labs=None, log=print):
    """Regenerate the source notebooks from solutions/ and run ``generate_assignment``.

    Args:
        course_dir: the course folder (holds nbgrader_config.py).
        labs: lab names; default every lab with a solution and checks.

    Returns:
        list[Path]: the release notebooks.
    """
    course_dir = Path(course_dir).resolve()
    written = write_notebooks(source_dir=course_dir / "source")
    if written:
        log(f"regenerated source notebooks: {', '.join(written)}")
    released = []
    for lab in labs or notebook_labs():
        run_nbgrader(course_dir, "generate_assignment", lab, "--force")
        released.append(course_dir / "release" / lab / f"{lab}.ipynb")
        log(f"released {released[-1]}")
    return released


def submissions(course_dir, lab):
    """Student ids with a ``submitted/<student>/<lab>/`` folder, sorted."""
    submitted = Path(course_dir) / "submitted"
    return sorted(d.parent.name for d in submitted.glob(f"*/{lab}") if d.is_dir()) if submitted.is_dir() else []


# -- phase 1: the judge ------------------------------------------------------------


def judge_tasks(course_dir, found, check_timeout_s=DEFAULT_CHECK_TIMEOUT_S, force=False):
    """The submissions of ``found`` ({lab: [student]}) to judge, read here as code.

    Returns:
        ``(tasks, unreadable, skipped)``: a :class:`cvlab_ch9.grader.batch.tasks.GradeTask`
        per submission whose verdict is missing or was made from other code
        or by another grader (every one with ``force``), ``{"<student>/<lab>":
        reason}`` for files that are not notebooks, and how many were up to date.
    """
    from course.judging import notebook_code, verdict_store  # noqa: PLC0415
    from cvlab_ch9.grader.batch.tasks import GradeTask  # noqa: PLC0415
    from cvlab_ch9.grader.judge import Limits, grader_fingerprint  # noqa: PLC0415

    store = verdict_store(course_dir)
    limits = Limits(timeout_s=check_timeout_s)
    tasks, unreadable, skipped = [], {}, 0
    for lab, students in found.items():
        fingerprint = grader_fingerprint(lab)
        source = course_dir / "source" / lab / f"{lab}.ipynb"
        for student in students:
            submitted = course_dir / "submitted" / student / lab / f"{lab}.ipynb"
            try:
                code = notebook_code(submitted, source, lab)
            except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for a file that is not a notebook
                unreadable[f"{student}/{lab}"] = (
                    f"{submitted.name} is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})")
                continue
            digest = code.content_hash()
            if not force and store.is_current(lab, student, digest, fingerprint):
                skipped += 1
                continue
            tasks.append(GradeTask(student, lab, code, digest, limits, (str(course_dir),)))
    return tasks, unreadable, skipped


def needs_record(course_dir, lab, student):
    """True when the student's verdict is newer than what the gradebook got (its autograded notebook)."""
    from course.judging import verdict_path  # noqa: PLC0415

    verdict = verdict_path(course_dir, lab, student)
    autograded = course_dir / "autograded" / student / lab / f"{lab}.ipynb"
    return verdict.is_file() and (not autograded.is_file() or autograded.stat().st_mtime < verdict.stat().st_mtime)


# -- phase 2: record -----------------------------------------------------------------


def record_lab(course_dir, lab, students, log=print):
    """Record the verdicts of ``students`` for ``lab`` in the gradebook (nbgrader autograde, no execution).

    Returns:
        {"<student>/<lab>": reason} for submissions nbgrader could not record.
    """
    with tempfile.TemporaryDirectory(prefix="cvlab-record-") as tmp:
        root = Path(tmp) / "submitted"
        for student in students:
            shutil.copytree(course_dir / "submitted" / student / lab, root / student / lab)
        args = ["autograde", lab, "--force", f"--CourseDirectory.submitted_directory={root}",
                f"--JudgeOutputs.verdicts_dir={course_dir / 'verdicts'}"]
        args += [f"--Autograde.sanitize_preprocessors={name}" for name in RECORD_SANITIZE]
        args += [f"--Autograde.autograde_preprocessors={name}" for name in RECORD_AUTOGRADE]
        start = time.time()
        try:
            run_nbgrader(course_dir, *args)
        except CourseError as exc:
            log(f"recording {lab} failed for some submissions: {exc}")
            failed = {}
            for student in students:
                notebook = course_dir / "autograded" / student / lab / f"{lab}.ipynb"
                if not notebook.is_file() or notebook.stat().st_mtime < start:
                    failed[f"{student}/{lab}"] = str(exc)
            return failed
    return {}


def autograde(course_dir, labs=None, workers=None, check_timeout_s=DEFAULT_CHECK_TIMEOUT_S, force=False, log=print,
              scheduler=None, progress=None):
    """Judge every changed submission of ``labs`` on Dask, then record the new verdicts.

    Args:
        workers: LocalCluster worker processes (default: one per core); ignored with ``scheduler``.
        scheduler: ``tcp://HOST:PORT`` of an existing Dask cluster, or None.
        progress: a :class:`cvlab_ch9.grader.batch.progress.Progress` (default: a bar on stderr).

    Returns:
        GradingRun. Submissions that cannot be graded are listed with the
        reason and get no grade; the others are in the gradebook, in
        ``autograded/`` and in ``verdicts/``.

    Raises:
        CourseError: no scheduler answered, or the run was interrupted (the
            verdicts judged so far are kept; a re-run records them).
    """
    from course.judging import verdict_store  # noqa: PLC0415
    from cvlab_ch9.grader.batch.engine import BatchError, run_batch  # noqa: PLC0415

    course_dir = Path(course_dir).resolve()
    found = {lab: submissions(course_dir, lab) for lab in labs or course_labs(course_dir)}
    found = {lab: students for lab, students in found.items() if students}
    start = time.perf_counter()
    tasks, failed, skipped = judge_tasks(course_dir, found, check_timeout_s, force)
    tried = len(tasks) + len(failed)  # an unreadable file counts as tried: it is tried again next time
    for name, reason in failed.items():
        log(f"could not grade {name}: {reason}")
    if skipped:
        log(f"{skipped} submission(s) unchanged since their verdict: not judged again")
    try:
        batch = run_batch(tasks, verdict_store(course_dir, replace=force).record, workers=workers, scheduler=scheduler, progress=progress)
    except BatchError as exc:
        raise CourseError(str(exc)) from None
    for name, reason in batch.failed.items():
        log(f"could not grade {name}: {reason}")
    failed.update(batch.failed)
    if batch.interrupted:
        raise CourseError(f"judging stopped early: {batch.interrupted}. The {batch.graded} verdict(s) judged are kept: "
                          "run `python -m course grade` again to judge the rest and record them.")
    record_start, recorded = time.perf_counter(), 0
    for lab, students in found.items():
        recordable = [s for s in students if f"{s}/{lab}" not in failed and (force or needs_record(course_dir, lab, s))]
        if recordable:
            not_recorded = record_lab(course_dir, lab, recordable, log)
            failed.update(not_recorded)
            recorded += len(recordable) - len(not_recorded)
    run = GradingRun(found, failed, tried, skipped, time.perf_counter() - start, batch.workers, recorded,
                     time.perf_counter() - record_start, batch)
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
    """
    from course.judging import verdict_path  # noqa: PLC0415
    from cvlab_ch9.grader.batch.verdicts import read_verdict, verdict_results  # noqa: PLC0415
    from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415
    from cvlab_ch9.grader.report import to_gradescope  # noqa: PLC0415

    document = read_verdict(verdict_path(course_dir, lab, student))
    if document is None:
        raise CourseError(f"no verdict for {student}/{lab}: run `python -m course grade` first.")
    hidden = {c.id for c in all_checks(lab=lab) if c.hidden}
    return json.loads(to_gradescope(verdict_results(document), hidden=hidden))


def export(course_dir=COURSE_DIR, labs=None, log=print):
    """Write ``exports/grades.csv`` (nbgrader export) and ``exports/gradescope/<lab>/<student>.json``."""
    course_dir = Path(course_dir).resolve()
    exports = course_dir / "exports"
    exports.mkdir(exist_ok=True)
    run_nbgrader(course_dir, "export", "--to", str(exports / "grades.csv"))
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


def grade(course_dir=COURSE_DIR, labs=None, workers=None, check_timeout_s=DEFAULT_CHECK_TIMEOUT_S, force=False, log=print,
          scheduler=None):
    """Judge and record every submission, generate feedback, export grades.

    Returns:
        GradingRun of the autograde step.
    """
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "gradebook.db").is_file():
        raise CourseError(f"{course_dir} has no gradebook yet: run `python -m course release` first.")
    run = autograde(course_dir, labs, workers, check_timeout_s, force, log, scheduler=scheduler)
    for lab in run.submissions:
        run_nbgrader(course_dir, "generate_feedback", lab, "--force")
        log(f"{lab}: feedback in {course_dir / 'feedback'}")
    export(course_dir, list(run.submissions), log)
    return run

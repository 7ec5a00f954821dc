"""Release and grade the course with the real nbgrader; the judge decides every score.

Grading has two phases:

1. *Judge.* Every submitted notebook is taken apart into the code the
   student wrote (:mod:`course.judging`: answer cells and added cells, the
   read-only cells as the source has them) and graded by the judge
   (:mod:`grader.judge`): the code runs in a sandbox process, the checks
   and the reference (``solutions/``, hidden checks included) stay in the
   judge. The verdict goes to ``verdicts/<lab>/<student>.json`` with the
   code's hash; a re-run skips submissions whose code (and the grader) did
   not change. ``workers`` judge processes run at once. Nothing of the
   student's runs in nbgrader's process or a Jupyter kernel.
2. *Record, one writer.* One ``nbgrader autograde`` per lab reads the
   submitted notebooks without executing them: nbgrader's own
   preprocessors restore locked and deleted cells, :class:`JudgeOutputs`
   writes each test cell's output from the verdict, and SaveAutoGrades
   scores the cells into the sqlite gradebook.

Then ``generate_feedback`` and ``export`` (CSV) run as usual, and a
Gradescope-style ``results.json`` per student and lab is written from the
verdicts with :func:`grader.report.to_gradescope`.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from course.notebooks import COURSE_DIR, ROOT_ENV, notebook_labs, write_notebooks
from cvlab.paths import REPO_ROOT
from cvlab.processes import kill_tree, start_group
from cvlab.quiet import QUIET_ENV

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
        judged: how many submissions the judge graded in this run.
        skipped: how many were unchanged since their verdict and not judged again.
        seconds: wall time of both phases.
        workers: judge processes used.
    """

    submissions: dict
    failed: dict
    judged: int
    skipped: int
    seconds: float
    workers: int

    @property
    def count(self):
        return sum(len(students) for students in self.submissions.values())

    @property
    def per_minute(self):
        """Submissions (one student's notebook for one lab) judged per minute in this run."""
        return 60.0 * self.judged / self.seconds if self.seconds > 0 else 0.0


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


@dataclasses.dataclass(frozen=True)
class JudgeTask:
    """One submission to judge (plain data: it travels to a worker process)."""

    course_dir: str
    lab: str
    student: str
    check_timeout_s: float


def judge_submission(task):
    """Judge one submitted notebook and write its verdict.

    Returns:
        ``(task, None)`` when a verdict was written, or ``(task, reason)``
        when the submission cannot be graded (not a notebook).
    """
    from course.judging import code_hash, grader_fingerprint, notebook_code, verdict_path, write_verdict  # noqa: PLC0415
    from grader.judge import Limits, grade_code  # noqa: PLC0415

    course_dir = Path(task.course_dir)
    submitted = course_dir / "submitted" / task.student / task.lab / f"{task.lab}.ipynb"
    source = course_dir / "source" / task.lab / f"{task.lab}.ipynb"
    try:
        code = notebook_code(submitted, source, task.lab)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for a file that is not a notebook
        return task, f"{submitted.name} is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})"
    results = grade_code(
        {task.lab: code}, lab=task.lab, reference="live", include_hidden=True,
        limits=Limits(timeout_s=task.check_timeout_s), extra_deny=[course_dir],
    )
    write_verdict(verdict_path(course_dir, task.lab, task.student), task.lab, task.student, code_hash(code),
                  grader_fingerprint(task.lab), results)
    return task, None


def is_up_to_date(course_dir, lab, student):
    """True when the student's verdict was made from the same code by the same grader."""
    from course.judging import code_hash, grader_fingerprint, notebook_code, read_verdict, verdict_path  # noqa: PLC0415

    document = read_verdict(verdict_path(course_dir, lab, student))
    if document is None:
        return False
    try:
        code = notebook_code(course_dir / "submitted" / student / lab / f"{lab}.ipynb",
                             course_dir / "source" / lab / f"{lab}.ipynb", lab)
    except Exception:  # noqa: BLE001 - unreadable now: judge again (and report it)
        return False
    return document.get("code_hash") == code_hash(code) and document.get("grader") == grader_fingerprint(lab)


def _worker_init():
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()


def judge_all(tasks, workers=1, log=print):
    """Judge ``tasks``; returns ``{"<student>/<lab>": reason}`` for those that could not be graded."""
    failed = {}
    if not tasks:
        return failed
    if workers <= 1:
        outcomes = map(judge_submission, tasks)
        return _collect(outcomes, failed, log)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_worker_init) as pool:
        return _collect(pool.map(judge_submission, tasks), failed, log)


def _collect(outcomes, failed, log):
    for task, reason in outcomes:
        if reason is not None:
            failed[f"{task.student}/{task.lab}"] = reason
            log(f"could not grade {task.student}/{task.lab}: {reason}")
    return failed


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


def autograde(course_dir, labs=None, workers=1, check_timeout_s=DEFAULT_CHECK_TIMEOUT_S, force=False, log=print):
    """Judge every changed submission of ``labs`` with ``workers`` processes, then record all verdicts.

    Returns:
        GradingRun. Submissions that cannot be graded are listed with the
        reason and get no grade; the others are in the gradebook, in
        ``autograded/`` and in ``verdicts/``.
    """
    course_dir = Path(course_dir).resolve()
    found = {lab: submissions(course_dir, lab) for lab in labs or course_labs(course_dir)}
    found = {lab: students for lab, students in found.items() if students}
    start = time.perf_counter()
    tasks = [
        JudgeTask(str(course_dir), lab, student, check_timeout_s)
        for lab, students in found.items() for student in students
        if force or not is_up_to_date(course_dir, lab, student)
    ]
    skipped = sum(len(s) for s in found.values()) - len(tasks)
    if skipped:
        log(f"{skipped} submission(s) unchanged since their verdict: not judged again")
    failed = judge_all(tasks, workers, log)
    for lab, students in found.items():
        recordable = [s for s in students if f"{s}/{lab}" not in failed]
        if recordable:
            failed.update(record_lab(course_dir, lab, recordable, log))
    run = GradingRun(found, failed, len(tasks), skipped, time.perf_counter() - start, workers)
    log(
        f"judged {len(tasks)} and recorded {run.count - len(failed)}/{run.count} submissions "
        f"({', '.join(found) or 'none'}) in {run.seconds:.1f} s with {workers} worker(s): {run.per_minute:.1f} per minute"
    )
    return run


def gradescope_results(course_dir, lab, student):
    """The Gradescope ``results.json`` document (a dict) of one judged submission.

    Scores and hints come from the judge's verdict (the same numbers the
    gradebook holds). Hidden checks are marked ``"visibility": "hidden"``.
    """
    from course.judging import read_verdict, verdict_path, verdict_results  # noqa: PLC0415
    from grader.core import all_checks  # noqa: PLC0415
    from grader.report import to_gradescope  # noqa: PLC0415

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


def grade(course_dir=COURSE_DIR, labs=None, workers=1, check_timeout_s=DEFAULT_CHECK_TIMEOUT_S, force=False, log=print):
    """Judge and record every submission, generate feedback, export grades.

    Returns:
        GradingRun of the autograde step.
    """
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "gradebook.db").is_file():
        raise CourseError(f"{course_dir} has no gradebook yet: run `python -m course release` first.")
    run = autograde(course_dir, labs, workers, check_timeout_s, force, log)
    for lab in run.submissions:
        run_nbgrader(course_dir, "generate_feedback", lab, "--force")
        log(f"{lab}: feedback in {course_dir / 'feedback'}")
    export(course_dir, list(run.submissions), log)
    return run

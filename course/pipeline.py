"""Release and grade the course with the real nbgrader, in parallel.

nbgrader keeps its gradebook in sqlite, which does not take concurrent
writers. Grading is therefore split in two phases:

1. *Execute, in parallel.* The submissions are split into batches (at
   most ``workers`` per lab, at most ``MAX_BATCH`` students each); each
   batch is autograded by one ``nbgrader autograde`` in a private scratch
   copy of the course (config, a copy of the gradebook, the batch's
   submissions). Up to ``workers`` such processes run at once; one nbgrader
   start-up (about 2.5 CPU s) serves a whole batch. A batch process that
   outruns ``student_timeout_s`` per student is killed with its whole
   process group (kernel included); nbgrader's own per-cell timeout
   normally stops endless loops long before that.
2. *Record, serially.* One more ``nbgrader autograde`` in the real course
   reads the executed notebooks, with execution and output clearing
   switched off: nbgrader's own preprocessors restore locked cells, score
   every cell and write the gradebook, one writer at a time.

Then ``generate_feedback`` and ``export`` (CSV) run as usual, and a
Gradescope-style ``results.json`` per student and lab is written from the
gradebook with :func:`grader.report.to_gradescope`.
"""

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from course.notebooks import COURSE_DIR, ROOT_ENV, check_cell_ids, notebook_labs, write_notebooks
from cvlab.paths import REPO_ROOT
from cvlab.processes import kill_tree, start_group
from cvlab.quiet import QUIET_ENV

CONFIG_NAME = "nbgrader_config.py"
DEFAULT_STUDENT_TIMEOUT_S = 1800.0
#: Most students autograded by one nbgrader process in phase 1.
MAX_BATCH = 8

#: Autograde preprocessors of the record phase: nbgrader's defaults minus Execute.
RECORD_SANITIZE = [
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
RECORD_AUTOGRADE = [
    "nbgrader.preprocessors.IgnorePattern",
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
        failed: {"<student>/<lab>": reason} for submissions whose autograde
            failed or timed out; they get no grade.
        seconds: wall time of both phases.
        workers: worker processes used.
    """

    submissions: dict
    failed: dict
    seconds: float
    workers: int

    @property
    def count(self):
        return sum(len(students) for students in self.submissions.values())

    @property
    def per_minute(self):
        """Submissions (one student's notebook for one lab) graded per minute."""
        return 60.0 * (self.count - len(self.failed)) / self.seconds if self.seconds > 0 else 0.0


def nbgrader_env():
    """Environment for nbgrader and its kernels: repo importable, TensorFlow quiet, venv scripts on PATH."""
    env = dict(os.environ)
    env[ROOT_ENV] = str(REPO_ROOT)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    # nbgrader runs the `alembic` script of its environment by name: put the venv's bin/ first
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH", "")) if p)
    for key, value in QUIET_ENV.items():
        env.setdefault(key, value)
    env.setdefault("PYTHONIOENCODING", "utf-8")  # run_nbgrader decodes UTF-8, also on Windows
    return env


def run_nbgrader(course_dir, *args, timeout_s=None):
    """Run ``nbgrader <args>`` in ``course_dir`` (which holds nbgrader_config.py).

    The process gets its own process group; on timeout it is killed with
    everything it started (its kernel), on POSIX and Windows alike.

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


def _scratch_course(course_dir, lab, students, scratch):
    """A private course copy in ``scratch``: config, gradebook copy, the students' submissions."""
    scratch.mkdir(parents=True)
    shutil.copy2(course_dir / CONFIG_NAME, scratch / CONFIG_NAME)
    shutil.copy2(course_dir / "gradebook.db", scratch / "gradebook.db")
    shutil.copytree(course_dir / "source" / lab, scratch / "source" / lab)
    for student in students:
        shutil.copytree(course_dir / "submitted" / student / lab, scratch / "submitted" / student / lab)


def batches(found, workers, max_batch=MAX_BATCH):
    """Split {lab: [students]} into [(lab, [students])], at most ``workers`` batches per lab."""
    out = []
    for lab, students in found.items():
        size = max(1, min(max_batch, math.ceil(len(students) / max(1, workers))))
        out.extend((lab, students[i : i + size]) for i in range(0, len(students), size))
    return out


def execute_batch(course_dir, lab, students, scratch, timeout_s=DEFAULT_STUDENT_TIMEOUT_S):
    """Phase 1 for one batch: autograde in a private course copy.

    Returns:
        ({student: executed folder}, {student: reason}) -- a student whose
        notebook nbgrader could not autograde is in the second dict, the
        rest of the batch is still graded.
    """
    _scratch_course(Path(course_dir), lab, students, scratch)
    reason = "nbgrader wrote no autograded notebook"
    try:
        run_nbgrader(scratch, "autograde", lab, "--force", timeout_s=timeout_s * len(students))
    except CourseError as exc:
        reason = str(exc)
    executed, failed = {}, {}
    for student in students:
        folder = scratch / "autograded" / student / lab
        if (folder / f"{lab}.ipynb").is_file():
            executed[student] = folder
        else:
            failed[student] = reason
    return executed, failed


def record_submissions(course_dir, lab, executed_root):
    """Phase 2: score the executed notebooks under ``executed_root/<student>/<lab>`` into the gradebook."""
    args = ["autograde", lab, "--force", f"--CourseDirectory.submitted_directory={executed_root}"]
    args += [f"--Autograde.sanitize_preprocessors={name}" for name in RECORD_SANITIZE]
    args += [f"--Autograde.autograde_preprocessors={name}" for name in RECORD_AUTOGRADE]
    run_nbgrader(course_dir, *args)


def _record_lab(course_dir, lab, executed_root, log):
    """Record one lab; return {"<student>/<lab>": reason} for submissions nbgrader could not record."""
    start = time.time()
    try:
        record_submissions(course_dir, lab, executed_root)
    except CourseError as exc:
        log(f"recording {lab} failed for some submissions: {exc}")
        failed = {}
        for student in sorted(d.name for d in executed_root.iterdir()):
            notebook = course_dir / "autograded" / student / lab / f"{lab}.ipynb"
            if not notebook.is_file() or notebook.stat().st_mtime < start:
                failed[f"{student}/{lab}"] = str(exc)
        return failed
    return {}


def autograde(course_dir, labs=None, workers=1, student_timeout_s=DEFAULT_STUDENT_TIMEOUT_S, log=print):
    """Autograde every submission of ``labs`` with ``workers`` parallel processes.

    All batches of all labs share one pool of ``workers`` processes.

    Returns:
        GradingRun. Failed submissions are listed with the reason and get
        no grade; the others are in the gradebook and ``autograded/``.
    """
    course_dir = Path(course_dir).resolve()
    found = {lab: submissions(course_dir, lab) for lab in labs or course_labs(course_dir)}
    found = {lab: students for lab, students in found.items() if students}
    work = batches(found, workers)
    start = time.perf_counter()
    failed = {}
    with tempfile.TemporaryDirectory(prefix="cvlab-autograde-") as tmp:
        tmp = Path(tmp)

        def one(index):
            lab, students = work[index]
            try:
                return execute_batch(course_dir, lab, students, tmp / "scratch" / str(index), student_timeout_s)
            except OSError as exc:  # copying the submissions failed: the batch is reported, others go on
                return {}, dict.fromkeys(students, f"could not copy the submission: {exc}")

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for (lab, _), (executed, batch_failed) in zip(work, pool.map(one, range(len(work)))):
                for student, reason in batch_failed.items():
                    failed[f"{student}/{lab}"] = reason
                    log(f"could not autograde {student}/{lab}: {reason}")
                for student, folder in executed.items():
                    shutil.copytree(folder, tmp / "executed" / lab / student / lab)
        for lab in found:
            if (tmp / "executed" / lab).is_dir():
                failed.update(_record_lab(course_dir, lab, tmp / "executed" / lab, log))
    run = GradingRun(found, failed, time.perf_counter() - start, workers)
    log(
        f"autograded {run.count - len(failed)}/{run.count} submissions ({', '.join(found) or 'none'}) "
        f"in {run.seconds:.1f} s with {workers} worker(s): {run.per_minute:.1f} per minute"
    )
    return run


def _check_status(grade, outputs):
    """(status, message) of a test cell from its score and outputs."""
    if grade.score is not None and grade.score >= grade.max_score:
        return "passed", ""
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        return "failed", "no points (the cell wrote to stderr or was not run)"
    error = errors[-1]
    if error.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
        return "timeout", "Stopped: the cell did not finish in time. Look for a loop that never ends."
    text = error.get("evalue", "") or error.get("ename", "error")
    if text.startswith("[") and "] " in text:
        status, _, message = text[1:].partition("] ")
        return status, message
    return "error", f"{error.get('ename')}: {text}"


def gradescope_results(course_dir, lab, student):
    """The Gradescope ``results.json`` document (a dict) of one graded submission.

    Scores come from the gradebook, hints from the autograded notebook's
    outputs. Hidden checks are marked ``"visibility": "hidden"``.
    """
    import nbformat  # noqa: PLC0415
    from nbgrader.api import Gradebook  # noqa: PLC0415

    from grader.core import CheckResult, all_checks  # noqa: PLC0415
    from grader.report import to_gradescope  # noqa: PLC0415

    course_dir = Path(course_dir).resolve()
    checks = all_checks(lab=lab)
    by_cell = dict(zip(check_cell_ids(checks), checks))
    notebook = nbformat.read(course_dir / "autograded" / student / lab / f"{lab}.ipynb", as_version=4)
    outputs = {c.metadata.get("nbgrader", {}).get("grade_id"): c.get("outputs", []) for c in notebook.cells}
    results, hidden = [], set()
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        grades = gb.find_submission_notebook(lab, lab, student).grades
        for grade in sorted(grades, key=lambda g: list(outputs).index(g.name) if g.name in outputs else 0):
            chk = by_cell.get(grade.name)
            status, message = _check_status(grade, outputs.get(grade.name, []))
            check_id = chk.id if chk else f"{lab}.{grade.name}"
            if chk is not None and chk.hidden:
                hidden.add(f"{check_id}: {chk.title}")
            results.append(CheckResult(
                check_id, lab, chk.exercise if chk else "", chk.title if chk else grade.name,
                status, float(grade.score or 0.0), float(grade.max_score), message,
            ))
    document = json.loads(to_gradescope(results))
    for test in document["tests"]:
        if test["name"] in hidden:
            test["visibility"] = "hidden"
    return document


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
            target.write_text(json.dumps(gradescope_results(course_dir, lab, student), indent=2) + "\n", encoding="utf-8")
            written.append(target)
    log(f"exported {exports / 'grades.csv'} and {len(written) - 1} Gradescope results.json file(s)")
    return written


def grade(course_dir=COURSE_DIR, labs=None, workers=1, student_timeout_s=DEFAULT_STUDENT_TIMEOUT_S, log=print):
    """Autograde every submission, generate feedback, export grades.

    Returns:
        GradingRun of the autograde step.
    """
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "gradebook.db").is_file():
        raise CourseError(f"{course_dir} has no gradebook yet: run `python -m course release` first.")
    run = autograde(course_dir, labs, workers, student_timeout_s, log)
    for lab in run.submissions:
        run_nbgrader(course_dir, "generate_feedback", lab, "--force")
        log(f"{lab}: feedback in {course_dir / 'feedback'}")
    export(course_dir, list(run.submissions), log)
    return run

"""Phase 2 of ``python -m course grade``: the judge's verdicts into nbgrader's gradebook, one student never stopping another.

One ``nbgrader autograde`` per lab records the students whose verdict is
newer than their last record, without executing anything: nbgrader's own
preprocessors restore locked and deleted cells, :class:`course.preprocessors.JudgeOutputs`
writes each test cell's output from the (sealed) verdict, and SaveAutoGrades
scores the cells.

What nbgrader reads is a *record copy* of each submission, made here:

- read without following links (:mod:`cvlab_ch9.grader.batch.files`); a
  submission that is a link, or not a notebook, is recorded from the released
  notebook (its verdict already says why it scored 0);
- every cell's nbgrader metadata as the source notebook has it (a student's
  edits to ids, points, flags or the schema version, which can abort nbgrader
  for every student after them, are undone; cells with made-up metadata
  become plain cells).

When nbgrader still fails, every student it did not record is tried again
alone, and whoever still fails is reported by name with the reason. After
recording, the gradebook's score of every judged student is compared with
the verdict: a difference (a record that went wrong, a gradebook changed by
hand) is recorded again, and reported by name if it persists.
"""

import copy
import tempfile
import time
from pathlib import Path

from course.folder import CourseError

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
#: Largest difference between a gradebook score and its verdict's that counts as equal (float sums).
SCORE_TOLERANCE = 1e-6


def _nbgrader_meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else None


def restore_metadata(notebook, source):
    """``notebook`` with the nbgrader metadata of every cell taken from ``source`` (by grade id; in place).

    A cell whose id the source lacks, whose type differs, or that repeats an id already seen loses its
    nbgrader metadata (a plain cell); the notebook's kernel spec is the source's.
    """
    trusted = {m["grade_id"]: c for c in source.cells if (m := _nbgrader_meta(c)) and m.get("grade_id")}
    seen = set()
    for cell in notebook.cells:
        if "nbgrader" not in cell.get("metadata", {}):
            continue
        meta = _nbgrader_meta(cell) or {}
        grade_id = meta.get("grade_id") if isinstance(meta.get("grade_id"), str) else None
        original = trusted.get(grade_id)
        if original is None or original.cell_type != cell.cell_type or grade_id in seen:
            del cell.metadata["nbgrader"]
            continue
        seen.add(grade_id)
        cell.metadata["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
    if "kernelspec" in source.metadata:
        notebook.metadata["kernelspec"] = copy.deepcopy(source.metadata["kernelspec"])
    return notebook


def record_copy(course_dir, lab, student):
    """The notebook nbgrader records for ``student``: their submission with the source's metadata, or the release."""
    import nbformat  # noqa: PLC0415 - nbformat loads with the course

    from cvlab_ch9.grader.batch.files import Refused, read_inside  # noqa: PLC0415

    source = nbformat.read(str(course_dir / "source" / lab / f"{lab}.ipynb"), as_version=4)
    try:
        data = read_inside(course_dir / "submitted", course_dir / "submitted" / student / lab / f"{lab}.ipynb")
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except (Refused, OSError, ValueError, TypeError, KeyError, AttributeError):
        # not readable as a notebook: the verdict (0, with the reason) is recorded on the released notebook
        notebook = nbformat.read(str(course_dir / "release" / lab / f"{lab}.ipynb"), as_version=4)
    return restore_metadata(notebook, source)


def _write_copies(course_dir, lab, students, root):
    import nbformat  # noqa: PLC0415

    from cvlab_ch9.grader.batch.files import Refused, read_inside  # noqa: PLC0415

    for student in students:
        folder = root / student / lab
        folder.mkdir(parents=True)
        nbformat.write(record_copy(course_dir, lab, student), str(folder / f"{lab}.ipynb"))
        try:  # the submission time, for late penalties: only a regular file is read
            stamp = read_inside(course_dir / "submitted", course_dir / "submitted" / student / lab / "timestamp.txt", 4096)
            (folder / "timestamp.txt").write_bytes(stamp)
        except (Refused, OSError):
            pass


def _autograde(course_dir, lab, students):
    """One nbgrader autograde (no execution) of ``students``; ``{student: reason}`` for those not recorded."""
    from course.pipeline import run_nbgrader  # noqa: PLC0415 - the pipeline runs nbgrader for every phase

    with tempfile.TemporaryDirectory(prefix="cvlab-record-") as tmp:
        root = Path(tmp) / "submitted"
        _write_copies(course_dir, lab, students, root)
        args = ["autograde", lab, "--force", f"--CourseDirectory.submitted_directory={root}",
                f"--JudgeOutputs.course_dir={course_dir}"]
        args += [f"--Autograde.sanitize_preprocessors={name}" for name in RECORD_SANITIZE]
        args += [f"--Autograde.autograde_preprocessors={name}" for name in RECORD_AUTOGRADE]
        start = time.time()
        try:
            run_nbgrader(course_dir, *args)
        except CourseError as exc:
            failed = {}
            for student in students:
                notebook = course_dir / "autograded" / student / lab / f"{lab}.ipynb"
                if not notebook.is_file() or notebook.stat().st_mtime < start:
                    failed[student] = str(exc)
            return failed
    return {}


def _reason(log_text):
    """nbgrader's last error line (without its log prefix), for one sentence."""
    lines = [line.split("]", 1)[-1].strip() for line in log_text.splitlines() if "ERROR" in line or "Error" in line]
    lines = [line for line in lines if line and not line.startswith(("Please see", "There was an error processing"))]
    return (lines[-1] if lines else log_text.strip().splitlines()[-1] if log_text.strip() else "no output")[:300]


def record_lab(course_dir, lab, students, log=print):
    """Record the verdicts of ``students`` for ``lab`` in the gradebook.

    Returns:
        ``{"<student>/<lab>": reason}`` for the submissions nbgrader could not record.
    """
    course_dir = Path(course_dir)
    failed = _autograde(course_dir, lab, students)
    if failed and len(students) > 1:
        log(f"recording {lab} failed for {len(failed)} submission(s); recording each of them alone")
        alone = {}
        for student in failed:
            alone.update(_autograde(course_dir, lab, [student]))
        failed = alone
    return {f"{student}/{lab}": f"nbgrader could not record it ({_reason(reason)})" for student, reason in failed.items()}


def gradebook_mismatches(course_dir, lab, store):
    """``{student: (gradebook score or None, verdict score)}`` where the gradebook differs from a sealed verdict.

    The gradebook's *automatic* scores are compared (an instructor's manual override in formgrader stays theirs).
    """
    from nbgrader.api import Gradebook, MissingEntry  # noqa: PLC0415 - nbgrader's database layer loads only here

    database = Path(course_dir) / "gradebook.db"
    if not database.is_file():
        return {}
    with Gradebook(f"sqlite:///{database}") as gradebook:
        try:
            submitted = gradebook.find_notebook(lab, lab).submissions
        except MissingEntry:  # the lab is not released into this gradebook: nothing recorded to compare
            submitted = []
        recorded = {sub.student.id: sum(g.auto_score or 0.0 for g in sub.grades) for sub in submitted}
    differences = {}
    for path in sorted((Path(course_dir) / "verdicts" / lab).glob("*.json")):
        student = path.stem
        document = store.read(lab, student)
        if document is None:
            continue
        score = recorded.get(student)
        if score is None or abs(score - document["score"]) > SCORE_TOLERANCE:
            differences[student] = (score, document["score"])
    return differences

"""A folder of submissions in, a folder of grades out.

In: ``SUBMISSIONS_DIR/<student>/<lab>.py``, one folder per student, as a
Gradescope or LMS export gives them (the lab files may sit deeper inside the
student's folder; hidden files and folders are ignored).

Out (``--out DIR``), written by the one writer as results arrive:

- ``DIR/<student>/<lab>.json``: the verdict (code hash, grader fingerprint,
  one result per check, score);
- ``DIR/<student>/results.json``: Gradescope's format, every graded lab of
  the student (hidden checks ``"visibility": "after_published"``);
- ``DIR/grades.csv``: one row per student, one column per lab and the total,
  rewritten at the end of every run (also an interrupted one).
"""

import csv
import io
import json
import os
from pathlib import Path

from cvlab_ch9.grader.batch.tasks import GradeTask
from cvlab_ch9.grader.batch.verdicts import VerdictStore, verdict_results, write_json
from cvlab_ch9.grader.judge import LabCode, Limits, grader_fingerprint
from cvlab_ch9.impl import LAB_NAMES


def find_lab_files(folder, suffixes=(".ipynb", ".py")):
    """``{lab: path}`` of the lab files anywhere in ``folder``; a later suffix wins (``.py`` over ``.ipynb``)."""
    found = {}
    root = Path(folder)
    for suffix in suffixes:
        for path in sorted(root.rglob(f"*{suffix}")):
            if path.stem in LAB_NAMES and not any(part.startswith(".") for part in path.relative_to(root).parts):
                found[path.stem] = path
    return found


def student_folders(submissions_dir):
    """``{student: folder}`` for every folder in ``submissions_dir`` (hidden ones skipped)."""
    root = Path(submissions_dir)
    return {d.name: d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")}


def read_code(lab, path):
    """The :class:`LabCode` of one submitted ``.py`` file (text None when it is missing or unreadable)."""
    text = None
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
    return LabCode(lab, f"{lab}.py", text)


def collect(submissions_dir, labs=None, limits=None):
    """What to grade in ``submissions_dir``.

    Args:
        labs: lab names; default every lab with checks of which some student submitted a ``.py`` file.
        limits: the judge's :class:`Limits`.

    Returns:
        ``(tasks, labs, problems)``: one :class:`GradeTask` per student and
        lab (a student without the file is graded as missing: 0 with the
        judge's message), the labs, and ``{"student/lab": reason}`` for
        submissions that cannot be graded here (a notebook only).
    """
    from cvlab_ch9.grader.core import labs_with_checks  # noqa: PLC0415

    submissions_dir = Path(submissions_dir).resolve()
    students = {name: find_lab_files(folder) for name, folder in student_folders(submissions_dir).items()}
    if labs is None:
        submitted = {lab for files in students.values() for lab, path in files.items() if path.suffix == ".py"}
        labs = [lab for lab in labs_with_checks() if lab in submitted]
    limits = limits or Limits.resolve()
    tasks, problems = [], {}
    for student, files in students.items():
        for lab in labs:
            path = files.get(lab)
            if path is not None and path.suffix == ".ipynb":
                problems[f"{student}/{lab}"] = (
                    f"{path.name} is a notebook: grade notebooks with `python -m course grade` (nbgrader) "
                    "or the Gradescope autograder, or submit the lab as a .py file")
                continue
            code = read_code(lab, path)
            tasks.append(GradeTask(student, lab, code, code.content_hash(), limits, (str(submissions_dir),)))
    return tasks, list(labs), problems


class OutputFolder:
    """The batch's output folder, written only by the process that collects the results."""

    def __init__(self, out_dir, labs, replace=False):
        self.root = Path(out_dir)
        self.labs = list(labs)
        self.store = VerdictStore(lambda lab, student: self.root / student / f"{lab}.json", replace)

    def record(self, outcome):
        """Record one outcome (idempotent); then rewrite that student's results.json."""
        written = self.store.record(outcome)
        if written:
            self.write_student_results(outcome.student)
        return written

    def pending(self, tasks):
        """The tasks whose verdict is not recorded yet with the same code and grader."""
        fingerprints = {lab: grader_fingerprint(lab) for lab in {t.lab for t in tasks}}
        return [t for t in tasks if not self.store.is_current(t.lab, t.student, t.code_hash, fingerprints[t.lab])]

    def students(self):
        return sorted(d.name for d in self.root.iterdir() if d.is_dir()) if self.root.is_dir() else []

    def write_student_results(self, student):
        from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415
        from cvlab_ch9.grader.report import to_gradescope  # noqa: PLC0415

        results, graded = [], []
        for lab in LAB_NAMES:
            document = self.store.read(lab, student)
            if document is not None:
                results.extend(verdict_results(document))
                graded.append(f"{lab}.py")
        hidden = {c.id for c in all_checks() if c.hidden}
        document = json.loads(to_gradescope(results, hidden=hidden, hidden_visibility="after_published"))
        document["output"] = f"Graded {', '.join(graded)}."
        write_json(self.root / student / "results.json", document)

    def totals_csv(self):
        """The CSV text of every recorded student's score per lab (blank: not graded) and total."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["student", *self.labs, "total", "max_total"])
        for student in self.students():
            documents = [self.store.read(lab, student) for lab in self.labs]
            if not any(documents):
                continue
            scores = ["" if d is None else f"{d['score']:g}" for d in documents]
            total = sum(d["score"] for d in documents if d)
            maximum = sum(d["max_score"] for d in documents if d)
            writer.writerow([student, *scores, f"{total:g}", f"{maximum:g}"])
        return buffer.getvalue()

    def write_totals(self):
        path = self.root / "grades.csv"
        self.root.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        partial.write_text(self.totals_csv(), encoding="utf-8")
        os.replace(partial, path)
        return path

"""A folder of submissions in, a folder of grades out.

In: ``SUBMISSIONS_DIR/<student>/<lab>.py``, one folder per student, as a
Gradescope or LMS export gives them (the lab files may sit deeper inside the
student's folder; hidden files and folders are ignored). A folder whose name
is not a usable id (:mod:`cvlab_ch9.grader.batch.ids`) or that is a link is
refused with a sentence; a lab file that is a link is not read
(:mod:`cvlab_ch9.grader.batch.files`): that lab scores 0 with a sentence.

Out (``--out DIR``), written by the one writer as results arrive:

- ``DIR/<student>/<lab>.json``: the verdict (code hash, grader fingerprint,
  one result per check, score), sealed in ``DIR/.cvlab/`` (:mod:`cvlab_ch9.grader.batch.ledger`);
- ``DIR/<student>/results.json``: Gradescope's format, every graded lab of
  the student (hidden checks ``"visibility": "after_published"``), with the
  workers' confinement in ``extra_data.isolation`` and, where a lab was graded
  without it, the sentence in ``output``
  (:func:`~cvlab_ch9.grader.batch.confinement.report_isolation`);
- ``DIR/grades.csv``: one row per student, one column per lab and the total.

``results.json`` and ``grades.csv`` are rewritten from the sealed verdicts at
the end of every run (also an interrupted one), never read back: whatever
changed them since is replaced.
"""

import csv
import io
import json
from pathlib import Path

from cvlab_ch9.grader.batch.confinement import report_isolation
from cvlab_ch9.grader.batch.files import Refused, is_real_folder, read_inside, walk_files
from cvlab_ch9.grader.batch.ids import id_problem, is_hidden
from cvlab_ch9.grader.batch.ledger import Ledger
from cvlab_ch9.grader.batch.tasks import GradeTask
from cvlab_ch9.grader.batch.verdicts import VerdictStore, verdict_results, write_bytes, write_json
from cvlab_ch9.grader.budget import Limits
from cvlab_ch9.grader.judge import LabCode, grader_fingerprint
from cvlab_ch9.impl import LAB_NAMES


def find_lab_files(folder, suffixes=(".ipynb", ".py")):
    """``{lab: path}`` of the lab files anywhere in ``folder``; a later suffix wins (``.py`` over ``.ipynb``).

    Linked folders are not entered; a lab file that is itself a link is listed (reading it is refused).
    """
    found = {}
    root = Path(folder)
    files = walk_files(root)
    for suffix in suffixes:
        for relative in files:
            if relative.suffix == suffix and relative.stem in LAB_NAMES:
                found[relative.stem] = root / relative
    return found


def student_folders(submissions_dir):
    """``({student: folder}, {name: why it is refused})`` for the folders in ``submissions_dir`` (hidden ones skipped).

    Refused: a name that is not a usable id, a link (graded, it would be someone else's folder).
    """
    folders, refused = {}, {}
    for entry in sorted(Path(submissions_dir).iterdir()):
        shown = entry.name if id_problem(entry.name) is None else repr(entry.name)  # no newline reaches a log line
        if is_hidden(entry.name):
            continue
        if entry.is_symlink():
            if entry.is_dir():
                refused[shown] = "the student folder is a link, which the grader does not follow: copy the folder itself"
            continue
        if not entry.is_dir():
            continue
        problem = id_problem(entry.name)
        if problem is None:
            folders[entry.name] = entry
        else:
            refused[shown] = problem
    return folders, refused


def read_code(lab, path, root=None):
    """The :class:`LabCode` of one submitted ``.py`` file inside the folder ``root`` (default: the file's folder).

    Text None when the file is missing or not UTF-8; a link (or another file the grader does not read) is a
    refusal: every check of the lab scores 0 with its sentence.
    """
    display = f"{lab}.py"
    if path is None:
        return LabCode(lab, display)
    try:
        data = read_inside(root if root is not None else Path(path).parent, path)
    except Refused as exc:
        return LabCode(lab, display, refusal=str(exc))
    except OSError:
        return LabCode(lab, display)
    try:
        return LabCode(lab, display, data.decode("utf-8"))
    except UnicodeDecodeError:
        return LabCode(lab, display, refusal=f"{display} is not UTF-8 text: save it as UTF-8 and submit it again.")


def collect(submissions_dir, labs=None, limits=None, deny=()):
    """What to grade in ``submissions_dir``.

    Args:
        labs: lab names; default every lab with checks of which some student submitted a ``.py`` file.
        limits: the judge's :class:`Limits`.
        deny: more folders no sandbox may read (the output folder).

    Returns:
        ``(tasks, labs, problems)``: one :class:`GradeTask` per student and
        lab (a student without the file is graded as missing: 0 with the
        judge's message), the labs, and ``{"student/lab" or folder name: reason}``
        for what cannot be graded here (a notebook only, a refused folder).
    """
    from cvlab_ch9.grader.core import labs_with_checks  # noqa: PLC0415

    submissions_dir = Path(submissions_dir).resolve()
    folders, problems = student_folders(submissions_dir)
    students = {name: find_lab_files(folder) for name, folder in folders.items()}
    if labs is None:
        submitted = {lab for files in students.values() for lab, path in files.items() if path.suffix == ".py"}
        labs = [lab for lab in labs_with_checks() if lab in submitted]
    limits = limits or Limits.resolve()
    deny = (str(submissions_dir), *map(str, deny))
    tasks = []
    for student, files in students.items():
        for lab in labs:
            path = files.get(lab)
            if path is not None and path.suffix == ".ipynb":
                problems[f"{student}/{lab}"] = (
                    f"{path.name} is a notebook: grade notebooks with `python -m course grade` (nbgrader) "
                    "or the Gradescope autograder, or submit the lab as a .py file")
                continue
            code = read_code(lab, path, folders[student])
            tasks.append(GradeTask(student, lab, code, code.content_hash(), limits, deny))
    return tasks, list(labs), problems


class OutputFolder:
    """The batch's output folder, written only by the process that collects the results."""

    def __init__(self, out_dir, labs, replace=False):
        self.root = Path(out_dir)
        self.labs = list(labs)
        self.store = VerdictStore(lambda lab, student: self.root / student / f"{lab}.json", Ledger(self.root), replace)

    def record(self, outcome):
        """Record one outcome (idempotent); then rewrite that student's results.json."""
        written = self.store.record(outcome)
        if written:
            self.write_student_results(outcome.student)
        return written

    def pending(self, tasks):
        """The tasks whose verdict is not recorded yet with the same code and grader (or changed on disk since,
        or, for a task with ``--require-isolation``, graded without kernel confinement)."""
        fingerprints = {lab: grader_fingerprint(lab) for lab in {t.lab for t in tasks}}
        return [t for t in tasks if not self.store.is_current(t.lab, t.student, t.code_hash, fingerprints[t.lab],
                                                              protected=t.limits.require_isolation)]

    def students(self):
        """The student folders of the output (names that are valid ids, real folders)."""
        if not self.root.is_dir():
            return []
        return sorted(d.name for d in self.root.iterdir() if id_problem(d.name) is None and is_real_folder(d))

    def write_student_results(self, student):
        from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415
        from cvlab_ch9.grader.report import to_gradescope  # noqa: PLC0415

        results, graded, isolations = [], [], {}
        for lab in LAB_NAMES:
            document = self.store.read(lab, student)
            if document is not None:
                results.extend(verdict_results(document))
                graded.append(f"{lab}.py")
                isolations[lab] = document.get("isolation")
        hidden = {c.id for c in all_checks() if c.hidden}
        document = json.loads(to_gradescope(results, hidden=hidden, hidden_visibility="after_published"))
        document["output"] = f"Graded {', '.join(graded) or 'nothing'}."
        report_isolation(document, isolations)
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

    def write_reports(self):
        """Rewrite every student's results.json and grades.csv from the sealed verdicts; returns the CSV's path."""
        for student in self.students():
            self.write_student_results(student)
        path = self.root / "grades.csv"
        self.root.mkdir(parents=True, exist_ok=True)
        write_bytes(path, self.totals_csv().encode("utf-8"))
        return path

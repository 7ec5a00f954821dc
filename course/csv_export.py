"""nbgrader's ``export`` with the csv module: every field quoted as CSV requires.

nbgrader's own CsvExportPlugin joins the fields with commas as they are, so
a comma or a newline in any of them (a student id, a name) shifts or splits
a row. This plugin writes the same columns with :mod:`csv` (fields holding a
comma, quote or newline are quoted), atomically, and is what
``python -m course grade`` exports with (``--ExportApp.plugin_class``).
"""

import csv
import os
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin

COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
           "late_submission_penalty", "score", "max_score")


def _text(value):
    return "" if value is None else str(value)


class CsvExport(ExportPlugin):
    """nbgrader's CSV columns, one row per assignment and student (0 for no submission), quoted by :mod:`csv`."""

    def rows(self, gradebook):
        students, assignments = set(map(str, self.student)), set(map(str, self.assignment))
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gradebook.students:
                if students and student.id not in students:
                    continue
                row = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                       "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                       "max_score": assignment.max_score}
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
                else:
                    penalty = submission.late_submission_penalty
                    row.update(timestamp=submission.timestamp, raw_score=submission.score, late_submission_penalty=penalty,
                               score=max(0.0, submission.score - penalty))
                yield [_text(row[column]) for column in COLUMNS]

    def export(self, gradebook):
        destination = Path(self.to or "grades.csv")
        self.log.info("Exporting grades to %s", destination)
        partial = destination.with_name(destination.name + ".part")
        with open(partial, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(self.rows(gradebook))
        os.replace(partial, destination)

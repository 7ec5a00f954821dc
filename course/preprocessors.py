"""nbgrader preprocessors used by the course (see ``nbgrader_config.py`` and ``course.pipeline``)."""

from nbformat.v4 import new_output
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Unicode

HIDDEN_NOTE = "Hidden check: its code and output are not shown.\n"


class HideHiddenTests(ClearHiddenTests):
    """Feedback preprocessor: remove hidden test code *and* its outputs.

    nbgrader restores hidden tests before autograding, so the autograded
    notebook (the input of ``generate_feedback``) holds them again, and a
    failing hidden check's traceback would repeat its code and hint. Every
    grade cell with a hidden region keeps only its visible lines and a
    one-line note as output; its score still counts.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        had_hidden = self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_hidden and cell.cell_type == "code":
            cell.outputs = [new_output("stream", name="stdout", text=HIDDEN_NOTE)]
        return cell, resources


class JudgeOutputs(NbGraderPreprocessor):
    """Autograde preprocessor: each test cell's output is the judge's verdict on that check.

    The submitted notebook is not executed. For every test cell, this writes
    what the judge found (``course.judging``): a "PASS" line, or an error
    output whose message is the check's hint. nbgrader's SaveAutoGrades then
    scores the cell from that output (full points, or 0 for an error), so the
    gradebook holds the judge's scores and the feedback shows its hints.
    """

    course_dir = Unicode("", help="the course folder: its verdicts/<lab>/<student>.json and their seals").tag(config=True)

    def preprocess(self, nb, resources):
        from course.judging import cell_outcomes, verdict_store  # noqa: PLC0415

        lab, student = resources["nbgrader"]["assignment"], resources["nbgrader"]["student"]
        document = verdict_store(self.course_dir).read(lab, student)  # only a verdict as the judge's writer wrote it
        if document is None:
            raise ValueError(f"the judge has no verdict for {student}/{lab} (or it changed since it was written); "
                             "run `python -m course grade` again")
        self._outcomes = cell_outcomes(lab, document)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in self._outcomes:
            passed, text = self._outcomes[grade_id]
            if passed:
                cell.outputs = [new_output("stream", name="stdout", text=text + "\n")]
            else:
                cell.outputs = [new_output("error", ename="CheckFailed", evalue=text, traceback=[f"CheckFailed: {text}"])]
        return cell, resources

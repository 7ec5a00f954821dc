"""nbgrader preprocessors used by the course (see ``nbgrader_config.py``)."""

from nbformat.v4 import new_output
from nbgrader.preprocessors import ClearHiddenTests

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

"""nbgrader configuration of the cvlab course (chapter 9 labs): the template of every course folder.

`python -m course release` copies this file into the course folder (the
instructor's data, `--course DIR`, see course/folder.py) when it has none;
nbgrader reads it from there, its working directory. The repository root
(for `course.preprocessors`) is $CVLAB_ROOT, which `python -m course` sets,
else the folder above the course folder.
"""

import os
import sys

c = get_config()  # noqa: F821 - provided by traitlets when it runs this file

_repo_root = os.environ.get("CVLAB_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _repo_root not in sys.path:
    sys.path.insert(0, _repo_root)

c.CourseDirectory.course_id = "cvlab-ch9"

# Seconds a cell may run before nbgrader interrupts it (it then scores 0 and
# the rest of the notebook goes on): the grader's per-check limit, and more
# for the setup cell, which imports TensorFlow (slow on a busy machine).
CELL_TIMEOUT_S = 120
SETUP_TIMEOUT_S = 300


def cell_timeout(cell):
    """Timeout in seconds for one cell (nbclient's ``timeout_func``)."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return SETUP_TIMEOUT_S if grade_id == "setup" else CELL_TIMEOUT_S


c.Execute.timeout = CELL_TIMEOUT_S
c.Execute.timeout_func = cell_timeout
c.Execute.interrupt_on_timeout = True

# A student who deletes a test cell gets it back (and graded) at autograde time.
c.OverwriteCells.add_missing_cells = True

# Feedback never shows hidden checks: neither their code nor their output.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "course.preprocessors.HideHiddenTests",
]

"""Helpers for the nbgrader course tests: temporary courses and submissions."""

import shutil
from pathlib import Path

import nbformat

from course.notebooks import grade_id
from course.pipeline import CONFIG_NAME, COURSE_DIR

#: Per-cell timeout (s) of the test courses: small, so an endless loop costs little.
TEST_CELL_TIMEOUT_S = 15


def make_course(root, cell_timeout_s=TEST_CELL_TIMEOUT_S):
    """A new course folder in ``root``: the real nbgrader_config.py plus a short cell timeout."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    config = (COURSE_DIR / CONFIG_NAME).read_text()
    config += f"\n# test override\nCELL_TIMEOUT_S = {cell_timeout_s}\nc.Execute.timeout = CELL_TIMEOUT_S\n"
    (root / CONFIG_NAME).write_text(config)
    return root


def read_notebook(path):
    return nbformat.read(str(path), as_version=4)


def cells_by_id(notebook):
    """{grade_id: cell} of the cells with nbgrader metadata."""
    return {grade_id(c): c for c in notebook.cells if grade_id(c)}


def submission(release_notebook, replacements):
    """A copy of the release notebook with some answer cells replaced.

    Args:
        release_notebook: the released NotebookNode (not modified).
        replacements: {grade_id: new source}.
    """
    notebook = nbformat.from_dict(release_notebook)
    unknown = set(replacements) - set(cells_by_id(notebook))
    if unknown:
        raise KeyError(f"no cells {sorted(unknown)} in the release notebook")
    for cell in notebook.cells:
        if grade_id(cell) in replacements:
            cell.source = replacements[grade_id(cell)]
    return notebook


def substitute(text, old, new):
    """``text.replace(old, new)``, failing loudly when ``old`` is absent."""
    if old not in text:
        raise ValueError(f"{old!r} not found; the solution changed, update the test submission")
    return text.replace(old, new)


def write_submission(course_dir, student, lab, notebook):
    folder = Path(course_dir) / "submitted" / student / lab
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(folder / f"{lab}.ipynb"))
    (folder / "timestamp.txt").write_text("2026-11-25 12:00:00.000000 UTC")


def cell_scores(course_dir, lab, student):
    """{grade_id: score} of one graded submission, from the gradebook."""
    from nbgrader.api import Gradebook  # noqa: PLC0415

    with Gradebook(f"sqlite:///{Path(course_dir) / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(lab, lab, student)
        return {g.name: float(g.score) for g in notebook.grades}


def copy_course(source, target):
    """Copy a released course (config, source, release, gradebook, submissions)."""
    shutil.copytree(source, target)
    return Path(target)

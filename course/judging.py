"""Judge nbgrader submissions: the score comes from the judge, never from the student's kernel.

A submitted notebook is not executed by nbgrader. Its code is taken apart
here (read as text, never run in this process): the student's answer cells
and the code cells they added, in notebook order, with the read-only cells
(imports, constants) taken from the *source* notebook, so an edited locked
cell changes nothing. The judge (:mod:`cvlab_ch9.grader.judge`) runs that code in a
sandbox and scores every check against the live reference; the verdict is
written to ``verdicts/<lab>/<student>.json`` and recorded into the
gradebook by nbgrader itself (:class:`course.preprocessors.JudgeOutputs`
writes each test cell's output from the verdict; nbgrader's SaveAutoGrades
scores the cell from that output). The in-notebook test cells remain
feedback for the student while they work.
"""

import re
from pathlib import Path

from cvlab_ch9.grader.batch.ledger import Ledger
from cvlab_ch9.grader.batch.verdicts import VerdictStore
from cvlab_ch9.grader.core import CheckResult, all_checks
from cvlab_ch9.grader.judge import LabCode

#: What the setup cell gives every answer cell (it also imports TensorFlow as ``tf``).
PRELUDE = "import numpy as np\nimport tensorflow as tf\nimport keras\nfrom keras import layers\n"
_MAGIC = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _without_magics(source):
    """IPython magics and shell escapes (``%matplotlib``, ``!pip``) become ``pass`` (line numbers kept)."""
    return _MAGIC.sub(lambda m: f"{m.group(1)}pass", source)


def source_cells(source_notebook):
    """``{grade_id: cell}`` of the source notebook's code cells that carry nbgrader metadata."""
    return {_nbgrader(c)["grade_id"]: c for c in source_notebook.cells
            if c.cell_type == "code" and _nbgrader(c).get("grade_id")}


def notebook_code(submitted_path, source_path, lab, root=None):
    """The code of a submitted notebook to judge, as a :class:`cvlab_ch9.grader.judge.LabCode` of cells.

    Kept, in the submitted order: the student's answer cells, code cells the
    student added (also cells whose nbgrader metadata names no cell of the
    source: the student's code all the same), and the read-only given cells
    as the *source* has them. Dropped: the setup cell, test cells, any other
    locked cell and markdown. A given cell the student deleted is still
    included (from the source).

    Args:
        root: the folder the submission must lie in; no link below it is followed
            (default: the notebook's own folder).

    Raises:
        cvlab_ch9.grader.batch.files.Refused: the notebook is a link (or not a regular file).
        ValueError and others of nbformat: not a notebook.
    """
    import nbformat  # noqa: PLC0415

    from cvlab_ch9.grader.batch.files import read_inside  # noqa: PLC0415

    source = nbformat.read(str(source_path), as_version=4)
    data = read_inside(root if root is not None else Path(submitted_path).parent, submitted_path)
    submitted = nbformat.reads(data.decode("utf-8"), as_version=4)
    given = source_cells(source)
    cells, seen = [{"name": "prelude", "source": PRELUDE}], set()
    for cell in submitted.cells:
        if cell.cell_type != "code":
            continue
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        trusted = given.get(grade_id)
        if trusted is None:  # a cell the student added (or whose metadata they made up): their code
            cells.append({"name": f"added cell {len(cells)}", "source": _without_magics(cell.source)})
            continue
        seen.add(grade_id)
        trusted_meta = _nbgrader(trusted)
        if trusted_meta.get("solution"):
            cells.append({"name": grade_id, "source": _without_magics(cell.source)})
        elif trusted_meta.get("locked") and not trusted_meta.get("grade") and grade_id.startswith("given_"):
            cells.append({"name": grade_id, "source": trusted.source})
    missing = [gid for gid in given if gid.startswith("given_") and gid not in seen]
    cells[1:1] = [{"name": gid, "source": given[gid].source} for gid in missing]
    return LabCode(lab, f"{Path(submitted_path).name}", cells=tuple(cells))


def verdict_path(course_dir, lab, student):
    return Path(course_dir) / "verdicts" / lab / f"{student}.json"


def verdict_store(course_dir, replace=False):
    """The course's single writer of verdicts (``verdicts/<lab>/<student>.json``, sealed in ``.cvlab/``); see :class:`VerdictStore`."""
    return VerdictStore(lambda lab, student: verdict_path(course_dir, lab, student), Ledger(course_dir), replace)


def cell_outcomes(lab, document):
    """``{test cell grade_id: (passed, text)}`` for a verdict: what each test cell shows in feedback."""
    from course.notebooks import check_cell_ids  # noqa: PLC0415 - course.notebooks reads the checks
    from cvlab_ch9.grader.nb import notebook_message  # noqa: PLC0415

    checks = all_checks(lab=lab)
    by_check = {r["id"]: r for r in document["results"]}
    outcomes = {}
    for chk, grade_id in zip(checks, check_cell_ids(checks)):
        result = by_check.get(chk.id)
        if result is None:
            outcomes[grade_id] = (False, "[error] This check was not graded; ask your instructor.")
        elif result["status"] == "passed":
            outcomes[grade_id] = (True, f"PASS  {result['score']:g}/{result['max_score']:g}  {result['title']}")
        else:
            message = notebook_message(CheckResult(**result))
            outcomes[grade_id] = (False, f"[{result['status']}] {message}")
    return outcomes

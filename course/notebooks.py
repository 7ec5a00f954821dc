"""Generate the nbgrader source notebooks in ``course/source/`` from ``solutions/``.

``solutions/<lab>.py`` stays the single hand-written source. Each lab that
has grader checks gets ``course/source/<lab>/<lab>.ipynb`` with:

- a title cell and a short introduction per exercise (``course/narrative/<lab>.md``,
  falling back to the function's docstring);
- an ungraded, read-only setup cell that imports the installed ``cvlab_ch9``
  (or finds the checkout) and imports TensorFlow silently;
- the module-level code of the solution (imports, constants, helpers) in
  read-only cells;
- one autograded-answer cell per exercise function (its ``### BEGIN SOLUTION``
  block is already nbgrader syntax);
- one locked autograder test cell per grader check, worth the check's points,
  calling :func:`cvlab_ch9.grader.nb.check`. Hidden checks sit inside
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``. A failing check
  raises (nbgrader scores a cell by its outputs: an error is 0 points), and
  each test cell carries Jupyter's ``raises-exception`` tag, so Run All in
  JupyterLab or Notebook 7 reports it and goes on to the next cells, the
  lab UI at the end included;
- last, an ungraded, read-only cell (grade_id ``show_lab``) that opens the
  lab UI on the notebook's functions (:func:`cvlab_ch9.ui.notebook.show_lab`; it starts
  nothing when nbgrader or any non-interactive run executes the notebook, and
  the judge leaves it out like the setup cell: it is locked and not a
  ``given_`` cell).

Usage::

    python -m course.notebooks          # rewrite course/source/ from solutions/
    python -m course.notebooks --check  # exit 1 when course/source/ has drifted
"""

import ast
import dataclasses
import re
import sys
from pathlib import Path

from cvlab_ch9.generate import BEGIN_MARKER, drift_cli, solution_files
from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR

COURSE_DIR = Path(__file__).resolve().parent
SOURCE_DIR = COURSE_DIR / "source"
NARRATIVE_DIR = COURSE_DIR / "narrative"

#: Environment variable naming the repository root for notebooks opened elsewhere.
ROOT_ENV = "CVLAB_ROOT"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

SETUP_SOURCE = '''\
# Setup (not graded): run this cell first.
# It imports the lab's package, cvlab_ch9 -- installed with pip (the kit, a hub
# image), or else the instructor's cvlab checkout above this notebook or named
# by CVLAB_ROOT -- and TensorFlow without its log noise.
import importlib.util
import os
import sys
from pathlib import Path


def _cvlab_checkout():
    """The checkout's root (a Path): $CVLAB_ROOT, else the nearest folder above this notebook with grader/ and cvlab_ch9/."""
    configured = os.environ.get("CVLAB_ROOT")
    candidates = [Path(configured).expanduser()] if configured else [Path.cwd(), *Path.cwd().parents]
    for folder in candidates:
        if (folder / "grader" / "nb.py").is_file() and (folder / "cvlab_ch9" / "quiet.py").is_file():
            return folder.resolve()
    if configured:
        raise RuntimeError(f"CVLAB_ROOT={configured} is not a cvlab checkout (a folder holding grader/ and cvlab_ch9/); "
                           "correct it, or unset it to use the installed package.")
    raise RuntimeError(
        "The lab's package cvlab_ch9 is not installed in this notebook's Python: install it as your kit's "
        "README says (`pip install` of the kit's .whl file) and restart the kernel."
    )


if os.environ.get("CVLAB_ROOT") or importlib.util.find_spec("cvlab_ch9") is None:
    if str(_cvlab_checkout()) not in sys.path:
        sys.path.insert(0, str(_cvlab_checkout()))

from cvlab_ch9.quiet import import_tensorflow

tf = import_tensorflow()
'''

CHECK_SOURCE = '''\
# Check ({points}): {title}
from cvlab_ch9.grader.nb import check

check("{check_id}", globals())'''

HIDDEN_CHECK_SOURCE = '''\
# Hidden check ({points}): it runs only when your notebook is graded.
### BEGIN HIDDEN TESTS
from cvlab_ch9.grader.nb import check

check("{check_id}", globals())
### END HIDDEN TESTS'''


#: grade_id (and cell id) of the last cell, which opens the lab UI.
SHOW_LAB_ID = "show_lab"

SHOW_LAB_INTRO = """\
## Check your work visually

The next cell (not graded) opens the lab UI below it, on **this notebook's functions**: the same app as
`python -m ui`, with the reference result beside yours. Every click uses your functions as they are at that
moment: edit an answer cell, run it, click again. A function whose answer cell has not run yet (after a kernel
restart, for example) gets a sentence saying so, and the rest of the UI works. The Grade tab runs this lab's
visible checks. When the notebook is graded, or run outside Jupyter, the cell starts nothing and prints one line."""

SHOW_LAB_SOURCE = '''\
# Not graded: the lab UI on this notebook's functions.
from cvlab_ch9.ui.notebook import show_lab

show_lab(globals(), lab="{lab}")'''


class NotebookSourceError(ValueError):
    """The solution, narrative and checks of a lab do not fit together."""


@dataclasses.dataclass(frozen=True)
class Segment:
    """A run of top-level code of a solution module.

    Attributes:
        text: the source lines, without surrounding blank lines.
        exercise: the function name when the segment is one exercise
            function (it holds a solution block), else None.
    """

    text: str
    exercise: str | None = None


def split_module(source, filename="<solution>"):
    """Split a solution module into its docstring and code segments.

    Every top-level function holding ``### BEGIN SOLUTION`` becomes its own
    segment (comments and decorators right above it included); consecutive
    other statements are merged into one segment.

    Returns:
        (docstring or "", list[Segment]) in source order.
    """
    tree = ast.parse(source, filename=filename)
    lines = source.splitlines()
    docstring = ast.get_docstring(tree) or ""
    body = tree.body
    start = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        start = body[0].end_lineno
        body = body[1:]
    groups = []  # [exercise or None, first line index, end line index (exclusive)]
    for node in body:
        end = _statement_end(lines, node.end_lineno)
        name = node.name if isinstance(node, ast.FunctionDef) else None
        is_exercise = name is not None and any(line.strip() == BEGIN_MARKER for line in lines[start:end])
        exercise = name if is_exercise else None
        if groups and exercise is None and groups[-1][0] is None:
            groups[-1][2] = end
        else:
            groups.append([exercise, start, end])
        start = end
    segments = [Segment("\n".join(lines[a:b]).strip("\n"), exercise=ex) for ex, a, b in groups]
    return docstring, segments


def _statement_end(lines, end_lineno):
    """Index after a top-level statement, including indented lines (comments) that follow it."""
    end = end_lineno
    while end < len(lines) and (not lines[end].strip() or lines[end][:1].isspace()):
        end += 1
    while end > end_lineno and not lines[end - 1].strip():
        end -= 1
    return end


def parse_narrative(text):
    """Split a narrative file into (intro markdown, {exercise: markdown}).

    The intro is everything before the first ``## name`` heading; each
    ``## name`` section introduces the exercise function ``name``.
    """
    parts = re.split(r"^## +(\w+) *$", text, flags=re.MULTILINE)
    intro, sections = parts[0].strip(), {}
    for name, body in zip(parts[1::2], parts[2::2]):
        sections[name] = body.strip()
    return intro, sections


def _first_paragraph(docstring):
    return docstring.strip().split("\n\n")[0].strip() if docstring else ""


def _function_docstring(segment):
    node = ast.parse(segment.text).body[-1]
    return ast.get_docstring(node) or ""


def _points(value):
    return f"{value:g} point" + ("" if value == 1 else "s")


def check_cell_ids(checks):
    """grade_id for each check's test cell, in order.

    Visible checks: ``check_<exercise>_<name>``; hidden checks
    ``check_<exercise>_hidden<k>`` so the id tells students nothing.
    """
    ids = []
    hidden_counts = {}
    for chk in checks:
        if chk.hidden:
            hidden_counts[chk.exercise] = hidden_counts.get(chk.exercise, 0) + 1
            ids.append(f"check_{chk.exercise}_hidden{hidden_counts[chk.exercise]}")
        else:
            ids.append(f"check_{chk.exercise}_{chk.id.split('.')[-1]}")
    return ids


def grade_id(cell):
    """The nbgrader ``grade_id`` of a notebook cell, or None."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def answer_sources(source_notebook):
    """{grade_id: source} of the answer (solution) cells of a source notebook."""
    return {
        grade_id(c): c.source
        for c in source_notebook.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def _nbgrader_meta(grade_id, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _markdown(cell_id, text):
    from nbformat import v4  # noqa: PLC0415 - nbformat only needed when generating

    cell = v4.new_markdown_cell(text)
    cell.id = cell_id
    return cell


def _code(cell_id, text, metadata):
    from nbformat import v4  # noqa: PLC0415

    cell = v4.new_code_cell(text, metadata=metadata)
    cell.id = cell_id
    return cell


def _read_only(cell_id, text):
    return _code(cell_id, text, {"deletable": False, "editable": False, **_nbgrader_meta(cell_id, locked=True)})


#: Jupyter's cell tag for a cell expected to raise: JupyterLab and Notebook 7 send it with ``stop_on_error=False``,
#: so Run All goes on past a failing check (nbgrader still scores the cell by its error output: 0 points).
RAISES_TAG = "raises-exception"


def _test_cell(grade_id, chk):
    template = HIDDEN_CHECK_SOURCE if chk.hidden else CHECK_SOURCE
    text = template.format(points=_points(chk.points), title=chk.title, check_id=chk.id)
    meta = _nbgrader_meta(grade_id, grade=True, locked=True, points=chk.points)
    return _code(grade_id, text, {"deletable": False, "editable": False, "tags": [RAISES_TAG], **meta})


def build_notebook(lab, solutions_dir=SOLUTIONS_DIR, narrative_dir=NARRATIVE_DIR, checks=None):
    """The nbgrader source notebook for ``lab`` (an nbformat NotebookNode).

    Args:
        lab: lab name, e.g. ``"segmentation"``.
        solutions_dir: folder with ``<lab>.py``.
        narrative_dir: folder with ``<lab>.md`` (optional file).
        checks: the lab's checks; default ``cvlab_ch9.grader.core.all_checks(lab)``.

    Raises:
        NotebookSourceError: a check or narrative section names a function
            that is not an exercise of the solution module.
    """
    from nbformat import v4  # noqa: PLC0415

    if checks is None:
        from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415

        checks = all_checks(lab=lab)
    path = Path(solutions_dir) / f"{lab}.py"
    docstring, segments = split_module(path.read_text(encoding="utf-8"), filename=str(path))
    narrative_path = Path(narrative_dir) / f"{lab}.md"
    intro, sections = parse_narrative(narrative_path.read_text(encoding="utf-8")) if narrative_path.is_file() else ("", {})
    exercises = [s.exercise for s in segments if s.exercise]
    unknown = sorted({c.exercise for c in checks} - set(exercises)) + sorted(set(sections) - set(exercises))
    if unknown:
        raise NotebookSourceError(
            f"{', '.join(unknown)} named by the checks or {narrative_path.name} "
            f"but not an exercise (a function with {BEGIN_MARKER}) in {path.name}."
        )
    cell_ids = dict(zip((c.id for c in checks), check_cell_ids(checks)))

    cells = [_markdown("intro", intro or f"# {lab}\n\n{docstring}"), _read_only("setup", SETUP_SOURCE.rstrip("\n"))]
    number = 0
    for index, segment in enumerate(segments):
        if segment.exercise is None:
            cells.append(_read_only(f"given_{index}", segment.text))
            continue
        number += 1
        name = segment.exercise
        about = sections.get(name) or _first_paragraph(_function_docstring(segment))
        cells.append(_markdown(f"about_{name}", f"## Exercise {number}: `{name}()`\n\n{about}"))
        answer_meta = _nbgrader_meta(f"answer_{name}", solution=True)
        cells.append(_code(f"answer_{name}", segment.text, answer_meta))
        for chk in (c for c in checks if c.exercise == name):
            cells.append(_test_cell(cell_ids[chk.id], chk))
    cells += [_markdown(f"about_{SHOW_LAB_ID}", SHOW_LAB_INTRO), _read_only(SHOW_LAB_ID, SHOW_LAB_SOURCE.format(lab=lab))]
    nb = v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return nb


def notebook_text(lab, solutions_dir=SOLUTIONS_DIR, narrative_dir=NARRATIVE_DIR):
    """The source notebook of ``lab`` serialized as nbformat v4 JSON text."""
    import nbformat  # noqa: PLC0415

    return nbformat.writes(build_notebook(lab, solutions_dir, narrative_dir)) + "\n"


def notebook_labs(solutions_dir=SOLUTIONS_DIR):
    """Labs with a solution module and at least one grader check, in lab order."""
    from cvlab_ch9.grader.core import labs_with_checks  # noqa: PLC0415

    present = {p.stem for p in solution_files(solutions_dir)}
    return [lab for lab in labs_with_checks() if lab in present]


def notebook_path(lab, source_dir=SOURCE_DIR):
    """``<source_dir>/<lab>/<lab>.ipynb``."""
    return Path(source_dir) / lab / f"{lab}.ipynb"


def drifted_notebooks(source_dir=SOURCE_DIR, solutions_dir=SOLUTIONS_DIR, narrative_dir=NARRATIVE_DIR):
    """Labs whose source notebook is missing or differs from a fresh generation."""
    drifted = []
    for lab in notebook_labs(solutions_dir):
        target = notebook_path(lab, source_dir)
        if not target.is_file() or target.read_text(encoding="utf-8") != notebook_text(lab, solutions_dir, narrative_dir):
            drifted.append(lab)
    return drifted


def write_notebooks(source_dir=SOURCE_DIR, solutions_dir=SOLUTIONS_DIR, narrative_dir=NARRATIVE_DIR):
    """Write every lab's source notebook into ``source_dir``; return the labs rewritten."""
    written = []
    for lab in notebook_labs(solutions_dir):
        target = notebook_path(lab, source_dir)
        text = notebook_text(lab, solutions_dir, narrative_dir)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(lab)
    return written


def main(argv=None):
    return drift_cli(
        argv,
        "python -m course.notebooks",
        __doc__.splitlines()[0],
        drifted_notebooks,
        lambda: [str(notebook_path(lab).relative_to(REPO_ROOT)) for lab in write_notebooks()],
        "course/source/ matches solutions/, the checks and course/narrative/.",
        lambda names: "course/source/ is out of date for: " + ", ".join(names)
        + ". Run `python -m course.notebooks` (solutions, checks or narrative changed).",
    )


if __name__ == "__main__":
    sys.exit(main())

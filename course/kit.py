"""``python -m course kit``: the folder (and zip) an instructor hands to students.

The kit holds what students need and nothing that gives answers away:

- ``labs/`` skeletons (generated from ``solutions/``),
- ``grader/`` with the visible checks and the recorded expectations (no
  ``grader/hidden/``): students check their work without any answer key,
- ``ui/`` with the reference column recorded for the example images
  (``ui/reference_gallery.npz``, :mod:`cvlab_ch9.ui.gallery`), ``cvlab_ch9/`` (data generator, image and model plumbing; not the
  instructor-only fast paths), the demo models in ``models/``,
- the released notebooks (``notebooks/<lab>.ipynb``, nbgrader's release:
  no solutions, no hidden tests),
- the setup scripts and a short student README.

It never contains ``solutions/``, hidden checks or instructor tooling
(``course/``, ``grader/batch/``, ``bench/``, ``tests/``, ``tools/``). Before writing the zip, the
build verifies that no file in the kit contains the body of any reference
function (:func:`leaked_bodies`) and that the recordings match ``solutions/``.
"""

import ast
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tokenize
from pathlib import Path

from cvlab_ch9.generate import BEGIN_MARKER, END_MARKER, skeleton_for, solution_files
from cvlab_ch9.impl import LAB_NAMES
from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR

DEFAULT_OUT = REPO_ROOT / "dist" / "cvlab-kit"
#: Top-level files copied as they are (those that exist).
TOP_FILES = ("pyproject.toml", "environment.yml", "run.sh", "run.ps1", "LICENSE")
#: Packages copied, with what is left out of each (instructor-only parts).
PACKAGES = {
    "grader": ("hidden", "batch"),
    "cvlab_ch9": ("fastpaths.py", "notebooks.py"),
    "ui": ("browser.py", "screenshots.py", "process.py"),
}
DATA_DIRS = ("models", "docs")
SKIP_NAMES = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache")
SCRIPTS = ("setup.sh", "setup.ps1")
#: The UI's recorded reference inside the kit (``cvlab_ch9.ui.reference.GALLERY_PATH`` there).
GALLERY_NAME = "reference_gallery.npz"


class KitError(RuntimeError):
    """The kit cannot be built safely; the message says what to do."""


STUDENT_README = """\
# cvlab — Chapter 9 labs (student kit)

Labs for chapter 9 of *Deep Learning with Python* (2nd ed.): image
segmentation, modern convnet architecture patterns, interpreting convnets.

## Two commands

```bash
./run.sh ui      # set up .venv (first run: a few minutes), then open the lab UI on http://127.0.0.1:7860
./run.sh grade   # set up .venv, then grade your labs/ (python -m grader)
```

On Windows: `py -m cvlab_ch9 ui` and `py -m cvlab_ch9 grade` (or `.\\run.ps1 ui` / `.\\run.ps1 grade`).

## Working on the labs

- Write the functions in `labs/segmentation.py`, `labs/architecture.py` and
  `labs/interpretation.py`, or in the notebooks in `notebooks/` (the same
  exercises, for Jupyter). Each function's docstring says what to build.
- `./run.sh grade --lab segmentation` runs the checks of one lab; every
  failed check says what to change.
- The UI runs *your* code on the example images or your own photos: every
  click reloads `labs/`, so edit, save and click again.

## What the "reference" side shows

This kit holds no answer key. The checks compare your results with results
recorded from the reference solution on the checks' own fixed inputs. In
the UI, the reference column shows the demo models' own outputs and results
recorded for the example images; for your own photos only your result is
shown there.

Your instructor grades your submission with more checks than the ones here
(hidden checks): passing every check of the kit is necessary, not
sufficient.
"""


def _normalized(code):
    """``code`` without comments and whitespace (so formatting cannot hide a copy)."""
    try:
        tokens = [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                  if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]
        text = "".join(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        text = re.sub(r"#[^\n]*", "", code)
    return re.sub(r"\s+", "", text)


def solution_bodies(solutions_dir=SOLUTIONS_DIR):
    """``{"lab.function": normalized solution block}`` of every exercise of every solution."""
    bodies = {}
    for path in solution_files(solutions_dir):
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.parse(source).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            # the END marker is a comment after the function's last statement: look past end_lineno
            begin = next((i for i in range(node.lineno - 1, node.end_lineno) if lines[i].strip() == BEGIN_MARKER), None)
            end = next((i for i in range(begin + 1, len(lines)) if lines[i].strip() == END_MARKER), None) if begin is not None else None
            if begin is not None and end is not None:
                bodies[f"{path.stem}.{node.name}"] = _normalized("\n".join(lines[begin + 1 : end]))
    return bodies


def _strings(value):
    """Every string in a JSON value (keys too), depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _gallery_strings(path):
    """The strings of a recorded UI gallery's JSON index (``.npz``), one per line; "" when it has none."""
    import numpy as np  # noqa: PLC0415 - only for the gallery

    try:
        with np.load(path, allow_pickle=False) as data:
            index = json.loads(data["index"].tobytes().decode("utf-8")) if "index" in data.files else {}
    except (OSError, ValueError, UnicodeDecodeError):
        return ""
    return "\n".join(_strings(index))


def _texts(path):
    """The texts to search in a kit file: the file itself, a notebook's cell sources, a recorded gallery's index."""
    if path.suffix == ".npz":
        return [_gallery_strings(path)]
    try:
        raw = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    texts = [raw]
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(raw).get("cells", [])
            texts.append("\n".join("".join(c.get("source", "")) for c in cells))
        except (ValueError, AttributeError):
            pass
    return texts


def leaked_bodies(kit_dir, solutions_dir=SOLUTIONS_DIR):
    """``[(file, "lab.function")]`` for every kit file that contains a reference function's body."""
    bodies = {name: body for name, body in solution_bodies(solutions_dir).items() if body}
    leaks = []
    for path in sorted(Path(kit_dir).rglob("*")):
        if not path.is_file():
            continue
        for text in _texts(path):
            normalized = _normalized(text) if path.suffix in (".py", ".ipynb", ".md", ".txt", ".npz", "") else re.sub(r"\s+", "", text)
            leaks.extend((str(path.relative_to(kit_dir)), name) for name, body in bodies.items() if body in normalized)
    return sorted(set(leaks))


def _copy_tree(source, target, excluded=()):
    def ignore(folder, names):
        relative = Path(folder).relative_to(source)
        return [n for n in names if n in SKIP_NAMES or (relative == Path(".") and n in excluded)]

    shutil.copytree(source, target, ignore=ignore)


def _released_notebooks(target, log):
    """nbgrader's release of every lab, written as ``target/<lab>.ipynb``."""
    from course.pipeline import CONFIG_NAME, COURSE_DIR, release  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="cvlab-kit-release-") as tmp:
        course = Path(tmp) / "course"
        course.mkdir()
        shutil.copy2(COURSE_DIR / CONFIG_NAME, course / CONFIG_NAME)
        released = release(course, log=lambda _: None)
        target.mkdir(parents=True, exist_ok=True)
        for notebook in released:
            shutil.copy2(notebook, target / notebook.name)
            log(f"kit: notebooks/{notebook.name} (nbgrader release)")


def _check_recordings():
    from cvlab_ch9.grader.record import drift  # noqa: PLC0415
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    stale = {lab: names for lab in LAB_NAMES if (names := drift(lab))}
    if stale:
        raise KitError(
            "The recordings differ from solutions/ ("
            + "; ".join(f"{lab}: {', '.join(names)}" for lab, names in stale.items())
            + "). Run `python -m grader.record`, then build the kit again."
        )


def _record_gallery(out_dir, log, models=None, max_filters=None):
    """Record the UI's reference gallery into the kit (``ui/reference_gallery.npz``) with the live reference.

    It runs ``python -m ui.gallery`` in a child process from the repository
    (where ``solutions/`` is), so the kit's UI can show the reference column
    without an answer key.
    """
    target = out_dir / "ui" / GALLERY_NAME
    command = [sys.executable, "-m", "cvlab_ch9.ui.gallery", "--out", str(target)]
    if models:
        command += ["--models", *models]
    if max_filters:
        command += ["--max-filters", str(max_filters)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, encoding="utf-8", errors="replace")
    if done.returncode != 0 or not target.is_file():
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise KitError(f"Recording the UI's reference gallery failed ({last}); run `python -m ui.gallery --out /tmp/g.npz` "
                       "to see why, then build the kit again.")
    for line in done.stdout.splitlines():
        log(f"kit: {line}")
    return target


def build_kit(out_dir=DEFAULT_OUT, make_zip=True, log=print, gallery=None):
    """Write the student kit to ``out_dir`` (replacing it) and, by default, ``<out_dir>.zip``.

    Args:
        gallery: options of the UI's recorded reference (``models``,
            ``max_filters``; default: every demo model, every filter the
            Filters tab offers).

    Returns:
        (kit folder Path, zip Path or None).

    Raises:
        KitError: the recordings are stale, or a reference body would end up in the kit.
    """
    _check_recordings()
    out_dir = Path(out_dir).resolve()
    if out_dir == REPO_ROOT or REPO_ROOT.is_relative_to(out_dir):
        raise KitError(f"{out_dir} holds the repository; choose another folder for the kit.")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for name in TOP_FILES:
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, out_dir / name)
    for package, excluded in PACKAGES.items():
        _copy_tree(REPO_ROOT / package, out_dir / package, excluded)
    for name in DATA_DIRS:
        if (REPO_ROOT / name).is_dir():
            _copy_tree(REPO_ROOT / name, out_dir / name)
    for name in SCRIPTS:
        if (REPO_ROOT / "scripts" / name).is_file():
            (out_dir / "scripts").mkdir(exist_ok=True)
            shutil.copy2(REPO_ROOT / "scripts" / name, out_dir / "scripts" / name)
    (out_dir / "labs").mkdir()
    for path in solution_files():
        (out_dir / "labs" / path.name).write_text(skeleton_for(path))
    _released_notebooks(out_dir / "notebooks", log)
    _record_gallery(out_dir, log, **(gallery or {}))
    (out_dir / "README.md").write_text(STUDENT_README)
    leaks = leaked_bodies(out_dir)
    if leaks:
        shutil.rmtree(out_dir)
        raise KitError(
            "The kit would contain reference code ("
            + ", ".join(f"{name} in {file}" for file, name in leaks[:5])
            + "); remove it from those files and build again."
        )
    log(f"kit: {out_dir} (labs, grader with recordings, ui with the recorded reference, cvlab, models, notebooks; "
        "no solutions, no hidden checks)")
    archive = None
    if make_zip:
        archive = Path(shutil.make_archive(str(out_dir), "zip", root_dir=out_dir.parent, base_dir=out_dir.name))
        log(f"kit: {archive}")
    return out_dir, archive

"""``python -m course kit``: the folder (and zip) an instructor hands to students.

::

    dist/cvlab-kit/
        README.md                              the student's commands: install, cvlab ui|grade|test, the notebooks
        cvlab_ch9-<version>-py3-none-any.whl   the student package (checks and recordings, the UI with the reference
                                               recorded for its example images, the demo models; nothing else)
        labs/<lab>.py                          the skeletons the student writes
        notebooks/<lab>.ipynb                  nbgrader's release: no solutions, no hidden tests

The steps, each of which stops the build with one sentence: the recordings
must match ``solutions/``; the UI's reference gallery is recorded (with the
live reference, from the checkout); the student wheel is built from the
checkout's files (``setup.py`` leaves the instructor-only modules out and
checks what the wheel holds); nbgrader releases the notebooks; then
:func:`cvlab_ch9.leaks.check_artifact` reads the whole kit folder and its
zip, the wheel inside included, and nothing is left behind when it finds
any part of the answer key.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cvlab_ch9.generate import skeleton_for, solution_files
from cvlab_ch9.impl import LAB_NAMES
from cvlab_ch9.leaks import LeakError, check_artifact
from cvlab_ch9.paths import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "dist" / "cvlab-kit"
#: The UI's recorded reference inside the student package: ``grader/recordings/gallery.rec``, beside the grader's
#: recordings (``cvlab_ch9.ui.reference.GALLERY_PATH`` there).
GALLERY_NAME = "gallery.rec"
GALLERY_FOLDER = Path("grader") / "recordings"
#: What a wheel build reads when the checkout is not a git repository (a downloaded archive of it).
BUILD_INPUTS = ("pyproject.toml", "setup.py", "docs/students.md", "cvlab_ch9", "grader", "ui", "solutions")
SKIP_NAMES = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache", GALLERY_NAME)


class KitError(RuntimeError):
    """The kit cannot be built safely; the message says what to do."""


STUDENT_README = """\
# cvlab — Chapter 9 labs (student kit)

Labs for chapter 9 of *Deep Learning with Python* (2nd ed.): image
segmentation, modern convnet architecture patterns, interpreting convnets.

- `labs/` — the three modules you write: `segmentation.py`, `architecture.py`, `interpretation.py`
- `notebooks/` — the same exercises as Jupyter notebooks
- `{wheel}` — the lab's Python package, `cvlab_ch9`: the checks, the lab UI, the demo models

## Install once (Python 3.11, 3.12 or 3.13)

In this folder, on Linux or macOS:

```bash
python3 -m venv .venv
.venv/bin/python -m pip install "{wheel}[cpu,jupyter]"
source .venv/bin/activate
```

On Windows (PowerShell or cmd):

```powershell
py -m venv .venv
.venv\\Scripts\\python -m pip install "{wheel}[cpu,jupyter]"
.venv\\Scripts\\activate
```

`[cpu]` brings TensorFlow (the first install takes a few minutes), `[jupyter]`
Jupyter for the notebooks. Where both are already installed (Google Colab,
a JupyterHub, a conda environment with TensorFlow), install the package
alone: `pip install {wheel}` — a second TensorFlow would break the first.

## Work on the labs

In this folder, with the environment active:

```bash
cvlab ui                          # the lab UI on http://127.0.0.1:7860: your code on the examples and your photos
cvlab grade --lab segmentation    # the checks of one lab; every failed check says what to change
cvlab test --lab segmentation     # the same checks as pytest tests
python -m notebook notebooks      # the notebooks: run the setup cell first, then each answer and its check
```

Every `cvlab …` command is also `python -m cvlab_ch9 …` (on Windows
`py -m cvlab_ch9 …` with the environment active, or
`.venv\\Scripts\\cvlab …` without activating it). `cvlab test` runs
`python -m pytest --pyargs cvlab_ch9.grader --lab segmentation`; a
folder other than `labs/` is `cvlab grade --labs DIR` (or
`cvlab test --impl DIR`). `cvlab setup` checks the installation and
writes fresh skeletons into `labs/` for any file that is missing (it never
replaces your work).

The UI reloads `labs/` on every click: edit, save, click again. The last
cell of each notebook opens the same UI on the notebook's own functions.

## What the "reference" side shows

This kit holds no answer key. The checks compare your results with results
recorded from the reference solution on the checks' own inputs. In the UI,
the reference column shows the demo models' own outputs and results
recorded for the example images; for your own photos only your result is
shown there.

Your instructor grades your submission with more checks than the ones here
(hidden checks) and on inputs of its own: passing every check of the kit is
necessary, not sufficient.
"""


def kit_readme(wheel_name):
    """The kit's README.md for the wheel file ``wheel_name``."""
    return STUDENT_README.format(wheel=wheel_name)


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


def record_gallery(target, log=print, models=None, max_filters=None):
    """Record the UI's reference gallery to ``target`` (a ``.rec``) with the live reference; return ``target``.

    The one record command's gallery step (:func:`cvlab_ch9.grader.record.record_gallery`:
    ``python -m cvlab_ch9.ui.gallery`` in a child process from the checkout,
    where ``solutions/`` is), so the student package's UI can show the
    reference column without an answer key.

    Args:
        models, max_filters: what to record (default: every demo model, every
            filter the Filters tab offers).
    """
    from cvlab_ch9.grader.record import record_gallery as record  # noqa: PLC0415 - the recorder is instructor-only
    from cvlab_ch9.grader.reference import RecordingError  # noqa: PLC0415

    target = Path(target)
    try:
        output = record(target, models, max_filters)
    except RecordingError as exc:
        raise KitError(f"{exc} Then build the kit again.") from None
    for line in output.splitlines():
        log(f"kit: {line}")
    return target


def _source_names():
    """The checkout's files a build reads (relative paths): those git knows (tracked or new, not ignored), else BUILD_INPUTS."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=True).stdout
        return [name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for top in BUILD_INPUTS:
            path = REPO_ROOT / top
            found = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            names += [str(p.relative_to(REPO_ROOT)) for p in found if not set(p.parts) & set(SKIP_NAMES)]
        return names


def copy_sources(target):
    """A copy of the checkout's files in ``target`` (setuptools builds inside its source folder, never in the checkout)."""
    for name in _source_names():
        source = REPO_ROOT / name
        if source.is_file() and not set(Path(name).parts) & set(SKIP_NAMES):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def build_student_wheel(out_dir, gallery=None, log=print, source=None):
    """Build the student wheel into ``out_dir`` from a copy of the checkout (with ``gallery`` as the UI's recording).

    ``setup.py`` leaves the instructor-only modules out and refuses to
    finish when the wheel would hold any part of the answer key.

    Args:
        source: a copy made by :func:`copy_sources` to build from (default: a fresh one).

    Returns:
        Path of ``cvlab_ch9-<version>-py3-none-any.whl``.

    Raises:
        KitError: the build failed (pip's last line says why).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cvlab-wheel-") as tmp:
        source = Path(source) if source is not None else copy_sources(Path(tmp) / "source")
        if gallery is not None:
            shutil.copy2(gallery, source / GALLERY_FOLDER / GALLERY_NAME)
        before = set(out_dir.glob("cvlab_ch9-*.whl"))
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out_dir), str(source)],
            capture_output=True, text=True, encoding="utf-8", errors="replace",
        )
    built = sorted(set(out_dir.glob("cvlab_ch9-*.whl")) - before) or sorted(out_dir.glob("cvlab_ch9-*.whl"))
    if done.returncode != 0 or not built:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        reason = next((line for line in lines if "answer key" in line), lines[-1] if lines else "no output")
        raise KitError(f"Building the student wheel failed ({reason.removeprefix('error: ')}).")
    log(f"kit: {built[-1].name} (the student wheel)")
    return built[-1]


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


def _check(path, what, remove):
    """:func:`cvlab_ch9.leaks.check_artifact`, removing ``remove`` (paths) and raising KitError on a leak."""
    try:
        check_artifact(path, what)
    except LeakError as exc:
        for leftover in remove:
            if leftover.is_dir():
                shutil.rmtree(leftover)
            elif leftover.exists():
                leftover.unlink()
        raise KitError(str(exc)) from exc


def build_kit(out_dir=DEFAULT_OUT, make_zip=True, log=print, gallery=None, wheel=None):
    """Write the student kit to ``out_dir`` (replacing it) and, by default, ``<out_dir>.zip``.

    Args:
        gallery: options of the UI's recorded reference (``models``,
            ``max_filters``; default: every demo model, every filter the
            Filters tab offers).
        wheel: a student wheel already built by :func:`build_student_wheel`
            (the tests share one); default: record the gallery and build it.

    Returns:
        (kit folder Path, zip Path or None).

    Raises:
        KitError: the recordings are stale, a build step failed, or some part
            of the answer key would end up in the kit.
    """
    _check_recordings()
    out_dir = Path(out_dir).resolve()
    if out_dir == REPO_ROOT or REPO_ROOT.is_relative_to(out_dir):
        raise KitError(f"{out_dir} holds the repository; choose another folder for the kit.")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    if wheel is None:
        with tempfile.TemporaryDirectory(prefix="cvlab-kit-gallery-") as tmp:
            recorded = record_gallery(Path(tmp) / GALLERY_NAME, log, **(gallery or {}))
            wheel = build_student_wheel(out_dir, recorded, log)
    else:
        wheel = Path(shutil.copy2(wheel, out_dir / Path(wheel).name))
    (out_dir / "labs").mkdir()
    for path in solution_files():
        (out_dir / "labs" / path.name).write_text(skeleton_for(path), encoding="utf-8")
    _released_notebooks(out_dir / "notebooks", log)
    (out_dir / "README.md").write_text(kit_readme(wheel.name), encoding="utf-8")
    _check(out_dir, "The student kit", [out_dir])
    log(f"kit: {out_dir} (README, {wheel.name}, labs, notebooks; no solutions, no hidden checks)")
    archive = None
    if make_zip:
        archive = Path(shutil.make_archive(str(out_dir), "zip", root_dir=out_dir.parent, base_dir=out_dir.name))
        _check(archive, "The student kit's zip", [out_dir, archive])
        log(f"kit: {archive}")
    return out_dir, archive

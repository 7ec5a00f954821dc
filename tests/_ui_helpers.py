"""Helpers shared by the UI tests (tests/test_ui*.py)."""

import os
import shutil
import sys
from pathlib import Path

import numpy as np

from cvlab.generate import generate_labs
from cvlab.paths import EXAMPLES_DIR, SOLUTIONS_DIR

PHOTO = EXAMPLES_DIR / "photo_grace_hopper.jpg"


def skeleton_labs(directory):
    """Write fresh skeletons (every exercise raises NotImplementedError) into ``directory``."""
    directory = Path(directory)
    generate_labs(SOLUTIONS_DIR, directory)
    return directory


def solution_labs(directory):
    """Copy the reference solutions into ``directory`` (a student who finished everything)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for path in SOLUTIONS_DIR.glob("*.py"):
        shutil.copy(path, directory / path.name)
    return directory


def replace_function(directory, lab, function, new_source):
    """Rewrite ``def function`` in ``directory/<lab>.py`` with ``new_source`` (appended last wins)."""
    path = Path(directory) / f"{lab}.py"
    path.write_text(path.read_text() + "\n\n" + new_source.strip() + "\n")
    return path


def photo():
    """The bundled real photograph as uint8 (H, W, 3)."""
    from PIL import Image  # noqa: PLC0415

    with Image.open(PHOTO) as image:
        return np.asarray(image.convert("RGB"))


def ci():
    """True when running in CI (env CI set to a true value)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def browser_decision(chromium_present, in_ci, chromium="/usr/bin/chromium", linux=None):
    """What the browser test does: ``("run", "")``, ``("skip", reason)`` or ``("fail", reason)``.

    It skips when chromium is missing, except in CI on Linux, where a
    missing browser is a failure (``./run.sh test`` installs Debian's
    chromium there). macOS and Windows have no Debian chromium: skip.

    Args:
        linux: running on Linux; default ``sys.platform``.
    """
    if chromium_present:
        return "run", ""
    linux = sys.platform.startswith("linux") if linux is None else linux
    if in_ci and linux:
        return "fail", f"{chromium} is missing and CI is set: run scripts/install_browser.sh before the tests."
    if not linux:
        return "skip", f"{chromium} is missing: the browser test drives Debian's chromium and runs on Linux only"
    return "skip", f"{chromium} is missing (install it with scripts/install_browser.sh)"

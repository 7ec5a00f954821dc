"""Helpers shared by the UI tests (tests/ui/)."""

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ui.config import EXAMPLES_DIR

PHOTO = EXAMPLES_DIR / "photo_grace_hopper.jpg"


def replace_function(directory, lab, function, new_source):
    """Rewrite ``def function`` in ``directory/<lab>.py`` with ``new_source`` (appended last wins)."""
    path = Path(directory) / f"{lab}.py"
    path.write_text(path.read_text() + "\n\n" + new_source.strip() + "\n")
    return path


def photo():
    """The bundled real photograph as uint8 (H, W, 3)."""
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

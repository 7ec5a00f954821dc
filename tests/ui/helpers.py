"""Helpers shared by the UI tests (tests/ui/)."""

import os
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


def browser_decision(chromium_present, in_ci, chromium="/usr/bin/chromium"):
    """What the browser test does: ``("run", "")``, ``("skip", reason)`` or ``("fail", reason)``.

    It skips only when chromium is missing and CI is not set; in CI a
    missing browser is a failure.
    """
    if chromium_present:
        return "run", ""
    if in_ci:
        return "fail", f"{chromium} is missing and CI is set: run scripts/install_browser.sh before the tests."
    return "skip", f"{chromium} is missing (install it with scripts/install_browser.sh)"

"""Helpers shared by the UI tests (tests/test_ui*.py)."""

import contextlib
import os
import shutil
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


def require_chromium():
    """Called at the top of a browser test module: skips it without chromium, fails it in CI without chromium."""
    import pytest  # noqa: PLC0415

    from ui.browser import CHROMIUM, chromium_available  # noqa: PLC0415

    action, reason = browser_decision(chromium_available(), ci(), CHROMIUM)
    if action == "fail":
        pytest.fail(reason, pytrace=False)
    if action == "skip":
        pytest.skip(reason, allow_module_level=True)


@contextlib.contextmanager
def app_in_browser(viewport=(1280, 900)):
    """The app served in this process and opened in Debian's chromium (Playwright); yields the page.

    One per browser test module: starting the app and the browser takes most of the test time.
    """
    from playwright import sync_api as playwright_api  # noqa: PLC0415

    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    from ui.app import serve_in_background  # noqa: PLC0415
    from ui.browser import launch_chromium  # noqa: PLC0415

    app, url = serve_in_background()
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
                page.goto(url)
                yield page
            finally:
                browser.close()
    finally:
        app.close()

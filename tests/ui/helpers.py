"""Helpers shared by the UI tests (tests/ui/)."""

import contextlib
import os
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from cvlab_ch9.ui.config import EXAMPLES_DIR

PHOTO = EXAMPLES_DIR / "photo_grace_hopper.jpg"


def reference_difference(status):
    """The number in a Grad-CAM status's "max difference from the reference: X" (the reference is traced: ~1e-7, not 0)."""
    match = re.search(r"max difference from the reference: ([0-9.e+-]+)\)", status)
    assert match, status
    return float(match.group(1))


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


def require_chromium():
    """Called at the top of a browser test module: skips it without chromium, fails it in CI without chromium."""
    import pytest  # noqa: PLC0415

    from tools.browser import CHROMIUM, chromium_available  # noqa: PLC0415

    action, reason = browser_decision(chromium_available(), ci(), CHROMIUM)
    if action == "fail":
        pytest.fail(reason, pytrace=False)
    if action == "skip":
        pytest.skip(reason, allow_module_level=True)


@contextlib.contextmanager
def app_in_browser(labs_dir=None, viewport=(1280, 900)):
    """The app served in this process and opened in Debian's chromium (Playwright); yields the page.

    One per browser test module: starting the app and the browser takes most of the test time.

    Args:
        labs_dir: typed into the "Labs directory" box first (a temporary skeleton
            folder, or "solutions"), so no test depends on what a student wrote in labs/.
    """
    from playwright import sync_api as playwright_api  # noqa: PLC0415 - only the browser tests need it

    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - TensorFlow is slow to import

    import_tensorflow()
    from tools.browser import launch_chromium  # noqa: PLC0415 - after TensorFlow
    from tools.serving import serve_in_background  # noqa: PLC0415 - after TensorFlow

    app, url = serve_in_background()
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
                page.goto(url)
                if labs_dir is not None:
                    set_labs_dir(page, str(labs_dir))
                yield page
            finally:
                browser.close()
    finally:
        app.close()


def set_labs_dir(page, text):
    """Type ``text`` into the UI's "Labs directory" box (Playwright page)."""
    box = page.locator("#labs-dir textarea, #labs-dir input").first
    box.fill(text)
    box.blur()

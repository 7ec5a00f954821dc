"""Driving Debian's chromium with Playwright (never ``playwright install``).

Used by the browser test and by :mod:`tools.screenshots`.
"""

import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_available():
    """True when Debian's chromium is installed at /usr/bin/chromium."""
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


def launch_chromium(playwright):
    """A headless Chromium ``Browser`` from ``/usr/bin/chromium``.

    Args:
        playwright: the object from ``sync_playwright().start()`` (or the
            ``with sync_playwright() as p`` value).
    """
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))

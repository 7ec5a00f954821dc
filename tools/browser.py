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


#: The inline app's frame in a notebook's output (Gradio's inline display points it at the loopback server).
INLINE_APP_FRAME = "iframe[src^='http://127.0.0.1:']"


def kernel_idle(page, base, token, timeout_ms):
    """Wait until the Jupyter server at ``base`` has a session whose kernel is idle (the notebook is connected)."""
    for _ in range(timeout_ms // 250):
        sessions = page.request.get(f"{base}/api/sessions?token={token}").json()
        if any(s.get("kernel", {}).get("execution_state") == "idle" for s in sessions):
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"no kernel of {base} was idle within {timeout_ms / 1000:g} s")


def run_all_cells(page, base, token, notebook, timeout_ms=120_000):
    """Open ``notebook`` (a path under the server's root) in Notebook 7, run every cell; return the inline app's frame.

    Args:
        page: a Playwright page.
        base, token: the Jupyter server's address (``http://127.0.0.1:PORT``) and token.

    Returns:
        a Playwright ``FrameLocator`` on the UI that the notebook's show_lab
        cell displays, once its Grad-CAM button is there.
    """
    page.goto(f"{base}/notebooks/{notebook}?token={token}")
    run_menu = page.get_by_role("menuitem", name="Run", exact=True)
    run_menu.wait_for(timeout=timeout_ms)
    kernel_idle(page, base, token, timeout_ms)
    run_menu.click()
    page.get_by_text("Run All Cells", exact=True).click()
    frame = page.frame_locator(INLINE_APP_FRAME)
    frame.locator("#gradcam-run").wait_for(timeout=timeout_ms)
    return frame

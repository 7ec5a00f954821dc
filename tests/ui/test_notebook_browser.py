"""A notebook served by a real Jupyter server (Notebook 7), run in Debian's chromium: the inline UI renders a result.

Nothing forces show_lab here: the Notebook 7 frontend asks for every cell
with ``allow_stdin=True``, so show_lab's own detection must decide to start
the app. The notebook is the released interpretation notebook with the
answers filled in (test cells left out: the pipeline tests run those).
"""

import os

import nbformat
import pytest

from tests.ui.helpers import require_chromium
from tests.ui.notebooks import kernel_environment, released_notebook, without_test_cells

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
RESULT_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    require_chromium()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    from tools.browser import launch_chromium  # noqa: PLC0415
    from tools.serving import jupyter_server  # noqa: PLC0415

    folder = tmp_path_factory.mktemp("jupyter") / "notebooks"
    folder.mkdir()
    nbformat.write(without_test_cells(released_notebook("interpretation")), str(folder / "interpretation.ipynb"))
    with jupyter_server(folder, kernel_environment(os.environ)) as (base, token), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.jupyter = (base, token)
            yield page
        finally:
            browser.close()


def test_the_inline_app_renders_a_grad_cam_after_a_click(page):
    from tools.browser import run_all_cells  # noqa: PLC0415

    app = run_all_cells(page, *page.jupyter, "interpretation.ipynb", timeout_ms=RESULT_TIMEOUT_MS)
    page.get_by_text("The lab UI runs on this notebook's functions at http://127.0.0.1:").wait_for()
    app.locator("#gradcam-examples button, #gradcam-examples img").first.click()
    app.locator("#gradcam-run").click()
    overlay = app.locator("#gradcam-student-overlay img").first
    overlay.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    assert overlay.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "max difference from the reference" in app.locator("#gradcam-status").inner_text()
    # nothing of the notebook's cells went to stderr (Jupyter renders it with its own MIME type)
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0

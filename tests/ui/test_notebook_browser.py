"""The lab UI inside a notebook as a student meets it: Notebook 7 and JupyterLab on a real Jupyter server, in chromium.

The notebook is the released interpretation notebook as a student starts
it: skeleton answers, every check failing. Nothing forces show_lab: the
frontend asks for every cell with ``allow_stdin=True`` and show_lab's own
detection starts the app. In order, on one server and one kernel:

1. Notebook 7, Run All: the failing checks (tagged ``raises-exception``)
   report and Run All goes on to the show_lab cell, whose frame grows to
   the app's height; a click names the notebook's answer cell.
2. The notebook is saved and opened in JupyterLab (file browser open, a
   1,100-pixel window): the saved output finds the running app and shows
   it, with nothing cut off or scrolling sideways.
3. The kernel stops, another server takes the app's port (as another
   notebook's show_lab, or another test worker's, would) and JupyterLab
   reloads: the output says to run the cell again instead of keeping a dead
   or foreign frame.
"""

import contextlib
import os
import re
import time

import nbformat
import pytest

from cvlab_ch9.ui.notebook_frame import NOT_RUNNING
from tests.http_server import LoopbackServer
from tests.ui.helpers import require_chromium
from tests.ui.notebooks import kernel_environment

pytestmark = [pytest.mark.slow, pytest.mark.timeout(500)]
RESULT_TIMEOUT_MS = 150_000
NOTEBOOK = "interpretation.ipynb"


def unfinished_notebook():
    """The release as a student first opens it: skeleton answers, the checks in place."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions  # noqa: PLC0415

    from course.notebooks import notebook_path  # noqa: PLC0415

    source = nbformat.read(str(notebook_path("interpretation")), as_version=4)
    release, _ = ClearSolutions().preprocess(nbformat.from_dict(source), {})
    release, _ = ClearHiddenTests().preprocess(release, {})
    return release


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    require_chromium()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    from tools.browser import launch_chromium  # noqa: PLC0415
    from tools.serving import jupyter_server  # noqa: PLC0415

    folder = tmp_path_factory.mktemp("jupyter") / "notebooks"
    folder.mkdir()
    nbformat.write(unfinished_notebook(), str(folder / NOTEBOOK))
    with jupyter_server(folder, kernel_environment(os.environ)) as (base, token), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser, base, token
        finally:
            browser.close()


@pytest.fixture(scope="module")
def notebook7(jupyter):
    """Notebook 7 after Run All on the unfinished notebook: (page, the inline app's frame)."""
    from tools.browser import run_all_cells  # noqa: PLC0415

    browser, base, token = jupyter
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    return page, run_all_cells(page, base, token, NOTEBOOK, timeout_ms=RESULT_TIMEOUT_MS)


def test_run_all_goes_past_the_failing_checks_to_the_lab_ui(notebook7):
    page, app = notebook7
    page.get_by_text("The lab UI runs on this notebook's functions at http://127.0.0.1:").wait_for()
    # every check ran and failed (a traceback each), and the cells after them ran too
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() >= 10
    assert page.locator(".jp-OutputArea-output").get_by_text("Not implemented yet: write grad_cam()").count() >= 1
    # the page names the notebook, with no box inviting an edit of where the code comes from
    assert app.locator("#labs-dir-notebook").get_by_text("this notebook's functions").count() == 1
    assert app.locator("#labs-dir textarea, #labs-dir input").count() == 0 or not app.locator("#labs-dir").is_visible()
    assert "this notebook" in app.locator("#tab-grad-cam").inner_text()


def test_the_frame_grows_with_the_app_and_a_click_names_the_answer_cell(notebook7):
    from tools.browser import INLINE_APP_FRAME  # noqa: PLC0415

    page, app = notebook7
    frame = page.locator(INLINE_APP_FRAME)
    page.wait_for_function("f => f.getBoundingClientRect().height > 1200", arg=frame.element_handle(), timeout=RESULT_TIMEOUT_MS)
    before = frame.evaluate("f => f.getBoundingClientRect().height")
    app.locator("#gradcam-examples img").first.click()
    app.locator("#gradcam-image img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    app.locator("#gradcam-run").click()
    app.locator("#gradcam-reference img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    status = app.locator("#gradcam-status").inner_text()
    assert "Not implemented yet: write grad_cam() in its answer cell in this notebook and run that cell." in status
    # the results below the controls make the app taller: the frame follows instead of scrolling inside
    page.wait_for_function(f"f => f.getBoundingClientRect().height > {before} + 200", arg=frame.element_handle(),
                           timeout=RESULT_TIMEOUT_MS)
    inner_scroll = None
    for _ in range(50):  # the pictures load one after the other; the frame follows each
        inner_scroll = app.locator("html").evaluate("e => e.scrollHeight - window.innerHeight")
        if inner_scroll <= 2:
            break
        page.wait_for_timeout(200)
    assert inner_scroll <= 2, f"the app scrolls {inner_scroll} px inside its frame"
    # nothing of the notebook's own cells went to stderr outside the checks' tracebacks
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").filter(has_text="Warning").count() == 0
    page.locator("[data-command='docmanager:save']").first.click()


def saved_show_lab_outputs(page, base, token):
    """The outputs of the saved notebook's last cell (the show_lab cell), read through the server's API."""
    saved = page.request.get(f"{base}/api/contents/{NOTEBOOK}?token={token}").json()
    return saved["content"]["cells"][-1].get("outputs", [])


def test_jupyterlab_with_the_file_browser_shows_the_saved_output_on_the_running_app(jupyter, notebook7):
    from tools.browser import INLINE_APP_FRAME, kernel_idle  # noqa: PLC0415

    browser, base, token = jupyter
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    for _ in range(100):  # the save the last test clicked reaches the disk
        if any("cvlab-lab" in o.get("data", {}).get("text/html", "") for o in saved_show_lab_outputs(page, base, token)):
            break
        page.wait_for_timeout(200)
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    kernel_idle(page, base, token, RESULT_TIMEOUT_MS)
    page.locator(".jp-FileBrowser").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)  # open beside the notebook
    app = page.frame_locator(INLINE_APP_FRAME)
    app.locator("#gradcam-run").wait_for(timeout=RESULT_TIMEOUT_MS)
    width = page.locator(INLINE_APP_FRAME).evaluate("f => f.getBoundingClientRect().width")
    assert width < 700, width
    assert app.locator("html").evaluate("e => e.scrollWidth - window.innerWidth") <= 0, "no sideways scroll"
    cut = app.locator("#tab-grad-cam").evaluate(
        """tab => [...tab.querySelectorAll("label span, button")]
            .filter(e => e.offsetParent && e.innerText.trim() && e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)"""
    )
    assert cut == [], cut
    page.close()


@contextlib.contextmanager
def another_server_on(port, timeout_s=30):
    """Something else answering on ``port`` once the app's kernel let it go (a 404 server of ours, or whoever took it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            server = LoopbackServer(port)
            break
        except OSError:  # still held: by the stopping kernel for a moment, or by another process for good
            if time.monotonic() > deadline:
                yield None
                return
            time.sleep(0.25)
    with server:
        yield server


def test_a_reopened_notebook_without_its_kernel_keeps_no_dead_frame(jupyter, notebook7):
    from tools.browser import INLINE_APP_FRAME  # noqa: PLC0415

    browser, base, token = jupyter
    notebook_page, _ = notebook7
    [output] = [o["data"]["text/html"] for o in saved_show_lab_outputs(notebook_page, base, token) if "cvlab-lab" in
                o.get("data", {}).get("text/html", "")]
    port = int(re.search(r'data-address="http://127\.0\.0\.1:(\d+)/"', output).group(1))
    for session in notebook_page.request.get(f"{base}/api/sessions?token={token}").json():
        notebook_page.request.delete(f"{base}/api/sessions/{session['id']}?token={token}")
    notebook_page.close()
    with another_server_on(port) as server:
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
        page.get_by_text(NOT_RUNNING).first.wait_for(timeout=RESULT_TIMEOUT_MS)
        assert page.locator(INLINE_APP_FRAME).count() == 0
        if server is not None:  # the output's script asked the port and got an answer: the app id decided
            assert any(path.endswith("/config") for path, _ in server.requests), server.requests
        page.close()

"""A real browser (Debian's chromium driven by Playwright) uploads an image and runs Grad-CAM.

Skipped when /usr/bin/chromium is missing (always on macOS and Windows),
except in CI (env CI=true) on Linux, where a missing browser is a failure.
Install it with ``scripts/install_browser.sh``.
"""

import time

import pytest

from tests.ui.helpers import PHOTO, app_in_browser, require_chromium, set_labs_dir

pytestmark = pytest.mark.slow
RESULT_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def page(skeletons):
    require_chromium()
    with app_in_browser(skeletons) as page:
        yield page


def test_upload_and_run_grad_cam(page):
    page.get_by_role("tab", name="Grad-CAM", exact=True).click()
    page.locator("#gradcam-image input[type=file]").set_input_files(str(PHOTO))
    page.locator("#gradcam-image img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    start = time.perf_counter()
    page.locator("#gradcam-run").click()
    # the labs folder holds fresh skeletons: the reference overlay appears, the student side explains what to write
    page.locator("#gradcam-reference-overlay img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    print(f"Grad-CAM click to result in the browser: {time.perf_counter() - start:.2f} s")
    overlay = page.locator("#gradcam-reference-overlay img").first
    assert overlay.evaluate("img => img.complete && img.naturalWidth > 0")
    status = page.locator("#gradcam-status")
    assert "Not implemented yet: write grad_cam()" in status.inner_text()


def test_switching_to_solutions_shows_the_student_side(page):
    set_labs_dir(page, "solutions")
    page.locator("#gradcam-run").click()
    page.locator("#gradcam-student-overlay img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    page.locator("#gradcam-status").get_by_text("max difference from the reference").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert page.locator("#gradcam-student-overlay img").first.evaluate("img => img.naturalWidth > 0")


def test_a_click_on_a_graph_node_shows_that_layers_output(page):
    set_labs_dir(page, "solutions")
    page.get_by_role("tab", name="Architecture", exact=True).click()
    page.locator("#architecture-run").click()
    graph = page.locator("#architecture-reference-graph svg")
    graph.wait_for(timeout=RESULT_TIMEOUT_MS)
    page.locator("#architecture-student-graph svg").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert "Same graph as the reference" in page.locator("#architecture-graph-status").inner_text()
    layers = graph.locator("[data-layer]").count()
    node = graph.locator("[data-layer='6']")
    node.scroll_into_view_if_needed()
    node.click()
    page.locator("#architecture-student-output img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    page.locator("#architecture-output-caption").get_by_text("#6 ").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert page.locator("#architecture-reference-output img").first.evaluate("img => img.naturalWidth > 0")
    page.locator("#architecture-reference-graph [data-block]").first.click()  # close the first block on both graphs
    page.wait_for_function(f"() => document.querySelectorAll('#architecture-student-graph [data-layer]').length < {layers}",
                           timeout=RESULT_TIMEOUT_MS)


def test_the_pipeline_stage_by_stage_appears(page):
    page.get_by_role("tab", name="Segmentation", exact=True).click()
    page.locator("#segmentation-examples button, #segmentation-examples img").first.click()
    page.locator("#pipeline-run").click()
    page.locator("#pipeline-classes img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    assert page.locator("#pipeline-student img").count() >= 7
    assert "demo weights" in page.locator("#pipeline-status").inner_text()

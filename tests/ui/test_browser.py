"""The lab UI in a real browser (Debian's chromium driven by Playwright), on one served app.

The interpretation tabs: a student uploads a real photo and compares
Grad-CAM for both classes, a model switch clears the previous model's
results, the activations explorer follows clicks on a layer and a channel,
the filters show their ascent and patches, and the tabs stay usable 800
pixels wide. The architecture tab: a click on a graph node; the
segmentation pipeline stage by stage.

Skipped when /usr/bin/chromium is missing (always on macOS and Windows),
except in CI (env CI=true) on Linux, where a missing browser is a failure.
Install it with ``scripts/install_browser.sh``.
"""

import pytest

from cvlab_ch9.models.real_photos import PHOTOS, photo_path
from tests.ui.helpers import PHOTO, app_in_browser, require_chromium, set_labs_dir
from tools.screenshots import open_tab, upload

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
RESULT_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def page(skeletons):
    require_chromium()
    with app_in_browser(skeletons) as page:
        yield page


def real_photo():
    """Gradio's photo of a lion (a real photo that an installed package ships), or the bundled one."""
    lion = next(p for p in PHOTOS if p.name == "lion")
    return photo_path(lion) or PHOTO


def choose(page, elem_id, option):
    """Pick ``option`` in the gr.Dropdown with ``elem_id``."""
    page.locator(f"#{elem_id} input").first.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_skeletons_get_the_reference_and_a_pointer_to_what_to_write(page):
    open_tab(page, "Grad-CAM")
    upload(page, "gradcam-image", PHOTO)
    page.locator("#gradcam-run").click()
    page.locator("#gradcam-reference img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    assert "Not implemented yet: write grad_cam()" in page.locator("#gradcam-status").inner_text()
    assert page.locator("#gradcam-student img").count() == 0


def test_grad_cam_of_both_classes_on_a_real_photo(page):
    set_labs_dir(page, "solutions")
    open_tab(page, "Grad-CAM")
    upload(page, "gradcam-image", real_photo())
    page.locator("#gradcam-run").click()
    page.locator("#gradcam-difference img").nth(1).wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    # both classes side by side: the overlays, then the heatmaps, on each side; one difference per class
    assert page.locator("#gradcam-student img").count() == page.locator("#gradcam-reference img").count() == 4
    captions = page.locator("#gradcam-student .caption-label").all_inner_texts()
    assert {c.split(" — ")[0] for c in captions[:2]} == {"cat", "dog"} and all("%" in c for c in captions[:2])
    assert "max difference from the reference" in page.locator("#gradcam-status").inner_text()
    assert page.locator("#gradcam-predictions").get_by_text("cat").count() >= 1
    # the student's and the reference's galleries show the classes in one row each (one column per class)
    first, second = (page.locator("#gradcam-student img").nth(i).bounding_box() for i in range(2))
    assert abs(first["y"] - second["y"]) < 2 and second["x"] > first["x"]


def test_a_model_switch_clears_the_previous_models_results(page):
    open_tab(page, "Grad-CAM")
    page.locator("#gradcam-reference img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)  # a result is shown
    choose(page, "gradcam-model", "convnet")
    page.wait_for_function("() => document.querySelectorAll('#gradcam-student img').length === 0", timeout=RESULT_TIMEOUT_MS)
    assert page.locator("#gradcam-difference img").count() == 0
    assert page.locator("#gradcam-status").inner_text().strip() == ""


def test_the_activations_explorer_follows_a_layer_and_a_channel(page):
    set_labs_dir(page, "solutions")
    open_tab(page, "Activations")
    page.locator("#activations-examples img").first.click()
    page.locator("#activations-image img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    page.locator("#activations-run").click()
    page.locator("#activations-student-channel img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    assert page.locator("#activations-stats img").count() == 1
    # a click on the third layer of the overview opens it
    third = page.locator("#activations-student .caption-label").nth(2).inner_text().split(" — ")[0]
    page.locator("#activations-student button.thumbnail-item, #activations-student .thumbnail-item").nth(2).click()
    page.locator("#activations-layer-text").get_by_text(f"{third} —").wait_for(timeout=RESULT_TIMEOUT_MS)
    # a click on the first tile's lower right part picks channel 0
    grid = page.locator("#activations-student-layer img").first
    grid.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    box = grid.bounding_box()
    natural = grid.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    scale = box["width"] / natural[0]
    grid.click(position={"x": 20 * scale, "y": (28 + 20) * scale})
    page.locator("#activations-channel-text").get_by_text(f"{third}, channel 0").wait_for(timeout=RESULT_TIMEOUT_MS)


def test_filters_show_the_ascent_and_the_patches_that_excite_each_filter(page):
    set_labs_dir(page, "solutions")
    open_tab(page, "Filters")
    for slider, value in (("#filters-count", "2"), ("#filters-steps", "5")):
        number = page.locator(f"{slider} input[type=number]")
        number.fill(value)
        number.press("Enter")
    page.locator("#filters-run").click()
    page.locator("#filters-status").get_by_text("2 of 2 patterns").wait_for(timeout=RESULT_TIMEOUT_MS)
    for picture in ("#filters-student img", "#filters-reference img", "#filters-patches img"):
        page.locator(picture).first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    assert page.locator("#filters-patch-values").inner_text().count("filter ") == 2


@pytest.mark.parametrize("width", [800, 1000])
def test_the_tabs_stay_usable_in_a_narrow_window(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    try:
        for tab in ("Activations", "Filters", "Grad-CAM"):
            open_tab(page, tab)
            page.wait_for_timeout(300)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{tab} scrolls sideways at {width} px"
            cut = page.evaluate(
                """(tab) => [...document.querySelectorAll(`#tab-${tab} label span, #tab-${tab} button`)]
                    .filter(e => e.offsetParent && e.innerText.trim() && e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""",
                tab.lower(),
            )
            assert cut == [], f"labels cut off on {tab} at {width} px: {cut}"
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_a_click_on_a_graph_node_shows_that_layers_output(page):
    set_labs_dir(page, "solutions")
    page.get_by_role("tab", name="Architecture", exact=True).click()
    page.locator("#architecture-run").click()
    graph = page.locator("#architecture-reference-graph svg")
    graph.wait_for(timeout=RESULT_TIMEOUT_MS)
    page.locator("#architecture-student-graph svg").wait_for(timeout=RESULT_TIMEOUT_MS)
    page.locator("#architecture-graph-status").get_by_text("Same graph as the reference").wait_for(timeout=RESULT_TIMEOUT_MS)
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

"""Bad and rotated uploads in a real browser (Debian's chromium driven by Playwright), on two tabs.

A user uploads a PNG cut off after 2,000 bytes, a text file named .jpg and
a phone photo stored sideways with an EXIF orientation tag, on the
Grad-CAM and the Segmentation tab. The broken files must show the
project's sentence (naming the file, no temporary path): the Grad-CAM tab
says it under the image as soon as the file is uploaded (and removes the
file from the box), the Segmentation tab when Run is clicked; the photo
must come out upright. Skipped like tests/ui/test_browser.py: only when
/usr/bin/chromium is missing and CI is not set.
"""

import re

import pytest

from tests.ui.helpers import app_in_browser, require_chromium
from tests.ui.upload_corpus import (
    BOTTOM_LEFT,
    BOTTOM_RIGHT,
    CASES,
    HEIGHT,
    TOP_LEFT,
    TOP_RIGHT,
    WIDTH,
    write_corpus,
)

require_chromium()

from playwright import sync_api as playwright_api  # noqa: E402 - a declared dependency: fail, never skip

pytestmark = pytest.mark.slow

RESULT_TIMEOUT_MS = 90_000
MESSAGES = {case.id: case.message for case in CASES}
#: tab name -> (image box, run button, element holding the upright picture the model saw)
TABS = {
    "Grad-CAM": ("#gradcam-image", "#gradcam-run", "#gradcam-reference img"),
    "Segmentation": ("#segmentation-image", "#segmentation-run", "#segmentation-reference img.base-image"),
}
# mean colour of a 9x9 patch at (x, y) of an <img>, drawn at its natural size on a canvas
_SAMPLE_JS = """([img, x, y]) => {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const data = context.getImageData(x - 4, y - 4, 9, 9).data;
    const mean = [0, 0, 0];
    for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) mean[c] += data[i + c] / 81;
    return mean;
}"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def page():
    with app_in_browser() as page:
        # the reference labs: the result does not depend on what a student wrote in labs/
        box = page.locator("#labs-dir textarea, #labs-dir input").first
        box.fill("solutions")
        box.blur()
        yield page


def dismiss_messages(page):
    """Close every message toast, so the one a test waits for is the one its click caused."""
    for close in page.locator(".toast-close").all():
        close.click()
    playwright_api.expect(page.get_by_test_id("toast-text")).to_have_count(0, timeout=RESULT_TIMEOUT_MS)


def upload(page, tab, path):
    """On ``tab``, replace the image with the file ``path``."""
    box = TABS[tab][0]
    dismiss_messages(page)
    page.get_by_role("tab", name=tab, exact=True).click()
    remove = page.locator(f"{box} button[aria-label='Remove Image']")
    if remove.count():
        remove.first.click()
    page.locator(f"{box} input[type=file]").set_input_files(str(path))


def upload_and_run(page, tab, path):
    """On ``tab``, replace the image with the file ``path`` and click the tab's run button."""
    box, button, _ = TABS[tab]
    upload(page, tab, path)
    # the preview of the uploaded file (broken for a broken file) means the upload is done
    page.locator(f"{box} img").first.wait_for(state="attached", timeout=RESULT_TIMEOUT_MS)
    page.locator(button).click()


@pytest.mark.parametrize("case_id", ["truncated-png", "text-named-jpg"])
def test_broken_upload_is_flagged_at_upload_time(page, corpus, case_id):
    upload(page, "Grad-CAM", corpus[case_id])
    warning = page.locator("#gradcam-image-warning")
    warning.get_by_text(MESSAGES[case_id]).wait_for(timeout=RESULT_TIMEOUT_MS)
    # the sentence names the file, not its path; retried until the event's pending state (a timer) is gone
    playwright_api.expect(warning).to_have_text(
        re.compile(rf"^\s*⚠ {re.escape(corpus[case_id].name)}[^/]*$"), use_inner_text=True, timeout=RESULT_TIMEOUT_MS)
    # the box no longer shows a preview Run would refuse
    playwright_api.expect(page.locator("#gradcam-image img")).to_have_count(0, timeout=RESULT_TIMEOUT_MS)


@pytest.mark.parametrize("case_id", ["truncated-png", "text-named-jpg"])
def test_broken_upload_shows_the_sentence(page, corpus, case_id):
    upload_and_run(page, "Segmentation", corpus[case_id])
    toast = page.get_by_test_id("toast-text").filter(has_text=MESSAGES[case_id])
    toast.first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    text = toast.first.inner_text()
    assert text.startswith(corpus[case_id].name) and "/" not in text, text


@pytest.mark.parametrize("tab", TABS)
def test_rotated_phone_photo_comes_out_upright(page, corpus, tab):
    upload_and_run(page, tab, corpus["exif-rotated-jpeg"])
    picture = page.locator(TABS[tab][2]).first
    picture.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    preview = page.locator(f"{TABS[tab][0]} img").first
    assert preview.evaluate("img => img.complete && img.naturalWidth > 0")  # the upload's own preview
    # stored 64 wide and 96 tall; upright it is 96 wide and 64 tall
    size = picture.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [WIDTH, HEIGHT]
    if tab == "Segmentation":  # the mask is drawn on the picture itself: its quadrants are where they belong
        spots = {TOP_LEFT: (24, 16), TOP_RIGHT: (72, 16), BOTTOM_LEFT: (24, 48), BOTTOM_RIGHT: (72, 48)}
        for colour, (x, y) in spots.items():
            seen = page.evaluate(_SAMPLE_JS, [picture.element_handle(), x, y])
            assert max(abs(a - b) for a, b in zip(seen, colour)) < 40, (colour, seen)


def test_examples_still_load_and_run(page):
    dismiss_messages(page)
    page.get_by_role("tab", name="Grad-CAM", exact=True).click()
    page.locator("#gradcam-examples img").first.click()
    page.locator("#gradcam-image img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    page.locator("#gradcam-run").click()
    # the first example is a 192x192 synthetic pet, not the 96x64 photo of the test before
    page.wait_for_function(
        """() => {
            const img = document.querySelector("#gradcam-reference img");
            return img && img.complete && img.naturalWidth === 192 && img.naturalHeight === 192;
        }""",
        timeout=RESULT_TIMEOUT_MS,
    )
    assert page.get_by_test_id("toast-text").count() == 0

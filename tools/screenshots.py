"""Take the README screenshots: ``python -m tools.screenshots [--out docs/screenshots] [--notebook]``.

Launches the app in this process, drives Debian's chromium with Playwright
through every tab (with ``solutions`` as the labs directory, so both sides
show results, except the Grade tab, which grades the fresh ``labs/``
skeletons to show the hints) and writes one PNG per tab.

``--notebook`` takes ``notebook.png`` instead: a Jupyter server (Notebook 7)
on a temporary copy of the interpretation notebook with its answers (the
generated source notebook without its test cells), every cell run, and the
inline UI of its last cell after a Grad-CAM click.
"""

import argparse
import sys
from pathlib import Path

from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.ui.config import EXAMPLES_DIR, set_offline_environment

VIEWPORT = {"width": 1280, "height": 900}
#: The notebook's window: the show_lab cell's code, its 900-pixel frame and the line below it.
NOTEBOOK_VIEWPORT = {"width": 1280, "height": 1160}
PET = EXAMPLES_DIR / "pet_dog_beagle.jpg"


def real_photo():
    """Gradio's photo of a lion (a real photo an installed package ships), else the bundled pet."""
    from cvlab_ch9.models.real_photos import PHOTOS, photo_path  # noqa: PLC0415

    return photo_path(next(p for p in PHOTOS if p.name == "lion")) or PET
#: Screenshots above this size are re-saved with a 256-colour palette.
MAX_BYTES = 300_000
#: Seconds allowed for one click's result to appear.
RESULT_TIMEOUT_MS = 120_000


def set_labs_dir(page, text):
    """Type ``text`` into the "labs directory" textbox."""
    box = page.locator("#labs-dir textarea, #labs-dir input").first
    box.fill(text)
    box.blur()


def open_tab(page, name):
    page.get_by_role("tab", name=name, exact=True).click()


def upload(page, elem_id, path):
    """Upload ``path`` into the gr.Image with ``elem_id``; wait for the preview."""
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    page.locator(f"#{elem_id} img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)


def click_and_wait(page, button_id, result_selector):
    """Click ``#button_id``; wait until ``result_selector`` is visible."""
    page.locator(f"#{button_id}").click()
    page.locator(result_selector).first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    page.wait_for_timeout(500)


def shoot(page, out, name, clip_to=None, full_page=True):
    """Screenshot the whole page (or one element, or what the window shows) to ``out/name.png``; return the path."""
    path = Path(out) / f"{name}.png"
    if clip_to:
        page.locator(clip_to).first.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    shrink(path)
    return path


def shrink(path, max_bytes=MAX_BYTES):
    """Re-save a PNG over ``max_bytes`` with a 256-colour palette (UI screenshots survive it)."""
    from PIL import Image  # noqa: PLC0415

    if path.stat().st_size <= max_bytes:
        return
    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)


def take_screenshots(url, out):
    """Drive the app at ``url`` through every tab; write PNGs into ``out``; return their paths."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    from tools.browser import launch_chromium  # noqa: PLC0415

    Path(out).mkdir(parents=True, exist_ok=True)
    paths = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            page.goto(url)
            set_labs_dir(page, "solutions")

            open_tab(page, "Grad-CAM")
            upload(page, "gradcam-image", real_photo())
            click_and_wait(page, "gradcam-run", "#gradcam-difference img")
            paths.append(shoot(page, out, "gradcam", "#tab-grad-cam"))

            open_tab(page, "Segmentation")
            page.locator("#segmentation-examples button, #segmentation-examples img").first.click()
            click_and_wait(page, "segmentation-run", "#segmentation-student img")
            paths.append(shoot(page, out, "segmentation", "#tab-segmentation"))

            open_tab(page, "Activations")
            page.locator("#activations-examples button, #activations-examples img").nth(1).click()
            click_and_wait(page, "activations-run", "#activations-student-channel img")
            deeper = page.locator("#activations-student .caption-label").nth(6).inner_text().split(" — ")[0]
            page.locator("#activations-student .thumbnail-item").nth(6).click()  # a deeper layer, from the overview
            page.locator("#activations-layer-text").get_by_text(f"{deeper} —").wait_for(timeout=RESULT_TIMEOUT_MS)
            page.wait_for_timeout(1000)
            paths.append(shoot(page, out, "activations", "#tab-activations"))

            open_tab(page, "Filters")
            click_and_wait(page, "filters-run", "#filters-reference img")
            page.locator("#filters-status").get_by_text("8 of 8 patterns").wait_for(timeout=RESULT_TIMEOUT_MS)
            page.locator("#filters-patches img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
            paths.append(shoot(page, out, "filters", "#tab-filters"))

            open_tab(page, "Architecture")
            click_and_wait(page, "architecture-run", "#architecture-summary p")
            paths.append(shoot(page, out, "architecture", "#tab-architecture"))
            paths.extend(architecture_pictures(page, out))
            paths.extend(segmentation_pictures(page, out))

            set_labs_dir(page, "labs")
            open_tab(page, "Grade")
            click_and_wait(page, "grade-run", "#grade-summary h3")
            # every lab graded (the summary lists each lab's subtotal)
            page.locator("#grade-summary").get_by_text("interpretation:").wait_for(timeout=RESULT_TIMEOUT_MS)
            paths.append(shoot(page, out, "grade", "#tab-grade"))
        finally:
            browser.close()
    return paths


def architecture_pictures(page, out):
    """The Architecture tab's pictures (on ``solutions``): the graphs with a layer's output, separable costs, batch norm."""
    page.locator("#architecture-reference-graph svg").wait_for(timeout=RESULT_TIMEOUT_MS)
    node = page.locator("#architecture-student-graph [data-layer='8']")
    node.scroll_into_view_if_needed()
    node.click()
    page.locator("#architecture-student-output img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    page.wait_for_timeout(800)
    paths = [shoot(page, out, "architecture-graph", "#architecture-graphs")]
    page.locator("#separable-student .cvlab-separable").first.wait_for(timeout=RESULT_TIMEOUT_MS)
    click_and_wait(page, "separable-mini-run", "#separable-mini-student .cvlab-separable")
    paths.append(shoot(page, out, "architecture-separable", "#separable-section"))
    click_and_wait(page, "batchnorm-run", "#batchnorm-trained img")
    page.locator("#batchnorm-student img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    paths.append(shoot(page, out, "architecture-batchnorm", "#batchnorm-section"))
    return paths


def segmentation_pictures(page, out):
    """The Segmentation tab's pipeline (with the max-pooling variant) and a short training run."""
    open_tab(page, "Segmentation")
    page.locator("#pipeline-pooling input").check()
    click_and_wait(page, "pipeline-run", "#pipeline-classes img")
    page.locator("#pipeline-pooled img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
    paths = [shoot(page, out, "segmentation-pipeline", "#pipeline-section")]
    page.locator("#training-section button").first.click()  # open the accordion
    click_and_wait(page, "training-run", "#training-curves img")
    page.locator("#training-status").get_by_text("Done").wait_for(timeout=RESULT_TIMEOUT_MS * 3)
    page.wait_for_timeout(800)
    paths.append(shoot(page, out, "segmentation-training", "#training-section"))
    return paths


NOTEBOOK_SOURCE = REPO_ROOT / "course" / "source" / "interpretation" / "interpretation.ipynb"


def notebook_with_answers(folder):
    """Write the interpretation notebook (answers in, test cells out) into ``folder``; return its file name."""
    import nbformat  # noqa: PLC0415

    notebook = nbformat.read(str(NOTEBOOK_SOURCE), as_version=4)
    notebook.cells = [c for c in notebook.cells if not c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    nbformat.write(notebook, str(Path(folder) / NOTEBOOK_SOURCE.name))
    return NOTEBOOK_SOURCE.name


def take_notebook_screenshot(out):
    """``out/notebook.png``: the inline UI in a notebook served by Notebook 7, after a Grad-CAM click; return its path."""
    import os  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    from tools.browser import launch_chromium, run_all_cells  # noqa: PLC0415
    from tools.serving import jupyter_server  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "notebooks"
        folder.mkdir()
        name = notebook_with_answers(folder)
        env = dict(os.environ, CVLAB_ROOT=str(REPO_ROOT))
        with jupyter_server(folder, env) as (base, token), sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport=NOTEBOOK_VIEWPORT, device_scale_factor=1)
                app = run_all_cells(page, base, token, name, timeout_ms=RESULT_TIMEOUT_MS)
                app.locator(f"#gradcam-examples img[src*='{PET.stem}'], #gradcam-examples button").first.click()
                app.locator("#gradcam-image img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
                app.locator("#gradcam-run").click()
                app.locator("#gradcam-student img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
                page.wait_for_timeout(1500)
                # the frame has the app's height: the page scrolls to the results, no scroll inside the frame
                app.locator("#gradcam-status").evaluate("el => el.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(500)
                Path(out).mkdir(parents=True, exist_ok=True)
                return shoot(page, out, "notebook", full_page=False)
            finally:
                browser.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "screenshots"))
    parser.add_argument("--notebook", action="store_true", help="only the inline UI in a notebook (notebook.png)")
    args = parser.parse_args(argv)
    set_offline_environment()
    if args.notebook:
        path = take_notebook_screenshot(args.out)
        print(f"{path} ({path.stat().st_size // 1024} KB)")
        return 0
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    from tools.serving import serve_in_background  # noqa: PLC0415

    app, url = serve_in_background()
    try:
        for path in take_screenshots(url, args.out):
            print(f"{path} ({path.stat().st_size // 1024} KB)")
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The lab UI: one Gradio Blocks app with a tab per exercise group.

``build_app()`` creates it; :func:`launch` starts it on 127.0.0.1 with the
project's offline settings. Every click re-executes the student's module
from the "labs directory" (default ``labs/``), so edits are picked up
without restarting.
"""

import gradio as gr

from ui import tabs_architecture, tabs_grade, tabs_interpretation, tabs_segmentation
from ui.common import DEFAULT_LABS_DIR
from ui.config import DEFAULT_PORT, EXAMPLES_DIR, HOST
from ui.resources import example_images

TITLE = "cvlab — Chapter 9 lab"


def offline_theme():
    """The default theme with system fonts only (no font download from the internet)."""
    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    )


def build_app():
    """Create the UI (nothing is launched, no model is trained).

    Returns:
        gr.Blocks with tabs Segmentation, Architecture, Activations,
        Filters, Grad-CAM and Grade; API endpoints ``/segment``, ``/train``,
        ``/architecture``, ``/activations``, ``/filters``, ``/grad_cam``
        and ``/grade``.
    """
    pets = example_images("pet_")
    everything = example_images()
    # delete_cache: result images older than an hour are removed every hour
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown(
            f"# {TITLE}\n"
            "Segmentation, modern architecture patterns and interpreting convnets "
            "(*Deep Learning with Python*, 2nd ed., chapter 9). Each tab runs **your current code** — "
            "edit `labs/*.py`, save, click again. The reference result is always shown beside yours."
        )
        labs_dir = gr.Textbox(
            DEFAULT_LABS_DIR,
            label="Labs directory",
            info="Where your lab modules are: labs (default), solutions (the reference) or a folder path.",
            elem_id="labs-dir",
        )
        with gr.Tabs():
            with gr.Tab("Segmentation", id="segmentation", elem_id="tab-segmentation"):
                tabs_segmentation.build_tab(labs_dir, pets or everything)
            with gr.Tab("Architecture", id="architecture", elem_id="tab-architecture"):
                tabs_architecture.build_tab(labs_dir)
            with gr.Tab("Activations", id="activations", elem_id="tab-activations"):
                tabs_interpretation.build_activations_tab(labs_dir, everything)
            with gr.Tab("Filters", id="filters", elem_id="tab-filters"):
                tabs_interpretation.build_filters_tab(labs_dir)
            with gr.Tab("Grad-CAM", id="grad-cam", elem_id="tab-grad-cam"):
                tabs_interpretation.build_gradcam_tab(labs_dir, everything)
            with gr.Tab("Grade", id="grade", elem_id="tab-grade"):
                tabs_grade.build_tab(labs_dir)
    app.queue(default_concurrency_limit=1)
    return app


def launch(app, port=DEFAULT_PORT, block=True, quiet=False):
    """Start ``app`` on http://127.0.0.1:``port`` with offline settings (no share link).

    Args:
        block: wait until the server stops (False returns at once; call
            ``app.close()`` to stop).

    Returns:
        what ``gr.Blocks.launch`` returns (app, local URL, share URL).
    """
    return app.launch(
        server_name=HOST,
        server_port=int(port),
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        quiet=quiet,
        show_error=True,
        theme=offline_theme(),
        footer_links=["api"],
        allowed_paths=[str(EXAMPLES_DIR)],
    )


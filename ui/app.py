"""The lab UI: one Gradio Blocks app with a tab per exercise group.

``build_app()`` creates it; :func:`launch` starts it on 127.0.0.1 with the
project's offline settings. Every click re-executes the student's module
from the "labs directory" (default ``labs/``), so edits are picked up
without restarting. ``build_app(notebook_lab=...)`` is the same app opened
from a notebook (:func:`cvlab_ch9.ui.notebook.show_lab`): its labs directory is
``notebook``, the notebook's own functions.
"""

import gradio as gr

from cvlab_ch9.ui import tabs_activations, tabs_architecture, tabs_filters, tabs_gradcam, tabs_grade, tabs_segmentation
from cvlab_ch9.ui.common import DEFAULT_LABS_DIR, NOTEBOOK
from cvlab_ch9.ui.config import DEFAULT_PORT, EXAMPLES_DIR, HOST
from cvlab_ch9.ui.reference import reference_side
from cvlab_ch9.ui.resources import example_images

TITLE = "cvlab — Chapter 9 lab"
#: What the notebook's page says instead of the "Labs directory" box.
NOTEBOOK_SOURCE_LINE = ("**Your code:** this notebook's functions, as they are when you click "
                        "(to try a folder of lab modules instead, run `cvlab ui`).")
#: The tab each lab's notebook opens on.
LAB_TABS = {"segmentation": "segmentation", "architecture": "architecture", "interpretation": "grad-cam"}


def offline_theme():
    """The default theme with system fonts only (no font download from the internet)."""
    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    )


def reference_sentence():
    """What the page says about the reference column (live: the reference solution; recorded: the kit's recordings)."""
    if reference_side().kind == "recorded":
        return ("The reference column shows the demo models' own outputs and results recorded from the reference "
                "solution for the example images (this kit has no answer key).")
    return "The reference result is always shown beside yours."


def labs_dir_info(notebook):
    """The "Labs directory" box's help line: the sources this copy has."""
    names = ["notebook (this notebook's functions)"] if notebook else []
    names.append("labs" + (" (your folder)" if notebook else " (default)"))
    if reference_side().kind == "live":
        names.append("solutions (the reference)")
    return f"Where your lab modules are: {', '.join(names)} or a folder path."


def build_app(notebook_lab=None):
    """Create the UI (nothing is launched, no model is trained).

    Args:
        notebook_lab: None for the standalone UI; a lab name (or "") for the
            UI opened from a notebook: the labs directory is ``notebook``
            and the page opens on that lab's tab.

    Returns:
        gr.Blocks with tabs Segmentation, Architecture, Activations,
        Filters, Grad-CAM and Grade; API endpoints ``/segment``, ``/train``,
        ``/architecture``, ``/activations``, ``/filters``, ``/grad_cam``
        and ``/grade``.
    """
    pets = example_images("pet_")
    everything = example_images()
    notebook = notebook_lab is not None
    edit = "edit an answer cell, run it, click again" if notebook else "edit `labs/*.py`, save, click again"
    where = "this notebook" if notebook else "`interpretation.py`"
    # delete_cache: result images older than an hour are removed every hour
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown(
            f"# {TITLE}\n"
            "Segmentation, modern architecture patterns and interpreting convnets "
            f"(*Deep Learning with Python*, 2nd ed., chapter 9). Each tab runs **your current code** — {edit}. "
            + reference_sentence()
        )
        if notebook:
            # the notebook's own functions: nothing to type (cvlab ui reads folders)
            labs_dir = gr.Textbox(NOTEBOOK, visible=False, elem_id="labs-dir")
            gr.Markdown(NOTEBOOK_SOURCE_LINE, elem_id="labs-dir-notebook")
        else:
            labs_dir = gr.Textbox(DEFAULT_LABS_DIR, label="Labs directory", info=labs_dir_info(notebook), elem_id="labs-dir")
        with gr.Tabs(selected=LAB_TABS.get(notebook_lab or "")):
            with gr.Tab("Segmentation", id="segmentation", elem_id="tab-segmentation"):
                tabs_segmentation.build_tab(labs_dir, pets or everything)
            with gr.Tab("Architecture", id="architecture", elem_id="tab-architecture"):
                tabs_architecture.build_tab(labs_dir)
            with gr.Tab("Activations", id="activations", elem_id="tab-activations"):
                tabs_activations.build_tab(labs_dir, everything, where)
            with gr.Tab("Filters", id="filters", elem_id="tab-filters"):
                tabs_filters.build_tab(labs_dir, where)
            with gr.Tab("Grad-CAM", id="grad-cam", elem_id="tab-grad-cam"):
                tabs_gradcam.build_tab(labs_dir, everything, where)
            with gr.Tab("Grade", id="grade", elem_id="tab-grade"):
                tabs_grade.build_tab(labs_dir, lab=notebook_lab or tabs_grade.ALL_LABS)
    app.queue(default_concurrency_limit=1)
    return app


def launch(app, port=DEFAULT_PORT, block=True, quiet=False, root_path=None, inline=False, height=None, head=None):
    """Start ``app`` on http://127.0.0.1:``port`` with offline settings (no share link).

    Args:
        block: wait until the server stops (False returns at once; call
            ``app.close()`` to stop).
        root_path: the path under which a proxy serves the app (e.g.
            ``/user/alice/proxy/7861`` on JupyterHub), or None (Gradio's
            default: ``$GRADIO_ROOT_PATH`` or none).
        inline: show the app in the running notebook cell's output (Gradio's
            inline display; :func:`cvlab_ch9.ui.notebook.show_lab`); ``height`` is the
            frame's, in pixels.
        head: HTML added to the page's head (the notebook's frame-height script), or None.

    Returns:
        what ``gr.Blocks.launch`` returns (app, local URL, share URL).
    """
    return app.launch(
        server_name=HOST,
        server_port=int(port),
        share=False,
        inbrowser=False,
        inline=inline,
        width="100%",
        height=height or 500,
        prevent_thread_lock=not block,
        root_path=root_path,
        quiet=quiet,
        show_error=True,
        theme=offline_theme(),
        footer_links=["api"],
        allowed_paths=[str(EXAMPLES_DIR)],
        head=head,
    )


"""Architecture tab: the student's models against the reference, as graphs and as a layer table.

:func:`compare_architectures` builds the chosen model with the student's
functions, asks the reference side (:func:`cvlab_ch9.ui.reference.reference_side`:
built from ``solutions/``, or recorded in the student kit for the chapter's
settings) for the reference's layer table, and returns both plus a summary of
parameter counts and where they differ. The graphs, a clicked layer's output
(:mod:`cvlab_ch9.ui.architecture_graph`), the cost of a separable convolution
(:mod:`cvlab_ch9.ui.separable`) and batch normalization
(:mod:`cvlab_ch9.ui.batchnorm`) are built into the tab by :func:`build_tab`.
"""

import collections

import gradio as gr

from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.architecture_models import (  # noqa: F401 - the tab's names, as callers know them
    CONV_BN_RELU,
    EXERCISE,
    EXERCISE_CHOICES,
    IMAGENET,
    LAB,
    LAB_OF,
    MAX_CLASSES,
    MAX_SIZE,
    MIN_SIZE,
    MINI_XCEPTION,
    MODEL_CHOICES,
    RESIDUAL,
    SEGMENTATION,
    XCEPTION_BLOCK,
    build_model,
    checked_settings,
    default_settings,
    parse_filters,
    reference_model,
    settings_for_choice,
    student_model,
)
from cvlab_ch9.ui.common import describe_lab, resolve_labs_dir
from cvlab_ch9.ui.reference import Shown, reference_side, result_key

TABLE_HEADERS = [
    "#", "your layer", "your output shape", "your params", "in reference?",
    "reference layer", "reference output shape", "reference params",
]

def layer_rows(model):
    """One ``[index, name, type, output shape, params]`` row per layer of ``model``."""
    rows = []
    for i, layer in enumerate(model.layers):
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            shape = "?"
        rows.append([i, layer.name, type(layer).__name__, str(shape), int(layer.count_params())])
    return rows


def _signature(row):
    """What must agree between two layers: type, output shape, parameter count."""
    return (row[2], row[3], row[4])


def _describe(signature, count=1):
    kind, shape, params = signature
    times = f"{count}× " if count > 1 else ""
    return f"{times}{kind} → {shape}, {params:,} params"


def mark_matches(rows, reference_rows):
    """"✓"/"✗" per row of ``rows``: does the reference have a layer with the same type, shape and params?

    All "" when ``reference_rows`` is None (no reference to compare with).
    """
    if reference_rows is None:
        return [""] * len(rows)
    available = collections.Counter(_signature(r) for r in reference_rows)
    marks = []
    for row in rows:
        sig = _signature(row)
        if available[sig] > 0:
            available[sig] -= 1
            marks.append("✓")
        else:
            marks.append("✗")
    return marks


def side_by_side_rows(student_rows, reference_rows):
    """One table row per layer index: the student's layer, ✓/✗, and the reference's layer.

    Returns:
        list of ``[#, your layer, your output shape, your params, in reference?,
        reference layer, reference output shape, reference params]``; cells of a
        model with fewer layers are "".
    """
    marks = mark_matches(student_rows, reference_rows)
    reference_rows = reference_rows or []
    table = []
    for i in range(max(len(student_rows), len(reference_rows))):
        mine = student_rows[i] if i < len(student_rows) else None
        theirs = reference_rows[i] if i < len(reference_rows) else None
        table.append(
            [i]
            + ([f"{mine[2]} ({mine[1]})", mine[3], mine[4], marks[i]] if mine else ["", "", "", ""])
            + ([f"{theirs[2]} ({theirs[1]})", theirs[3], theirs[4]] if theirs else ["", "", ""])
        )
    return table


def difference_summary(student_rows, reference_rows, student_params, reference_params, limit=6):
    """Markdown: parameter counts and the layers that differ (as multisets, then in order)."""
    diff = student_params - reference_params
    lines = [
        f"**Parameters** — yours: **{student_params:,}**, reference: **{reference_params:,}** "
        f"({'same' if diff == 0 else f'{diff:+,}'}). "
        f"Layers — yours: {len(student_rows)}, reference: {len(reference_rows)}."
    ]
    student_sigs = [_signature(r) for r in student_rows]
    reference_sigs = [_signature(r) for r in reference_rows]
    if student_sigs == reference_sigs:
        lines.append("✓ Same layers, output shapes and parameter counts as the reference, in the same order.")
        return "\n\n".join(lines)
    extra = collections.Counter(student_sigs) - collections.Counter(reference_sigs)
    missing = collections.Counter(reference_sigs) - collections.Counter(student_sigs)
    if not extra and not missing:
        lines.append("✓ Same layers as the reference, in a different order (equivalent if the connections agree).")
        return "\n\n".join(lines)
    if extra:
        lines.append("**Only in yours:** " + "; ".join(_describe(s, c) for s, c in list(extra.items())[:limit]))
    if missing:
        lines.append("**Missing from yours:** " + "; ".join(_describe(s, c) for s, c in list(missing.items())[:limit]))
    for i, (mine, theirs) in enumerate(zip(student_sigs, reference_sigs)):
        if mine != theirs:
            lines.append(f"First difference at layer #{i}: yours is {_describe(mine)}; the reference has {_describe(theirs)}.")
            break
    return "\n\n".join(lines)


def reference_table(choice, input_size, filters, num_classes, augment):
    """Shown((layer rows, parameter count) of the reference model, or None with a sentence) from the reference side."""
    args = (choice, input_size, tuple(filters), num_classes, augment)

    def compute(lab):
        model = build_model(lab, *args)
        return layer_rows(model), int(model.count_params())

    if choice == IMAGENET:
        model = reference_model(args)
        return Shown((layer_rows(model), int(model.count_params())))
    key = result_key("architecture", choice=choice, input_size=input_size, filters=list(filters), num_classes=num_classes,
                     augment=augment)
    return reference_side().one(
        LAB_OF.get(choice, LAB), key, compute,
        settings="for the chapter's settings of each model (those choosing the model fills in); choose them to compare",
    )


def compare_architectures(labs_dir, choice, input_size, block_filters, num_classes, augment):
    """Event: build the chosen model from the student's code and the reference.

    Args:
        labs_dir: the "labs directory" textbox.
        choice: one of MODEL_CHOICES.
        input_size: square input side (16..299).
        block_filters: comma-separated filters, e.g. ``"32, 64, 128"``.
        num_classes: 1 (sigmoid) or more (softmax).
        augment: include the data augmentation layers (mini-Xception).

    Returns:
        (summary markdown, student status markdown, rows) where rows are
        ``[#, your layer, your output shape, your params, in reference?,
        reference layer, reference output shape, reference params]``.
    """
    source = resolve_labs_dir(labs_dir)
    args = checked_settings(choice, input_size, block_filters, num_classes, augment)
    choice = args[0]
    reference = reference_table(*args)
    reference_rows, reference_params = reference.value if reference.value is not None else (None, None)
    if reference_rows is None:
        reference_only = reference.note
    else:
        reference_only = f"Reference: **{reference_params:,}** parameters in {len(reference_rows)} layers."
    if choice == IMAGENET:
        return reference_only, "Keras' own model: no exercise builds it.", side_by_side_rows([], reference_rows)
    exercise = EXERCISE[choice]
    outcome = student_model(source, args)
    if not outcome.ok:
        return reference_only, outcome.markdown(), side_by_side_rows([], reference_rows)
    model = outcome.value
    if not hasattr(model, "layers") or not hasattr(model, "count_params"):
        message = f"⚠ {exercise}() must return a Keras tensor/model; got {type(model).__name__}."
        return reference_only, message, side_by_side_rows([], reference_rows)
    student_rows = layer_rows(model)
    if reference_rows is None:
        summary = f"**Parameters** — yours: **{int(model.count_params()):,}** in {len(student_rows)} layers.\n\n{reference.note}"
    else:
        summary = difference_summary(student_rows, reference_rows, int(model.count_params()), reference_params)
    status = f"Built with {describe_lab(source, LAB_OF.get(choice, LAB))}"
    return summary, status, side_by_side_rows(student_rows, reference_rows)


def record_reference(labs_dir, examples):
    """Run the tab's events with the chapter's settings so a recording reference side keeps what they show.

    Used by the gallery recorder, ``python -m grader.record --book gallery`` (on fresh skeletons: only the reference
    computes): the layer tables and graphs of every exercise's model, the
    separable convolution counts at the sliders' start, the mini-Xception's
    counts, the batch normalization histograms of each example image.
    """
    from cvlab_ch9.ui import architecture_graph, batchnorm, separable  # noqa: PLC0415 - they import this module's names

    for choice in EXERCISE_CHOICES:
        settings = settings_for_choice(choice)
        compare_architectures(labs_dir, choice, *settings)
        architecture_graph.draw_graphs(labs_dir, choice, *settings)
    separable.separable_costs(labs_dir, *separable.DEFAULT)
    separable.mini_xception_costs(labs_dir)
    for example in examples:
        for which in batchnorm.BATCH_CHOICES:
            batchnorm.batchnorm_histograms(labs_dir, example, which)


def download_status(choice):
    """Event: show the Download button while the ImageNet Xception is chosen and not downloaded."""
    from cvlab_ch9.ui.resources import IMAGENET_XCEPTION, needs_download  # noqa: PLC0415 - the model store

    return gr.update(visible=choice == IMAGENET and needs_download(IMAGENET_XCEPTION))


def download_imagenet_model(progress=gr.Progress()):
    """Event: download the ImageNet Xception (with a progress bar); hide the button when done."""
    from cvlab_ch9.ui.resources import download_imagenet  # noqa: PLC0415

    download_imagenet(progress)
    return gr.update(visible=False)


def build_tab(labs_dir):
    """Create the Architecture tab's components inside the current ``gr.Tab``."""
    from cvlab_ch9.ui import architecture_graph, batchnorm, separable  # noqa: PLC0415 - they import this module's names
    from cvlab_ch9.ui.graph_view import CLICK_JS, CSS, legend_html  # noqa: PLC0415
    from cvlab_ch9.ui.reference import reference_side  # noqa: PLC0415
    from cvlab_ch9.ui.resources import example_images  # noqa: PLC0415

    gr.Markdown(
        "Build a model with **your** functions and see it as a graph beside the reference's: one box per layer, "
        "the shape of what flows on each arrow, the skip connections (orange) into each `Add`, the parameters as bars. "
        "The first difference is marked red on both. **Click a layer** to see its output for the image; "
        "click ▸/▾ to open or close a residual block."
    )
    with gr.Row():
        choice = inputs.Dropdown(list(MODEL_CHOICES), value=MINI_XCEPTION, label="Model", elem_id="architecture-model")
        input_size = inputs.Slider(MIN_SIZE, MAX_SIZE, value=180, step=1, label="Input size (pixels)")
        block_filters = gr.Textbox("32, 64, 128, 256, 512", label="Block filters")
        num_classes = inputs.Number(1, precision=0, minimum=1, maximum=MAX_CLASSES, label="Classes (1 = sigmoid)")
        augment = gr.Checkbox(True, label="Data augmentation layers")
    with gr.Row():
        button = gr.Button("Compare with the reference", variant="primary", elem_id="architecture-run")
        download = gr.Button("Download the ImageNet Xception", visible=False, variant="secondary", elem_id="architecture-download")
    status = gr.Markdown()
    summary = gr.Markdown(elem_id="architecture-summary")
    with gr.Column(elem_id="architecture-graphs"):
        gr.HTML(legend_html())
        state = gr.State(architecture_graph.empty_state())
        with gr.Row(equal_height=False):
            with gr.Column():
                gr.Markdown("### Your model")
                graph_status = gr.Markdown(elem_id="architecture-graph-status", min_height=48)
                student_graph = gr.HTML("", js_on_load=CLICK_JS, css_template=CSS, elem_id="architecture-student-graph")
            with gr.Column():
                gr.Markdown("### Reference" + (" (recorded)" if reference_side().kind == "recorded" else ""))
                reference_note = gr.Markdown(elem_id="architecture-reference-note", min_height=48)
                reference_graph = gr.HTML("", js_on_load=CLICK_JS, css_template=CSS, elem_id="architecture-reference-graph")
        gr.Markdown("### A layer's output")
        with gr.Row():
            with gr.Column(scale=1):
                pets = example_images("pet_") or example_images()
                image = inputs.ImageFile(label="Image", height=220, elem_id="architecture-image",
                                         value=pets[0] if pets else None)
                gr.Examples(example_images(), inputs=image, label="Examples")
                layer = inputs.Dropdown([], value=None, label="Layer (click one in a graph)", elem_id="architecture-layer")
            with gr.Column(scale=2):
                student_caption = gr.Markdown(elem_id="architecture-output-caption")
                student_output = gr.Image(label="Your model", height=300, interactive=False, elem_id="architecture-student-output")
            with gr.Column(scale=2):
                reference_caption = gr.Markdown()
                reference_output = gr.Image(label="Reference", height=300, interactive=False, elem_id="architecture-reference-output")
    with gr.Accordion("Layer table", open=False):
        table = gr.Dataframe(
            headers=TABLE_HEADERS, interactive=False, wrap=True, max_height=520,
            column_widths=["4%", "20%", "16%", "9%", "8%", "20%", "15%", "8%"],
        )
    separable.build_section(labs_dir, button)
    batchnorm.build_section(labs_dir, image)

    settings = [choice, input_size, block_filters, num_classes, augment]
    choice.change(settings_for_choice, inputs=choice, outputs=[input_size, block_filters, num_classes, augment],
                  api_visibility="private")
    choice.change(download_status, inputs=choice, outputs=download, api_visibility="private")
    download.click(download_imagenet_model, outputs=download, api_visibility="private", show_progress_on=status)
    button.click(compare_architectures, inputs=[labs_dir, *settings], outputs=[summary, status, table], api_name="architecture")
    button.click(
        architecture_graph.draw_graphs, inputs=[labs_dir, *settings],
        outputs=[student_graph, reference_graph, graph_status, reference_note, state, layer], api_name="architecture_graph",
    )
    for graph in (student_graph, reference_graph):
        graph.click(architecture_graph.toggle_block, inputs=state, outputs=[student_graph, reference_graph, state, layer],
                    api_visibility="private")
    layer.change(
        architecture_graph.layer_output, inputs=[labs_dir, *settings, image, layer],
        outputs=[student_output, student_caption, reference_output, reference_caption], api_name="layer_output",
    )

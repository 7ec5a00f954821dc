"""Filters tab: filter patterns by the student's ``generate_filter_pattern`` and ``deprocess_image``, beside the reference."""

import gradio as gr
import numpy as np

from cvlab_ch9.layers import CONV_LAYER_TYPES, layer_names
from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.classifiers import LAB, MIN_ASCENT_SIDE, feature_extractor, initial_choices
from cvlab_ch9.ui.common import expect_array, outcome_from_exception, resolve_labs_dir, student_module, user_error
from cvlab_ch9.ui.fields import listing, whole_number
from cvlab_ch9.ui.layout import model_picker, side_by_side, wire_model_picker
from cvlab_ch9.ui.reference import generate_patterns, model_fingerprint, reference_side, result_key
from cvlab_ch9.ui.resources import load_model, model_info

#: Bounds that keep a click responsive on a 2-core CPU.
MAX_FILTERS = 16
MAX_ITERATIONS = 60
FILTERS_RANGE = (1, MAX_FILTERS)
ITERATIONS_RANGE = (5, MAX_ITERATIONS)
#: The sliders' starting values (what the kit's recorded reference uses).
DEFAULT_FILTERS = 8
DEFAULT_ITERATIONS = 30


def _pattern_picture(module, extractor, index, iterations, size, crop):
    """Filter ``index``'s pattern from ``module``'s generate_filter_pattern + deprocess_image: uint8 (h, w, 3)."""
    pattern = expect_array(
        generate_patterns(module, extractor, [index], iterations, size)[0], "generate_filter_pattern", ndim=3, what="an (H, W, 3) image"
    )
    return _deprocessed(module, pattern, crop)


def _deprocessed(module, pattern, crop):
    """``module.deprocess_image(pattern, crop)`` checked and clipped to uint8 (h, w, 3)."""
    picture = expect_array(module.deprocess_image(pattern, crop=crop), "deprocess_image", ndim=3, what="an (H, W, 3) uint8 image")
    return np.clip(picture, 0, 255).astype("uint8")


def _reference_patterns(model_name, layer_name, extractor, indices, iterations, size, crop):
    """Shown(uint8 (h, w, 3) reference pattern or None per filter in ``indices``, note)."""
    reference = reference_side()
    base = {"model": model_name, "model_file": model_fingerprint(model_name), "layer": layer_name, "iterations": iterations}
    return reference.many(
        LAB, [result_key("filter_pattern", index=i, **base) for i in indices],
        lambda lab: [_deprocessed(lab, p, crop) for p in lab.filter_patterns(extractor, indices, iterations, size)],
        settings=f"with {DEFAULT_ITERATIONS} gradient ascent steps (the default); set them to compare",
    )


def run_filters(labs_dir, model_name, layer_name, n_filters=8, iterations=30, compare_reference=True, progress=gr.Progress()):
    """Event (generator): filter patterns by the student's gradient ascent, one filter at a time.

    Yields after every filter so the gallery fills in and the Stop button
    can cancel between filters. The reference side computes (or looks up)
    ``reference_side().batch_size`` filters at a time.

    Yields:
        (student gallery items, student status markdown, reference gallery items, reference note markdown)
    """
    source = resolve_labs_dir(labs_dir)
    model = load_model(model_name)
    info = model_info(model_name)
    valid = layer_names(model, CONV_LAYER_TYPES)
    if layer_name not in valid:
        # e.g. a layer of the model used before a model switch
        raise user_error(f"The model has no convolution layer named {layer_name!r}; choose one of: {listing(valid)}.")
    shape = model.get_layer(layer_name).output.shape
    if min(shape[1], shape[2]) < MIN_ASCENT_SIDE:
        raise user_error(
            f"Layer {layer_name!r} outputs only {shape[1]}x{shape[2]} pixels and filter_loss ignores a 2-pixel border; "
            "choose an earlier layer."
        )
    # a layer with fewer channels than asked for shows them all
    n_filters = min(whole_number(n_filters, "Filters", *FILTERS_RANGE), shape[-1])
    iterations = whole_number(iterations, "Gradient ascent steps", *ITERATIONS_RANGE)
    size = info["input_size"]
    crop = min(25, min(size) // 8)
    extractor = feature_extractor(model_name, layer_name)
    batch_size = max(1, reference_side().batch_size)
    student_items, ref_items, ref_pictures = [], [], []
    status = ref_note = ""
    with student_module(LAB, source, ("generate_filter_pattern", "deprocess_image")) as (module, failure):
        if failure is not None:
            status = failure.markdown()
        for i in range(n_filters):
            progress(i / n_filters, desc=f"Filter {i + 1} of {n_filters}")
            if failure is None:
                try:
                    student_items.append((_pattern_picture(module, extractor, i, iterations, size, crop), f"filter {i}"))
                except Exception as exc:  # noqa: BLE001 - shown in the status, the reference goes on
                    failure = outcome_from_exception(exc, LAB, "generate_filter_pattern", source)
                    status = failure.markdown()
            if compare_reference:
                if i == len(ref_pictures):
                    chunk = list(range(i, min(i + batch_size, n_filters)))
                    shown = _reference_patterns(model_name, layer_name, extractor, chunk, iterations, size, crop)
                    ref_pictures.extend(shown.value)
                    ref_note = ref_note or shown.note
                if ref_pictures[i] is not None:
                    ref_items.append((ref_pictures[i], f"filter {i}"))
            if failure is None:
                status = f"{len(student_items)} of {n_filters} patterns from your generate_filter_pattern() ({iterations} steps each)."
            yield list(student_items), status, list(ref_items), ref_note


def build_tab(labs_dir):
    """Create the Filters tab's components inside the current ``gr.Tab``."""
    names, default, choices, problem = initial_choices()
    gr.Markdown(
        "The pattern each filter responds to most, found by gradient ascent from gray noise with your "
        "`generate_filter_pattern()` and shown with your `deprocess_image()`. Patterns appear one by one; "
        "Stop cancels between filters."
    )
    if problem:
        gr.Markdown(problem)
    with gr.Row():
        with gr.Column(scale=2):
            model, model_info_note, download = model_picker(names, default)
        layer = inputs.Dropdown(
            choices.get("filter_layers", []), value=choices.get("filter_default"), label="Layer"
        )
        n_filters = inputs.Slider(*FILTERS_RANGE, value=DEFAULT_FILTERS, step=1, label="Filters")
        iterations = inputs.Slider(*ITERATIONS_RANGE, value=DEFAULT_ITERATIONS, step=5, label="Gradient ascent steps")
        compare = gr.Checkbox(True, label="Also run the reference")
    with gr.Row():
        button = gr.Button("Generate filter patterns", variant="primary", elem_id="filters-run")
        stop = gr.Button("Stop", variant="stop")
    student, status, reference, reference_note = side_by_side(
        lambda: gr.Gallery(label="Your filter patterns", columns=4, height=420, object_fit="contain"),
        lambda: gr.Gallery(label="Reference filter patterns", columns=4, height=420, object_fit="contain", elem_id="filters-reference"),
        status_id="filters-status", note_id="filters-reference-note",
    )
    wire_model_picker(model, model_info_note, download, [layer], lambda updates: updates[1:2])
    running = button.click(
        run_filters,
        inputs=[labs_dir, model, layer, n_filters, iterations, compare],
        outputs=[student, status, reference, reference_note],
        api_name="filters",
        show_progress_on=status,  # the galleries stay visible as they fill in
    )
    stop.click(None, cancels=[running])

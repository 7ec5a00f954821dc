"""Filters tab: filter patterns by the student's ``generate_filter_pattern`` and ``deprocess_image``, beside the reference.

For each filter: the pattern as gradient ascent grows it (a few snapshots,
each shown with the student's ``deprocess_image``), the reference's, and
the patches of the example images (and an uploaded one) where that filter
responds most (:mod:`cvlab_ch9.ui.patches`), as Distill's "Feature
Visualization" puts dataset examples beside each feature.

Ascent runs with the book's settings in the model's pixel units
(:func:`cvlab_ch9.ui.classifiers.ascent_settings`) on the layer's output
before its built-in ReLU (:func:`cvlab_ch9.ui.classifiers.feature_extractor`),
so every filter moves from the gray start.
"""

import functools
from pathlib import Path

import gradio as gr
import numpy as np

from cvlab_ch9.layers import CONV_LAYER_TYPES, layer_names
from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.classifiers import LAB, MIN_ASCENT_SIDE, ascent_settings, feature_extractor, model_batch
from cvlab_ch9.ui.common import expect_array, outcome_from_exception, resolve_labs_dir, student_module, user_error
from cvlab_ch9.ui.contracts import clipped_uint8, picture_problems, then_sentence, with_problems
from cvlab_ch9.ui.fields import listing, whole_number
from cvlab_ch9.ui.images import load_input_image
from cvlab_ch9.ui.layout import image_with_examples, model_picker, side_by_side, tab_intro, wire_model_picker
from cvlab_ch9.ui.patches import receptive_field, top_patches
from cvlab_ch9.ui.pictures import stacked, strip
from cvlab_ch9.ui.reference import generate_patterns, model_fingerprint, reference_side, result_key
from cvlab_ch9.ui.resources import example_images, load_model, model_info

#: Bounds that keep a click responsive on a 2-core CPU.
MAX_FILTERS = 16
MAX_ITERATIONS = 60
FILTERS_RANGE = (1, MAX_FILTERS)
ITERATIONS_RANGE = (5, MAX_ITERATIONS)
#: The sliders' starting values (what the kit's recorded reference uses).
DEFAULT_FILTERS = 8
DEFAULT_ITERATIONS = 30
YOUR_IMAGE = "your image"


def snapshot_steps(iterations):
    """The ascent steps shown for each filter: the start, a tenth, a third and the end, e.g. [0, 3, 10, 30]."""
    return sorted({0, max(1, round(iterations / 10)), max(1, round(iterations / 3)), int(iterations)})


def ascent_start(img_size, seed, scale):
    """float32 (H, W, 3) gray noise uniform(0.4, 0.6) * ``scale`` from ``default_rng(seed)`` (the contract's start)."""
    return (np.random.default_rng(seed).uniform(0.4, 0.6, size=(*img_size, 3)) * scale).astype("float32")


def _deprocessed(module, pattern, crop):
    """``module.deprocess_image(pattern, crop)`` as returned, checked to be an (h, w, 3) array."""
    return expect_array(module.deprocess_image(pattern, crop=crop), "deprocess_image", ndim=3, what="an (H, W, 3) uint8 image")


def _ascend(module, settings, index, start):
    """The snapshots of filter ``index`` by ``module``: ([deprocessed uint8 picture per step], problems of the last).

    The ascent runs first (continued from each snapshot), then every
    snapshot is deprocessed: an unwritten generate_filter_pattern is named
    before deprocess_image, in the notebook's order.

    Args:
        settings: dict with extractor, steps, size, learning_rate, crop.
    """
    image, done, images = start, 0, []
    for step in settings["steps"]:
        if step > done:
            patterns = generate_patterns(module, settings["extractor"], [index], step - done, settings["size"],
                                         settings["learning_rate"], starts=[image])
            image = expect_array(patterns[0], "generate_filter_pattern", ndim=3, what="an (H, W, 3) image").astype("float32")
            done = step
        images.append(image)
    raws = [_deprocessed(module, image, settings["crop"]) for image in images]
    height, width = settings["size"]
    expected = (height - 2 * settings["crop"], width - 2 * settings["crop"], 3)
    return [clipped_uint8(raw) for raw in raws], picture_problems(raws[-1], "deprocess_image", expected, "pattern")


def _reference_snapshots(model_name, layer_name, settings, chunk, starts):
    """Shown([[uint8 picture per step] or None per filter in ``chunk``], note) from the reference side."""
    reference = reference_side()
    base = {"model": model_name, "model_file": model_fingerprint(model_name), "layer": layer_name,
            "learning_rate": settings["learning_rate"], "start_scale": settings["start_scale"]}
    steps = settings["steps"]

    def compute(lab):
        images, done, by_step = np.stack(starts), 0, []
        for step in steps:
            if step > done:
                images = np.stack(lab.filter_patterns(settings["extractor"], chunk, step - done, settings["size"],
                                                      settings["learning_rate"], images))
                done = step
            by_step.append([np.clip(lab.deprocess_image(p, crop=settings["crop"]), 0, 255).astype("uint8") for p in images])
        return [by_step[s][k] for k in range(len(chunk)) for s in range(len(steps))]

    keys = [result_key("filter_pattern", index=i, iterations=s, **base) for i in chunk for s in steps]
    recorded = f"with {DEFAULT_ITERATIONS} gradient ascent steps (the default); set them to compare"
    shown = reference.many(LAB, keys, compute, settings=recorded)
    per_filter = [shown.value[k * len(steps) : (k + 1) * len(steps)] for k in range(len(chunk))]
    return [None if any(p is None for p in pictures) else pictures for pictures in per_filter], shown.note


def _example_name(path):
    """How a patch names its example image: ``pet_cat_bengal.jpg`` -> ``cat bengal``."""
    return Path(path).stem.removeprefix("pet_").removeprefix("photo_").replace("_", " ")


@functools.lru_cache(maxsize=1)
def _examples():
    """(uint8 pictures, names) of the bundled example images as the tabs show them."""
    paths = example_images()
    return [load_input_image(p, max_side=512)[0] for p in paths], [_example_name(p) for p in paths]


def _patches(model_name, layer_name, picture, filters):
    """{filter: [Patch]} over the example images and ``picture`` (the upload, or None)."""
    pictures, names = _examples()
    if picture is not None:
        pictures, names = [*pictures, picture], [*names, YOUR_IMAGE]
    if not pictures:
        return {}
    model = load_model(model_name)
    batch = np.concatenate([model_batch(model_name, p)[2] for p in pictures])
    responses = np.asarray(feature_extractor(model_name, layer_name)(batch, training=False))
    return top_patches(responses, pictures, names, receptive_field(model, layer_name), model_info(model_name)["input_size"], filters)


def _patch_row(index, pattern, patches):
    """(picture, sentence): the filter's pattern, then the patches that excite it most, labelled with their images."""
    labels = [f"filter {index}", *(p.name for p in patches)]
    found = ", ".join(f"{p.name} ({p.value:.3g})" for p in patches)
    if patches and patches[0].value <= 0:
        sentence = f"filter {index}: off (below 0) in every image; the closest to firing: {found}."
    else:
        sentence = f"filter {index}: most excited by {found}."
    return strip([pattern, *(p.picture for p in patches)], labels), sentence


def _patch_words(sentences):
    """Markdown: one line per filter with the images and values of its patches."""
    return "  \n".join(sentences)


def _checked_layer(model, layer_name):
    """``layer_name`` when gradient ascent can run on it; gr.Error naming the layers that can."""
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
    return shape


def run_filters(labs_dir, model_name, layer_name, n_filters=DEFAULT_FILTERS, iterations=DEFAULT_ITERATIONS,
                compare_reference=True, image=None, progress=gr.Progress()):
    """Event (generator): each filter's ascent by the student's code and the reference, and what excites it.

    Yields after every filter so the galleries fill in and the Stop button
    can cancel between filters. The reference side computes (or looks up)
    ``reference_side().batch_size`` filters at a time.

    Args:
        image: an optional upload searched for patches besides the example images.

    Yields:
        (student picture, student status markdown, reference picture, reference note markdown,
        patches picture, patches markdown): uint8 (H, W, 3) pictures (or None) with one row per filter:
        the snapshots of its ascent side by side (student, reference), its pattern beside the patches
        that excite it most (patches, each named with its image; the markdown gives their values).
    """
    source = resolve_labs_dir(labs_dir)
    model = load_model(model_name)
    info = model_info(model_name)
    shape = _checked_layer(model, layer_name)
    # a layer with fewer channels than asked for shows them all
    n_filters = min(whole_number(n_filters, "Filters", *FILTERS_RANGE), shape[-1])
    iterations = whole_number(iterations, "Gradient ascent steps", *ITERATIONS_RANGE)
    picture = None if image is None or (isinstance(image, str) and not image.strip()) else load_input_image(image, max_side=512)[0]
    start_scale, learning_rate = ascent_settings(info)
    size = info["input_size"]
    settings = {"extractor": feature_extractor(model_name, layer_name), "steps": snapshot_steps(iterations), "size": size,
                "learning_rate": learning_rate, "start_scale": start_scale, "crop": min(25, min(size) // 8)}
    steps = settings["steps"]
    starts = [ascent_start(size, i, start_scale) for i in range(n_filters)]
    patches = _patches(model_name, layer_name, picture, range(n_filters))
    batch_size = max(1, reference_side().batch_size)
    student_rows, ref_rows, ref_snapshots, patch_rows, sentences, problems = [], [], [], [], [], []
    status = ref_note = ""

    def reference_chunk(first):
        chunk = list(range(first, min(first + batch_size, n_filters)))
        shown, note = _reference_snapshots(model_name, layer_name, settings, chunk, [starts[k] for k in chunk])
        ref_snapshots.extend(shown)
        return note

    if compare_reference:
        ref_note = reference_chunk(0)  # first: whether a reference is shown decides what the student's sentences say
    then = then_sentence(any(s is not None for s in ref_snapshots))
    with student_module(LAB, source, ("generate_filter_pattern", "deprocess_image"), then) as (module, failure):
        if failure is not None:
            status = failure.markdown()
        for i in range(n_filters):
            progress(i / n_filters, desc=f"Filter {i + 1} of {n_filters}")
            pattern = None
            labels = [f"filter {i}: step {steps[0]}", *(f"step {s}" for s in steps[1:])]
            if failure is None:
                try:
                    pictures, problems = _ascend(module, settings, i, starts[i])
                    student_rows.append(strip(pictures, labels))
                    pattern = pictures[-1]
                except Exception as exc:  # noqa: BLE001 - shown in the status, the reference goes on
                    failure = outcome_from_exception(exc, LAB, "generate_filter_pattern", source, then)
                    status = failure.markdown()
            if compare_reference:
                if i == len(ref_snapshots):
                    ref_note = ref_note or reference_chunk(i)
                if ref_snapshots[i] is not None:
                    ref_rows.append(strip(ref_snapshots[i], labels))
                    pattern = ref_snapshots[i][-1] if pattern is None else pattern
            row, sentence = _patch_row(i, pattern, patches.get(i, []))
            patch_rows.append(row)
            sentences.append(sentence)
            if failure is None:
                status = with_problems(
                    f"{len(student_rows)} of {n_filters} patterns from your generate_filter_pattern() "
                    f"({iterations} steps each, learning rate {learning_rate:g}).", problems,
                )
            yield stacked(student_rows), status, stacked(ref_rows), ref_note, stacked(patch_rows), _patch_words(sentences)


def build_tab(labs_dir, where="`interpretation.py`"):
    """Create the Filters tab's components inside the current ``gr.Tab``.

    Args:
        where: how the page names the student's code (the file, or this notebook).
    """
    names, default, choices = tab_intro(
        f"The pattern each filter responds to most, grown by gradient ascent from gray noise with your "
        f"`generate_filter_pattern()` from {where} and shown with your `deprocess_image()` at a few steps, beside the "
        "reference; below, each pattern beside the places in the example images (and yours) that excite the filter most. "
        "Patterns appear one by one; Stop cancels between filters."
    )
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            model, model_info_note, download = model_picker(names, default, "filters-model")
            layer = inputs.Dropdown(choices.get("filter_layers", []), value=choices.get("filter_default"), label="Layer",
                                    elem_id="filters-layer")
            with gr.Row():
                n_filters = inputs.Slider(*FILTERS_RANGE, value=DEFAULT_FILTERS, step=1, label="Filters", min_width=160,
                                          elem_id="filters-count")
                iterations = inputs.Slider(*ITERATIONS_RANGE, value=DEFAULT_ITERATIONS, step=5, label="Gradient ascent steps",
                                           min_width=160, elem_id="filters-steps")
            compare = gr.Checkbox(True, label="Also run the reference")
            with gr.Row():
                button = gr.Button("Generate filter patterns", variant="primary", elem_id="filters-run", min_width=160)
                stop = gr.Button("Stop", variant="stop", min_width=80)
        with gr.Column(scale=1, min_width=240):
            image = image_with_examples([], "filters-image", height=200, label="Also look in this image (optional)")
    student, status, reference, reference_note = side_by_side(
        lambda: gr.Image(label="Your ascent, step by step (one row per filter)", interactive=False, format="png",
                         elem_id="filters-student"),
        lambda: gr.Image(label="Reference ascent", interactive=False, format="png", elem_id="filters-reference"),
        status_id="filters-status", note_id="filters-reference-note",
    )
    gr.Markdown("### What excites each filter\nEach pattern beside the patches of the example images (and yours) where the "
                "filter's output is highest, cut to what that position of the layer sees (its receptive field).")
    with gr.Row():
        patches = gr.Image(label="Patterns and the patches that excite them", interactive=False, format="png",
                           elem_id="filters-patches", scale=3)
        patch_words = gr.Markdown(elem_id="filters-patch-values")
    wire_model_picker(model, model_info_note, download, [layer], lambda updates: updates[1:2],
                      results=[student, status, reference, reference_note, patches, patch_words])
    running = button.click(
        run_filters,
        inputs=[labs_dir, model, layer, n_filters, iterations, compare, image],
        outputs=[student, status, reference, reference_note, patches, patch_words],
        api_name="filters",
        show_progress_on=status,  # the galleries stay visible as they fill in
    )
    stop.click(None, cancels=[running])

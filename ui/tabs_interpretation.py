"""Activations, Filters and Grad-CAM tabs: the student's Lab 3 code on a demo classifier or the ImageNet Xception.

Each event runs the student's current ``interpretation.py`` (loaded afresh)
and the reference side (:func:`cvlab_ch9.ui.reference.reference_side`: computed from
``solutions/``, or recorded in the student kit) on the same cached model and
image.
"""

import functools

import gradio as gr
import numpy as np

from cvlab_ch9.layers import CONV_LAYER_TYPES, four_d_layers, layer_names
from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.common import (
    StudentResultError,
    expect_array,
    outcome_from_exception,
    resolve_labs_dir,
    run_student,
    student_module,
    user_error,
)
from cvlab_ch9.ui.fields import listing, name_list, number_between, whole_number
from cvlab_ch9.ui.images import jet_image, load_input_image, model_input, upscale_gray
from cvlab_ch9.ui.reference import generate_patterns, model_fingerprint, reference_side, result_key
from cvlab_ch9.ui.resources import (
    ACTIVATION_LAYER_TYPES,
    IMAGENET_XCEPTION,
    download_imagenet,
    load_model,
    model_choices,
    model_info,
    model_note,
    needs_download,
)

LAB = "interpretation"
TOP_CLASS = "top predicted class"
#: Bounds that keep a click responsive on a 2-core CPU.
MAX_FILTERS = 16
MAX_ITERATIONS = 60
MIN_ASCENT_SIDE = 5
#: (low, high) of the numeric fields, shared by the sliders and the checks in the events.
FILTERS_RANGE = (1, MAX_FILTERS)
ITERATIONS_RANGE = (5, MAX_ITERATIONS)
PER_ROW_RANGE = (4, 32)
ALPHA_RANGE = (0.1, 1.0)
#: The sliders' starting values (what the kit's recorded reference uses).
DEFAULT_PER_ROW = 8
DEFAULT_FILTERS = 8
DEFAULT_ITERATIONS = 30
DEFAULT_ALPHA = 0.4


# -- shared helpers ---------------------------------------------------------------


def model_batch(name, image):
    """(model, info, batch) for ``image`` (uint8 (H, W, 3)) prepared for model ``name``."""
    model = load_model(name)
    info = model_info(name)
    batch = model_input(image, info["input_size"])
    if info["preprocess"] == "xception":
        # keras.applications.xception.preprocess_input: 0..255 -> -1..1
        batch = batch / 127.5 - 1.0
    return model, info, batch


def top_classes(model, info, batch, k=5):
    """{class name: probability} of the ``k`` most likely classes (for gr.Label)."""
    probs = np.asarray(model(batch, training=False)).reshape(-1).astype("float64")
    names = info["class_names"]
    if probs.size == 1:
        # one sigmoid unit: P(class 1); class 0 is the complement
        p = float(probs[0])
        if len(names) >= 2:
            return {names[1]: p, names[0]: 1.0 - p}
        return {names[0] if names else "positive": p}
    order = np.argsort(probs)[::-1][:k]
    return {names[i] if i < len(names) else f"class {i}": float(probs[i]) for i in order}


def class_index_for(choice, info, model):
    """None for "top predicted class", else the index of the chosen class name."""
    if not choice or choice == TOP_CLASS:
        return None
    names = info["class_names"]
    if choice not in names:
        # e.g. a class of the model used before a model switch
        raise user_error(f"Unknown class {choice!r} for this model; choose one of: {listing(names)} or {TOP_CLASS}.")
    index = names.index(choice)
    outputs = model.outputs[0].shape[-1]
    if outputs == 1:
        # a single sigmoid unit: Grad-CAM explains that unit (class 1)
        return None
    return index


# -- Grad-CAM ------------------------------------------------------------------------


def _student_heatmap(module, model, batch, layer, class_index):
    """The student's grad_cam for the float32 (1, H, W, 3) batch as a finite float32 (h, w) array."""
    heatmap = expect_array(
        module.grad_cam(model, batch, layer, class_index), "grad_cam", ndim=2, what="a 2-D (h, w) heatmap"
    ).astype("float32")
    if not np.all(np.isfinite(heatmap)):
        raise StudentResultError("grad_cam() returned NaN or infinite values; divide by the max only when it is > 0.")
    return heatmap


def _student_overlay(module, image, heatmap, alpha):
    """The student's overlay of uint8 (H, W, 3) ``image`` and float (h, w) ``heatmap``, as uint8 (H, W, 3)."""
    overlay = expect_array(
        module.overlay_heatmap(image, heatmap, alpha), "overlay_heatmap", ndim=3, what="a (H, W, 3) uint8 image"
    )
    if overlay.shape != image.shape:
        raise StudentResultError(f"overlay_heatmap() returned shape {overlay.shape}; expected {image.shape}, the image's shape.")
    return np.clip(overlay, 0, 255).astype("uint8")


def run_grad_cam(labs_dir, model_name, image, layer_name, class_choice, alpha=0.4):
    """Event: Grad-CAM heatmap and overlay from the student's code and the reference.

    Args:
        labs_dir: the "labs directory" textbox.
        model_name: a demo model name (see :func:`cvlab_ch9.ui.resources.model_choices`).
        image: the uploaded image (numpy uint8 RGB, any array, PIL or path).
        layer_name: layer to explain ("" for the model's last conv layer).
        class_choice: "top predicted class" or a class name.
        alpha: heatmap weight in the overlay.

    Returns:
        (student heatmap uint8 RGB or None, student overlay or None, student
        status markdown, reference heatmap or None, reference overlay or None,
        {class: probability}, note markdown, reference note markdown)
    """
    source = resolve_labs_dir(labs_dir)
    picture, note = load_input_image(image, max_side=512)
    model, info, batch = model_batch(model_name, picture)
    layer = (layer_name if isinstance(layer_name, str) else "").strip() or info["last_conv_layer"]
    valid = four_d_layers(model)
    if layer not in valid:
        convs = layer_names(model, CONV_LAYER_TYPES)
        raise user_error(f"The model has no layer named {layer!r} with a 4-D output; try one of: {listing(convs)}.")
    class_index = class_index_for(class_choice, info, model)
    alpha = number_between(alpha, "Heatmap weight (alpha)", *ALPHA_RANGE)
    size = picture.shape[:2]
    ref_heatmap, ref_overlay, ref_note = _reference_grad_cam(model_name, model, batch, picture, layer, class_index, alpha)
    predictions = top_classes(model, info, batch)
    heat = run_student(LAB, source, "grad_cam", lambda m: _student_heatmap(m, model, batch, layer, class_index))
    student_heat_image = student_overlay = None
    if heat.ok:
        student_heat_image = jet_image(heat.value, size)
        overlay = run_student(LAB, source, "overlay_heatmap", lambda m: _student_overlay(m, picture, heat.value, alpha))
        student_overlay = overlay.value
        difference = "" if ref_heatmap is None else f" (max difference from the reference: {_max_diff(heat.value, ref_heatmap)})"
        status = overlay.markdown(f"Your grad_cam() gave a {heat.value.shape[0]}x{heat.value.shape[1]} heatmap{difference}.")
    else:
        status = heat.markdown()
    explained = "top predicted class" if class_index is None else f"class {info['class_names'][class_index]!r}"
    note = " ".join(filter(None, [note, f"Layer `{layer}`, explaining the {explained}."]))
    ref_heat_image = None if ref_heatmap is None else jet_image(ref_heatmap, size)
    return student_heat_image, student_overlay, status, ref_heat_image, ref_overlay, predictions, note, ref_note


def _reference_grad_cam(model_name, model, batch, picture, layer, class_index, alpha):
    """(reference heatmap float32 (h, w) or None, reference overlay uint8 or None, note) from the reference side."""
    reference = reference_side()
    # the top class is a class: one key for both ways of asking for it
    explained = int(np.argmax(np.asarray(model(batch, training=False))[0])) if class_index is None else class_index
    base = {"model": model_name, "model_file": model_fingerprint(model_name), "image": reference.image_key(picture),
            "layer": layer, "class_index": explained}
    heat = reference.one(
        LAB, result_key("grad_cam", **base),
        lambda lab: np.asarray(lab.grad_cam(model, batch, layer, class_index), dtype="float32"),
        settings="for each model's last convolution layer (the default layer); choose it to compare",
    )
    if heat.value is None:
        return None, None, heat.note
    overlay = reference.one(
        LAB, result_key("overlay", alpha=round(float(alpha), 4), **base),
        lambda lab: np.clip(np.asarray(lab.overlay_heatmap(picture, heat.value, alpha)), 0, 255).astype("uint8"),
        settings=f"with the heatmap weight {DEFAULT_ALPHA} (the default); set it to compare the overlays",
    )
    return heat.value, overlay.value, overlay.note


def _max_diff(actual, expected):
    """Largest absolute difference of two arrays as text ("0.00123"), or their shapes when they differ."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return f"shape {actual.shape} vs {expected.shape}"
    return f"{float(np.max(np.abs(actual - expected))):.3g}"


# -- activations ------------------------------------------------------------------------


def _grids(module, activations, images_per_row, function="activation_grid"):
    """``(uint8 2-D grid, caption)`` from ``module.activation_grid`` for each activation."""
    items = []
    for name, activation in activations.items():
        activation = np.asarray(activation)
        grid = expect_array(module.activation_grid(activation, images_per_row), function, ndim=2, what="a 2-D uint8 canvas")
        caption = f"{name} — {'x'.join(str(s) for s in activation.shape)}"
        items.append((np.clip(grid, 0, 255).astype("uint8"), caption))
    return items


def _gallery_items(grids):
    """Gallery items ``(uint8 picture, caption)``: each grid upscaled so its short side is readable."""
    return [(upscale_gray(grid), caption) for grid, caption in grids]


def _grid_items(module, activations, images_per_row):
    """Gallery items ``(uint8 picture, caption)`` of ``module``'s grid for each activation."""
    return _gallery_items(_grids(module, activations, images_per_row))


def _student_activations(module, model, batch, names):
    """The student's extract_activations for the float32 (1, H, W, 3) batch: {layer name: (h, w, c) array}."""
    activations = module.extract_activations(model, batch, names)
    if not isinstance(activations, dict):
        raise StudentResultError(
            f"extract_activations() returned {type(activations).__name__}; expected a dict {{layer name: (h, w, c) array}}."
        )
    for name, value in activations.items():
        expect_array(value, "extract_activations", ndim=3, what=f"(h, w, c) arrays (layer {name!r})")
    return activations


def run_activations(labs_dir, model_name, image, selected_layers, images_per_row=16):
    """Event: channel grids per layer from the student's extract_activations + activation_grid.

    Args:
        labs_dir: the "labs directory" textbox.
        model_name: a demo model name.
        image: the uploaded image.
        selected_layers: layer names, or empty for every conv/pool layer.
        images_per_row: channels per grid row (4..32).

    Returns:
        (student gallery items, student status markdown, reference gallery items, note,
        reference note markdown) where gallery items are ``(uint8 picture, caption)``.
    """
    source = resolve_labs_dir(labs_dir)
    picture, note = load_input_image(image, max_side=512)
    model, _info, batch = model_batch(model_name, picture)
    valid = layer_names(model, ACTIVATION_LAYER_TYPES)
    names = name_list(selected_layers)
    unknown = [n for n in names if n not in valid]
    if unknown:
        # e.g. layers of the model used before a model switch
        raise user_error(f"The model has no convolution or pooling layer named {unknown[0]!r}; choose from: {listing(valid)}.")
    images_per_row = whole_number(images_per_row, "Channels per row", *PER_ROW_RANGE)
    reference = _reference_activations(model_name, model, batch, picture, names, valid, images_per_row)
    extracted = run_student(LAB, source, "extract_activations", lambda m: _student_activations(m, model, batch, names or None))
    if not extracted.ok:
        return [], extracted.markdown(), reference.value, note, reference.note
    grids = run_student(LAB, source, "activation_grid", lambda m: _grid_items(m, extracted.value, images_per_row))
    status = grids.markdown(f"{len(extracted.value)} layers from your extract_activations() and activation_grid().")
    return grids.value or [], status, reference.value, note, reference.note


def _reference_activations(model_name, model, batch, picture, names, valid, images_per_row):
    """Shown(gallery items of the reference's grids for ``names`` (or every layer in ``valid``), note)."""
    reference = reference_side()
    shown_names = names or valid
    base = {"model": model_name, "model_file": model_fingerprint(model_name), "image": reference.image_key(picture),
            "per_row": images_per_row}

    def compute(lab):
        activations = lab.extract_activations(model, batch, names or None)
        items = dict(zip(activations, _grids(lab, activations, images_per_row)))
        return [items.get(name) for name in shown_names]

    shown = reference.many(
        LAB, [result_key("activation_grid", layer=n, **base) for n in shown_names], compute,
        settings=f"with {DEFAULT_PER_ROW} channels per row (the default); set it to compare",
    )
    shown.value = _gallery_items(item for item in shown.value if item is not None)
    return shown


# -- filters -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def feature_extractor(model_name, layer_name):
    """``keras.Model`` from the model's input to ``layer_name``'s output, cached."""
    import keras  # noqa: PLC0415

    model = load_model(model_name)
    return keras.Model(model.inputs, model.get_layer(layer_name).output)


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


# -- dropdown updates ---------------------------------------------------------------------


def layer_choices(model_name):
    """Choices for the dropdowns of ``model_name``.

    Returns:
        dict with ``activation_layers`` (conv/pool names), ``filter_layers``
        (conv layers with outputs of at least 5x5), ``filter_default``,
        ``gradcam_layers`` (4-D outputs), ``last_conv_layer`` and ``classes``
        (["top predicted class", *class names]).
    """
    model = load_model(model_name)
    info = model_info(model_name)
    filter_layers = [
        n for n in layer_names(model, CONV_LAYER_TYPES) if min(model.get_layer(n).output.shape[1:3]) >= MIN_ASCENT_SIDE
    ]
    return {
        "activation_layers": layer_names(model, ACTIVATION_LAYER_TYPES),
        "filter_layers": filter_layers,
        # halfway down: early layers give flat colours, the last ones noise on these small models
        "filter_default": filter_layers[len(filter_layers) // 2] if filter_layers else None,
        "gradcam_layers": four_d_layers(model),
        "last_conv_layer": info["last_conv_layer"],
        "classes": [TOP_CLASS, *info["class_names"]],
    }


def model_changed(model_name):
    """Event: refresh the layer and class choices for ``model_name``.

    Returns:
        (activation layers, filter layer, Grad-CAM layer, class) as ``gr.update`` dicts
        (empty while the ImageNet Xception is not downloaded).
    """
    if needs_download(model_name):
        empty = gr.update(choices=[], value=None)
        return gr.update(choices=[], value=[]), empty, empty, gr.update(choices=[TOP_CLASS], value=TOP_CLASS)
    c = layer_choices(model_name)
    return (
        gr.update(choices=c["activation_layers"], value=[]),
        gr.update(choices=c["filter_layers"], value=c["filter_default"]),
        gr.update(choices=c["gradcam_layers"], value=c["last_conv_layer"]),
        gr.update(choices=c["classes"], value=TOP_CLASS),
    )


def model_status(model_name):
    """Event: (note on the model in use markdown, download button update) for ``model_name``."""
    return model_note(model_name), gr.update(visible=needs_download(model_name))


def download_model(model_name, progress=gr.Progress()):
    """Event: download the ImageNet Xception into Keras' cache, with a progress bar.

    Returns:
        ``model_changed(model_name) + model_status(model_name)``.

    Raises:
        gr.Error: the download failed (the sentence says how to download by hand).
    """
    download_imagenet(progress)
    return (*model_changed(model_name), *model_status(model_name))


# -- layout ---------------------------------------------------------------------------------


def _initial_choices():
    """(model names, default model, layer_choices(default) or {}, problem markdown)."""
    names = model_choices()
    try:
        return names, names[0], layer_choices(names[0]), ""
    except gr.Error as exc:
        return names, names[0], {}, f"⚠ {exc.message}"


def _model_picker(names, default):
    """The model dropdown, a note on the model in use and the (hidden) ImageNet download button."""
    model = inputs.Dropdown(names, value=default, label="Model")
    note = gr.Markdown(model_note(default))
    download = gr.Button(f"Download {IMAGENET_XCEPTION}", visible=needs_download(default), variant="secondary")
    return model, note, download


def _wire_model_picker(model, note, download, outputs, pick):
    """Refresh ``outputs`` (``pick`` selects them from model_changed's updates), the note and the
    download button when the model changes or its download finishes."""

    def changed(name):
        return (*pick(model_changed(name)), *model_status(name))

    def downloaded(name, progress=gr.Progress()):
        updates = download_model(name, progress)
        return (*pick(updates[:4]), *updates[4:])

    targets = [*outputs, note, download]
    model.change(changed, inputs=model, outputs=targets, api_visibility="private")
    download.click(downloaded, inputs=model, outputs=targets, api_visibility="private", show_progress_on=note)


def reference_heading():
    """The reference column's heading: "### Reference", "(recorded)" in the student kit."""
    return "### Reference" + (" (recorded)" if reference_side().kind == "recorded" else "")


def _side_by_side(student_component, reference_component, status_id=None, note_id=None):
    """Two columns (student | reference) holding the given component factories.

    Returns:
        (student component, student status, reference component, reference note)
    """
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Your code")
            status = gr.Markdown(elem_id=status_id, min_height=48)
            student = student_component()
        with gr.Column():
            gr.Markdown(reference_heading())
            reference_note = gr.Markdown(elem_id=note_id, min_height=48)
            reference = reference_component()
    return student, status, reference, reference_note


def build_gradcam_tab(labs_dir, examples):
    """Create the Grad-CAM tab's components inside the current ``gr.Tab``."""
    names, default, choices, problem = _initial_choices()
    gr.Markdown(
        "Where in the image is the evidence for a class? Your `grad_cam()` and `overlay_heatmap()` "
        "from `interpretation.py` beside the reference, on the model you pick below."
    )
    if problem:
        gr.Markdown(problem)
    with gr.Row():
        with gr.Column(scale=2):
            image = inputs.ImageFile(label="Image", height=260, elem_id="gradcam-image")
            gr.Examples(examples, inputs=image, label="Examples", elem_id="gradcam-examples")
        with gr.Column(scale=1):
            model, model_info_note, download = _model_picker(names, default)
            layer = inputs.Dropdown(
                choices.get("gradcam_layers", []), value=choices.get("last_conv_layer"),
                label="Layer (last convolution)", allow_custom_value=True,
            )
            class_choice = inputs.Dropdown(
                choices.get("classes", [TOP_CLASS]), value=TOP_CLASS, label="Class to explain"
            )
            alpha = inputs.Slider(*ALPHA_RANGE, value=DEFAULT_ALPHA, step=0.05, label="Heatmap weight (alpha)")
            button = gr.Button("Run Grad-CAM", variant="primary", elem_id="gradcam-run")
            predictions = gr.Label(num_top_classes=5, label="Top predicted classes")
            note = gr.Markdown()
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Your code")
            status = gr.Markdown(elem_id="gradcam-status")
            with gr.Row():
                student_heatmap = gr.Image(label="Your heatmap", height=260, interactive=False)
                student_overlay = gr.Image(label="Your overlay", height=260, interactive=False, elem_id="gradcam-student-overlay")
        with gr.Column():
            gr.Markdown(reference_heading())
            reference_note = gr.Markdown(elem_id="gradcam-reference-note")
            with gr.Row():
                reference_heatmap = gr.Image(label="Reference heatmap", height=260, interactive=False)
                reference_overlay = gr.Image(label="Reference overlay", height=260, interactive=False, elem_id="gradcam-reference-overlay")

    _wire_model_picker(model, model_info_note, download, [layer, class_choice], lambda updates: updates[2:4])
    button.click(
        run_grad_cam,
        inputs=[labs_dir, model, image, layer, class_choice, alpha],
        outputs=[student_heatmap, student_overlay, status, reference_heatmap, reference_overlay, predictions, note, reference_note],
        api_name="grad_cam",
    )


def build_activations_tab(labs_dir, examples):
    """Create the Activations tab's components inside the current ``gr.Tab``."""
    names, default, choices, problem = _initial_choices()
    gr.Markdown(
        "What does each layer output for this image? One grid per layer, one small picture per channel, "
        "from your `extract_activations()` and `activation_grid()`."
    )
    if problem:
        gr.Markdown(problem)
    with gr.Row():
        with gr.Column(scale=2):
            image = inputs.ImageFile(label="Image", height=240, elem_id="activations-image")
            gr.Examples(examples, inputs=image, label="Examples", elem_id="activations-examples")
        with gr.Column(scale=1):
            model, model_info_note, download = _model_picker(names, default)
            layers = inputs.Dropdown(
                choices.get("activation_layers", []), value=[], multiselect=True,
                label="Layers (empty = every Conv2D, SeparableConv2D and MaxPooling2D)",
            )
            per_row = inputs.Slider(*PER_ROW_RANGE, value=DEFAULT_PER_ROW, step=1, label="Channels per row")
            button = gr.Button("Show activations", variant="primary", elem_id="activations-run")
            note = gr.Markdown()
    student, status, reference, reference_note = _side_by_side(
        lambda: gr.Gallery(label="Your activation grids", columns=1, height=560, object_fit="contain", elem_id="activations-student"),
        lambda: gr.Gallery(label="Reference activation grids", columns=1, height=560, object_fit="contain"),
        note_id="activations-reference-note",
    )
    _wire_model_picker(model, model_info_note, download, [layers], lambda updates: updates[:1])
    button.click(
        run_activations,
        inputs=[labs_dir, model, image, layers, per_row],
        outputs=[student, status, reference, note, reference_note],
        api_name="activations",
    )


def build_filters_tab(labs_dir):
    """Create the Filters tab's components inside the current ``gr.Tab``."""
    names, default, choices, problem = _initial_choices()
    gr.Markdown(
        "The pattern each filter responds to most, found by gradient ascent from gray noise with your "
        "`generate_filter_pattern()` and shown with your `deprocess_image()`. Patterns appear one by one; "
        "Stop cancels between filters."
    )
    if problem:
        gr.Markdown(problem)
    with gr.Row():
        with gr.Column(scale=2):
            model, model_info_note, download = _model_picker(names, default)
        layer = inputs.Dropdown(
            choices.get("filter_layers", []), value=choices.get("filter_default"), label="Layer"
        )
        n_filters = inputs.Slider(*FILTERS_RANGE, value=DEFAULT_FILTERS, step=1, label="Filters")
        iterations = inputs.Slider(*ITERATIONS_RANGE, value=DEFAULT_ITERATIONS, step=5, label="Gradient ascent steps")
        compare = gr.Checkbox(True, label="Also run the reference")
    with gr.Row():
        button = gr.Button("Generate filter patterns", variant="primary", elem_id="filters-run")
        stop = gr.Button("Stop", variant="stop")
    student, status, reference, reference_note = _side_by_side(
        lambda: gr.Gallery(label="Your filter patterns", columns=4, height=420, object_fit="contain"),
        lambda: gr.Gallery(label="Reference filter patterns", columns=4, height=420, object_fit="contain", elem_id="filters-reference"),
        status_id="filters-status", note_id="filters-reference-note",
    )
    _wire_model_picker(model, model_info_note, download, [layer], lambda updates: updates[1:2])
    running = button.click(
        run_filters,
        inputs=[labs_dir, model, layer, n_filters, iterations, compare],
        outputs=[student, status, reference, reference_note],
        api_name="filters",
        show_progress_on=status,  # the galleries stay visible as they fill in
    )
    stop.click(None, cancels=[running])

"""Activations tab: the student's ``extract_activations`` and ``activation_grid`` on a classifier, beside the reference."""

import gradio as gr
import numpy as np

from cvlab_ch9.layers import layer_names
from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.classifiers import LAB, initial_choices, model_batch
from cvlab_ch9.ui.common import StudentResultError, expect_array, resolve_labs_dir, run_student, user_error
from cvlab_ch9.ui.fields import listing, name_list, whole_number
from cvlab_ch9.ui.images import load_input_image, upscale_gray
from cvlab_ch9.ui.layout import model_picker, side_by_side, wire_model_picker
from cvlab_ch9.ui.reference import model_fingerprint, reference_side, result_key
from cvlab_ch9.ui.resources import ACTIVATION_LAYER_TYPES

PER_ROW_RANGE = (4, 32)
#: The slider's starting value (what the kit's recorded reference uses).
DEFAULT_PER_ROW = 8


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


def build_tab(labs_dir, examples):
    """Create the Activations tab's components inside the current ``gr.Tab``."""
    names, default, choices, problem = initial_choices()
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
            model, model_info_note, download = model_picker(names, default)
            layers = inputs.Dropdown(
                choices.get("activation_layers", []), value=[], multiselect=True,
                label="Layers (empty = every Conv2D, SeparableConv2D and MaxPooling2D)",
            )
            per_row = inputs.Slider(*PER_ROW_RANGE, value=DEFAULT_PER_ROW, step=1, label="Channels per row")
            button = gr.Button("Show activations", variant="primary", elem_id="activations-run")
            note = gr.Markdown()
    student, status, reference, reference_note = side_by_side(
        lambda: gr.Gallery(label="Your activation grids", columns=1, height=560, object_fit="contain", elem_id="activations-student"),
        lambda: gr.Gallery(label="Reference activation grids", columns=1, height=560, object_fit="contain"),
        note_id="activations-reference-note",
    )
    wire_model_picker(model, model_info_note, download, [layers], lambda updates: updates[:1])
    button.click(
        run_activations,
        inputs=[labs_dir, model, image, layers, per_row],
        outputs=[student, status, reference, note, reference_note],
        api_name="activations",
    )

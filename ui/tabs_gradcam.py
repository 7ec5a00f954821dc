"""Grad-CAM tab: the student's ``grad_cam`` and ``overlay_heatmap`` on a classifier, beside the reference.

Each event runs the student's current code (loaded afresh) and the
reference side (:func:`cvlab_ch9.ui.reference.reference_side`: computed from
``solutions/``, or recorded in the student kit) on the same cached model
and image.
"""

import gradio as gr
import numpy as np

from cvlab_ch9.layers import CONV_LAYER_TYPES, four_d_layers, layer_names
from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.classifiers import LAB, TOP_CLASS, class_index_for, initial_choices, model_batch, top_classes
from cvlab_ch9.ui.common import StudentResultError, expect_array, resolve_labs_dir, run_student, user_error
from cvlab_ch9.ui.fields import listing, number_between
from cvlab_ch9.ui.images import jet_image, load_input_image
from cvlab_ch9.ui.layout import model_picker, side_by_side, wire_model_picker
from cvlab_ch9.ui.reference import model_fingerprint, reference_side, result_key

ALPHA_RANGE = (0.1, 1.0)
#: The slider's starting value (what the kit's recorded reference uses).
DEFAULT_ALPHA = 0.4


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


def run_grad_cam(labs_dir, model_name, image, layer_name, class_choice, alpha=DEFAULT_ALPHA):
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


def _heatmap_pair(who, overlay_id=None):
    """(heatmap, overlay) images of one column, next to each other."""
    with gr.Row():
        heatmap = gr.Image(label=f"{who} heatmap", height=260, interactive=False)
        overlay = gr.Image(label=f"{who} overlay", height=260, interactive=False, elem_id=overlay_id)
    return heatmap, overlay


def build_tab(labs_dir, examples):
    """Create the Grad-CAM tab's components inside the current ``gr.Tab``."""
    names, default, choices, problem = initial_choices()
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
            model, model_info_note, download = model_picker(names, default)
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
    (student_heatmap, student_overlay), status, (reference_heatmap, reference_overlay), reference_note = side_by_side(
        lambda: _heatmap_pair("Your", "gradcam-student-overlay"),
        lambda: _heatmap_pair("Reference", "gradcam-reference-overlay"),
        status_id="gradcam-status", note_id="gradcam-reference-note",
    )
    wire_model_picker(model, model_info_note, download, [layer, class_choice], lambda updates: updates[2:4])
    button.click(
        run_grad_cam,
        inputs=[labs_dir, model, image, layer, class_choice, alpha],
        outputs=[student_heatmap, student_overlay, status, reference_heatmap, reference_overlay, predictions, note, reference_note],
        api_name="grad_cam",
    )

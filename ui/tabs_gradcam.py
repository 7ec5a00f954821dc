"""Grad-CAM tab: the student's ``grad_cam`` and ``overlay_heatmap`` for the top classes, beside the reference.

One click explains several classes side by side (both classes of a demo
model, the top 3 of the ImageNet Xception, or the classes picked), each
with its predicted probability. Under the two columns, the student's
heatmap minus the reference's is drawn for each class with its value
range, so a missing ReLU or a wrong pooling axis shows in the picture, and
a heatmap outside its contract (negative, above 1, NaN) is said in words.
"""

import gradio as gr
import numpy as np

from cvlab_ch9.layers import CONV_LAYER_TYPES, four_d_layers, layer_names
from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.classifiers import LAB, TOP_CLASS, model_batch, top_classes
from cvlab_ch9.ui.common import StudentResultError, expect_array, resolve_labs_dir, run_student, user_error
from cvlab_ch9.ui.contracts import heatmap_problems, picture_problems, then_sentence, with_problems
from cvlab_ch9.ui.fields import listing, name_list, number_between
from cvlab_ch9.ui.images import jet_image, load_input_image
from cvlab_ch9.ui.layout import image_with_examples, model_picker, side_by_side, tab_intro, wire_model_picker
from cvlab_ch9.ui.pictures import difference_picture, value_range
from cvlab_ch9.ui.reference import model_fingerprint, reference_side, result_key
from cvlab_ch9.ui.resources import load_model

ALPHA_RANGE = (0.1, 1.0)
#: The slider's starting value (what the kit's recorded reference uses).
DEFAULT_ALPHA = 0.4
#: Classes compared by default on a model with many (the ImageNet Xception); a two-class model shows both.
TOP_K = 3
#: Most classes one click compares.
MAX_CLASSES = 4


def compared_classes(choice, info, probabilities):
    """The class indices to explain, most likely first; ``[None]`` for a model with one sigmoid unit.

    Args:
        choice: class names picked (a list or one name), or empty / "top predicted class" for the top ones.
        info: the model's metadata (``class_names``).
        probabilities: float (num_outputs,) of the image.

    Raises:
        gr.Error: an unknown class (e.g. one of the model used before a switch) or more than MAX_CLASSES.
    """
    if probabilities.size == 1:
        return [None]  # Grad-CAM explains the one unit
    names = [n for n in name_list(choice) if n != TOP_CLASS]
    known = info["class_names"]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise user_error(f"Unknown class {unknown[0]!r} for this model; choose from: {listing(known)} (or none for the top classes).")
    if len(names) > MAX_CLASSES:
        raise user_error(f"Choose at most {MAX_CLASSES} classes to compare; {len(names)} were chosen.")
    if names:
        return [known.index(n) for n in names]
    return [int(i) for i in np.argsort(probabilities)[::-1][:TOP_K]]


def class_caption(index, info, probabilities):
    """``"cat — 83.1%"`` for class ``index`` (None: the model's one sigmoid unit)."""
    names = info["class_names"]
    if index is None:
        name = names[1] if len(names) >= 2 else (names[0] if names else "positive")
        return f"{name} — {100 * float(probabilities[0]):.1f}%"
    name = names[index] if index < len(names) else f"class {index}"
    return f"{name} — {100 * float(probabilities[index]):.1f}%"


def _student_heatmap(module, model, batch, layer, class_index):
    """The student's grad_cam for the float32 (1, H, W, 3) batch: a float (h, w) array as returned."""
    return expect_array(module.grad_cam(model, batch, layer, class_index), "grad_cam", ndim=2, what="a 2-D (h, w) heatmap")


def _student_overlay(module, image, heatmap, alpha):
    """The student's overlay of uint8 (H, W, 3) ``image`` and a heatmap clipped to [0, 1]: (raw result, uint8 picture)."""
    drawn = np.clip(np.nan_to_num(np.asarray(heatmap, dtype="float32")), 0, 1)
    overlay = expect_array(module.overlay_heatmap(image, drawn, alpha), "overlay_heatmap", ndim=3, what="a (H, W, 3) uint8 image")
    if overlay.shape != image.shape:
        raise StudentResultError(f"overlay_heatmap() returned shape {overlay.shape}; expected {image.shape}, the image's shape.")
    return overlay, np.clip(np.nan_to_num(overlay.astype("float64")), 0, 255).astype("uint8")


def run_grad_cam(labs_dir, model_name, image, layer_name, classes, alpha=DEFAULT_ALPHA):
    """Event: Grad-CAM of several classes from the student's code and the reference, and their differences.

    Args:
        labs_dir: the "labs directory" textbox.
        model_name: a demo model name (see :func:`cvlab_ch9.ui.resources.model_choices`).
        image: the uploaded image (numpy uint8 RGB, any array, PIL or path).
        layer_name: layer to explain ("" for the model's last conv layer).
        classes: class names to compare (a list, one name, or empty / "top predicted class": the top classes).
        alpha: heatmap weight in the overlays.

    Returns:
        (student gallery items, student status markdown, reference gallery items,
        difference gallery items, {class: probability}, note markdown, reference note markdown).
        Gallery items are ``(uint8 picture, caption)``: the overlays of the classes, then their
        heatmaps (a gallery with one column per class shows them side by side); one difference
        picture per class.
    """
    source = resolve_labs_dir(labs_dir)
    picture, note = load_input_image(image, max_side=512)
    model, info, batch = model_batch(model_name, picture)
    layer = (layer_name if isinstance(layer_name, str) else "").strip() or info["last_conv_layer"]
    if layer not in four_d_layers(model):
        convs = layer_names(model, CONV_LAYER_TYPES)
        raise user_error(f"The model has no layer named {layer!r} with a 4-D output; try one of: {listing(convs)}.")
    probabilities = np.asarray(model(batch, training=False)).reshape(-1).astype("float64")
    chosen = compared_classes(classes, info, probabilities)
    alpha = number_between(alpha, "Heatmap weight (alpha)", *ALPHA_RANGE)
    captions = [class_caption(c, info, probabilities) for c in chosen]
    reference, ref_note = _reference_grad_cams(model_name, model, batch, picture, layer, chosen, probabilities, alpha)
    student_items, status, difference_items = _student_grad_cams(
        source, (model, batch, picture, layer), chosen, captions, alpha, reference,
    )
    reference_items = [] if reference is None else _gallery_items(reference, captions, picture.shape[:2])
    note = " ".join(filter(None, [note, f"Layer `{layer}`; classes compared: {listing(captions)}."]))
    return student_items, status, reference_items, difference_items, top_classes(model, info, batch), note, ref_note


def _class_name(caption):
    return caption.split(" — ")[0]


def _gallery_items(results, captions, size):
    """Gallery items: the overlays of ``results`` [(heatmap, overlay uint8)] side by side, then their heatmaps."""
    items = [(overlay, caption) for (_, overlay), caption in zip(results, captions)]
    items += [(jet_image(h, size), f"{_class_name(c)} heatmap {h.shape[0]}x{h.shape[1]}") for (h, _), c in zip(results, captions)]
    return items


def _student_grad_cams(source, inputs_, chosen, captions, alpha, reference):
    """(gallery items, status markdown, difference items) of the student's grad_cam and overlay_heatmap.

    Args:
        inputs_: (model, batch float32 (1, H, W, 3), picture uint8 (H, W, 3), layer name).
        reference: [(heatmap, overlay)] per class, or None (nothing to compare with).
    """
    model, batch, picture, layer = inputs_
    then = then_sentence(reference is not None)
    heat = run_student(LAB, source, "grad_cam", lambda m: [_student_heatmap(m, model, batch, layer, c) for c in chosen], then)
    if not heat.ok:
        return [], heat.markdown(), []
    overlays = run_student(
        LAB, source, "overlay_heatmap", lambda m: [_student_overlay(m, picture, h, alpha) for h in heat.value], then,
    )
    problems, differences, difference_items = [], [], []
    for caption, heatmap, ref in zip(captions, heat.value, reference or [None] * len(chosen)):
        name = _class_name(caption)
        problems += [f"{name}: {p}" for p in heatmap_problems(heatmap)]
        if ref is not None:
            difference, words = _difference(heatmap, ref[0], picture, name)
            differences.append(words)
            if difference is not None:
                spread = value_range(np.asarray(heatmap, "float64") - ref[0])
                difference_items.append((difference, f"{name}: yours − reference, {spread}"))
    items = []
    if overlays.ok:
        problems += picture_problems(overlays.value[0][0], "overlay_heatmap", picture.shape, "overlay")
        items = [(drawn, caption) for (_, drawn), caption in zip(overlays.value, captions)]
    items += _gallery_items([(h, None) for h in heat.value], captions, picture.shape[:2])[len(captions):]
    shapes = ", ".join(sorted({f"{h.shape[0]}x{h.shape[1]}" for h in heat.value}))
    compared = f" (max difference from the reference: {max(differences, key=_difference_size)})" if differences else ""
    named = listing(_class_name(c) for c in captions)
    status = overlays.markdown(f"Your grad_cam() gave {shapes} heatmaps for {named}{compared}.")
    return items, with_problems(status, problems), difference_items


def _difference_size(words):
    """Sort key of a difference's words: the number, or infinity for shapes that differ."""
    try:
        return float(words)
    except ValueError:
        return float("inf")


def _difference(heatmap, reference, picture, name):
    """(difference picture or None, the largest |difference| as text, or the two shapes when they differ)."""
    heatmap = np.asarray(heatmap, dtype="float64")
    if heatmap.shape != np.shape(reference):
        return None, f"{name}: shape {heatmap.shape} vs {np.shape(reference)}"
    difference = heatmap - reference
    largest = float(np.nanmax(np.abs(difference))) if np.isfinite(difference).any() else float("nan")
    return difference_picture(difference, picture), f"{largest:.3g}"


def _reference_grad_cams(model_name, model, batch, picture, layer, chosen, probabilities, alpha):
    """([(heatmap float32 (h, w), overlay uint8)] per class, or None when the reference is not shown; note)."""
    reference = reference_side()
    # the top class is a class: one key for both ways of asking for it
    base = {"model": model_name, "model_file": model_fingerprint(model_name), "image": reference.image_key(picture), "layer": layer}
    results = []
    for index in chosen:
        explained = int(np.argmax(probabilities)) if index is None else index
        keys = {**base, "class_index": explained}
        heat = reference.one(
            LAB, result_key("grad_cam", **keys),
            lambda lab, index=index: np.asarray(lab.grad_cam(model, batch, layer, index), dtype="float32"),
            settings="for each model's last convolution layer (the default layer); choose it to compare",
        )
        if heat.value is None:
            return None, heat.note
        overlay = reference.one(
            LAB, result_key("overlay", alpha=round(float(alpha), 4), **keys),
            lambda lab, heatmap=heat.value: np.clip(np.asarray(lab.overlay_heatmap(picture, heatmap, alpha)), 0, 255).astype("uint8"),
            settings=f"with the heatmap weight {DEFAULT_ALPHA} (the default); set it to compare the overlays",
        )
        if overlay.value is None:
            return None, overlay.note
        results.append((heat.value, overlay.value))
    return results, ""


def build_tab(labs_dir, examples, where="`interpretation.py`"):
    """Create the Grad-CAM tab's components inside the current ``gr.Tab``.

    Args:
        where: how the page names the student's code (the file, or this notebook).
    """
    names, default, choices = tab_intro(
        f"Where in the image is the evidence for each class? Your `grad_cam()` and `overlay_heatmap()` from {where} "
        "for the top classes side by side, beside the reference, and below them your heatmap minus the reference's."
    )
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            image = image_with_examples(examples, "gradcam-image", height=260)
        with gr.Column(scale=1, min_width=260):
            model, model_info_note, download = model_picker(names, default, "gradcam-model")
            layer = inputs.Dropdown(
                choices.get("gradcam_layers", []), value=choices.get("last_conv_layer"),
                label="Layer (last convolution)", allow_custom_value=True,
            )
            classes = inputs.Dropdown(
                [n for n in choices.get("classes", []) if n != TOP_CLASS], value=[], multiselect=True,
                label=f"Classes to compare (empty: the top {TOP_K}, or both of a two-class model)", elem_id="gradcam-classes",
            )
            alpha = inputs.Slider(*ALPHA_RANGE, value=DEFAULT_ALPHA, step=0.05, label="Heatmap weight (alpha)")
            button = gr.Button("Run Grad-CAM", variant="primary", elem_id="gradcam-run")
            predictions = gr.Label(num_top_classes=5, label="Predicted probabilities", elem_id="gradcam-predictions")
            note = gr.Markdown()
    columns = gallery_columns(default, [])[0]["columns"] if choices else 2
    gallery = {"columns": columns, "height": "100%", "object_fit": "contain", "allow_preview": True}
    student, status, reference, reference_note = side_by_side(
        lambda: gr.Gallery(label="Your overlays and heatmaps", elem_id="gradcam-student", **gallery),
        lambda: gr.Gallery(label="Reference overlays and heatmaps", elem_id="gradcam-reference", **gallery),
        status_id="gradcam-status", note_id="gradcam-reference-note",
    )
    gr.Markdown("### Your heatmap minus the reference's\nRed: yours is higher, blue: yours is lower, white: equal "
                "(within the grader's tolerance, 0.002; gray: NaN). Under each picture: the smallest and largest difference.")
    differences = gr.Gallery(label="Differences", elem_id="gradcam-difference", **{**gallery, "columns": columns + 1, "fit_columns": False})
    wire_model_picker(model, model_info_note, download, [layer, classes], lambda updates: (updates[2], _class_update(updates[3])),
                      results=[student, status, reference, differences, predictions, note, reference_note])
    # one column per compared class, so the classes stand side by side (the overlays, then the heatmaps)
    for changed in (model, classes):
        changed.change(gallery_columns, inputs=[model, classes], outputs=[student, reference, differences], api_visibility="private")
    button.click(
        run_grad_cam,
        inputs=[labs_dir, model, image, layer, classes, alpha],
        outputs=[student, status, reference, differences, predictions, note, reference_note],
        api_name="grad_cam",
    )


def gallery_columns(model_name, classes):
    """Event (the model or the classes changed): (student, reference, difference) gallery updates with one column per class."""
    picked = [n for n in name_list(classes) if n != TOP_CLASS]
    try:
        outputs = load_model(model_name).outputs[0].shape[-1]
    except gr.Error:  # e.g. the ImageNet Xception before its download
        outputs = TOP_K
    count = len(picked) or (1 if outputs == 1 else min(TOP_K, outputs))
    return gr.update(columns=count), gr.update(columns=count), gr.update(columns=count + 1)


def _class_update(update):
    """The class picker's update from model_changed's: its class names, nothing chosen (the top classes)."""
    return gr.update(choices=[n for n in update.get("choices", []) if n != TOP_CLASS], value=[])

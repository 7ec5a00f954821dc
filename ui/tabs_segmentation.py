"""Segmentation tab: the student's model with the demo weights, stage by stage, and a training run to watch.

:func:`run_segmentation` builds the student's ``build_segmentation_model``
with the demo configuration (``models/segmentation_demo.json``), loads the
demo weights into it when the structure matches, and shows its predicted
mask beside the demo model's. The pipeline (:mod:`cvlab_ch9.ui.pipeline`)
shows the feature maps stage by stage; :mod:`cvlab_ch9.ui.live_training`
trains or fine-tunes a small configuration on a few synthetic pets with
curves drawn epoch by epoch.
"""

import gradio as gr
import numpy as np

from cvlab_ch9.ui import inputs, live_training, pipeline
from cvlab_ch9.ui.common import StudentResultError, resolve_labs_dir, run_student
from cvlab_ch9.ui.images import load_input_image, model_input, nearest_resize
from cvlab_ch9.ui.live_training import weight_mismatch
from cvlab_ch9.ui.resources import segmentation_config, segmentation_model, segmentation_note

LAB = "segmentation"
#: Class index -> label shown on the mask (background is left unpainted).
MASK_LABELS = {0: "pet", 2: "contour"}
#: Mask colours: the contour a colour no photo's pet has, drawn at full strength.
MASK_COLOURS = {"pet": "#3b82f6", "contour": "#facc15"}


def annotated(picture, labels):
    """gr.AnnotatedImage value: ``picture`` with one mask per class in MASK_LABELS.

    Args:
        picture: uint8 (H, W, 3).
        labels: int (h, w) class indices at the model's resolution.
    """
    # nearest-neighbour resize of the label map to the picture
    full = nearest_resize(labels, picture.shape[:2])
    return picture, [((full == k).astype("float32"), name) for k, name in MASK_LABELS.items()]


def predicted_labels(model, batch):
    """int (h, w) argmax of the model's per-pixel class probabilities for ``batch`` (1, h, w, 3)."""
    probs = np.asarray(model(batch, training=False))
    if probs.ndim != 4:
        raise StudentResultError(f"the model's output has shape {probs.shape}; expected (1, H, W, num_classes).")
    return probs[0].argmax(axis=-1)


def _student_prediction(module, config, demo, batch):
    model = module.build_segmentation_model(
        img_size=config["img_size"], num_classes=config["num_classes"], filters=config["filters"]
    )
    if not hasattr(model, "weights"):
        raise StudentResultError(f"build_segmentation_model() returned {type(model).__name__}; expected a keras.Model.")
    mismatch = weight_mismatch(model, demo)
    if mismatch:
        raise StudentResultError(mismatch)
    model.set_weights(demo.get_weights())
    return predicted_labels(model, batch)


def run_segmentation(labs_dir, image):
    """Event: predicted masks of the student's model (demo weights) and of the demo model.

    Returns:
        (student AnnotatedImage value or None, student status markdown,
        reference AnnotatedImage value, note markdown)
    """
    source = resolve_labs_dir(labs_dir)
    picture, note = load_input_image(image, max_side=512)
    config = segmentation_config()
    demo = segmentation_model()
    batch = model_input(picture, config["img_size"])
    reference_labels = predicted_labels(demo, batch)
    outcome = run_student(LAB, source, "build_segmentation_model", lambda m: _student_prediction(m, config, demo, batch))
    student_value = annotated(picture, outcome.value) if outcome.ok else None
    if outcome.ok:
        agreement = float(np.mean(outcome.value == reference_labels))
        status = (
            f"Your build_segmentation_model() with the demo weights: {agreement:.1%} of pixels agree with the demo model."
        )
    else:
        status = outcome.markdown()
    size = "x".join(str(s) for s in config["img_size"])
    note = " ".join(filter(None, [note, f"Demo model: {size} input, filters {config['filters']}."]))
    return student_value, status, annotated(picture, reference_labels), note


def build_tab(labs_dir, examples):
    """Create the Segmentation tab's components inside the current ``gr.Tab``."""
    gr.Markdown(
        "Your `build_segmentation_model()` is built with the demo configuration and loaded with the demo "
        "weights, then predicts a mask (pet, contour) for the image. The demo model's mask is on the right."
    )
    gr.Markdown(segmentation_note(), elem_id="segmentation-model-note")
    with gr.Row():
        with gr.Column(scale=1):
            image = inputs.ImageFile(label="Image", height=280, elem_id="segmentation-image")
            gr.Examples(examples, inputs=image, label="Examples", elem_id="segmentation-examples")
            button = gr.Button("Segment", variant="primary", elem_id="segmentation-run")
            note = gr.Markdown()
        with gr.Column(scale=1):
            gr.Markdown("### Your model")
            status = gr.Markdown()
            student_mask = gr.AnnotatedImage(label="Your prediction", height=320, elem_id="segmentation-student",
                                             color_map=MASK_COLOURS)
        with gr.Column(scale=1):
            gr.Markdown("### Reference (demo model)")
            reference_mask = gr.AnnotatedImage(label="Demo model prediction", height=320, elem_id="segmentation-reference",
                                               color_map=MASK_COLOURS)
    button.click(run_segmentation, inputs=[labs_dir, image], outputs=[student_mask, status, reference_mask, note], api_name="segment")
    with gr.Accordion("The pipeline, stage by stage", open=True, elem_id="pipeline-section"):
        gr.Markdown(
            "The feature maps at the end of each stage of **your** encoder (the resolution halves) and decoder (it "
            "doubles back), the first channels of each; beside them the demo model's. The switch runs the same image "
            "through your model with each `strides=2` convolution replaced by a stride-1 convolution and "
            "`MaxPooling2D(2)` (same weights): the chapter's reason for strides is that pooling throws away *where* "
            "things are."
        )
        with gr.Row():
            pooling = gr.Checkbox(False, label="Also with MaxPooling2D instead of strides", elem_id="pipeline-pooling")
            use_trained = gr.Checkbox(False, label="Use the weights trained below (after a run)")
            run = gr.Button("Show the pipeline", variant="primary", elem_id="pipeline-run")
        status_line = gr.Markdown(elem_id="pipeline-status")
        with gr.Row():
            stages = gr.Gallery(label="Your encoder and decoder", columns=1, height=560, object_fit="contain",
                                elem_id="pipeline-student")
            reference_stages = gr.Gallery(label="Demo model", columns=1, height=560, object_fit="contain",
                                          elem_id="pipeline-reference")
            pooled = gr.Gallery(label="Yours with MaxPooling2D", columns=1, height=560, object_fit="contain",
                                elem_id="pipeline-pooled")
        classes = gr.Gallery(label="Class probabilities and the mask (yours)", columns=4, height=260, object_fit="contain",
                             elem_id="pipeline-classes")
    with gr.Accordion("Train a small model on synthetic pets", open=False, elem_id="training-section"):
        with gr.Row():
            mode = inputs.Radio(list(live_training.TRAIN_MODES), value=live_training.SCRATCH, label="Start")
            epochs = inputs.Slider(*live_training.EPOCHS_RANGE, value=3, step=1, label="Epochs")
            n_train = inputs.Slider(*live_training.TRAIN_IMAGES_RANGE, value=24, step=4, label="Training images")
        with gr.Row():
            train = gr.Button("Train", variant="primary", elem_id="training-run")
            stop = gr.Button("Stop", variant="stop")
        train_status = gr.Markdown(min_height=48, elem_id="training-status")
        with gr.Row():
            curves = gr.Image(label="Loss and mean IoU", height=320, interactive=False, elem_id="training-curves")
            validation = gr.Gallery(label="A validation image, refreshed each epoch", columns=4, height=320,
                                    object_fit="contain", elem_id="training-validation")
    trained = gr.State(None)
    run.click(
        pipeline.pipeline_event,
        inputs=[labs_dir, image, pooling, use_trained, trained],
        outputs=[stages, status_line, reference_stages, pooled, classes, note], api_name="pipeline",
    )
    training = train.click(
        live_training.train_segmentation, inputs=[labs_dir, mode, epochs, n_train],
        outputs=[curves, validation, train_status, trained], api_name="train", show_progress_on=train_status,
    )
    stop.click(None, cancels=[training])

"""Segmentation tab: the student's model with the demo weights, and a small training run.

:func:`run_segmentation` builds the student's ``build_segmentation_model``
with the demo configuration (``models/segmentation_demo.json``), loads the
demo weights into it when the structure matches, and shows its predicted
mask beside the demo model's. :func:`train_segmentation` trains or
fine-tunes a small configuration on a few synthetic pets, epoch by epoch.
"""

import gradio as gr
import numpy as np

from cvlab_ch9 import data, models
from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.common import (
    StudentResultError,
    describe_lab,
    expect_array,
    outcome_from_exception,
    resolve_labs_dir,
    run_student,
    student_module,
    user_error,
)
from cvlab_ch9.ui.fields import one_of, whole_number
from cvlab_ch9.ui.images import load_input_image, model_input, nearest_resize
from cvlab_ch9.ui.reference import reference_side
from cvlab_ch9.ui.resources import segmentation_config, segmentation_model, segmentation_note

LAB = "segmentation"
#: Class index -> label shown on the mask (background is left unpainted).
MASK_LABELS = {0: "pet", 2: "contour"}
SCRATCH = "train from scratch (64x64, filters 16-32-64)"
FINE_TUNE = "fine-tune the demo model"
TRAIN_MODES = (SCRATCH, FINE_TUNE)
SCRATCH_CONFIG = {"img_size": (64, 64), "filters": (16, 32, 64), "num_classes": 3}
MAX_EPOCHS = 10
MAX_TRAIN_IMAGES = 64
#: (low, high) of the numeric fields, shared by the sliders and the checks in train_segmentation.
EPOCHS_RANGE = (1, MAX_EPOCHS)
TRAIN_IMAGES_RANGE = (4, MAX_TRAIN_IMAGES)
VALIDATION_IMAGES = 8
#: Where the synthetic pets live; None = cvlab_ch9.data's default (data/synthetic_pets). Tests point it at a tmp dir.
DATA_ROOT = None
DATA_IMAGES = 240


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


def weight_mismatch(model, demo):
    """None when ``model``'s weights have the demo model's shapes, else a sentence saying why not."""
    mine = [tuple(w.shape) for w in model.weights]
    theirs = [tuple(w.shape) for w in demo.weights]
    if mine == theirs:
        return None
    if len(mine) != len(theirs):
        why = f"your model has {len(mine)} weight tensors, the demo model {len(theirs)}"
    else:
        k = next(i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b)
        why = f"weight #{k} has shape {mine[k]} in your model but {theirs[k]} in the demo model"
    return (
        f"The demo weights do not fit your build_segmentation_model(): {why}. "
        "Compare your layers with the chapter's (Conv2D strides=2 then Conv2D per stage; Conv2DTranspose, "
        "then Conv2DTranspose strides=2) or run the Grade tab for hints."
    )


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


# -- training ------------------------------------------------------------------------------


def training_data(img_size, n_train):
    """(x_train, x_val uint8 (N, h, w, 3), trimaps_train, trimaps_val uint8 (N, h, w) raw 1/2/3)."""
    # the style the demo model was trained on, so fine-tuning continues on the same kind of pictures
    style = models.demo_segmentation_info()["config"].get("data_style", "cartoon")
    root = data.ensure_synthetic_pets(DATA_ROOT or data.DEFAULT_SYNTHETIC_ROOT.with_name(f"synthetic_pets_{style}"),
                                      n_images=DATA_IMAGES, style=style)
    images, trimaps = data.load_segmentation_arrays(root, tuple(img_size), limit=n_train + VALIDATION_IMAGES)
    if len(images) < n_train + 1:
        raise user_error(f"Only {len(images)} synthetic images are available; lower the number of training images.")
    return images[:n_train], images[n_train:], trimaps[:n_train], trimaps[n_train:]


def _progress_callback(progress, epoch, epochs, steps):
    import keras  # noqa: PLC0415

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            progress((epoch + (batch + 1) / steps) / epochs, desc=f"Epoch {epoch + 1} of {epochs}")

    return Progress()


def _train_setup(module, mode, n_train):
    """(model, config, data) for a training run with the student's module."""
    config = dict(SCRATCH_CONFIG) if mode == SCRATCH else segmentation_config()
    x_train, x_val, t_train, t_val = training_data(config["img_size"], n_train)
    y_train = expect_array(module.trimap_to_classes(t_train), "trimap_to_classes", ndim=3, what="(N, H, W) labels")
    y_val = expect_array(module.trimap_to_classes(t_val), "trimap_to_classes", ndim=3, what="(N, H, W) labels")
    model = module.build_segmentation_model(
        img_size=config["img_size"], num_classes=config["num_classes"], filters=config["filters"]
    )
    if mode == FINE_TUNE:
        demo = segmentation_model()
        mismatch = weight_mismatch(model, demo)
        if mismatch:
            raise StudentResultError(mismatch)
        model.set_weights(demo.get_weights())
    return model, config, (x_train.astype("float32"), y_train, x_val.astype("float32"), y_val)


def train_segmentation(labs_dir, mode, epochs, n_train, image=None, progress=gr.Progress()):
    """Event (generator): train the student's model on a few synthetic pets, one epoch at a time.

    Uses the student's trimap_to_classes, build_segmentation_model and
    mean_iou (the reference side's when it is not written yet: solutions/,
    or ``keras.metrics.MeanIoU`` in the student kit). Yields
    after every epoch, so the Stop button cancels between epochs.

    Yields:
        (AnnotatedImage value of the prediction on ``image`` or a validation
        image, status markdown with the epoch log)
    """
    import keras  # noqa: PLC0415

    source = resolve_labs_dir(labs_dir)
    mode = one_of(mode, "training mode", TRAIN_MODES)
    epochs = whole_number(epochs, "Epochs", *EPOCHS_RANGE)
    n_train = whole_number(n_train, "Training images", *TRAIN_IMAGES_RANGE)
    picture = load_input_image(image, max_side=512)[0] if image is not None else None
    progress(0, desc="Preparing the synthetic pets…")
    log = [
        f"Training {describe_lab(source, LAB)} — {mode}, {n_train} images, {epochs} epoch(s). "
        "(The demo model needed 40 epochs on 800 images: expect a rough mask from a short run from scratch.)"
    ]
    with student_module(LAB, source, ("trimap_to_classes", "build_segmentation_model")) as (module, failure):
        if failure is not None:
            yield None, failure.markdown()
            return
        try:
            keras.utils.set_random_seed(0)
            model, config, (x_train, y_train, x_val, y_val) = _train_setup(module, mode, n_train)
            # the demo model was trained at 2e-3; fine-tuning takes smaller steps
            learning_rate = 2e-3 if mode == SCRATCH else 2e-4
            model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - the student's code: show it
            yield None, outcome_from_exception(exc, LAB, "build_segmentation_model", source).markdown()
            return
        iou_function, iou_note = _mean_iou_function(module)
        if iou_note:
            log.append(iou_note)
        shown = picture if picture is not None else x_val[0].astype("uint8")
        shown_batch = model_input(shown, config["img_size"])
        steps = int(np.ceil(len(x_train) / 8))
        for epoch in range(epochs):
            try:
                history = model.fit(
                    x_train, y_train, batch_size=8, epochs=1, verbose=0,
                    callbacks=[_progress_callback(progress, epoch, epochs, steps)],
                )
                val_pred = np.asarray(model(x_val, training=False))
                iou = float(iou_function(y_val, val_pred, config["num_classes"]))
                labels = predicted_labels(model, shown_batch)
            except Exception as exc:  # noqa: BLE001 - a broken model fails in fit: show why
                yield None, outcome_from_exception(exc, LAB, "build_segmentation_model", source).markdown()
                return
            log.append(f"- epoch {epoch + 1}: loss {history.history['loss'][-1]:.3f}, validation mean IoU {iou:.3f}")
            yield annotated(shown, labels), "\n".join(log)


def _mean_iou_function(module):
    """The student's mean_iou, or the reference side's (with a note) when it raises."""
    probe_true = np.zeros((1, 2, 2), dtype="uint8")
    fallback, name = reference_side().mean_iou()
    try:
        module.mean_iou(probe_true, probe_true, 3)
    except NotImplementedError:
        return fallback, f"(mean_iou is not implemented yet — using {name} to score.)"
    except Exception as exc:  # noqa: BLE001 - a crashing mean_iou: score with the reference, say so
        return fallback, f"(your mean_iou raised {type(exc).__name__}: {exc} — using {name}.)"
    return module.mean_iou, ""


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
            student_mask = gr.AnnotatedImage(label="Your prediction", height=320, elem_id="segmentation-student")
        with gr.Column(scale=1):
            gr.Markdown("### Reference (demo model)")
            reference_mask = gr.AnnotatedImage(label="Demo model prediction", height=320, elem_id="segmentation-reference")
    button.click(run_segmentation, inputs=[labs_dir, image], outputs=[student_mask, status, reference_mask, note], api_name="segment")
    with gr.Accordion("Train a small model on synthetic pets", open=False):
        with gr.Row():
            mode = inputs.Radio(list(TRAIN_MODES), value=SCRATCH, label="Start")
            epochs = inputs.Slider(*EPOCHS_RANGE, value=3, step=1, label="Epochs")
            n_train = inputs.Slider(*TRAIN_IMAGES_RANGE, value=24, step=4, label="Training images")
        with gr.Row():
            train = gr.Button("Train", variant="primary")
            stop = gr.Button("Stop", variant="stop")
        with gr.Row():
            trained_mask = gr.AnnotatedImage(label="Prediction after the last epoch", height=320)
            train_log = gr.Markdown(min_height=120)
    training = train.click(
        train_segmentation, inputs=[labs_dir, mode, epochs, n_train, image], outputs=[trained_mask, train_log], api_name="train",
        show_progress_on=train_log,
    )
    stop.click(None, cancels=[training])

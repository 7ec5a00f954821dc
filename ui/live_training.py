"""Training you watch: the student's segmentation model learning, curve by curve, on a few synthetic pets.

:func:`train_segmentation` (a generator: Gradio streams each value) trains
the student's ``build_segmentation_model`` from scratch or from the demo
weights, one epoch at a time, scoring the validation images with the
student's ``mean_iou`` (the reference side's while it is not written yet).
After every epoch it yields

- the loss and mean-IoU curves so far, drawn into axes that already span
  every epoch (they grow as TensorFlow Playground's do);
- a fixed validation image with its true mask, the current prediction and
  the demo model's (where a long training run gets);
- the trained weights (a ``gr.State``): Stop cancels between epochs and
  keeps what was trained so far, which the pipeline section can use.
"""

import gradio as gr
import numpy as np

from cvlab_ch9 import data, models
from cvlab_ch9.ui.common import StudentResultError, describe_lab, expect_array, outcome_from_exception, resolve_labs_dir, student_module
from cvlab_ch9.ui.fields import one_of, whole_number
from cvlab_ch9.ui.pipeline import contour_mask
from cvlab_ch9.ui.reference import reference_side
from cvlab_ch9.ui.resources import segmentation_config, segmentation_model

LAB = "segmentation"
SCRATCH = "train from scratch (64x64, filters 16-32-64)"
FINE_TUNE = "fine-tune the demo model"
TRAIN_MODES = (SCRATCH, FINE_TUNE)
SCRATCH_CONFIG = {"img_size": (64, 64), "filters": (16, 32, 64), "num_classes": 3}
#: (low, high) of the numeric fields, shared by the sliders and the checks in train_segmentation.
EPOCHS_RANGE = (1, 10)
TRAIN_IMAGES_RANGE = (4, 64)
VALIDATION_IMAGES = 8
BATCH_SIZE = 8
#: Where the synthetic pets live; None = cvlab_ch9.data's default (data/synthetic_pets). Tests point it at a tmp dir.
DATA_ROOT = None
DATA_IMAGES = 240
#: What a training run shows while an exercise it needs is not written yet.
THEN = "Training needs it: write it, then click Train again."


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


def training_data(img_size, n_train):
    """(x_train, x_val uint8 (N, h, w, 3), trimaps_train, trimaps_val uint8 (N, h, w) raw 1/2/3)."""
    # the style the demo model was trained on, so fine-tuning continues on the same kind of pictures
    style = models.demo_segmentation_info()["config"].get("data_style", "cartoon")
    root = data.ensure_synthetic_pets(DATA_ROOT or data.DEFAULT_SYNTHETIC_ROOT.with_name(f"synthetic_pets_{style}"),
                                      n_images=DATA_IMAGES, style=style)
    images, trimaps = data.load_segmentation_arrays(root, tuple(img_size), limit=n_train + VALIDATION_IMAGES)
    if len(images) < n_train + 1:
        raise gr.Error(f"Only {len(images)} synthetic images are available; lower the number of training images.",
                       print_exception=False)
    return images[:n_train], images[n_train:], trimaps[:n_train], trimaps[n_train:]


def _setup(module, mode, n_train):
    """(model, config, (x_train, y_train, x_val, y_val)) for a run with the student's module."""
    config = dict(SCRATCH_CONFIG) if mode == SCRATCH else segmentation_config()
    x_train, x_val, t_train, t_val = training_data(config["img_size"], n_train)
    y_train = expect_array(module.trimap_to_classes(t_train), "trimap_to_classes", ndim=3, what="(N, H, W) labels")
    y_val = expect_array(module.trimap_to_classes(t_val), "trimap_to_classes", ndim=3, what="(N, H, W) labels")
    model = module.build_segmentation_model(img_size=config["img_size"], num_classes=config["num_classes"], filters=config["filters"])
    if mode == FINE_TUNE:
        mismatch = weight_mismatch(model, segmentation_model())
        if mismatch:
            raise StudentResultError(mismatch)
        model.set_weights(segmentation_model().get_weights())
    return model, config, (x_train.astype("float32"), y_train, x_val.astype("float32"), y_val)


def mean_iou_function(module):
    """(the student's mean_iou, "") or the reference side's with a note when it is not written or raises."""
    probe = np.zeros((1, 2, 2), dtype="uint8")
    fallback, name = reference_side().mean_iou()
    try:
        module.mean_iou(probe, probe, 3)
    except NotImplementedError:
        return fallback, f"mean_iou is not written yet: {name} scores the run."
    except Exception as exc:  # noqa: BLE001 - a crashing mean_iou: score with the reference, say so
        return fallback, f"Your mean_iou raised {type(exc).__name__}: {exc}; {name} scores the run."
    return module.mean_iou, ""


def curves_picture(history, epochs):
    """uint8 RGB: training loss per batch (faint) and per epoch, validation loss, validation mean IoU (right axis).

    Args:
        history: dict of lists: ``batch_loss`` [(epoch fraction, loss)], ``loss``, ``val_loss``, ``val_iou`` (one per epoch).
        epochs: the run's number of epochs (the x axis spans them all from the start).
    """
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    figure, loss_axes = plt.subplots(figsize=(6.4, 3.3), dpi=90)
    done = np.arange(1, len(history["loss"]) + 1)
    if history["batch_loss"]:
        x, y = zip(*history["batch_loss"])
        loss_axes.plot(x, y, color="#94a3b8", linewidth=1, label="training loss (each batch)")
    loss_axes.plot(done, history["loss"], "o-", color="#2563eb", label="training loss")
    loss_axes.plot(done, history["val_loss"], "s--", color="#7c3aed", label="validation loss")
    loss_axes.set_xlim(0, epochs + 0.1)
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("loss (crossentropy)")
    iou_axes = loss_axes.twinx()
    iou_axes.plot(done, history["val_iou"], "D-", color="#ea580c", label="validation mean IoU")
    iou_axes.set_ylim(0, 1)
    iou_axes.set_ylabel("mean IoU", color="#ea580c")
    lines = loss_axes.get_legend_handles_labels()[0] + iou_axes.get_legend_handles_labels()[0]
    labels = loss_axes.get_legend_handles_labels()[1] + iou_axes.get_legend_handles_labels()[1]
    loss_axes.legend(lines, labels, fontsize=7, loc="upper right")
    figure.tight_layout()
    figure.canvas.draw()
    picture = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return picture


def _batch_recorder(history, progress, epoch, epochs, steps):
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            history["batch_loss"].append((epoch + (batch + 1) / steps, float((logs or {}).get("loss", np.nan))))
            progress((epoch + (batch + 1) / steps) / epochs, desc=f"Epoch {epoch + 1} of {epochs}")

    return Recorder()


def validation_items(model, x_val, y_val, demo_labels):
    """Gallery items for the first validation image: the image, its true mask, the current prediction, the demo's."""
    picture = x_val[0].astype("uint8")
    predicted = np.asarray(model(x_val[:1], training=False))[0].argmax(axis=-1)
    return [
        (picture, "validation image"),
        (contour_mask(picture, np.asarray(y_val[0])), "true mask"),
        (contour_mask(picture, predicted), "your model now"),
        (contour_mask(picture, demo_labels), "demo model (40 epochs, 640 images)"),
    ]


def train_segmentation(labs_dir, mode, epochs, n_train, progress=gr.Progress()):
    """Event (generator): train the student's model one epoch at a time; yield the curves, the validation mask, the weights.

    Yields:
        (curves picture or None, validation gallery items, status markdown,
        trained state ``{"weights": [...], "config": {...}}`` or None)
    """
    import keras  # noqa: PLC0415

    source = resolve_labs_dir(labs_dir)
    mode = one_of(mode, "training mode", TRAIN_MODES)
    epochs = whole_number(epochs, "Epochs", *EPOCHS_RANGE)
    n_train = whole_number(n_train, "Training images", *TRAIN_IMAGES_RANGE)
    progress(0, desc="Preparing the synthetic pets…")
    with student_module(LAB, source, ("trimap_to_classes", "build_segmentation_model"), then=THEN) as (module, failure):
        if failure is not None:
            yield None, [], failure.markdown(), None
            return
        try:
            keras.utils.set_random_seed(0)
            model, config, (x_train, y_train, x_val, y_val) = _setup(module, mode, n_train)
            # the demo model was trained at 2e-3; fine-tuning takes smaller steps
            model.compile(optimizer=keras.optimizers.Adam(2e-3 if mode == SCRATCH else 2e-4), loss="sparse_categorical_crossentropy")
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - the student's code: show it
            yield None, [], outcome_from_exception(exc, LAB, "build_segmentation_model", source, THEN).markdown(), None
            return
        iou_function, iou_note = mean_iou_function(module)
        demo = segmentation_model()
        demo_labels = np.asarray(demo(x_val[:1], training=False))[0].argmax(-1) if tuple(config["img_size"]) == tuple(
            demo.inputs[0].shape[1:3]) else np.asarray(y_val[0])
        history = {"batch_loss": [], "loss": [], "val_loss": [], "val_iou": []}
        steps = int(np.ceil(len(x_train) / BATCH_SIZE))
        where = f"{describe_lab(source, LAB)}, {mode}, {n_train} images"
        for epoch in range(epochs):
            try:
                fit = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=1, verbose=0,
                                validation_data=(x_val, y_val),
                                callbacks=[_batch_recorder(history, progress, epoch, epochs, steps)])
                iou = float(iou_function(y_val, np.asarray(model(x_val, training=False)), config["num_classes"]))
                items = validation_items(model, x_val, y_val, demo_labels)
            except Exception as exc:  # noqa: BLE001 - a broken model fails in fit: show why
                yield None, [], outcome_from_exception(exc, LAB, "build_segmentation_model", source, THEN).markdown(), None
                return
            history["loss"].append(fit.history["loss"][-1])
            history["val_loss"].append(fit.history["val_loss"][-1])
            history["val_iou"].append(iou)
            status = (f"Epoch {epoch + 1} of {epochs} ({where}): loss {history['loss'][-1]:.3f}, "
                      f"validation mean IoU {iou:.3f}. " + iou_note +
                      (" Stop keeps the model trained so far." if epoch + 1 < epochs else
                       " Done: the pipeline above can use these weights."))
            trained = {"weights": model.get_weights(), "config": dict(config)}
            yield curves_picture(history, epochs), items, status, trained

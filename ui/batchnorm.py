"""Batch normalization you can see: histograms of a layer's output before and after ``BatchNormalization``.

:func:`batchnorm_histograms` builds ``conv_bn_relu`` (the student's, and the
reference's with the same seeded weights) on the image or on a batch of the
example images and draws three histograms of the values around its
``BatchNormalization`` layer: what enters it (the convolution's output),
what leaves it in inference mode (normalized with the moving mean and
variance: a fresh layer's are 0 and 1, so nothing changes) and in training
mode (normalized with this batch's own mean and variance: mean 0, standard
deviation 1 per channel). :func:`trained_histograms` does the same for a
``BatchNormalization`` layer of the trained demo mini-Xception, whose moving
statistics were learned.
"""

import gradio as gr
import numpy as np

from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.common import StudentResultError, resolve_labs_dir, run_student
from cvlab_ch9.ui.fields import one_of
from cvlab_ch9.ui.images import load_input_image, model_input
from cvlab_ch9.ui.reference import reference_side, result_key

LAB = "architecture"
FILTERS = 16
SIDE = 64
THE_IMAGE = "the image"
EXAMPLE_BATCH = "a batch of the example images"
BATCH_CHOICES = (THE_IMAGE, EXAMPLE_BATCH)
COLOURS = {"before BatchNormalization": "#64748b", "after, inference mode": "#2563eb", "after, training mode": "#ea580c"}


def image_batch(image, which):
    """float32 (n, SIDE, SIDE, 3) in 0..1: the image, or the example images (the image first)."""
    from cvlab_ch9.ui.resources import example_images  # noqa: PLC0415 - the examples live with the resources

    picture, _ = load_input_image(image, max_side=512)
    pictures = [picture]
    if which == EXAMPLE_BATCH:
        pictures += [load_input_image(path, max_side=512)[0] for path in example_images()]
    return np.concatenate([model_input(p, (SIDE, SIDE)) for p in pictures]) / 255.0


def around_batchnorm(model, batch, function="conv_bn_relu"):
    """(before, inference, training) float32 arrays around ``model``'s first BatchNormalization layer.

    The training-mode pass runs on a copy of the layer, so the model's moving statistics stay as they are.
    """
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    layer = next((lay for lay in model.layers if type(lay).__name__ == "BatchNormalization"), None)
    if layer is None:
        raise StudentResultError(f"Your {function}() has no BatchNormalization layer; add keras.layers.BatchNormalization() "
                                 "after the Conv2D.")
    probe = keras.Model(model.inputs, [layer.input, layer.output])
    before, inference = (np.asarray(v) for v in probe(batch, training=False))
    copy = type(layer).from_config(layer.get_config())
    copy.build(before.shape)
    copy.set_weights(layer.get_weights())
    training = np.asarray(copy(before, training=True))
    return before, inference, training


def conv_bn_relu_values(module, batch):
    """``around_batchnorm`` of ``module.conv_bn_relu(Input, FILTERS)`` built with seed 0."""
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(0)
    inputs_ = keras.Input(batch.shape[1:])
    model = keras.Model(inputs_, module.conv_bn_relu(inputs_, FILTERS))
    return around_batchnorm(model, batch)


def histogram_picture(values, title):
    """uint8 RGB: the three histograms of ``values`` = (before, inference, training) on shared bins, with mean and std."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    flat = [np.asarray(v, dtype="float64").reshape(-1) for v in values]
    low = min(float(np.percentile(v, 0.5)) for v in flat)
    high = max(float(np.percentile(v, 99.5)) for v in flat)
    bins = np.linspace(low, high if high > low else low + 1, 60)
    figure, axes = plt.subplots(figsize=(6, 4.2), dpi=90)
    for (label, colour), v in zip(COLOURS.items(), flat):
        axes.hist(np.clip(v, bins[0], bins[-1]), bins=bins, histtype="step", linewidth=2, color=colour,
                  linestyle="--" if "inference" in label else "-",
                  label=f"{label}: mean {v.mean():.2f}, std {v.std():.2f}")
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("value")
    axes.set_ylabel("count")
    # below the axes: inside, the legend covered the peak it describes
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    figure.tight_layout()
    figure.canvas.draw()
    picture = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return picture


def batchnorm_histograms(labs_dir, image, which=THE_IMAGE):
    """Event: histograms around the BatchNormalization of the student's conv_bn_relu and of the reference's.

    Returns:
        (student picture or None, student status markdown, reference picture or None, reference note markdown)
    """
    source = resolve_labs_dir(labs_dir)
    which = one_of(which, "batch", BATCH_CHOICES)
    batch = image_batch(image, which)
    title = f"conv_bn_relu({FILTERS} filters) on {len(batch)} image{'s' if len(batch) > 1 else ''}"
    picture_key = reference_side().image_key(load_input_image(image, max_side=512)[0])
    reference = reference_side().one(
        LAB, result_key("batchnorm_histograms", image=picture_key, batch=which),
        lambda lab: histogram_picture(conv_bn_relu_values(lab, batch), "reference " + title),
        settings="for the example images",
    )
    outcome = run_student(LAB, source, "conv_bn_relu", lambda m: conv_bn_relu_values(m, batch))
    if not outcome.ok:
        return None, outcome.markdown(), reference.value, reference.note
    status = ("Your `conv_bn_relu()`. A fresh layer's moving mean and variance are 0 and 1, so in inference mode it "
              "changes almost nothing; in training mode it normalizes with the batch's own statistics.")
    return histogram_picture(outcome.value, "your " + title), status, reference.value, reference.note


def trained_histograms(image, which=THE_IMAGE):
    """Event: histograms around the first BatchNormalization of the trained demo mini-Xception (learned moving statistics).

    Returns:
        (picture, caption markdown)
    """
    from cvlab_ch9.ui.resources import load_model  # noqa: PLC0415

    which = one_of(which, "batch", BATCH_CHOICES)
    model = load_model("mini_xception")
    size = tuple(model.inputs[0].shape[1:3])
    picture, _ = load_input_image(image, max_side=512)
    batch = image_batch(image, which) * 255.0 if size == (SIDE, SIDE) else model_input(picture, size)
    values = around_batchnorm(model, batch, function="the demo model")
    caption = ("The trained mini-Xception's first BatchNormalization: its moving mean and variance were learned during "
               "training, so inference mode normalizes too, close to what training mode does with the batch's own statistics.")
    return histogram_picture(values, f"demo mini-Xception on {len(batch)} image{'s' if len(batch) > 1 else ''}"), caption


def build_section(labs_dir, image):
    """The "Batch normalization you can see" section of the Architecture tab (on the tab's image)."""
    with gr.Accordion("Batch normalization you can see", open=True, elem_id="batchnorm-section"):
        gr.Markdown(
            "What enters `BatchNormalization` and what leaves it, in **inference** mode (`training=False`: the moving "
            "mean and variance) and in **training** mode (`training=True`: this batch's own mean and variance)."
        )
        with gr.Row():
            which = inputs.Radio(list(BATCH_CHOICES), value=THE_IMAGE, label="On")
            button = gr.Button("Show the histograms", variant="primary", elem_id="batchnorm-run")
        with gr.Row():
            with gr.Column():
                gr.Markdown("#### Your `conv_bn_relu`")
                status = gr.Markdown(elem_id="batchnorm-status")
                student = gr.Image(label="Your conv_bn_relu", show_label=False, interactive=False, elem_id="batchnorm-student")
            with gr.Column():
                gr.Markdown("#### Reference")
                note = gr.Markdown()
                reference = gr.Image(label="Reference conv_bn_relu", show_label=False, interactive=False, elem_id="batchnorm-reference")
            with gr.Column():
                gr.Markdown("#### In a trained network")
                caption = gr.Markdown()
                trained = gr.Image(label="Demo mini-Xception", show_label=False, interactive=False, elem_id="batchnorm-trained")
    button.click(batchnorm_histograms, inputs=[labs_dir, image, which], outputs=[student, status, reference, note],
                 api_name="batchnorm")
    button.click(trained_histograms, inputs=[image, which], outputs=[trained, caption], api_visibility="private")

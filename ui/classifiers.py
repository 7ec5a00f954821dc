"""The classifier models the Activations, Filters and Grad-CAM tabs share: inputs, predictions, layer choices.

Pure functions of a model name (and an image): what the tabs' event
functions and their model pickers need. Loading and caching the models is
:mod:`cvlab_ch9.ui.resources`' job.
"""

import functools

import gradio as gr
import numpy as np

from cvlab_ch9.layers import CONV_LAYER_TYPES, NOT_FEATURE_MAPS, class_name, four_d_layers, layer_names
from cvlab_ch9.ui.common import user_error
from cvlab_ch9.ui.fields import listing
from cvlab_ch9.ui.images import model_input
from cvlab_ch9.ui.resources import (
    ACTIVATION_LAYER_TYPES,
    download_imagenet,
    load_model,
    model_choices,
    model_info,
    model_note,
    needs_download,
)

LAB = "interpretation"
TOP_CLASS = "top predicted class"
#: filter_loss leaves out a 2-pixel border: smaller layers have nothing left to maximize.
MIN_ASCENT_SIDE = 5


def model_batch(name, image):
    """(model, info, batch) for ``image`` (uint8 (H, W, 3)) prepared for model ``name``: batch float32 (1, h, w, 3)."""
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


@functools.lru_cache(maxsize=16)
def feature_extractor(model_name, layer_name):
    """``keras.Model`` from the model's input to ``layer_name``'s output before its built-in activation, cached.

    A convolution with ``activation="relu"`` is read before its ReLU (a copy
    of the layer with its weights and a linear activation): a filter that is
    off everywhere on the gray start image has no gradient after the ReLU, so
    gradient ascent never moves it from noise. Layers without a built-in
    activation (the Xceptions' separable convolutions) are read as they are.
    """
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    model = load_model(model_name)
    layer = model.get_layer(layer_name)
    activation = getattr(layer, "activation", None)
    if activation is None or activation is keras.activations.linear:
        return keras.Model(model.inputs, layer.output)
    linear = type(layer).from_config({**layer.get_config(), "activation": "linear", "name": f"{layer_name}_before_activation"})
    output = linear(layer.input)
    linear.set_weights(layer.get_weights())
    return keras.Model(model.inputs, output)


def ascent_settings(info):
    """(start scale, learning rate) of gradient ascent for a model: the book's step per pixel, in its pixel units.

    The book ascends the ImageNet Xception (inputs -1..1) on 200x200 images
    from gray noise uniform(0.4, 0.6) with steps of 10. The demo models take
    pixels 0..255 (they rescale inside), 127.5 times that range, and smaller
    images: the book's numbers would start from an almost black image and
    move it by a fraction of a gray level per step, far from the pictures
    the model knows. So the start is scaled to the model's range (x255 for
    0..255: mid-gray noise) and the step keeps the book's change per pixel:
    10 x (range / 2) x sqrt(H x W) / 200, about 612 for the 96x96 convnet and
    408 for the 64x64 mini-Xception.
    """
    height, width = info["input_size"]
    half_range, start_scale = (1.0, 1.0) if info["preprocess"] == "xception" else (127.5, 255.0)
    rate = 10.0 * half_range * float(np.sqrt(height * width)) / 200.0
    return start_scale, float(f"{rate:.3g}")


def default_filter_layer(model, names):
    """The filter layer the Filters tab opens on: readable patterns in 30 steps on every model here.

    The first convolution (kernel > 1) whose output side is closest to an
    eighth of the input's: early layers give flat colours, deep ones noise in
    30 steps (``python -m bench --sections patterns`` measures it).
    """
    side = min(model.inputs[0].shape[1:3]) / 8
    kernels = [n for n in names if max(getattr(model.get_layer(n), "kernel_size", (1, 1))) > 1] or names
    return min(kernels, key=lambda n: abs(min(model.get_layer(n).output.shape[1:3]) - side)) if kernels else None


def explorable_layers(model):
    """Layers whose (batch, h, w, c) output can be explored: every 4-D layer but the input and its rescaling."""
    return [n for n in four_d_layers(model) if class_name(model.get_layer(n)) not in NOT_FEATURE_MAPS]


def layer_choices(model_name):
    """Choices for the dropdowns of ``model_name``.

    Returns:
        dict with ``activation_layers`` (conv/pool names: extract_activations' default),
        ``explorable_layers`` (every layer with a feature map), ``filter_layers``
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
        "explorable_layers": explorable_layers(model),
        "filter_layers": filter_layers,
        "filter_default": default_filter_layer(model, filter_layers),
        "gradcam_layers": four_d_layers(model),
        "last_conv_layer": info["last_conv_layer"],
        "classes": [TOP_CLASS, *info["class_names"]],
    }


def model_changed(model_name):
    """Event: refresh the layer and class choices for ``model_name``.

    Returns:
        (explorable layers, filter layer, Grad-CAM layer, class) as ``gr.update`` dicts
        (empty while the ImageNet Xception is not downloaded).
    """
    if needs_download(model_name):
        empty = gr.update(choices=[], value=None)
        return gr.update(choices=[], value=[]), empty, empty, gr.update(choices=[TOP_CLASS], value=TOP_CLASS)
    c = layer_choices(model_name)
    return (
        gr.update(choices=c["explorable_layers"], value=[]),
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


def initial_choices():
    """(model names, default model, layer_choices(default) or {}, problem markdown)."""
    names = model_choices()
    try:
        return names, names[0], layer_choices(names[0]), ""
    except gr.Error as exc:
        return names, names[0], {}, f"⚠ {exc.message}"

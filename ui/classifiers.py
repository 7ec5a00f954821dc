"""The classifier models the Activations, Filters and Grad-CAM tabs share: inputs, predictions, layer choices.

Pure functions of a model name (and an image): what the tabs' event
functions and their model pickers need. Loading and caching the models is
:mod:`cvlab_ch9.ui.resources`' job.
"""

import functools

import gradio as gr
import numpy as np

from cvlab_ch9.layers import CONV_LAYER_TYPES, four_d_layers, layer_names
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
    """``keras.Model`` from the model's input to ``layer_name``'s output, cached."""
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    model = load_model(model_name)
    return keras.Model(model.inputs, model.get_layer(layer_name).output)


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


def initial_choices():
    """(model names, default model, layer_choices(default) or {}, problem markdown)."""
    names = model_choices()
    try:
        return names, names[0], layer_choices(names[0]), ""
    except gr.Error as exc:
        return names, names[0], {}, f"⚠ {exc.message}"

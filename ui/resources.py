"""Demo models the UI needs, loaded once per process.

Loading is :mod:`cvlab`'s job (:func:`cvlab.models.load_demo_model`,
:func:`cvlab.models.load_demo_segmentation`); this module
caches the results for the UI and turns a missing resource into a
``gr.Error`` that says what to do.
"""

import functools
import json
import threading

import gradio as gr

from cvlab import models
from cvlab.layers import last_conv_layer
from ui.common import user_error
from ui.config import EXAMPLES_DIR
from ui.fields import one_of

#: Name of the ImageNet Xception entry in the model dropdowns.
IMAGENET_XCEPTION = "xception (ImageNet)"
#: Layer classes offered for activations.
ACTIVATION_LAYER_TYPES = ("Conv2D", "SeparableConv2D", "MaxPooling2D")

_load_lock = threading.Lock()


def model_choices():
    """Names for the model dropdowns: the demo models, plus ImageNet Xception if cached."""
    names = list(models.DEMO_MODELS)
    if imagenet_available():
        names.append(IMAGENET_XCEPTION)
    return names


def imagenet_available():
    """True when the ImageNet Xception weights are in the Keras cache (checked without loading)."""
    return models.imagenet_weights_path().is_file()


@functools.cache
def _load_imagenet():
    return models.load_imagenet_xception()


def imagenet_class_names():
    """The 1000 ImageNet class names from the Keras cache's imagenet_class_index.json, or None."""
    path = models.keras_cache_dir() / "models" / "imagenet_class_index.json"
    if not path.is_file():
        return None
    index = json.loads(path.read_text(encoding="utf-8"))
    return [index[str(i)][1] for i in range(len(index))]


@functools.cache
def _load_demo(name):
    return models.load_demo_model(name)


def load_model(name):
    """The classifier called ``name`` (a demo model or ImageNet Xception), cached.

    Raises:
        gr.Error: unknown name, or the model files are missing.
    """
    name = one_of(name, "model", model_choices())
    with _load_lock:
        try:
            if name == IMAGENET_XCEPTION:
                result = _load_imagenet()
            else:
                result = _load_demo(name)
        except gr.Error:
            raise
        except Exception as exc:  # missing or corrupt files: say so
            raise user_error(f"Could not load the model {name!r}: {exc}") from exc
    return result


@functools.cache
def model_info(name):
    """Metadata of model ``name``: dict with ``input_size`` (h, w), ``class_names``,
    ``last_conv_layer`` and ``preprocess`` ("0..255" or "xception")."""
    if name == IMAGENET_XCEPTION:
        # class names only when Keras cached them; the Grad-CAM layer is found below
        # (block14_sepconv2_act, the chapter's choice)
        raw = {"class_names": imagenet_class_names()}
    else:
        raw = dict(models.demo_model_info(name))
    model = load_model(name)
    input_size = raw.get("img_size") or tuple(model.inputs[0].shape[1:3])
    class_names = raw.get("class_names") or [f"class {i}" for i in range(model.outputs[0].shape[-1])]
    last_conv = raw.get("last_conv_layer_name") or last_conv_layer(model)
    return {
        "input_size": tuple(int(s) for s in input_size[:2]),
        "class_names": list(class_names),
        "last_conv_layer": last_conv,
        "preprocess": raw.get("preprocess", "xception" if name == IMAGENET_XCEPTION else "0..255"),
    }


# -- segmentation demo ---------------------------------------------------------


def _segmentation_unavailable(exc):
    return user_error(f"The segmentation demo model is not available: {exc}")


@functools.cache
def segmentation_config():
    """The demo model's configuration: dict with img_size (h, w), filters, num_classes."""
    try:
        raw = models.demo_segmentation_info()
    except FileNotFoundError as exc:
        raise _segmentation_unavailable(exc) from exc
    return {
        "img_size": tuple(int(s) for s in raw["img_size"]),
        "filters": tuple(int(f) for f in raw["filters"]),
        "num_classes": int(raw.get("num_classes", 3)),
    }


@functools.cache
def segmentation_model():
    """The trained segmentation demo model (a keras.Model), loaded once."""
    with _load_lock:
        try:
            model, _ = models.load_demo_segmentation()
        except FileNotFoundError as exc:
            raise _segmentation_unavailable(exc) from exc
    return model


# -- examples -------------------------------------------------------------------


def example_images(prefix=None):
    """Paths (str) of the bundled example images, sorted; those starting with ``prefix`` if given."""
    paths = sorted(p for p in EXAMPLES_DIR.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if prefix is not None:
        paths = [p for p in paths if p.name.startswith(prefix)]
    return [str(p) for p in paths]

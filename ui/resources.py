"""Models the UI needs, loaded once per process, and what to say about them.

Loading is :mod:`cvlab`'s job (:func:`cvlab_ch9.models.load_demo_model`,
:func:`cvlab_ch9.models.load_demo_segmentation`,
:func:`cvlab_ch9.models.load_imagenet_xception`); this module caches the
results for the UI, downloads the ImageNet Xception on request, says which
model is in use and what it was trained on, and turns a missing resource
into a ``gr.Error`` that says what to do.
"""

import functools
import threading

import gradio as gr

from cvlab_ch9 import models
from cvlab_ch9.download import human_bytes
from cvlab_ch9.layers import last_conv_layer
from cvlab_ch9.models import imagenet
from cvlab_ch9.ui.common import user_error
from cvlab_ch9.ui.config import EXAMPLES_DIR
from cvlab_ch9.ui.fields import one_of

#: Name of the ImageNet Xception entry in the model dropdowns.
IMAGENET_XCEPTION = "ImageNet Xception (the book's model)"
#: What to expect from models trained on the synthetic pets, and where to go for real photos.
SYNTHETIC_WARNING = (
    "It has only seen synthetic pets drawn by `cvlab_ch9.data` (cartoon pets, on photo backgrounds for the shipped "
    "classifiers): on real photos expect wrong classes (the shipped ones say \"cat\" for many photos without any animal) "
    "and heatmaps that may miss the animal. For real photos choose **ImageNet Xception (the book's model)**, "
    "or download Oxford-IIIT Pets (`python -m cvlab_ch9.data download`) and train on it "
    "(`python -m cvlab_ch9.models train --data oxford`, `python -m cvlab_ch9.train_segmentation --data oxford`)."
)
#: Layer classes offered for activations.
ACTIVATION_LAYER_TYPES = ("Conv2D", "SeparableConv2D", "MaxPooling2D")

_load_lock = threading.Lock()


def model_choices():
    """Names for the model dropdowns: models trained on Oxford-IIIT Pets (if any), the demo
    models, and the ImageNet Xception (downloaded on request when not cached)."""
    return [*models.available_models(), IMAGENET_XCEPTION]


def needs_download(name):
    """True for the ImageNet Xception while its files are not in Keras' cache."""
    return name == IMAGENET_XCEPTION and not imagenet_available()


def _trained_on(info):
    """What a model's metadata says it was trained on (the shipped files predate the field)."""
    return info.get("trained_on") or f"synthetic cartoon pets (cvlab_ch9.data, {info.get('n_train', '?')} training images)"


def model_note(name):
    """Markdown: which model is in use, what it was trained on and what to expect on real photos."""
    if name == IMAGENET_XCEPTION:
        if needs_download(name):
            return (
                f"**{IMAGENET_XCEPTION}** is not downloaded yet: click **Download** to fetch it "
                f"({imagenet.XCEPTION_WEIGHTS.size} into Keras' cache, {imagenet.cache_path(imagenet.XCEPTION_WEIGHTS).parent}), "
                "or run `python -m cvlab_ch9.models download imagenet`. Until then, use a demo model."
            )
        return (f"**{IMAGENET_XCEPTION}**: Keras' Xception trained on ImageNet (1,000 classes, 299×299 input), "
                "from Keras' cache. It is the model of the chapter's Grad-CAM and filter figures.")
    try:
        info = models.demo_model_info(name)
    except (ValueError, FileNotFoundError) as exc:
        return f"⚠ {exc}"
    trained_on = _trained_on(info)
    note = f"**{name}** ({info.get('architecture', name)}, cat vs dog) — trained on {trained_on}."
    return note if info.get("data", {}).get("dataset") else f"{note} {SYNTHETIC_WARNING}"


def download_imagenet(progress=None):
    """Fetch the ImageNet Xception files into Keras' cache (no-op when cached).

    Args:
        progress: a ``gr.Progress`` (or ``callable(fraction, desc=...)``), or None.

    Raises:
        gr.Error: the download failed; the sentence says how to download by hand.
    """
    def bar(label):
        def report(done, total):
            if progress is not None:
                fraction = done / total if total else None
                progress(fraction, desc=f"Downloading {label}: {human_bytes(done)}" + (f" of {human_bytes(total)}" if total else ""))
        return report

    try:
        imagenet.download_imagenet(progress_factory=bar, log=lambda line: None)
    except imagenet.ImageNetError as exc:
        raise user_error(f"{exc} The UI stays on the demo models.") from exc
    model_info.cache_clear()


def imagenet_available():
    """True when the ImageNet Xception weights are in the Keras cache (checked without loading)."""
    return imagenet.imagenet_cached()


@functools.cache
def _load_imagenet():
    return imagenet.load_imagenet_xception()


def imagenet_class_names():
    """The 1000 ImageNet class names from the Keras cache's imagenet_class_index.json, or None."""
    return imagenet.imagenet_class_names() if imagenet.is_cached(imagenet.CLASS_INDEX) else None


@functools.cache
def _load_demo(name):
    return models.load_demo_model(name)


def load_model(name):
    """The classifier called ``name`` (a demo model or ImageNet Xception), cached.

    Raises:
        gr.Error: unknown name, or the model files are missing.
    """
    name = one_of(name, "model", model_choices())
    if needs_download(name):
        raise user_error(f"{IMAGENET_XCEPTION} is not downloaded yet: click Download next to the model (or choose a demo model).")
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
    """The configuration of the segmentation model in use (the demo, or the one trained with
    ``--data oxford``): dict with img_size (h, w), filters, num_classes."""
    try:
        raw = models.demo_segmentation_info(name=models.segmentation_model_in_use())
    except FileNotFoundError as exc:
        raise _segmentation_unavailable(exc) from exc
    return {
        "img_size": tuple(int(s) for s in raw["img_size"]),
        "filters": tuple(int(f) for f in raw["filters"]),
        "num_classes": int(raw.get("num_classes", 3)),
    }


@functools.cache
def segmentation_model():
    """The segmentation model in use (a keras.Model: the demo, or the one trained with ``--data oxford``), loaded once."""
    with _load_lock:
        try:
            model, _ = models.load_demo_segmentation(name=models.segmentation_model_in_use())
        except FileNotFoundError as exc:
            raise _segmentation_unavailable(exc) from exc
    return model


def segmentation_note():
    """Markdown: which segmentation model is in use, what it was trained on, what to expect on real photos."""
    name = models.segmentation_model_in_use()
    try:
        info = models.demo_segmentation_info(name=name)
    except FileNotFoundError as exc:
        return f"⚠ {exc}"
    trained_on = info.get("trained_on") or "synthetic cartoon pets (cvlab_ch9.data)"
    note = f"Model in use: **{models.demo_model_path(name).name}**, trained on {trained_on}."
    if name == models.SEGMENTATION_OXFORD:
        return note
    return (f"{note} It has only seen cartoon pets: on real photos expect a patchy mask (an eye or the forehead "
            "as pet, the rest as background). For real photos run `python -m cvlab_ch9.data download`, then "
            "`python -m cvlab_ch9.train_segmentation --data oxford`; the UI uses that model once it exists.")


# -- examples -------------------------------------------------------------------


def example_images(prefix=None):
    """Paths (str) of the bundled example images, sorted; those starting with ``prefix`` if given."""
    paths = sorted(p for p in EXAMPLES_DIR.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if prefix is not None:
        paths = [p for p in paths if p.name.startswith(prefix)]
    return [str(p) for p in paths]

"""The shipped demo models: where their files are, their metadata, loading them.

``models/<name>.keras`` holds a model, ``models/<name>.json`` its metadata
(input size, class names, Grad-CAM layer, scores, the training command).
The classifiers (:data:`DEMO_MODELS`) take float32 RGB pixels in 0..255
(they rescale inside); the segmentation demo (:data:`SEGMENTATION_DEMO`)
is the Lab 1 model trained by ``python -m cvlab.train_segmentation``.
"""

import json
from pathlib import Path

from cvlab.paths import MODELS_DIR

DEMO_MODELS = ("mini_xception", "convnet")
#: The segmentation demo model's name (``models/segmentation_demo.keras``).
SEGMENTATION_DEMO = "segmentation_demo"


def _check_name(name):
    if name not in DEMO_MODELS:
        raise ValueError(f"unknown demo model {name!r}; choose one of {', '.join(DEMO_MODELS)}.")


def _missing(path, command):
    return FileNotFoundError(f"The demo model file {path} is missing. Train it (a few minutes on a CPU) with:\n    {command}")


def _train_command(name):
    if name == SEGMENTATION_DEMO:
        return "python -m cvlab.train_segmentation"
    return f"python -m cvlab.models train --model {name}"


def metadata_path(model_path):
    """The JSON file written beside a model: ``x.keras`` -> ``x.json``."""
    return Path(model_path).with_suffix(".json")


def demo_model_path(name, models_dir=None):
    """Path of ``<models_dir>/<name>.keras`` (it may not exist); ``name`` is a demo classifier or the segmentation demo."""
    if name != SEGMENTATION_DEMO:
        _check_name(name)
    return Path(models_dir or MODELS_DIR) / f"{name}.keras"


def read_info(name, models_dir=None):
    """The metadata dict of demo model ``name``.

    Raises:
        ValueError: unknown name. FileNotFoundError: not trained yet (says how to train it).
    """
    path = metadata_path(demo_model_path(name, models_dir))
    if not path.is_file():
        raise _missing(path, _train_command(name))
    return json.loads(path.read_text(encoding="utf-8"))


def write_info(info, out_dir=None):
    """Write the metadata dict ``info`` to ``<out_dir>/<info["name"]>.json``; return the path."""
    path = Path(out_dir or MODELS_DIR) / f"{info['name']}.json"
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def _load_keras_file(name, models_dir):
    """The uncompiled keras.Model in ``<models_dir>/<name>.keras``; FileNotFoundError says how to train it."""
    path = demo_model_path(name, models_dir)
    if not path.is_file():
        raise _missing(path, _train_command(name))
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415 - TensorFlow only when a model is loaded

    import_tensorflow()
    import keras  # noqa: PLC0415

    return keras.models.load_model(path, compile=False)


def demo_model_info(name, models_dir=None):
    """The metadata dict of a demo classifier (img_size, class_names, last_conv_layer_name, val_accuracy, ...).

    Raises:
        ValueError: unknown name. FileNotFoundError: not trained yet (says how to train it).
    """
    _check_name(name)
    return read_info(name, models_dir)


def load_demo_model(name, models_dir=None, augmentation=False):
    """The trained demo classifier ``name`` (one of DEMO_MODELS) as an uncompiled keras.Model.

    Args:
        name: one of DEMO_MODELS.
        models_dir: where the ``.keras`` files are (default ``models/``).
        augmentation: keep the RandomFlip/RandomRotation/RandomZoom layers.
            By default they are left out (see :func:`without_augmentation`):
            the interpretation exercises call models the book's way, without
            ``training=False``, and would otherwise get random results.

    Raises:
        ValueError: unknown name. FileNotFoundError: not trained yet (says how to train it).
    """
    _check_name(name)
    model = _load_keras_file(name, models_dir)
    return model if augmentation else without_augmentation(model)


def demo_segmentation_info(models_dir=None):
    """Metadata of the segmentation demo model (``models/segmentation_demo.json``) as a dict.

    Keys include ``img_size`` [h, w], ``filters``, ``num_classes``, ``class_names``,
    ``config`` and ``val_mean_iou``. FileNotFoundError says how to train it.
    """
    return read_info(SEGMENTATION_DEMO, models_dir)


def load_demo_segmentation(models_dir=None):
    """(uncompiled keras.Model, metadata dict) of the segmentation demo; FileNotFoundError says how to train it.

    The model maps float32 (batch, h, w, 3) pixels in 0..255 to (batch, h, w, 3)
    softmax probabilities over pet, background, contour.
    """
    info = demo_segmentation_info(models_dir)
    return _load_keras_file(SEGMENTATION_DEMO, models_dir), info


def _is_random_layer(layer):
    return type(layer).__name__.startswith("Random")


def without_augmentation(model):
    """``model`` without its data augmentation layers (RandomFlip, RandomRotation, ...).

    Keras 3's random preprocessing layers augment whenever the model is
    called without ``training=False`` (as the book's Grad-CAM and filter
    code does), which would make every result random. They do nothing at
    inference, so the copy leaves them out; all other layers keep their
    names and weights. A model without such layers is returned as is.
    """
    import keras  # noqa: PLC0415

    if not any(_is_random_layer(layer) for layer in model.layers):
        return model

    def skip_random_layers(layer, *args, **kwargs):
        # a random augmentation layer passes its input through unchanged
        if _is_random_layer(layer):
            return args[0]
        return layer(*args, **kwargs)

    copy = keras.models.clone_model(model, call_function=skip_random_layers)
    for layer in copy.layers:
        weights = model.get_layer(layer.name).get_weights()
        if weights:
            layer.set_weights(weights)
    return copy

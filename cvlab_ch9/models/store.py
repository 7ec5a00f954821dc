"""The shipped demo models: where their files are, their metadata, loading them.

The shipped models are package data (``cvlab_ch9/models/shipped/``,
:data:`cvlab_ch9.paths.MODELS_DIR`): ``<name>.keras`` holds a model, ``<name>.json`` its metadata
(input size, class names, Grad-CAM layer, scores, the training command).
The classifiers (:data:`DEMO_MODELS`) take float32 RGB pixels in 0..255
(they rescale inside); the segmentation demo (:data:`SEGMENTATION_DEMO`)
is the Lab 1 model trained by ``python -m cvlab_ch9.train_segmentation``.

Models the user trains on Oxford-IIIT Pets (``--data oxford``) are generated
data, saved as ``<name>_oxford.keras`` (:data:`REAL_DATA_SUFFIX`) in
:data:`cvlab_ch9.paths.TRAINED_MODELS_DIR` (``data/models`` in a checkout,
``~/.cache/cvlab/models`` for an installed copy), never in the package; they are
listed first (:func:`available_models`) and the segmentation one replaces
the demo (:func:`segmentation_model_in_use`).
"""

import json
from pathlib import Path

from cvlab_ch9.paths import MODELS_DIR, TRAINED_MODELS_DIR

DEMO_MODELS = ("mini_xception", "convnet")
#: ``--data oxford`` saves ``<name>_oxford.keras`` next to the shipped demo models.
REAL_DATA_SUFFIX = "_oxford"
#: The segmentation demo model's name (``shipped/segmentation_demo.keras``).
SEGMENTATION_DEMO = "segmentation_demo"
#: The segmentation model ``python -m cvlab_ch9.train_segmentation --data oxford`` saves.
SEGMENTATION_OXFORD = "segmentation" + REAL_DATA_SUFFIX
SEGMENTATION_MODELS = (SEGMENTATION_DEMO, SEGMENTATION_OXFORD)


def _check_name(name):
    """A demo classifier, or one trained on photos (``<demo>_oxford``)."""
    if name not in DEMO_MODELS and not (name.endswith(REAL_DATA_SUFFIX) and name.removesuffix(REAL_DATA_SUFFIX) in DEMO_MODELS):
        raise ValueError(f"unknown demo model {name!r}; choose one of {', '.join(DEMO_MODELS)}.")


def _check_segmentation_name(name):
    if name not in SEGMENTATION_MODELS:
        raise ValueError(f"unknown segmentation model {name!r}; choose one of {', '.join(SEGMENTATION_MODELS)}.")


def _missing(path, command):
    return FileNotFoundError(f"The demo model file {path} is missing. Train it (a few minutes on a CPU) with:\n    {command}")


def _train_command(name):
    data = " --data oxford" if name.endswith(REAL_DATA_SUFFIX) else ""
    if name in SEGMENTATION_MODELS:
        return "python -m cvlab_ch9.train_segmentation" + data
    return f"python -m cvlab_ch9.models train --model {name.removesuffix(REAL_DATA_SUFFIX)}{data}"


def metadata_path(model_path):
    """The JSON file written beside a model: ``x.keras`` -> ``x.json``."""
    return Path(model_path).with_suffix(".json")


def default_models_dir(name):
    """Where model ``name`` lives by default: :data:`TRAINED_MODELS_DIR` for ``<name>_oxford``, else the shipped :data:`MODELS_DIR`."""
    return TRAINED_MODELS_DIR if name.endswith(REAL_DATA_SUFFIX) else MODELS_DIR


def demo_model_path(name, models_dir=None):
    """Path of ``<models_dir>/<name>.keras`` (it may not exist); ``name`` is a classifier or a segmentation model.

    Without ``models_dir``: the folder :func:`default_models_dir` names.
    """
    if name not in SEGMENTATION_MODELS:
        _check_name(name)
    return Path(models_dir or default_models_dir(name)) / f"{name}.keras"


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
    """Write the metadata dict ``info`` to ``<out_dir>/<info["name"]>.json`` (default: :func:`default_models_dir`); return the path."""
    path = Path(out_dir or default_models_dir(info["name"])) / f"{info['name']}.json"
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return path


def _load_keras_file(name, models_dir):
    """The uncompiled keras.Model in ``<models_dir>/<name>.keras``; FileNotFoundError says how to train it."""
    path = demo_model_path(name, models_dir)
    if not path.is_file():
        raise _missing(path, _train_command(name))
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - TensorFlow only when a model is loaded

    import_tensorflow()
    import keras  # noqa: PLC0415

    return keras.models.load_model(path, compile=False)


def _is_trained(name, models_dir):
    """True when ``<name>.keras`` and its metadata are both in ``models_dir``."""
    path = demo_model_path(name, models_dir)
    return path.is_file() and metadata_path(path).is_file()


def available_models(models_dir=None):
    """Names of the classifiers in ``models_dir``: those trained on photos (``--data``) first, then the demo models."""
    trained = [name + REAL_DATA_SUFFIX for name in DEMO_MODELS if _is_trained(name + REAL_DATA_SUFFIX, models_dir)]
    return trained + list(DEMO_MODELS)


def segmentation_model_in_use(models_dir=None):
    """The segmentation model the UI uses: SEGMENTATION_OXFORD once trained (with its metadata), else SEGMENTATION_DEMO."""
    return SEGMENTATION_OXFORD if _is_trained(SEGMENTATION_OXFORD, models_dir) else SEGMENTATION_DEMO


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
        models_dir: where the ``.keras`` files are (default :func:`default_models_dir`).
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


def demo_segmentation_info(models_dir=None, name=SEGMENTATION_DEMO):
    """Metadata of a segmentation model (default the shipped demo, ``shipped/segmentation_demo.json``) as a dict.

    Keys include ``img_size`` [h, w], ``filters``, ``num_classes``, ``class_names``,
    ``config``, ``val_mean_iou`` and (newer files) ``trained_on``.

    Raises:
        ValueError: ``name`` is not one of SEGMENTATION_MODELS. FileNotFoundError: not trained yet (says how).
    """
    _check_segmentation_name(name)
    return read_info(name, models_dir)


def load_demo_segmentation(models_dir=None, name=SEGMENTATION_DEMO):
    """(uncompiled keras.Model, metadata dict) of a segmentation model (default the shipped demo);
    FileNotFoundError says how to train it.

    The model maps float32 (batch, h, w, 3) pixels in 0..255 to (batch, h, w, 3)
    softmax probabilities over pet, background, contour.
    """
    info = demo_segmentation_info(models_dir, name)
    return _load_keras_file(name, models_dir), info


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

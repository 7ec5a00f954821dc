"""Demo classification models (cat vs dog) trained on the synthetic pets (or on
Oxford-IIIT Pets with ``--data oxford``); the ImageNet Xception is in
:mod:`cvlab.imagenet`.

Two small models are shipped in ``models/`` so the UI and Lab 3 (activations,
filters, Grad-CAM) have a trained convnet without any download:

- ``mini_xception``: the chapter's mini-Xception (``solutions/architecture.py``)
  at a smaller input size, 2-class softmax head.
- ``convnet``: a chapter-8 style stack of Conv2D + MaxPooling2D with named
  layers (``conv1`` .. ``conv5``), global average pooling and a softmax head.

Each ``models/<name>.keras`` has a ``models/<name>.json`` with the input size,
class names, Grad-CAM layer, validation accuracy and the exact training
command. Both models take float32 pixels in 0..255 (they rescale inside).

Command line::

    python -m cvlab.models train [--model mini_xception|convnet|all] [--epochs N] [--n-images N]
    python -m cvlab.models pointing-game [--model ...] [--n-images N] [--layer NAME]
    python -m cvlab.models info
    python -m cvlab.models download imagenet [--mirror URL]   # Keras' ImageNet Xception (cvlab.imagenet)
"""

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from cvlab.data import DatasetError
from cvlab.paths import DATA_DIR, MODELS_DIR

DEMO_MODELS = ("mini_xception", "convnet")
#: ``train --data oxford`` saves ``<model>_oxford.keras`` next to the shipped demo models.
REAL_DATA_SUFFIX = "_oxford"
#: Images a ``--data`` training uses by default (a seeded random choice; 0 = all).
REAL_DATA_N_IMAGES = 3000
CLASSIFICATION_DATA_ROOT = DATA_DIR / "synthetic_pets_cls"
HELD_OUT_DATA_ROOT = DATA_DIR / "synthetic_pets_heldout"
#: data seed of the held-out set (the training set uses TrainConfig.data_seed)
HELD_OUT_SEED = 2024
PET_TRIMAP_VALUES = (1, 3)  # pet and its contour


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a demo model (recorded in its metadata).

    Attributes:
        model: one of DEMO_MODELS.
        input_size: (height, width) the model takes.
        epochs, batch_size, learning_rate: Adam training schedule.
        n_images, data_image_size, data_seed: parameters of
            ``cvlab.data.ensure_synthetic_pets`` for the training set.
        val_fraction, split_seed: ``cvlab.data.split_indices`` parameters.
        seed: ``keras.utils.set_random_seed`` seed (weights, shuffling, augmentation).
        filters: block filters (mini_xception) or conv filters (convnet).
        augment: mini-Xception's RandomFlip/RandomRotation/RandomZoom.
        gradcam_layer: layer used for Grad-CAM (None: the model's default).
        data: "" for the synthetic pets, else "oxford" or an Oxford-IIIT Pets
            folder (then n_images is at most that many photos, a seeded random
            choice, 0 = all; data_image_size is unused).
    """

    model: str
    input_size: tuple = (96, 96)
    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 1e-3
    n_images: int = 1200
    data_image_size: tuple = (128, 128)
    data_seed: int = 0
    val_fraction: float = 0.2
    split_seed: int = 1337
    seed: int = 1337
    filters: tuple = ()
    augment: bool = False
    gradcam_layer: str = ""
    data: str = ""


def model_name(config):
    """File name stem of the trained model: the architecture, plus REAL_DATA_SUFFIX when trained on photos."""
    return config.model + (REAL_DATA_SUFFIX if config.data else "")


DEFAULT_CONFIGS = {
    "mini_xception": TrainConfig(
        model="mini_xception", input_size=(64, 64), epochs=15, filters=(32, 64, 128), augment=True
    ),
    "convnet": TrainConfig(
        model="convnet", input_size=(96, 96), epochs=20, filters=(16, 32, 64, 128, 128), augment=True
    ),
}


# -- building ------------------------------------------------------------------


def build_convnet(input_shape=(96, 96, 3), num_classes=2, filters=(16, 32, 64, 128, 128), augment=False):
    """A chapter-8 style convnet: Conv2D(3x3, relu, same) + MaxPooling2D stages.

    Layers are named ``rescaling``, ``conv1``, ``pool1``, ..., ``conv<n>`` (no
    pooling after the last conv), ``gap``, ``dropout``, ``predictions``, so
    activations and Grad-CAM have clear targets (``conv<n>`` for Grad-CAM).
    With ``augment`` the chapter's RandomFlip("horizontal"), RandomRotation(0.1)
    and RandomZoom(0.2) come first (identity at inference).

    Returns:
        keras.Model: float32 (batch, H, W, 3) pixels in 0..255 -> (batch,
        num_classes) softmax probabilities.
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if augment:
        x = layers.RandomFlip("horizontal", name="random_flip")(x)
        x = layers.RandomRotation(0.1, name="random_rotation")(x)
        x = layers.RandomZoom(0.2, name="random_zoom")(x)
    x = layers.Rescaling(1.0 / 255, name="rescaling")(x)
    for index, count in enumerate(filters, start=1):
        x = layers.Conv2D(count, 3, activation="relu", padding="same", name=f"conv{index}")(x)
        if index < len(filters):
            x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="convnet")


def build_demo_mini_xception(input_shape=(96, 96, 3), num_classes=2, block_filters=(32, 64, 128, 256), augment=True):
    """The reference ``build_mini_xception`` (solutions/architecture.py), renamed ``mini_xception``."""
    import keras  # noqa: PLC0415

    from cvlab.impl import reference_lab  # noqa: PLC0415

    architecture = reference_lab("architecture")
    model = architecture.build_mini_xception(
        input_shape=input_shape, num_classes=num_classes, block_filters=block_filters, augment=augment
    )
    return keras.Model(model.inputs, model.outputs, name="mini_xception")


def default_gradcam_layer(model):
    """Name of the last layer with a 4-D output before global pooling (the Grad-CAM target)."""
    name = None
    for layer in model.layers:
        if type(layer).__name__ in ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten"):
            break
        shape = getattr(layer, "output", None) is not None and layer.output.shape
        if shape and len(shape) == 4 and type(layer).__name__ not in ("InputLayer", "Rescaling"):
            name = layer.name
    if name is None:
        raise ValueError(
            f"model {model.name} has no 4-D feature map before its pooling layer; "
            "name the Grad-CAM layer explicitly (TrainConfig.gradcam_layer)."
        )
    return name


def build_model(config, num_classes=2):
    """Untrained model for ``config`` (keras session cleared first so layer names are stable)."""
    import keras  # noqa: PLC0415

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    input_shape = tuple(config.input_size) + (3,)
    if config.model == "mini_xception":
        return build_demo_mini_xception(input_shape, num_classes, tuple(config.filters), config.augment)
    if config.model == "convnet":
        return build_convnet(input_shape, num_classes, tuple(config.filters), config.augment)
    raise ValueError(f"unknown demo model {config.model!r}; choose one of {', '.join(DEMO_MODELS)}.")


# -- data ------------------------------------------------------------------------


def training_arrays(config, data_root=None):
    """Train/validation arrays for ``config``.

    Returns:
        dict with ``x_train``, ``x_val`` float32 (N, H, W, 3) in 0..255,
        ``y_train``, ``y_val`` int32 (N,), ``class_names`` and ``root``.
    """
    from cvlab.data import ensure_synthetic_pets, load_classification_arrays, split_indices  # noqa: PLC0415
    from cvlab.oxford import resolve_data_root  # noqa: PLC0415

    if config.data:
        root = resolve_data_root(config.data)
        images, labels, class_names = load_classification_arrays(
            root, img_size=tuple(config.input_size), limit=config.n_images or None, seed=config.data_seed
        )
    else:
        root = ensure_synthetic_pets(
            root=data_root or CLASSIFICATION_DATA_ROOT,
            n_images=config.n_images,
            image_size=tuple(config.data_image_size),
            seed=config.data_seed,
        )
        images, labels, class_names = load_classification_arrays(root, img_size=tuple(config.input_size))
    train_idx, val_idx = split_indices(len(images), config.val_fraction, seed=config.split_seed)
    return {
        "x_train": images[train_idx].astype("float32"),
        "y_train": labels[train_idx],
        "x_val": images[val_idx].astype("float32"),
        "y_val": labels[val_idx],
        "class_names": tuple(class_names),
        "root": root,
    }


def held_out_arrays(input_size, n_images=60, root=None, seed=HELD_OUT_SEED):
    """A synthetic set never used in training (another data seed).

    Returns:
        (images float32 (N, H, W, 3) 0..255, labels int32 (N,), trimaps uint8
        (N, H, W) raw 1/2/3 at the same size, class_names).
    """
    from cvlab.data import ensure_synthetic_pets, load_classification_arrays, load_segmentation_arrays  # noqa: PLC0415

    root = ensure_synthetic_pets(root=root or HELD_OUT_DATA_ROOT, n_images=n_images, image_size=(128, 128), seed=seed)
    images, labels, class_names = load_classification_arrays(root, img_size=tuple(input_size))
    _, trimaps = load_segmentation_arrays(root, img_size=tuple(input_size))
    return images.astype("float32"), labels, trimaps, tuple(class_names)


# -- training ----------------------------------------------------------------------


def training_command(config):
    """The shell command that reproduces ``config`` (as recorded in the metadata)."""
    default = DEFAULT_CONFIGS.get(config.model)
    command = f"python -m cvlab.models train --model {config.model}"
    if default is not None and config.epochs != default.epochs:
        command += f" --epochs {config.epochs}"
    if config.data:
        command += f" --data {config.data}"
    if default is not None and config.n_images != (REAL_DATA_N_IMAGES if config.data else default.n_images):
        command += f" --n-images {config.n_images}"
    return command


def _data_info(config, root, n_images):
    """The ``data`` entry of the metadata."""
    split = {"val_fraction": config.val_fraction, "split_seed": config.split_seed}
    if config.data:
        return {"dataset": "Oxford-IIIT Pets", "root": str(root), "n_images": n_images, "seed": config.data_seed, **split}
    return {"generator": "cvlab.data.ensure_synthetic_pets", "n_images": config.n_images,
            "image_size": list(config.data_image_size), "seed": config.data_seed, **split}


def trained_on(config, n_train):
    """What the model was trained on, in words (the UI shows it)."""
    if config.data:
        return f"Oxford-IIIT Pets photos ({n_train} training images)"
    return f"synthetic cartoon pets (cvlab.data, {n_train} training images)"


def _uncompiled_copy(model):
    """The same architecture and weights without optimizer state (keeps the .keras file small)."""
    import keras  # noqa: PLC0415

    # get_config() has no compile config (clone_model and to_json would compile the copy)
    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def train_demo_model(config, out_dir=None, data_root=None, verbose=2):
    """Train one demo model reproducibly and save ``<name>.keras`` + ``<name>.json``.

    Args:
        config: a TrainConfig (see DEFAULT_CONFIGS).
        out_dir: where to save (default MODELS_DIR).
        data_root: training data folder (default data/synthetic_pets_cls).
        verbose: Keras ``fit`` verbosity.

    Returns:
        dict: the metadata written next to the model.
    """
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    import keras  # noqa: PLC0415

    out_dir = Path(out_dir or MODELS_DIR)
    data = training_arrays(config, data_root)
    model = build_model(config, num_classes=len(data["class_names"]))
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(
        data["x_train"], data["y_train"],
        validation_data=(data["x_val"], data["y_val"]),
        epochs=config.epochs, batch_size=config.batch_size, shuffle=True, verbose=verbose,
    )
    fit_val_accuracy = float(history.history["val_accuracy"][-1])
    recalibrated = recalibrate_batchnorm(model, data["x_train"], config.batch_size * 4)
    seconds = time.perf_counter() - start
    val_accuracy = accuracy(model, data["x_val"], data["y_val"])
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{model_name(config)}.keras"
    _uncompiled_copy(model).save(model_path)
    info = {
        "name": model_name(config),
        "architecture": config.model,
        "file": model_path.name,
        "trained_on": trained_on(config, len(data["y_train"])),
        "input_size": list(config.input_size),
        "input_shape": list(config.input_size) + [3],
        "input_range": "float32 RGB pixels in 0..255 (the model rescales)",
        "class_names": list(data["class_names"]),
        "last_conv_layer_name": config.gradcam_layer or default_gradcam_layer(model),
        "params": int(model.count_params()),
        "val_accuracy": round(val_accuracy, 4),
        "val_accuracy_before_bn_recalibration": round(fit_val_accuracy, 4) if recalibrated else None,
        "batchnorm_recalibrated": recalibrated,
        "train_accuracy": round(float(history.history["accuracy"][-1]), 4),
        "n_train": len(data["y_train"]),
        "n_val": len(data["y_val"]),
        "training_command": training_command(config),
        "seed": config.seed,
        "data": _data_info(config, data["root"], len(data["y_train"]) + len(data["y_val"])),
        "config": _jsonable(dataclasses.asdict(config)),
        "train_seconds": round(seconds, 1),
        "keras_version": keras.__version__,
        "python": platform.python_version(),
    }
    write_info(info, out_dir)
    return info


def recalibrate_batchnorm(model, images, batch_size=128):
    """Replace every BatchNormalization layer's moving statistics by their average over ``images``.

    A short training run (a few hundred steps) leaves the moving averages
    (momentum 0.99, starting at mean 0 / variance 1) far from the real
    statistics, so inference-mode predictions collapse to one class while
    training accuracy is high. This runs the model in training mode over
    ``images`` (float32 (N, H, W, 3)) with each layer's momentum set so that
    the moving statistics become the running mean of the per-batch
    statistics; no weight is trained.

    Returns:
        bool: True when the model has BatchNormalization layers (and they were recalibrated).
    """
    norms = [layer for layer in flat_layers(model) if type(layer).__name__ == "BatchNormalization"]
    if not norms:
        return False
    saved = [layer.momentum for layer in norms]
    try:
        for step, begin in enumerate(range(0, len(images), batch_size), start=1):
            for layer in norms:
                layer.momentum = (step - 1) / step  # step 1 overwrites, then a running mean
            model(images[begin : begin + batch_size], training=True)
    finally:
        for layer, momentum in zip(norms, saved, strict=True):
            layer.momentum = momentum
    return True


def flat_layers(model):
    """All layers of ``model`` in order, nested models (e.g. a Sequential block) expanded."""
    import keras  # noqa: PLC0415

    out = []
    for layer in model.layers:
        out.extend(flat_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def write_info(info, out_dir=None):
    """Write ``info`` to ``<out_dir>/<name>.json``."""
    path = Path(out_dir or MODELS_DIR) / f"{info['name']}.json"
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def accuracy(model, images, labels, batch_size=64):
    """Top-1 accuracy of ``model`` on float32 images (N, H, W, 3) and int labels (N,)."""
    probabilities = model.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=-1) == np.asarray(labels)))


# -- loading ---------------------------------------------------------------------


def _check_name(name):
    if name not in DEMO_MODELS and name.removesuffix(REAL_DATA_SUFFIX) not in DEMO_MODELS:
        raise ValueError(f"unknown demo model {name!r}; choose one of {', '.join(DEMO_MODELS)}.")


def available_models(models_dir=None):
    """Names of the classifiers in ``models_dir``: those trained on photos (``--data``) first, then the demo models."""
    folder = Path(models_dir or MODELS_DIR)
    trained = [m + REAL_DATA_SUFFIX for m in DEMO_MODELS
               if (folder / f"{m}{REAL_DATA_SUFFIX}.keras").is_file() and (folder / f"{m}{REAL_DATA_SUFFIX}.json").is_file()]
    return trained + list(DEMO_MODELS)


def _missing(path, name):
    return FileNotFoundError(
        f"The demo model file {path} is missing. Train it (a few minutes on a CPU) with:\n"
        f"    python -m cvlab.models train --model {name}"
    )


def demo_model_path(name, models_dir=None):
    """Path of ``<models_dir>/<name>.keras`` (it may not exist)."""
    _check_name(name)
    return Path(models_dir or MODELS_DIR) / f"{name}.keras"


def demo_model_info(name, models_dir=None):
    """The metadata dict of a demo model (input_size, class_names, last_conv_layer_name, val_accuracy, ...).

    Raises:
        ValueError: unknown name. FileNotFoundError: not trained yet (says how to train it).
    """
    _check_name(name)
    path = Path(models_dir or MODELS_DIR) / f"{name}.json"
    if not path.is_file():
        raise _missing(path, name)
    return json.loads(path.read_text())


def load_demo_model(name, models_dir=None, augmentation=False):
    """The trained demo model ``name`` (one of DEMO_MODELS) as an uncompiled keras.Model.

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
    path = demo_model_path(name, models_dir)
    if not path.is_file():
        raise _missing(path, name)
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    import keras  # noqa: PLC0415

    model = keras.models.load_model(path, compile=False)
    return model if augmentation else without_augmentation(model)


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


def _is_random_layer(layer):
    return type(layer).__name__.startswith("Random")


# -- Grad-CAM pointing game ------------------------------------------------------


def _upsample(heatmap, size):
    """Bilinear resize of a float (h, w) map to (H, W) = size."""
    image = Image.fromarray(np.asarray(heatmap, dtype="float32"), mode="F")
    return np.asarray(image.resize((size[1], size[0]), Image.Resampling.BILINEAR))


def _grad_cam_function():
    """The reference ``grad_cam`` (solutions/interpretation.py)."""
    from cvlab.impl import reference_lab  # noqa: PLC0415

    return reference_lab("interpretation").grad_cam


def pet_mask(trimaps):
    """Boolean pet mask (trimap value 1 = pet or 3 = contour), same shape."""
    return np.isin(np.asarray(trimaps), PET_TRIMAP_VALUES)


def pointing_game(model, images, masks, last_conv_layer_name):
    """Fraction of images whose Grad-CAM maximum falls on the pet.

    For each image the Grad-CAM heatmap of the top predicted class (from
    ``solutions/interpretation.grad_cam``) is upsampled bilinearly to the
    image size; a hit is when its arg-max pixel lies inside the pet mask.

    Args:
        model: a classifier taking float32 (N, H, W, 3) pixels.
        images: float32 or uint8 (N, H, W, 3).
        masks: raw trimaps (N, H, W) with 1 = pet, 2 = background, 3 = contour
            (pet = 1 or 3), or boolean pet masks.
        last_conv_layer_name: the layer whose output Grad-CAM uses.

    Returns:
        float in [0, 1]. Chance level is about :func:`mask_area_fraction`.
    """
    grad_cam = _grad_cam_function()
    images = np.asarray(images, dtype="float32")
    masks = np.asarray(masks)
    inside = masks if masks.dtype == bool else pet_mask(masks)
    if len(images) != len(inside) or images.shape[1:3] != inside.shape[1:3]:
        raise ValueError(f"images {images.shape} and masks {masks.shape} must have the same N, H and W.")
    hits = 0
    for image, mask in zip(images, inside, strict=True):
        heatmap = grad_cam(model, image[np.newaxis], last_conv_layer_name)
        full = _upsample(heatmap, mask.shape)
        y, x = np.unravel_index(int(np.argmax(full)), full.shape)
        hits += bool(mask[y, x])
    return hits / max(len(images), 1)


def mask_area_fraction(masks):
    """Mean fraction of pixels on the pet: the pointing game's chance level."""
    masks = np.asarray(masks)
    inside = masks if masks.dtype == bool else pet_mask(masks)
    return float(inside.mean())


def evaluate_pointing_game(name, n_images=60, layer=None, models_dir=None):
    """Pointing game of a shipped demo model on the held-out synthetic set.

    Returns:
        dict with ``model``, ``layer``, ``rate``, ``chance``, ``accuracy`` and ``n_images``.
    """
    info = demo_model_info(name, models_dir)
    model = load_demo_model(name, models_dir)
    images, labels, trimaps, _ = held_out_arrays(info["input_size"], n_images)
    layer = layer or info["last_conv_layer_name"]
    return {
        "model": name,
        "layer": layer,
        "rate": round(pointing_game(model, images, trimaps, layer), 4),
        "chance": round(mask_area_fraction(trimaps), 4),
        "accuracy": round(accuracy(model, images, labels), 4),
        "n_images": len(images),
    }


# -- command line ------------------------------------------------------------------


def _selected(model_arg):
    return DEMO_MODELS if model_arg == "all" else (model_arg,)


def config_from_args(name, args):
    """The TrainConfig of ``name`` with the command line's --epochs, --n-images and --data."""
    overrides = {"data": args.data or ""}
    if args.data:
        overrides["n_images"] = REAL_DATA_N_IMAGES
    overrides.update({k: v for k, v in (("epochs", args.epochs), ("n_images", args.n_images)) if v is not None})
    return dataclasses.replace(DEFAULT_CONFIGS[name], **overrides)


def _check_real_data(data):
    """FileNotFoundError saying to download first when ``--data oxford`` is not installed."""
    from cvlab.oxford import DATA_KEYWORD, is_installed, resolve_data_root  # noqa: PLC0415

    if data == DATA_KEYWORD and not is_installed(resolve_data_root(data)):
        raise FileNotFoundError(
            f"Oxford-IIIT Pets is not in {resolve_data_root(data)}: run `python -m cvlab.data download` first (about 810 MB)."
        )


def main(argv=None):
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m cvlab.models", description="cvlab demo models")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train demo models into models/ (reproducible, seeded)")
    train.add_argument("--model", choices=DEMO_MODELS + ("all",), default="all")
    train.add_argument("--epochs", type=int, default=None, help="override the default number of epochs")
    train.add_argument("--n-images", type=int, default=None, help="override the training set size")
    train.add_argument("--out", type=Path, default=MODELS_DIR)
    train.add_argument("--data-root", type=Path, default=None, help="synthetic training data folder (default data/synthetic_pets_cls)")
    train.add_argument("--data", default="", help="'oxford' (after `python -m cvlab.data download`) or an Oxford-IIIT Pets "
                       f"folder: train on the photos, saved as <model>{REAL_DATA_SUFFIX}.keras")
    game = commands.add_parser("pointing-game", help="Grad-CAM pointing game on held-out synthetic images")
    game.add_argument("--model", choices=DEMO_MODELS + ("all",), default="all")
    game.add_argument("--n-images", type=int, default=60)
    game.add_argument("--layer", default=None, help="layer for Grad-CAM (default: the metadata's)")
    game.add_argument("--save", action="store_true", help="record the result in the model's metadata")
    commands.add_parser("info", help="print the shipped models' metadata")
    fetch = commands.add_parser("download", help="download the book's ImageNet Xception into Keras' cache")
    fetch.add_argument("what", choices=("imagenet",))
    fetch.add_argument("--mirror", default=None, help="fetch https://HOST/PATH from MIRROR/HOST/PATH (default $CVLAB_DOWNLOAD_MIRROR)")
    fetch.add_argument("--timeout", type=float, default=None, help="seconds without data before giving up (default 30)")
    args = parser.parse_args(argv)
    if args.command == "download":
        from cvlab.imagenet import download_command  # noqa: PLC0415

        return download_command(args.mirror, args.timeout)
    try:
        if args.command == "train":
            _check_real_data(args.data)
            for name in _selected(args.model):
                config = config_from_args(name, args)
                info = train_demo_model(config, out_dir=args.out, data_root=args.data_root)
                print(f"{info['name']}: val_accuracy {info['val_accuracy']:.3f} ({info['n_val']} images), "
                      f"{info['params']:,} parameters, {info['train_seconds']:.0f} s -> {args.out / info['file']}")
        elif args.command == "pointing-game":
            for name in _selected(args.model):
                result = evaluate_pointing_game(name, args.n_images, args.layer)
                print(f"{name}: Grad-CAM max on the pet in {result['rate']:.1%} of {result['n_images']} held-out images "
                      f"(layer {result['layer']}; chance {result['chance']:.1%}; accuracy {result['accuracy']:.1%})")
                if args.save:
                    info = demo_model_info(name)
                    info["pointing_game"] = result
                    write_info(info)
        else:
            for name in DEMO_MODELS:
                print(json.dumps(demo_model_info(name), indent=2))
    except (FileNotFoundError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

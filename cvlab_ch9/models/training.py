"""Train the demo classifiers reproducibly: ``python -m cvlab_ch9.models train``.

The training set is a seeded synthetic pets set, or with ``--data oxford``
a seeded random choice of Oxford-IIIT Pets photos (species from
``annotations/list.txt``; saved as ``<model>_oxford.keras``); after the short run the
BatchNormalization moving statistics are re-estimated
(:func:`recalibrate_batchnorm`), the model is saved without optimizer
state and its metadata records the configuration and the command that
reproduces it.
"""

import dataclasses
import platform
import time
from pathlib import Path

import numpy as np

from cvlab_ch9.data import ensure_synthetic_pets, load_classification_arrays, split_indices
from cvlab_ch9.data.oxford import resolve_data_root
from cvlab_ch9.layers import flat_layers, last_conv_layer
from cvlab_ch9.models.classifiers import build_classifier
from cvlab_ch9.models.config import TrainingConfig
from cvlab_ch9.models.store import REAL_DATA_SUFFIX, default_models_dir, write_info
from cvlab_ch9.paths import DATA_DIR

CLASSIFICATION_DATA_ROOT = DATA_DIR / "synthetic_pets_cls"
#: Photos a ``--data`` training uses by default (a seeded random choice; 0 = all).
REAL_DATA_N_IMAGES = 3000


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClassifierConfig(TrainingConfig):
    """A demo classifier's configuration (see :class:`TrainingConfig` for the shared fields).

    Attributes:
        model: one of DEMO_MODELS.
        filters: block filters (mini_xception) or conv filters (convnet).
        augment: the chapter's RandomFlip/RandomRotation/RandomZoom first.
        gradcam_layer: layer used for Grad-CAM ("": the model's last feature map).
    """

    OPTIONS = (("epochs", "--epochs"), ("n_images", "--n-images"))

    model: str
    img_size: tuple = (96, 96)
    epochs: int = 12
    n_images: int = 1200
    seed: int = 1337
    augment: bool = False
    gradcam_layer: str = ""

    def program(self):
        return f"python -m cvlab_ch9.models train --model {self.model}"


DEFAULT_CONFIGS = {
    "mini_xception": ClassifierConfig(
        model="mini_xception", img_size=(64, 64), epochs=25, filters=(32, 64, 128), augment=True
    ),
    "convnet": ClassifierConfig(
        model="convnet", img_size=(96, 96), epochs=30, filters=(16, 32, 64, 128, 128), augment=True
    ),
}


def default_config(model, data=""):
    """The configuration ``python -m cvlab_ch9.models train --model MODEL [--data DATA]`` starts from."""
    config = DEFAULT_CONFIGS[model]
    return dataclasses.replace(config, data=data, n_images=REAL_DATA_N_IMAGES) if data else config


def training_command(config):
    """The shell command that reproduces ``config`` (as recorded in the metadata)."""
    return config.command(default_config(config.model, config.data) if config.model in DEFAULT_CONFIGS else None)


def model_name(config):
    """File name stem of the trained model: the architecture, plus REAL_DATA_SUFFIX when trained on photos."""
    return config.model + (REAL_DATA_SUFFIX if config.data else "")


def training_arrays(config, data_root=None):
    """Train/validation arrays for ``config``.

    Args:
        data_root: the synthetic set's folder (default data/synthetic_pets_cls);
            unused when ``config.data`` names real photos.

    Returns:
        dict with ``x_train``, ``x_val`` float32 (N, H, W, 3) in 0..255,
        ``y_train``, ``y_val`` int32 (N,), ``class_names`` and ``root``.
    """
    if config.data:
        root = resolve_data_root(config.data)
        images, labels, class_names = load_classification_arrays(
            root, img_size=tuple(config.img_size), limit=config.n_images or None, seed=config.data_seed
        )
    else:
        root = ensure_synthetic_pets(
            root=data_root or CLASSIFICATION_DATA_ROOT,
            n_images=config.n_images,
            image_size=tuple(config.data_image_size),
            seed=config.data_seed,
            style=config.data_style,
        )
        images, labels, class_names = load_classification_arrays(root, img_size=tuple(config.img_size))
    train_idx, val_idx = split_indices(len(images), config.val_fraction, seed=config.split_seed)
    return {
        "x_train": images[train_idx].astype("float32"),
        "y_train": labels[train_idx],
        "x_val": images[val_idx].astype("float32"),
        "y_val": labels[val_idx],
        "class_names": tuple(class_names),
        "root": root,
    }


def _data_info(config, root, n_images):
    """The ``data`` entry of the metadata."""
    split = {"val_fraction": config.val_fraction, "split_seed": config.split_seed}
    if config.data:
        return {"dataset": "Oxford-IIIT Pets", "root": str(root), "n_images": n_images, "seed": config.data_seed, **split}
    return {"generator": "cvlab_ch9.data.ensure_synthetic_pets", "style": config.data_style, "n_images": config.n_images,
            "image_size": list(config.data_image_size), "seed": config.data_seed, **split}


def _uncompiled_copy(model):
    """The same architecture and weights without optimizer state (keeps the .keras file small)."""
    import keras  # noqa: PLC0415

    # get_config() has no compile config (clone_model and to_json would compile the copy)
    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def train_demo_model(config, out_dir=None, data_root=None, verbose=2):
    """Train one demo model reproducibly and save ``<name>.keras`` + ``<name>.json``.

    ``<name>`` is the architecture (``config.model``), plus ``_oxford`` when
    ``config.data`` names real photos.

    Args:
        config: a ClassifierConfig (see DEFAULT_CONFIGS and default_config).
        out_dir: where to save (default: the shipped models' folder, or the trained models' folder for
            ``_oxford`` models; :func:`cvlab_ch9.models.store.default_models_dir`).
        data_root: synthetic training data folder (default data/synthetic_pets_cls).
        verbose: Keras ``fit`` verbosity.

    Returns:
        dict: the metadata written next to the model.
    """
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    import keras  # noqa: PLC0415

    out_dir = Path(out_dir or default_models_dir(model_name(config)))
    data = training_arrays(config, data_root)
    model = build_classifier(config, num_classes=len(data["class_names"]))
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
        "trained_on": config.trained_on(len(data["y_train"])),
        "img_size": list(config.img_size),
        "input_shape": list(config.img_size) + [3],
        "input_range": "float32 RGB pixels in 0..255 (the model rescales)",
        "class_names": list(data["class_names"]),
        "last_conv_layer_name": config.gradcam_layer or last_conv_layer(model),
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
        "config": config.as_json(),
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


def accuracy(model, images, labels, batch_size=64):
    """Top-1 accuracy of ``model`` on float32 images (N, H, W, 3) and int labels (N,)."""
    probabilities = model.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=-1) == np.asarray(labels)))

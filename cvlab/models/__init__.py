"""Demo models: the shipped classifiers and segmentation model, and ImageNet Xception when cached.

Two small classifiers (cat vs dog) are shipped in ``models/`` so the UI and
Lab 3 (activations, filters, Grad-CAM) have a trained convnet without any
download:

- ``mini_xception``: the chapter's mini-Xception (``solutions/architecture.py``)
  at a smaller input size, 2-class softmax head.
- ``convnet``: a chapter-8 style stack of Conv2D + MaxPooling2D with named
  layers (``conv1`` .. ``conv5``), global average pooling and a softmax head.

Each ``models/<name>.keras`` has a ``models/<name>.json`` with the input size,
class names, Grad-CAM layer, validation accuracy and the exact training
command. Both models take float32 pixels in 0..255 (they rescale inside).

Modules: :mod:`~cvlab.models.store` (files, metadata, loading),
:mod:`~cvlab.models.classifiers` (the architectures),
:mod:`~cvlab.models.config` (the training configuration shared with
``cvlab.train_segmentation``), :mod:`~cvlab.models.training`,
:mod:`~cvlab.models.pointing_game`, :mod:`~cvlab.models.imagenet`.

Command line::

    python -m cvlab.models train [--model mini_xception|convnet|all] [--epochs N] [--n-images N]
    python -m cvlab.models pointing-game [--model ...] [--n-images N] [--layer NAME]
    python -m cvlab.models info
"""

from cvlab.models.imagenet import IMAGENET_WEIGHTS_FILE, imagenet_weights_path, keras_cache_dir, load_imagenet_xception
from cvlab.models.pointing_game import evaluate_pointing_game, held_out_arrays, mask_area_fraction, pointing_game
from cvlab.models.store import (
    DEMO_MODELS,
    SEGMENTATION_DEMO,
    demo_model_info,
    demo_model_path,
    demo_segmentation_info,
    load_demo_model,
    load_demo_segmentation,
    without_augmentation,
)
from cvlab.models.training import (
    DEFAULT_CONFIGS,
    ClassifierConfig,
    accuracy,
    recalibrate_batchnorm,
    train_demo_model,
    training_command,
)

__all__ = [
    "DEFAULT_CONFIGS",
    "DEMO_MODELS",
    "IMAGENET_WEIGHTS_FILE",
    "SEGMENTATION_DEMO",
    "ClassifierConfig",
    "accuracy",
    "demo_model_info",
    "demo_model_path",
    "demo_segmentation_info",
    "evaluate_pointing_game",
    "held_out_arrays",
    "imagenet_weights_path",
    "keras_cache_dir",
    "load_demo_model",
    "load_demo_segmentation",
    "load_imagenet_xception",
    "mask_area_fraction",
    "pointing_game",
    "recalibrate_batchnorm",
    "train_demo_model",
    "training_command",
    "without_augmentation",
]

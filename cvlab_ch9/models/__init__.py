"""Demo models: the shipped classifiers and segmentation model, those trained on Oxford-IIIT Pets, and the book's ImageNet Xception.

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
``--data oxford`` trains the same architectures on the real photos and
saves ``models/<name>_oxford.keras`` beside them. Keras' ImageNet Xception
(the book's model) is read from Keras' cache and downloaded only on request.

Modules: :mod:`~cvlab_ch9.models.store` (files, metadata, loading),
:mod:`~cvlab_ch9.models.classifiers` (the architectures),
:mod:`~cvlab_ch9.models.config` (the training configuration shared with
``cvlab_ch9.train_segmentation``), :mod:`~cvlab_ch9.models.training`,
:mod:`~cvlab_ch9.models.pointing_game`, :mod:`~cvlab_ch9.models.imagenet`.

Command line::

    python -m cvlab_ch9.models train [--model mini_xception|convnet|all] [--epochs N] [--n-images N] [--data oxford]
    python -m cvlab_ch9.models pointing-game [--model ...] [--n-images N] [--layer NAME]
    python -m cvlab_ch9.models info
    python -m cvlab_ch9.models download imagenet [--mirror URL]
"""

from cvlab_ch9.models.imagenet import (
    ImageNetError,
    decode_predictions,
    download_imagenet,
    imagenet_cached,
    imagenet_class_names,
    keras_cache_dir,
    load_imagenet_xception,
)
from cvlab_ch9.models.pointing_game import evaluate_pointing_game, held_out_arrays, mask_area_fraction, pointing_game
from cvlab_ch9.models.store import (
    DEMO_MODELS,
    REAL_DATA_SUFFIX,
    SEGMENTATION_DEMO,
    SEGMENTATION_OXFORD,
    available_models,
    demo_model_info,
    demo_model_path,
    demo_segmentation_info,
    load_demo_model,
    load_demo_segmentation,
    segmentation_model_in_use,
    without_augmentation,
)
from cvlab_ch9.models.training import (
    DEFAULT_CONFIGS,
    ClassifierConfig,
    accuracy,
    default_config,
    recalibrate_batchnorm,
    train_demo_model,
    training_command,
)

__all__ = [
    "DEFAULT_CONFIGS",
    "DEMO_MODELS",
    "REAL_DATA_SUFFIX",
    "SEGMENTATION_DEMO",
    "SEGMENTATION_OXFORD",
    "ClassifierConfig",
    "ImageNetError",
    "accuracy",
    "available_models",
    "decode_predictions",
    "default_config",
    "demo_model_info",
    "demo_model_path",
    "demo_segmentation_info",
    "download_imagenet",
    "evaluate_pointing_game",
    "held_out_arrays",
    "imagenet_cached",
    "imagenet_class_names",
    "keras_cache_dir",
    "load_demo_model",
    "load_demo_segmentation",
    "load_imagenet_xception",
    "mask_area_fraction",
    "pointing_game",
    "recalibrate_batchnorm",
    "segmentation_model_in_use",
    "train_demo_model",
    "training_command",
    "without_augmentation",
]

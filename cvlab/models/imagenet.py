"""Keras' ImageNet Xception, offline: from the Keras cache only, never a download."""

import os
from pathlib import Path

IMAGENET_WEIGHTS_FILE = "xception_weights_tf_dim_ordering_tf_kernels.h5"


def keras_cache_dir():
    """Where Keras caches downloads: ``$KERAS_HOME`` or ``~/.keras`` (read at call time)."""
    if os.environ.get("KERAS_HOME"):
        return Path(os.environ["KERAS_HOME"]).expanduser()
    return Path.home() / ".keras"


def imagenet_weights_path():
    """Expected path of the cached ImageNet Xception weights (``<cache>/models/<file>``)."""
    return keras_cache_dir() / "models" / IMAGENET_WEIGHTS_FILE


def load_imagenet_xception():
    """``keras.applications.Xception`` with ImageNet weights, from the Keras cache only.

    Never downloads: builds ``Xception(weights=None)`` and loads the cached
    weights file, so a missing file is an error instead of a network access.

    Raises:
        FileNotFoundError: the weights are not cached (the message says where to put them).
    """
    path = imagenet_weights_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"ImageNet Xception weights are not cached at {path}; this lab runs offline — "
            "use the demo models (cvlab.models.load_demo_model), or copy the file there."
        )
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    import keras  # noqa: PLC0415

    model = keras.applications.Xception(weights=None)
    model.load_weights(str(path))
    return model

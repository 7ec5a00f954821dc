"""The two demo classifier architectures (cat vs dog), built from a :class:`ClassifierConfig`."""

from cvlab_ch9.impl import reference_lab


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

    model = reference_lab("architecture").build_mini_xception(
        input_shape=input_shape, num_classes=num_classes, block_filters=block_filters, augment=augment
    )
    return keras.Model(model.inputs, model.outputs, name="mini_xception")


BUILDERS = {"mini_xception": build_demo_mini_xception, "convnet": build_convnet}


def build_classifier(config, num_classes=2):
    """Untrained model for a ClassifierConfig (Keras session cleared first so layer names are stable)."""
    import keras  # noqa: PLC0415

    if config.model not in BUILDERS:
        raise ValueError(f"unknown demo model {config.model!r}; choose one of {', '.join(BUILDERS)}.")
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    input_shape = tuple(config.img_size) + (3,)
    return BUILDERS[config.model](input_shape, num_classes, tuple(config.filters), config.augment)

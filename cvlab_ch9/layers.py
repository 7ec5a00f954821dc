"""Finding layers in a Keras model: by class, by output rank, the Grad-CAM target.

One place for the questions the demo-model code, the checks and the UI ask
about a model's layers. They read ``model.layers`` and each layer's class
name and output shape; only :func:`flat_layers` imports Keras (lazily).
"""

#: Convolution layer classes (the Grad-CAM and filter-pattern targets).
CONV_LAYER_TYPES = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")
#: Layers that end the convolutional base: Grad-CAM's layer comes before them.
POOLING_HEAD_TYPES = ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten")
#: 4-D layers that are not feature maps (the image itself, rescaled).
NOT_FEATURE_MAPS = ("InputLayer", "Rescaling")


def class_name(layer):
    """The layer's class name, e.g. ``"Conv2D"``."""
    return type(layer).__name__


def flat_layers(model):
    """All layers of ``model`` in order, nested models (e.g. a Sequential block) expanded."""
    import keras  # noqa: PLC0415 - importing this module stays free of TensorFlow

    out = []
    for layer in model.layers:
        out.extend(flat_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return out


def layer_names(model, class_names):
    """Names of ``model``'s own layers whose class is in ``class_names``, in model order."""
    return [layer.name for layer in model.layers if class_name(layer) in class_names]


def output_rank(layer):
    """Rank of the layer's output (4 for a (batch, h, w, c) feature map), or None when it has none."""
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError):  # a layer that was never called, or one with several outputs
        return None


def four_d_layers(model):
    """Names of ``model``'s own layers with a 4-D (batch, h, w, c) output, the input layer excluded."""
    return [layer.name for layer in model.layers if output_rank(layer) == 4 and class_name(layer) != "InputLayer"]


def last_conv_layer(model):
    """Name of the Grad-CAM target: the last feature map before the pooling head.

    That is the last layer with a 4-D output before the first global pooling
    or Flatten layer, the input and Rescaling layers excluded (for Xception,
    ``block14_sepconv2_act``; for the demo convnet, its last ``conv<n>``).

    Raises:
        ValueError: the model has no such layer (the message says to name one).
    """
    name = None
    for layer in model.layers:
        if class_name(layer) in POOLING_HEAD_TYPES:
            break
        if output_rank(layer) == 4 and class_name(layer) not in NOT_FEATURE_MAPS:
            name = layer.name
    if name is None:
        raise ValueError(
            f"model {model.name} has no 4-D feature map before its pooling layer; "
            "name the Grad-CAM layer explicitly (ClassifierConfig.gradcam_layer)."
        )
    return name

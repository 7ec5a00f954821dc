"""Lab 3 — Interpreting what convnets learn (DLwP 2nd ed., section 9.4).

Three ways to look inside a trained convnet:

1. *Intermediate activations*: run an image through the model and show
   what every convolution and pooling layer outputs, one small picture
   per channel.
2. *Filter patterns*: start from a gray noise image and follow the
   gradient of one filter's mean activation (gradient **ascent**) until
   the image shows the pattern that filter responds to most.
3. *Grad-CAM class activation maps*: weight the channels of the last
   convolution's output by how much they matter for a class (the mean
   gradient of the class score) to see *where* in the image the evidence
   for that class is.

Run ``cvlab grade --lab interpretation`` (or ``python -m cvlab_ch9 grade --lab interpretation``) to check your work.
"""

import math

import matplotlib
import numpy as np
import keras
import tensorflow as tf

#: Layer classes whose outputs :func:`extract_activations` shows by default.
ACTIVATION_LAYER_TYPES = ("Conv2D", "SeparableConv2D", "MaxPooling2D")
#: Layer classes listed when a convolution layer name is unknown.
CONV_LAYER_TYPES = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")


# -- small helpers shared by several exercises ----------------------------------------


def _as_batch(image):
    """float32 (1, H, W, C) from an (H, W, C) or (1, H, W, C) array or tensor."""
    batch = np.asarray(image, dtype="float32")
    if batch.ndim == 3:
        batch = batch[np.newaxis]
    if batch.ndim != 4 or batch.shape[0] != 1:
        raise ValueError(f"expected one image of shape (H, W, C) or (1, H, W, C); got shape {batch.shape}.")
    return batch


def _model_inputs(model, batch):
    """``model.inputs``; an unbuilt Sequential model is first built for the (1, H, W, C) ``batch``.

    Keras 3 Sequential models have ``inputs``/``outputs`` only once they
    know their input shape (an ``Input`` layer, a call, or ``build``).
    """
    if isinstance(model, keras.Sequential) and not model.built:
        model.build((None, *batch.shape[1:]))
    return model.inputs


def _layer_names_of(model, class_names):
    """Names of ``model``'s own layers whose class is one of ``class_names``, in model order."""
    return [layer.name for layer in model.layers if type(layer).__name__ in class_names]


def _get_layer(model, name, kind, class_names):
    """``model.get_layer(name)``; ValueError listing the ``kind`` layers (``class_names``) if there is none."""
    if name not in [layer.name for layer in model.layers]:
        candidates = ", ".join(_layer_names_of(model, class_names)) or "(none)"
        raise ValueError(f"no layer named {name!r}; {kind} layers are: {candidates}.")
    return model.get_layer(name)


# -- exercises ---------------------------------------------------------------------------


def extract_activations(model, image, layer_names=None):
    """Outputs of intermediate layers for one image.

    Args:
        model: a built ``keras.Model`` (Functional or Sequential; an
            unbuilt Sequential model is built for the image's shape).
        image: float32 (H, W, 3) or (1, H, W, 3), preprocessed the way the
            model expects.
        layer_names: names of layers of ``model`` to read, or None for
            every Conv2D, SeparableConv2D and MaxPooling2D layer, in model
            order. Only the model's own layers are searched: the layers of
            a nested model (e.g. a pretrained base inside a bigger model)
            are not expanded; pass the nested model itself to see them.

    Returns:
        dict {layer name: float32 np.ndarray (h, w, c)} without the batch
        axis, in layer order (the order of ``layer_names`` when given).

    Raises:
        ValueError: a name in ``layer_names`` is not a layer of the model
            (the message lists the convolution/pooling layers).
    """
    ### BEGIN SOLUTION
    batch = _as_batch(image)  # (1, H, W, 3)
    inputs = _model_inputs(model, batch)
    if layer_names is None:
        layer_names = _layer_names_of(model, ACTIVATION_LAYER_TYPES)
    layers = [_get_layer(model, name, "convolution and pooling", ACTIVATION_LAYER_TYPES) for name in layer_names]
    if not layers:
        return {}
    # one model, one named output per layer: {name: (1, h, w, c)}
    activation_model = keras.Model(inputs=inputs, outputs={layer.name: layer.output for layer in layers})
    activations = activation_model(batch, training=False)
    # drop the batch axis: (1, h, w, c) -> (h, w, c)
    return {layer.name: np.asarray(activations[layer.name], dtype="float32")[0] for layer in layers}
    ### END SOLUTION


def activation_grid(activation, images_per_row=16):
    """Tile the channels of one activation into a single gray picture.

    Args:
        activation: float (h, w, c), e.g. one value of
            :func:`extract_activations`.
        images_per_row: channels per row of the grid.

    Returns:
        np.ndarray uint8 of shape ((h + 1) * rows - 1, (w + 1) *
        images_per_row - 1) with rows = ceil(c / images_per_row): channel k
        is drawn at row k // images_per_row, column k % images_per_row,
        separated by 1-pixel zero gutters. A channel with std > 0 is shown
        as (x - mean) / std * 64 + 128 clipped to 0..255; a constant
        channel (e.g. a dead ReLU) is drawn 0.
    """
    ### BEGIN SOLUTION
    h, w, channels = np.shape(activation)
    rows = math.ceil(channels / images_per_row)
    canvas = np.zeros(((h + 1) * rows - 1, (w + 1) * images_per_row - 1), dtype="uint8")
    for k in range(channels):
        channel = np.asarray(activation[:, :, k], dtype="float64")  # (h, w)
        std = channel.std()
        if std > 0:
            # standardize, then spread +-2 std over the visible range
            channel = np.clip((channel - channel.mean()) / std * 64 + 128, 0, 255)
        else:
            channel = np.zeros_like(channel)
        row, col = divmod(k, images_per_row)
        canvas[row * (h + 1) : row * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = channel.astype("uint8")
    return canvas
    ### END SOLUTION


def filter_loss(feature_extractor, image, filter_index):
    """How strongly one filter responds to ``image``.

    Args:
        feature_extractor: ``keras.Model`` mapping images to one layer's
            output (batch, h, w, c).
        image: float32 tensor (1, H, W, 3).
        filter_index: int (or int32 scalar tensor), the channel to score.

    Returns:
        float32 scalar tensor: the mean of ``activation[:, 2:-2, 2:-2,
        filter_index]`` (the 2-pixel border is left out to avoid its
        artifacts).
    """
    ### BEGIN SOLUTION
    activation = feature_extractor(image)  # (1, h, w, c)
    # ignore the border pixels: padding makes them behave differently
    filter_activation = activation[:, 2:-2, 2:-2, filter_index]
    return tf.reduce_mean(filter_activation)
    ### END SOLUTION


def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    """One step of gradient ascent on :func:`filter_loss`.

    Args:
        feature_extractor: as for :func:`filter_loss`.
        image: float32 tensor (1, H, W, 3).
        filter_index: int (or int32 scalar tensor).
        learning_rate: float (or float32 scalar tensor).

    Returns:
        float32 tensor (1, H, W, 3): ``image + learning_rate * g`` where g
        is the gradient of the loss w.r.t. the image divided by its global
        L2 norm (``tf.math.l2_normalize(grads, axis=None)``), so every step
        has the same size whatever the filter's scale.
    """
    ### BEGIN SOLUTION
    image = tf.convert_to_tensor(image, dtype=tf.float32)
    with tf.GradientTape() as tape:
        # the image is not a variable: watch it explicitly
        tape.watch(image)
        loss = filter_loss(feature_extractor, image, filter_index)
    grads = tape.gradient(loss, image)  # (1, H, W, 3)
    # one global norm over all pixels and channels (not per pixel)
    grads = tf.math.l2_normalize(grads, axis=None)
    return image + learning_rate * grads
    ### END SOLUTION


def generate_filter_pattern(
    feature_extractor, filter_index, iterations=30, learning_rate=10.0, image=None, img_size=(200, 200), seed=None
):
    """The input pattern that maximally activates one filter.

    Args:
        feature_extractor: ``keras.Model`` mapping (1, H, W, 3) images to
            one layer's output.
        filter_index: int, the channel to maximize.
        iterations: number of :func:`gradient_ascent_step` calls.
        learning_rate: step size.
        image: optional float (H, W, 3) or (1, H, W, 3) start image.
        img_size: (H, W) of the random start image when ``image`` is None.
        seed: seed of the start image (uniform in [0.4, 0.6)); None for
            a different one every call.

    Returns:
        np.ndarray float32 (H, W, 3): the image after ``iterations`` steps
        (use :func:`deprocess_image` to display it).

    Raises:
        ValueError: filter_index is not a channel of the extractor's output.
    """
    ### BEGIN SOLUTION
    if image is None:
        # gray noise: no pattern yet, small values around 0.5
        image = np.random.default_rng(seed).uniform(0.4, 0.6, size=(1, *img_size, 3))
    image = _as_batch(image)  # (1, H, W, 3)
    _model_inputs(feature_extractor, image)
    channels = feature_extractor.outputs[0].shape[-1]
    if not 0 <= filter_index < channels:
        raise ValueError(f"filter_index {filter_index} is out of range: the layer has {channels} filters.")
    image = tf.convert_to_tensor(image)
    for _ in range(iterations):
        image = gradient_ascent_step(feature_extractor, image, filter_index, learning_rate)
    return np.asarray(image, dtype="float32")[0]
    ### END SOLUTION


def deprocess_image(image, crop=25):
    """Turn a generated pattern into a displayable uint8 image.

    Args:
        image: float (H, W, 3) (or (1, H, W, 3)).
        crop: pixels removed from each border (the border has artifacts).

    Returns:
        np.ndarray uint8 (H - 2 * crop, W - 2 * crop, 3):
        (x - mean) / std * 64 + 128 clipped to 0..255, then cropped. An
        image with std 0 becomes all 128 (before the crop).
    """
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype="float64").reshape(np.shape(image)[-3:])  # (H, W, 3)
    image = image - image.mean()
    std = image.std()
    if std > 0:
        image = image / std
    # +-2 std spread over 0..255, centered at 128
    image = np.clip(image * 64 + 128, 0, 255).astype("uint8")
    height, width = image.shape[:2]
    return image[crop : height - crop, crop : width - crop]
    ### END SOLUTION


def grad_cam(model, image, last_conv_layer_name, class_index=None):
    """Grad-CAM class activation heatmap.

    Args:
        model: a classifier ``keras.Model`` (Functional or Sequential)
            whose first output is (1, num_classes) (softmax, or one sigmoid
            unit with num_classes = 1).
        image: float32 (1, H, W, 3) or (H, W, 3), already preprocessed.
        last_conv_layer_name: name of a layer of ``model`` with a 4-D
            output, usually the last convolution (or its activation).
        class_index: class to explain; None for the top predicted class.
            For a single sigmoid output, class 0 is that output.

    Returns:
        np.ndarray float32 (h, w), the layer's spatial size, values in
        [0, 1]: relu(mean over channels of activation * mean gradient per
        channel) / its max; all zeros (never NaN) when the max is 0.

    Raises:
        ValueError: unknown layer name or a layer without a (batch, h, w, c)
            output (the message lists the convolution layers), or
            class_index out of range.
    """
    ### BEGIN SOLUTION
    batch = _as_batch(image)  # (1, H, W, 3)
    _model_inputs(model, batch)
    layer = _get_layer(model, last_conv_layer_name, "conv", CONV_LAYER_TYPES)
    if len(layer.output.shape) != 4:
        conv_names = ", ".join(_layer_names_of(model, CONV_LAYER_TYPES))
        raise ValueError(
            f"layer {last_conv_layer_name!r} outputs shape {tuple(layer.output.shape)}; Grad-CAM needs a "
            f"(batch, h, w, channels) feature map, e.g. one of the conv layers: {conv_names}."
        )
    num_classes = model.outputs[0].shape[-1]
    if class_index is not None and not 0 <= class_index < num_classes:
        raise ValueError(f"class_index {class_index} is out of range: the model has {num_classes} output(s).")
    # one model, two outputs, so the layers after the conv layer may branch
    grad_model = keras.Model(model.inputs, [layer.output, model.outputs[0]])
    with tf.GradientTape() as tape:
        activation, preds = grad_model(batch, training=False)  # (1, h, w, c), (1, num_classes)
        if class_index is None:
            class_index = tf.argmax(preds[0])
        class_score = preds[:, class_index]
    # how much each activation value changes the class score: (1, h, w, c)
    grads = tape.gradient(class_score, activation)
    # importance of each channel: mean gradient over batch, height and width, (c,)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    # weighted channels, averaged: (h, w)
    heatmap = tf.reduce_mean(activation[0] * weights, axis=-1)
    # keep only what speaks *for* the class
    heatmap = np.maximum(heatmap.numpy(), 0)
    peak = heatmap.max()
    if peak > 0:
        heatmap = heatmap / peak
    return heatmap.astype("float32")
    ### END SOLUTION


def overlay_heatmap(image, heatmap, alpha=0.4):
    """Superimpose a heatmap on an image with the jet colormap.

    Args:
        image: uint8 (H, W, 3) RGB image.
        heatmap: float (h, w) in [0, 1], e.g. from :func:`grad_cam`.
        alpha: weight of the colored heatmap.

    Returns:
        np.ndarray uint8 (H, W, 3): ``alpha * jet(heatmap) * 255 + image``
        (the colored heatmap resized bilinearly to (H, W)), min-max
        rescaled to 0..255 as ``keras.utils.array_to_img`` does.
    """
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype="float32")
    heatmap = np.uint8(255 * np.clip(heatmap, 0, 1))  # (h, w), 0..255
    # RGB of the 256 jet colors, 0..1
    jet_colors = matplotlib.colormaps["jet"](np.arange(256))[:, :3]
    jet_heatmap = jet_colors[heatmap] * 255  # (h, w, 3)
    # (h, w, 3) -> (H, W, 3)
    jet_heatmap = tf.image.resize(jet_heatmap, image.shape[:2], method="bilinear").numpy()
    superimposed = alpha * jet_heatmap + image
    # min-max rescale to 0..255, as keras.utils.array_to_img(scale=True)
    superimposed = superimposed - superimposed.min()
    peak = superimposed.max()
    if peak > 0:
        superimposed = superimposed / peak * 255
    return superimposed.astype("uint8")
    ### END SOLUTION

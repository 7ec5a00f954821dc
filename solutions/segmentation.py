"""Lab 1 — Image segmentation (Deep Learning with Python, 2nd ed., section 9.2).

You build the book's segmentation model for the Oxford-IIIT Pets dataset:
an encoder that downsamples with *strided convolutions* (no pooling, so the
spatial location of information is preserved) and a decoder of
``Conv2DTranspose`` layers that upsamples back to the input size, ending in
a per-pixel softmax over three classes (pet, background, contour).

Run ``cvlab grade --lab segmentation`` (or ``python -m cvlab_ch9 grade --lab segmentation``) to check your work.
"""

import numpy as np
import keras
from keras import layers

#: Trimap values in the Oxford-IIIT Pets annotations.
TRIMAP_VALUES = (1, 2, 3)


def trimap_to_classes(trimap):
    """Map an Oxford-IIIT trimap to class indices.

    Args:
        trimap: integer array of any shape with values 1 (pet),
            2 (background) and 3 (contour).

    Returns:
        np.ndarray, uint8, same shape, values 0, 1, 2 (the trimap value
        minus one, so that labels start at 0 as sparse categorical
        crossentropy expects).

    Raises:
        ValueError: when the trimap holds any other value; the message
            names the values found.
    """
    ### BEGIN SOLUTION
    trimap = np.asarray(trimap)
    unexpected = np.setdiff1d(np.unique(trimap), TRIMAP_VALUES)
    if unexpected.size:
        raise ValueError(
            f"trimap contains value(s) {unexpected.tolist()}; "
            f"Oxford-IIIT trimaps only use {list(TRIMAP_VALUES)}."
        )
    # 1, 2, 3 -> 0, 1, 2
    return (trimap - 1).astype("uint8")
    ### END SOLUTION


def strided_downsampling(x, filters=(64, 128, 256)):
    """Encoder: downsample by 2 per stage with strided convolutions.

    For each ``f`` in ``filters``: ``Conv2D(f, 3, strides=2, relu, same)``
    then ``Conv2D(f, 3, relu, same)``. No pooling layers.

    Args:
        x: symbolic tensor (batch, H, W, C).
        filters: filters per stage.

    Returns:
        Symbolic tensor (batch, H / 2**len(filters), W / 2**len(filters),
        filters[-1]).
    """
    ### BEGIN SOLUTION
    for f in filters:
        # halve the resolution: strides carry location information, pooling would discard it
        x = layers.Conv2D(f, 3, strides=2, activation="relu", padding="same")(x)
        x = layers.Conv2D(f, 3, activation="relu", padding="same")(x)
    return x
    ### END SOLUTION


def conv_transpose_decoder(x, filters=(256, 128, 64)):
    """Decoder: upsample by 2 per stage with transposed convolutions.

    For each ``f`` in ``filters``: ``Conv2DTranspose(f, 3, relu, same)``
    then ``Conv2DTranspose(f, 3, strides=2, relu, same)``.

    Args:
        x: symbolic tensor (batch, h, w, C).
        filters: filters per stage.

    Returns:
        Symbolic tensor (batch, h * 2**len(filters), w * 2**len(filters),
        filters[-1]).
    """
    ### BEGIN SOLUTION
    for f in filters:
        x = layers.Conv2DTranspose(f, 3, activation="relu", padding="same")(x)
        # double the resolution
        x = layers.Conv2DTranspose(f, 3, strides=2, activation="relu", padding="same")(x)
    return x
    ### END SOLUTION


def build_segmentation_model(img_size=(200, 200), num_classes=3, filters=(64, 128, 256)):
    """The chapter's segmentation model.

    ``Input(img_size + (3,))`` -> ``Rescaling(1/255)`` -> strided encoder ->
    transposed-convolution decoder (filters reversed) ->
    ``Conv2D(num_classes, 3, softmax, same)``.

    Args:
        img_size: (height, width), each divisible by 2**len(filters).
        num_classes: number of per-pixel classes.
        filters: encoder filters; the decoder uses them reversed.

    Returns:
        keras.Model mapping float32 (batch, H, W, 3) pixels in 0..255 to
        float32 (batch, H, W, num_classes) class probabilities.
        The defaults give 2,880,643 parameters.
    """
    ### BEGIN SOLUTION
    inputs = keras.Input(shape=tuple(img_size) + (3,))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = strided_downsampling(x, filters)
    x = conv_transpose_decoder(x, tuple(reversed(filters)))
    # one probability distribution over classes per pixel
    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)
    return keras.Model(inputs, outputs)
    ### END SOLUTION


def mean_iou(y_true, y_pred, num_classes):
    """Mean intersection-over-union, as ``keras.metrics.MeanIoU``.

    Args:
        y_true: integer labels, (N, H, W) or (N, H, W, 1).
        y_pred: integer labels with the same number of pixels, or
            per-class scores (..., num_classes) (argmax is taken).
        num_classes: number of classes.

    Returns:
        float: mean over the classes whose union (true or predicted) is
        non-empty of |true & pred| / |true | pred|.
    """
    ### BEGIN SOLUTION
    y_true = np.asarray(y_true).reshape(-1).astype("int64")
    y_pred = np.asarray(y_pred)
    if y_pred.ndim >= 1 and y_pred.shape[-1] == num_classes and y_pred.size == y_true.size * num_classes:
        # per-class scores -> labels
        y_pred = y_pred.argmax(axis=-1)
    y_pred = y_pred.reshape(-1).astype("int64")
    ious = []
    for c in range(num_classes):
        true_c, pred_c = y_true == c, y_pred == c
        union = np.logical_or(true_c, pred_c).sum()
        if union:
            ious.append(np.logical_and(true_c, pred_c).sum() / union)
    return float(np.mean(ious)) if ious else 0.0
    ### END SOLUTION

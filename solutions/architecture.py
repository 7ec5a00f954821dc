"""Lab 2 — Modern convnet architecture patterns (DLwP 2nd ed., section 9.3).

Residual connections, batch normalization, depthwise separable
convolutions, and the chapter's mini-Xception that puts them together.

Run ``cvlab grade --lab architecture`` (or ``python -m cvlab_ch9 grade --lab architecture``) to check your work.
"""

import keras
from keras import layers


def residual_block(x, filters, pooling=False):
    """A residual block: two 3x3 convolutions plus a shortcut.

    Args:
        x: symbolic tensor (batch, H, W, C).
        filters: filters of both convolutions.
        pooling: if True, end with ``MaxPooling2D(2, padding="same")`` and
            project the shortcut with ``Conv2D(filters, 1, strides=2)``.

    Returns:
        Symbolic tensor (batch, H', W', filters) where H' = ceil(H / 2) with
        pooling, else H. When the channels differ and there is no pooling,
        the shortcut is projected with ``Conv2D(filters, 1)``.
    """
    ### BEGIN SOLUTION
    residual = x
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    if pooling:
        x = layers.MaxPooling2D(2, padding="same")(x)
        # the shortcut must be downsampled like the main path
        residual = layers.Conv2D(filters, 1, strides=2)(residual)
    elif filters != residual.shape[-1]:
        # match the channel count so the two tensors can be added
        residual = layers.Conv2D(filters, 1)(residual)
    return layers.add([x, residual])
    ### END SOLUTION


def conv_bn_relu(x, filters, kernel_size=3):
    """Convolution, then batch normalization, then the activation.

    ``Conv2D(filters, kernel_size, padding="same", use_bias=False)`` ->
    ``BatchNormalization()`` -> ``Activation("relu")``. The convolution has
    no bias: batch normalization centers its output anyway.

    Args:
        x: symbolic tensor (batch, H, W, C).

    Returns:
        Symbolic tensor (batch, H, W, filters).
    """
    ### BEGIN SOLUTION
    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)
    ### END SOLUTION


def separable_conv_params(in_channels, out_channels, kernel_size=3):
    """Bias-free parameter counts of a regular vs a depthwise separable convolution.

    Returns:
        tuple[int, int]: ``(regular, separable)`` where regular is
        ``k*k*in*out`` and separable is ``k*k*in + in*out``.
        ``(64, 64, 3) -> (36864, 4672)``.
    """
    ### BEGIN SOLUTION
    regular = kernel_size * kernel_size * in_channels * out_channels
    # depthwise: one k x k filter per input channel; pointwise: a 1x1 conv mixing channels
    separable = kernel_size * kernel_size * in_channels + in_channels * out_channels
    return regular, separable
    ### END SOLUTION


def xception_block(x, filters):
    """One block of the chapter's mini-Xception.

    BN -> relu -> SeparableConv2D, twice, then ``MaxPooling2D(3, strides=2,
    padding="same")``, plus a shortcut ``Conv2D(filters, 1, strides=2,
    padding="same", use_bias=False)``.

    Args:
        x: symbolic tensor (batch, H, W, C).

    Returns:
        Symbolic tensor (batch, ceil(H / 2), ceil(W / 2), filters).
    """
    ### BEGIN SOLUTION
    residual = x
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    residual = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(residual)
    return layers.add([x, residual])
    ### END SOLUTION


def build_mini_xception(input_shape=(180, 180, 3), num_classes=1, block_filters=(32, 64, 128, 256, 512), augment=True):
    """The chapter's mini-Xception classifier.

    Input -> [RandomFlip("horizontal"), RandomRotation(0.1), RandomZoom(0.2)
    if augment] -> Rescaling(1/255) -> Conv2D(32, 5, use_bias=False) ->
    one xception_block per entry of block_filters -> GlobalAveragePooling2D
    -> Dropout(0.5) -> Dense(1, sigmoid) if num_classes == 1 else
    Dense(num_classes, softmax).

    Returns:
        keras.Model mapping float32 (batch, H, W, 3) pixels in 0..255 to
        (batch, 1) or (batch, num_classes) probabilities. The defaults give
        721,857 parameters.
    """
    ### BEGIN SOLUTION
    inputs = keras.Input(shape=input_shape)
    x = inputs
    if augment:
        x = layers.RandomFlip("horizontal")(x)
        x = layers.RandomRotation(0.1)(x)
        x = layers.RandomZoom(0.2)(x)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(32, 5, use_bias=False)(x)
    for filters in block_filters:
        x = xception_block(x, filters)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    if num_classes == 1:
        outputs = layers.Dense(1, activation="sigmoid")(x)
    else:
        outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)
    ### END SOLUTION

"""Benchmark models and counts: Xception with random weights, seeded images, FLOPs, a bfloat16 copy."""

import keras
import numpy as np

XCEPTION_LAST_CONV = "block14_sepconv2_act"
FILTER_LAYER = "block3_sepconv1"
#: Layer classes whose multiply-accumulates :func:`conv_macs` counts.
COUNTED_LAYERS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Dense")


def xception(img_size=299):
    """Keras' Xception with random weights (nothing is downloaded), float32 (1, S, S, 3) -> (1, 1000)."""
    keras.utils.set_random_seed(0)
    return keras.applications.Xception(weights=None, input_shape=(img_size, img_size, 3))


def preprocessed_image(img_size=299, seed=0):
    """A seeded float32 (1, S, S, 3) image in [-1, 1] (Xception's preprocessing range)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(1, img_size, img_size, 3)).astype("float32")


def feature_extractor(layer_name=FILTER_LAYER):
    """As in the book: Xception without its top (any input size), input -> ``layer_name``'s output."""
    keras.utils.set_random_seed(0)
    model = keras.applications.Xception(weights=None, include_top=False)
    return keras.Model(model.inputs, model.get_layer(layer_name).output)


def _layer_macs(layer, in_shape, out_shape, out_channels=None):
    """Multiply-accumulates of one forward call of ``layer`` from (1, H, W, C) to (1, h, w, c)."""
    kind = type(layer).__name__
    if kind == "Dense":
        return int(np.prod(in_shape[1:])) * out_shape[-1]
    h, w, c_in = out_shape[1], out_shape[2], in_shape[-1]
    taps = int(np.prod(layer.kernel_size))
    c_out = out_channels or out_shape[-1]
    if kind == "Conv2D":
        return h * w * taps * c_in // layer.groups * c_out
    depthwise = h * w * taps * c_in * layer.depth_multiplier
    if kind == "DepthwiseConv2D":
        return depthwise
    return depthwise + h * w * c_in * layer.depth_multiplier * c_out  # SeparableConv2D: depthwise + pointwise


def conv_macs(model, img_size, last_layer_channels=None):
    """{layer name: multiply-accumulates of one forward pass} of ``model``'s conv and dense layers at (H, W) ``img_size``.

    ``last_layer_channels`` counts only that many output channels of the
    last counted layer (the one-channel ascent computes 1).
    """
    counted = [layer for layer in model.layers if type(layer).__name__ in COUNTED_LAYERS]
    probe = keras.Model(model.inputs, [[layer.input, layer.output] for layer in counted])
    shapes = probe(np.zeros((1, *img_size, 3), "float32"))
    macs = {}
    for i, (layer, (inputs, outputs)) in enumerate(zip(counted, shapes)):
        channels = last_layer_channels if i == len(counted) - 1 else None
        macs[layer.name] = _layer_macs(layer, tuple(inputs.shape), tuple(outputs.shape), channels)
    return macs


def ascent_flops(model, img_size, last_layer_channels=None):
    """FLOPs of one gradient-ascent step of one image: forward plus the input-gradient backward pass.

    Each multiply-accumulate is 2 FLOPs; the backward pass through a
    convolution (w.r.t. its input only: the weights are constants) costs
    what its forward pass costs, down to the image. Element-wise work
    (BatchNormalization, ReLU, pooling) is left out: it is small and bound
    by memory, not by arithmetic.
    """
    return 2 * 2 * sum(conv_macs(model, img_size, last_layer_channels).values())


def bfloat16_copy(model):
    """A copy of ``model`` computing in bfloat16 (``mixed_bfloat16``: float32 weights, bfloat16 math)."""

    def clone_layer(layer):
        config = layer.get_config()
        if "dtype" in config and not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = "mixed_bfloat16"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone_layer)
    copy.set_weights(model.get_weights())
    return copy

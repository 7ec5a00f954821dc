"""Layer lookups shared by the demo models, the checks and the UI (cvlab_ch9.layers)."""

import pytest

from cvlab_ch9.layers import CONV_LAYER_TYPES, flat_layers, four_d_layers, last_conv_layer, layer_names
from cvlab_ch9.quiet import import_tensorflow


@pytest.fixture(scope="module")
def keras():
    import_tensorflow()
    import keras  # noqa: PLC0415 - after TensorFlow is imported quietly

    return keras


@pytest.fixture(scope="module")
def convnet(keras):
    """image -> rescaling -> conv1 -> pool1 -> block (Sequential: sep, bn) -> relu -> gap -> predictions."""
    layers = keras.layers
    inputs = keras.Input((16, 16, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescaling")(inputs)
    x = layers.Conv2D(4, 3, name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.Sequential([layers.SeparableConv2D(6, 3, name="sep"), layers.BatchNormalization(name="bn")], name="block")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(2, name="predictions")(x)
    return keras.Model(inputs, outputs)


def test_layers_by_class_and_by_rank(convnet):
    assert layer_names(convnet, CONV_LAYER_TYPES) == ["conv1"]  # the model's own layers: the block is not expanded
    assert layer_names(convnet, ("MaxPooling2D", "Dense")) == ["pool1", "predictions"]
    assert four_d_layers(convnet) == ["rescaling", "conv1", "pool1", "block", "relu"]


def test_flat_layers_expand_nested_models(convnet):
    names = [layer.name for layer in flat_layers(convnet)]
    assert names == ["image", "rescaling", "conv1", "pool1", "sep", "bn", "relu", "gap", "predictions"]


def test_last_conv_layer_is_the_last_feature_map_before_pooling(convnet, keras):
    assert last_conv_layer(convnet) == "relu"
    inputs = keras.Input((8,))
    dense_only = keras.Model(inputs, keras.layers.Dense(2)(inputs), name="dense_only")
    with pytest.raises(ValueError, match="no 4-D feature map before its pooling layer; name the Grad-CAM layer"):
        last_conv_layer(dense_only)

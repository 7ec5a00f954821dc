"""The judge's own copy of a student's model: rebuilt from its config, held to the real one.

Built-in layers rebuild (Functional, Sequential, keras.ops arithmetic,
nested models); anything else, or anything too large, is refused before a
weight is allocated; and a config that describes another model than the
one that answers (a forged description) is not believed.
"""

import ast

import numpy as np
import pytest

from cvlab_ch9.grader.harness.local import LocalModel, ModelHandle
from cvlab_ch9.grader.harness.summary import ModelSummary, model_config, summarize
from cvlab_ch9.grader.rebuild import MAX_WEIGHT_VALUES, NotRebuilt, rebuild, validate_config, verified_model
from cvlab_ch9.impl import load_lab
from cvlab_ch9.quiet import import_tensorflow


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


class Remote(ModelHandle):
    """A model 'in the sandbox': it answers with ``model`` but describes itself with ``described``'s config."""

    def __init__(self, model, described=None):
        self.real = LocalModel(model)
        self.described = LocalModel(described or model)
        self.summary = self.described.summary

    def predict(self, x, training=False):
        return self.real.predict(x, training)

    def set_weights(self, weights):
        self.real.set_weights(weights)

    def config(self):
        return self.described.config()


def _batch(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (1,) + tuple(shape)).astype("float32")


def _verify(handle, shape):
    return verified_model(handle, np.random.default_rng(1), 1, _batch(shape))


@pytest.fixture(scope="module")
def reference_models():
    seg, arch = load_lab("segmentation", "solutions"), load_lab("architecture", "solutions")
    return {
        "segmentation": (seg.build_segmentation_model(img_size=(32, 32), filters=(4, 8)), (32, 32, 3)),
        "mini-xception": (arch.build_mini_xception(input_shape=(20, 20, 3), block_filters=(4, 8)), (20, 20, 3)),
    }


def test_the_chapters_models_rebuild_and_are_vouched_for(reference_models):
    for model, shape in reference_models.values():
        rebuilt = _verify(Remote(model), shape)
        assert rebuilt is not None and rebuilt.params == model.count_params()
        assert rebuilt.model is not model
        counts = rebuilt.summary.count_params_by_class()
        assert counts == ModelSummary(summarize(model)).count_params_by_class()


def test_rebuilding_leaves_the_config_as_it_was():
    config = _conv_config()
    before = repr(config)
    rebuild(config, seed=0)
    assert repr(config) == before and rebuild(config, seed=0).count_params() == 4 * 27 + 4


def test_keras_ops_and_nested_sequential_pieces_rebuild():
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    inputs = keras.Input((8, 8, 3))
    x = keras.Sequential([layers.Conv2D(4, 3, padding="same"), layers.BatchNormalization(), layers.ReLU()])(inputs)
    outputs = keras.ops.add(x, layers.Conv2D(4, 1)(inputs))
    model = keras.Model(inputs, outputs)
    rebuilt = _verify(Remote(model), (8, 8, 3))
    assert rebuilt is not None and rebuilt.params == model.count_params()


def test_a_model_that_is_not_what_its_config_says_is_not_believed(reference_models):
    import keras  # noqa: PLC0415

    model, shape = reference_models["segmentation"]
    inputs = keras.Input(shape)
    trivial = keras.Model(inputs, keras.layers.Conv2D(3, 1, activation="softmax")(inputs))  # right shape, wrong model
    assert _verify(Remote(trivial, described=model), shape) is None


def test_custom_layers_and_lambdas_are_not_rebuilt():
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    class Doubled(layers.Layer):
        def call(self, x):
            return x * 2

    for layer in (Doubled(), layers.Lambda(lambda t: t * 2)):
        inputs = keras.Input((4, 4, 3))
        model = keras.Model(inputs, layer(inputs))
        assert _verify(Remote(model), (4, 4, 3)) is None


def _conv_config(filters=4, kernel_size=3, channels=3, side=8):
    import keras  # noqa: PLC0415

    inputs = keras.Input((side, side, channels))
    return model_config(keras.Model(inputs, keras.layers.Conv2D(filters, kernel_size)(inputs)))


def _layer_config(config, class_name):
    return next(layer for layer in config["config"]["layers"] if layer["class_name"] == class_name)


@pytest.mark.parametrize("change", ["module", "registered", "huge filters", "huge input", "not data", "lambda"])
def test_configs_outside_the_allowlist_or_the_caps_are_refused(change):
    config = _conv_config()
    conv = _layer_config(config, "Conv2D")
    if change == "module":
        conv["module"] = "os"
    elif change == "registered":
        conv["registered_name"] = "MyPackage>Conv2D"
    elif change == "huge filters":
        conv["config"]["filters"] = 10**6
    elif change == "huge input":
        _layer_config(config, "InputLayer")["config"]["batch_shape"] = [None, 10**5, 8, 3]
    elif change == "not data":
        conv["config"]["filters"] = object()
    else:
        conv["class_name"] = "Lambda"
    with pytest.raises(NotRebuilt):
        validate_config(config)


def _scaled(config, channels, filters, kernel_size):
    """A small model's config edited (never built here) to ``channels`` inputs and a larger Conv2D."""
    text = repr(config)
    text = text.replace("3]", f"{channels}]").replace("'filters': 4", f"'filters': {filters}")
    config = ast.literal_eval(text)
    _layer_config(config, "Conv2D")["config"]["kernel_size"] = [kernel_size, kernel_size]
    return config


def test_weights_beyond_the_budget_are_refused_before_they_exist():
    import resource  # noqa: PLC0415

    # 2048 filters of 11 x 11 x 1024: 250 million values (1 GB), refused at the first allocation
    config = _scaled(_conv_config(side=16), channels=1024, filters=2048, kernel_size=11)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(NotRebuilt, match="larger than the grader rebuilds"):
        rebuild(config, seed=0)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 4 * MAX_WEIGHT_VALUES // 1024 + 200_000
    assert rebuild(_conv_config(), seed=0).count_params() == 4 * 27 + 4  # the budget is per rebuild

"""cvlab_ch9.fastpaths equals the reference (solutions/interpretation.py) on tiny seeded models.

Identical weights (the same model objects, or a copy with folded
BatchNormalization), same inputs, outputs compared within float tolerance;
traces counted so that a new filter or class never retraces.
"""

import ast
import gc
import weakref

import numpy as np
import pytest

from cvlab_ch9.impl import load_lab
from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.quiet import import_tensorflow

import_tensorflow()
import keras  # noqa: E402
from keras import layers  # noqa: E402

from cvlab_ch9 import fastpaths  # noqa: E402


@pytest.fixture(scope="module")
def reference():
    return load_lab("interpretation", "solutions")


def _randomize_batch_norms(model, seed=0):
    """Give every BatchNormalization non-trivial statistics, so that folding them changes the kernels."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            shapes = [w.shape for w in layer.get_weights()]
            layer.set_weights([
                rng.uniform(0.5, 1.5, shapes[0]), rng.normal(0, 0.2, shapes[1]),
                rng.normal(0, 0.2, shapes[2]), rng.uniform(0.5, 1.5, shapes[3]),
            ])


def _body(seed=0):
    """Functional (None, None, 3) -> conv/BN/separable/depthwise stack with a residual add; BN stats random."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, 3))
    x = layers.Conv2D(6, 3, strides=2, use_bias=False, name="conv1")(inputs)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_act")(x)
    residual = layers.Conv2D(8, 1, padding="same", name="project")(x)
    x = layers.SeparableConv2D(8, 3, padding="same", use_bias=False, name="sep1")(x)
    x = layers.BatchNormalization(name="sep1_bn")(x)
    x = layers.Activation("relu", name="sep1_act")(x)
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="depthwise")(x)
    x = layers.BatchNormalization(name="depthwise_bn")(x)
    x = layers.Add(name="add")([layers.Conv2D(8, 1, name="squeeze")(x), residual])
    x = layers.Activation("relu", name="add_act")(x)
    x = layers.SeparableConv2D(5, 3, padding="same", activation="tanh", name="sep2")(x)
    x = layers.Conv2D(4, 3, activation="relu", name="conv2")(x)
    model = keras.Model(inputs, x, name="body")
    _randomize_batch_norms(model, seed)
    return model


def _extractor(body, layer_name):
    return keras.Model(body.inputs, body.get_layer(layer_name).output)


# -- BatchNormalization folding ----------------------------------------------------------


def test_folding_keeps_the_outputs_and_drops_the_batch_norms():
    body = _body()
    folded = fastpaths.fold_batch_norms(body)
    assert folded is not body
    kinds = [type(layer).__name__ for layer in folded.layers]
    assert "BatchNormalization" not in kinds and kinds.count("_FoldedBatchNorm") == 3
    image = np.random.default_rng(1).uniform(0, 1, (2, 20, 24, 3)).astype("float32")
    np.testing.assert_allclose(folded(image, training=False), body(image, training=False), atol=1e-5)


def test_a_convolution_with_two_consumers_is_not_folded():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((8, 8, 3))
    conv = layers.Conv2D(4, 3, name="conv")(inputs)
    outputs = layers.Add()([layers.BatchNormalization(name="bn")(conv), conv])
    model = keras.Model(inputs, outputs)
    assert fastpaths.fold_batch_norms(model) is model
    sequential_like = keras.Model(inputs, layers.Conv2D(2, 1)(inputs))
    assert fastpaths.fold_batch_norms(sequential_like) is sequential_like  # nothing to fold


# -- filter patterns ----------------------------------------------------------------------


def test_start_images_are_the_references_seeded_starts(reference):
    starts = fastpaths.start_images((6, 7), [3, 4])
    inputs = keras.Input((None, None, 3))
    identity = keras.Model(inputs, layers.Conv2D(1, 1)(inputs))
    for start, seed in zip(starts, (3, 4)):
        np.testing.assert_array_equal(start, reference.generate_filter_pattern(identity, 0, iterations=0, img_size=(6, 7), seed=seed))


@pytest.mark.parametrize(
    ("layer_name", "sliced", "folded"),
    [
        ("conv2", True, True),  # Conv2D with bias and relu
        ("sep2", True, True),  # SeparableConv2D with bias and tanh
        ("sep1", True, True),  # its BatchNormalization is outside the extractor: only conv1's is folded
        ("add_act", False, True),  # not a convolution: computed whole, gathered
    ],
)
def test_batched_patterns_equal_the_reference(reference, layer_name, sliced, folded):
    extractor = _extractor(_body(seed=2), layer_name)
    ascent = fastpaths.FilterAscent(extractor)
    assert (ascent.sliced, ascent.folded) == (sliced, folded)
    filters = [0, 3, 1]
    starts = fastpaths.start_images((20, 24), [10, 11, 12])
    got = ascent.patterns(filters, starts, iterations=4, learning_rate=2.0, batch_size=2)  # batches of 2 and 1
    expected = np.stack([
        reference.generate_filter_pattern(extractor, index, iterations=4, learning_rate=2.0, image=start)
        for index, start in zip(filters, starts)
    ])
    assert got.shape == (3, 20, 24, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=2e-4)
    for pattern, want in zip(got, expected):
        diff = np.abs(reference.deprocess_image(pattern, crop=2).astype(int) - reference.deprocess_image(want, crop=2))
        assert diff.max() <= 1
    assert ascent.step.experimental_get_tracing_count() == 1  # both batch sizes, every filter


def test_every_option_gives_the_same_patterns():
    extractor = _extractor(_body(seed=3), "sep2")
    starts = fastpaths.start_images((16, 16), [0, 1])
    results = [
        fastpaths.FilterAscent(extractor, slice_layer=slice_layer, fold_batch_norm=fold).patterns([2, 4], starts, iterations=3)
        for slice_layer in (False, True)
        for fold in (False, True)
    ]
    for result in results[1:]:
        np.testing.assert_allclose(result, results[0], atol=1e-4)


def test_filter_index_out_of_range_is_a_value_error():
    ascent = fastpaths.FilterAscent(_extractor(_body(), "conv2"))
    with pytest.raises(ValueError, match="filter_index 4 is out of range: the layer has 4 filters"):
        ascent.patterns([1, 4], fastpaths.start_images((16, 16), [0, 1]), iterations=1)


# -- Grad-CAM --------------------------------------------------------------------------------


def _branching_classifier(seed=4):
    """Conv body -> (GAP -> Dense) + (Flatten -> Dense) -> softmax over 3 classes."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 14, 3))
    x = layers.Conv2D(4, 3, activation="relu", name="conv_a")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    features = layers.Conv2D(5, 3, activation="relu", name="last_conv")(x)
    pooled = layers.Dense(3)(layers.GlobalAveragePooling2D()(features))
    flat = layers.Dense(3)(layers.Flatten()(features))
    return keras.Model(inputs, layers.Activation("softmax")(layers.Add()([pooled, flat])))


def test_grad_cam_equals_the_reference_and_traces_once(reference):
    model = _branching_classifier()
    image = np.random.default_rng(5).uniform(0, 1, (1, 12, 14, 3)).astype("float32")
    for class_index in (None, 0, 1, 2):
        expected = reference.grad_cam(model, image, "last_conv", class_index)
        np.testing.assert_allclose(fastpaths.grad_cam(model, image, "last_conv", class_index), expected, atol=1e-5)
    np.testing.assert_allclose(fastpaths.grad_cam(model, image[0], "last_conv"), reference.grad_cam(model, image, "last_conv"), atol=1e-5)
    cam = fastpaths._GRAD_CAMS[model]["last_conv"]
    assert cam.activation_and_grads.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match="class_index 3 is out of range"):
        fastpaths.grad_cam(model, image, "last_conv", 3)


def test_grad_cam_sequential_and_all_negative(reference):
    keras.utils.set_random_seed(6)
    model = keras.Sequential([
        keras.Input((10, 10, 3)), layers.Conv2D(3, 3, activation="relu", name="conv"),
        layers.GlobalAveragePooling2D(), layers.Dense(1, activation="sigmoid", name="score"),
    ])
    kernel, bias = model.get_layer("score").get_weights()
    image = np.random.default_rng(7).uniform(0, 1, (10, 10, 3)).astype("float32")
    positive = fastpaths.GradCam(model, "conv")(image)
    np.testing.assert_allclose(positive, reference.grad_cam(model, image, "conv"), atol=1e-5)
    model.get_layer("score").set_weights([-np.abs(kernel) - 0.1, bias])  # every channel speaks against the class
    negative = fastpaths.GradCam(model, "conv")(image, 0)
    assert negative.dtype == np.float32 and not negative.any()


def test_caches_do_not_keep_models_alive():
    model = _branching_classifier(seed=8)
    extractor = _extractor(_body(seed=9), "conv2")
    fastpaths.grad_cam(model, np.zeros((12, 14, 3), "float32"), "last_conv")
    fastpaths.filter_ascent(extractor).patterns([0], fastpaths.start_images((16, 16), [0]), iterations=1)
    cached = (model in fastpaths._GRAD_CAMS, extractor in fastpaths._ASCENTS)
    alive = (weakref.ref(model), weakref.ref(extractor))
    del model, extractor
    gc.collect()
    assert cached == (True, True)
    assert [ref() for ref in alive] == [None, None], "a cache holds a strong reference to its model"


def test_fastpaths_imports_nothing_from_solutions_or_grader():
    tree = ast.parse((REPO_ROOT / "cvlab_ch9" / "fastpaths.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    upper = ("solutions", "grader", "ui", "bench", "course", "cvlab_ch9.grader", "cvlab_ch9.ui")
    assert not {name for name in imported if name.split(".")[0] in upper or name.startswith(upper[-2:])}
    assert "load_lab" not in (REPO_ROOT / "cvlab_ch9" / "fastpaths.py").read_text()

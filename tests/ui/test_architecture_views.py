"""The Architecture tab's pictures called as event functions: graphs, a layer's output, separable costs, batch norm."""

import gradio as gr
import numpy as np
import pytest

from cvlab_ch9.impl import reference_lab
from cvlab_ch9.quiet import import_tensorflow
from cvlab_ch9.ui import architecture_graph, architecture_models, batchnorm, separable
from cvlab_ch9.ui.graph_view import DIFFERENCE
from cvlab_ch9.ui.reference import RecordedReference, RecordingReference, make_reference, using_reference
from tests.labs import solution_labs
from tests.ui.architecture_cases import NO_PROJECTION
from tests.ui.helpers import PHOTO, replace_function

RESIDUAL = architecture_models.RESIDUAL
#: A small residual network: 16x16 input, two blocks.
SMALL = (RESIDUAL, 16, "8, 12", 1, False)


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


@pytest.fixture(scope="module")
def no_projection(tmp_path_factory):
    """Finished labs whose residual_block pools its shortcut instead of the strided 1x1 projection."""
    labs = solution_labs(tmp_path_factory.mktemp("no-projection"))
    replace_function(labs, "architecture", "residual_block", NO_PROJECTION)
    replace_function(labs, "architecture", "separable_conv_params", '''
def separable_conv_params(in_channels, out_channels, kernel_size=3):
    return kernel_size * in_channels * out_channels, kernel_size * kernel_size * in_channels + in_channels * out_channels
''')
    replace_function(labs, "architecture", "conv_bn_relu", '''
def conv_bn_relu(x, filters, kernel_size=3):
    return layers.Conv2D(filters, kernel_size, padding="same", activation="relu")(x)
''')
    return labs


def test_graphs_of_equal_code_agree_and_a_click_picks_a_layer():
    student, reference, status, note, state, layers = architecture_graph.draw_graphs("solutions", *SMALL)
    # Input, Rescaling, two blocks of 5 and 4 layers, pooling and Dense: small, so every block is open
    assert student.count("data-layer=") == reference.count("data-layer=") == 13
    assert "✓ Same graph as the reference" in status and DIFFERENCE not in student and note == ""
    assert layers["choices"][0] == f"#0 {state['student']['nodes'][0][0]} (InputLayer)" and len(layers["choices"]) == 13
    closed_student, closed_reference, state, update = architecture_graph.toggle_block(state, gr.EventData(None, {"block": "block 1"}))
    assert state["expanded"] == ["block 2"] and closed_student.count("data-layer=") == 8 and "▸ block 1" in closed_reference
    *_, state, update = architecture_graph.toggle_block(state, gr.EventData(None, {"layer": 2}))
    assert state["selected"] == 2 and update["value"].startswith("#2 ")


def test_the_first_difference_is_marked_on_both_graphs(no_projection):
    student, reference, status, *_ = architecture_graph.draw_graphs(str(no_projection), *SMALL)
    assert DIFFERENCE in student and DIFFERENCE in reference and "≠ first difference" in reference
    assert "First difference at layer #4: yours is MaxPooling2D → 8×8×3" in status


def test_unwritten_code_says_what_to_write_and_the_reference_graph_stays(skeletons):
    student, reference, status, _, state, layers = architecture_graph.draw_graphs(str(skeletons), *SMALL)
    assert student == "" and "data-layer" in reference and "Not implemented yet: write residual_block()" in status
    assert state["student"] is None and len(layers["choices"]) == 13  # the reference's layers can still be picked


def test_a_layers_output_is_drawn_for_both_sides_alike(skeletons):
    args = (*SMALL, str(PHOTO), "#2 conv2d (Conv2D)")
    mine, caption, theirs, reference_caption = architecture_graph.layer_output("solutions", *args)
    assert mine.dtype == np.uint8 and mine.shape == theirs.shape and "16×16×8, first 8 channels" in caption
    np.testing.assert_array_equal(mine, theirs)  # equal code, seeded alike: the same picture
    assert "untrained" in reference_caption
    mine, caption, theirs, _ = architecture_graph.layer_output(str(skeletons), *args)
    assert mine is None and "write residual_block()" in caption and theirs is not None
    assert architecture_graph.layer_output("solutions", *SMALL, str(PHOTO), None)[0] is None  # nothing picked yet


def test_the_segmentation_model_at_the_demo_settings_carries_the_trained_weights():
    settings = architecture_models.settings_for_choice(architecture_models.SEGMENTATION)
    assert settings == (64, "16, 32, 64", 3, False)
    _, _, status, _, state, layers = architecture_graph.draw_graphs("solutions", architecture_models.SEGMENTATION, *settings)
    assert "Same graph" in status and len(layers["choices"]) == 15
    mine, caption, theirs, _ = architecture_graph.layer_output(
        "solutions", architecture_models.SEGMENTATION, *settings, str(PHOTO), layers["choices"][2])
    assert "trained weights" in caption and mine is not None and theirs is not None


def test_separable_costs_label_the_formula_and_catch_a_wrong_count(no_projection, skeletons):
    picture, status, reference, _ = separable.separable_costs("solutions", 64, 64, 3)
    assert "k·k·in·out = 3·3·64·64 = <b>36,864</b> ✓" in picture and "576 depthwise" in picture
    assert "4,096 pointwise" in picture and "7.9× fewer parameters" in picture and picture == reference
    picture, *_ = separable.separable_costs(str(no_projection), 32, 16, 5)
    assert "<b>2,560</b> ✗ the formula gives 12,800" in picture
    assert "Not implemented yet: write separable_conv_params()" in separable.separable_costs(str(skeletons), 8, 8, 3)[1]
    with pytest.raises(gr.Error, match="Kernel size must be a whole number from 1 to 9"):
        separable.separable_costs("solutions", 8, 8, 11)


@pytest.mark.slow
def test_the_mini_xception_next_to_its_conv2d_only_copy():
    import keras  # noqa: PLC0415 - after import_tensorflow() (quiet logs)

    inputs = keras.Input((8, 8, 4))
    model = keras.Model(inputs, keras.layers.SeparableConv2D(6, 3, use_bias=False)(inputs))
    copy = separable.conv2d_only(model)
    assert [type(layer).__name__ for layer in copy.layers] == ["InputLayer", "Conv2D"] and copy.count_params() == 3 * 3 * 4 * 6
    student, status, reference, _ = separable.mini_xception_costs("solutions")
    assert "<b>721,857</b> parameters" in student and student == reference and "as many with plain convolutions" in student


def test_batch_normalization_in_training_mode_normalizes_and_a_fresh_layer_in_inference_mode_does_not(no_projection):
    batch = batchnorm.image_batch(str(PHOTO), batchnorm.THE_IMAGE)
    assert batch.shape == (1, batchnorm.SIDE, batchnorm.SIDE, 3)
    before, inference, training = batchnorm.conv_bn_relu_values(reference_lab("architecture"), batch)
    np.testing.assert_allclose(inference, before, atol=1e-2)  # moving mean 0, variance 1
    np.testing.assert_allclose(training.mean(axis=(0, 1, 2)), 0, atol=1e-3)
    # std x / sqrt(var + epsilon): the layer's epsilon (1e-3) weighs on channels whose variance is small
    np.testing.assert_allclose(training.std(axis=(0, 1, 2)), 1, atol=0.1)
    assert abs(float(before.std()) - 1) > 0.5  # not normalized before
    picture, status, reference, _ = batchnorm.batchnorm_histograms("solutions", str(PHOTO))
    assert picture.shape == reference.shape and picture.dtype == np.uint8 and "training mode" in status
    _, status, reference, _ = batchnorm.batchnorm_histograms(str(no_projection), str(PHOTO))
    assert "has no BatchNormalization layer" in status and reference is not None


def test_the_kit_shows_the_recorded_graph_for_the_chapters_settings(tmp_path, skeletons):
    settings = architecture_models.settings_for_choice(architecture_models.CONV_BN_RELU)
    with using_reference(RecordingReference(make_reference("live"))) as recorder:
        architecture_graph.draw_graphs(str(skeletons), architecture_models.CONV_BN_RELU, *settings)
    recorder.gallery.save(tmp_path / "gallery.rec")
    with using_reference(RecordedReference(tmp_path / "gallery.rec")):
        student, reference, status, note, *_ = architecture_graph.draw_graphs("solutions", architecture_models.CONV_BN_RELU, *settings)
        assert reference.count("data-layer=") == 4 and "Same graph" in status
        _, reference, _, note, *_ = architecture_graph.draw_graphs("solutions", architecture_models.CONV_BN_RELU, 24, "8", 1, False)
        assert reference == "" and "recorded for the chapter's settings" in note
        *_, theirs, reference_caption = architecture_graph.layer_output(
            "solutions", architecture_models.CONV_BN_RELU, *settings, str(PHOTO), "#1 conv2d (Conv2D)")
        assert theirs is None and "computed live from solutions/" in reference_caption


@pytest.mark.slow
def test_the_imagenet_xception_is_offered_for_download_then_drawn_with_its_blocks_closed(tmp_path, monkeypatch, imagenet_stand_ins):
    from cvlab_ch9.download import MIRROR_ENV  # noqa: PLC0415 - only this test downloads
    from cvlab_ch9.ui import resources, tabs_architecture  # noqa: PLC0415
    from tests.http_server import LoopbackServer  # noqa: PLC0415
    from tests.imagenet_stand_ins import serve_stand_ins, use_stand_in_hashes  # noqa: PLC0415

    imagenet = architecture_models.IMAGENET
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    resources._load_imagenet.cache_clear()
    try:
        assert tabs_architecture.download_status(imagenet)["visible"] is True
        with pytest.raises(gr.Error, match="not downloaded yet"):
            architecture_graph.draw_graphs("solutions", imagenet, *architecture_models.settings_for_choice(imagenet))
        use_stand_in_hashes(monkeypatch, imagenet_stand_ins)
        with LoopbackServer() as server:
            serve_stand_ins(server, imagenet_stand_ins)
            monkeypatch.setenv(MIRROR_ENV, server.url)
            assert tabs_architecture.download_imagenet_model(lambda *a, **k: None)["visible"] is False
        settings = architecture_models.settings_for_choice(imagenet)
        student, reference, status, _, state, layers = architecture_graph.draw_graphs("solutions", imagenet, *settings)
        assert student == "" and "no exercise builds it" in status and len(layers["choices"]) == 134
        # 132 layers and the input stay readable: blocks 2 to 13 closed, entry and exit flows open
        assert reference.count('data-block="block') == 12 and reference.count("data-layer=") == 15
        assert sum(len(members) for _, members, _ in state["reference"]["blocks"]) == 134 - 15
        _, _, picture, caption = architecture_graph.layer_output("solutions", imagenet, *settings, str(PHOTO), layers["choices"][1])
        assert picture is not None and "block1_conv1 (Conv2D) → 149×149×32" in caption
    finally:
        resources._load_imagenet.cache_clear()

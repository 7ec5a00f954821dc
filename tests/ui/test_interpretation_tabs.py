"""The interpretation tabs' handlers on the demo models: classes side by side, the explorer, filters with context, hygiene.

Typical mistakes are written into a copy of the solutions (tests/labs.py)
and must show in the pictures and in words, not only in a number.
"""

import gradio as gr
import numpy as np
import pytest

from cvlab_ch9.quiet import import_tensorflow
from cvlab_ch9.ui import classifiers, explorer, pictures, tabs_activations, tabs_filters, tabs_gradcam
from cvlab_ch9.ui.common import user_error
from cvlab_ch9.ui.config import EXAMPLES_DIR
from cvlab_ch9.ui.layout import upload_problem
from cvlab_ch9.ui.reference import RecordedReference, using_reference
from tests.labs import solution_labs
from tests.ui.helpers import photo, replace_function

MODEL = "convnet"
XCEPTION = "mini_xception"
CAT = str(EXAMPLES_DIR / "pet_cat_bengal.jpg")

@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


@pytest.fixture(scope="module")
def image():
    return photo()


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory):
    """{catalogue id: labs folder} of the solutions with one typical mistake of tools.mistakes each."""
    from tools.mistakes.catalogue import entry_by_id, module_text  # noqa: PLC0415 - the catalogue of typical mistakes

    folders = {}
    for entry_id in ("gc_no_relu", "gc_no_gradient_weights", "gc_weights_wrong_axes"):
        labs = solution_labs(tmp_path_factory.mktemp(entry_id))
        (labs / "interpretation.py").write_text(module_text(entry_by_id(entry_id)), encoding="utf-8")
        folders[entry_id] = labs
    return folders


# -- Grad-CAM ---------------------------------------------------------------------------------


def test_both_classes_of_a_demo_model_side_by_side_with_their_probabilities(image):
    student, status, reference, differences, predictions, note, _ = tabs_gradcam.run_grad_cam("solutions", MODEL, image, "", [])
    names = [caption.split(" — ")[0] for _, caption in student[:2]]
    assert sorted(names) == ["cat", "dog"] and names[0] == max(predictions, key=predictions.get), "most likely first"
    for (_, caption), name in zip(student[:2], names):
        assert caption == f"{name} — {100 * predictions[name]:.1f}%"
    assert [c for _, c in student] == [c for _, c in reference]
    assert [c for _, c in student[2:]] == [f"{n} heatmap 6x6" for n in names]
    assert len(differences) == 2 and all("yours − reference" in c for _, c in differences)
    for picture, _ in differences:  # a correct grad_cam: white over the faded photo, gray levels only, no colour
        assert np.ptp(picture.astype(int), axis=-1).max() <= 2
    assert "max difference from the reference: " in status and "⚠" not in status
    assert "classes compared: " in note


def test_classes_can_be_picked_and_unknown_ones_are_a_sentence(image):
    student, *_ = tabs_gradcam.run_grad_cam("solutions", MODEL, image, "", ["dog"])
    assert [c.split(" — ")[0] for _, c in student] == ["dog", "dog heatmap 6x6"]
    with pytest.raises(gr.Error, match="Unknown class 'zebra' for this model; choose from: cat, dog"):
        tabs_gradcam.run_grad_cam("solutions", MODEL, image, "", ["zebra"])
    info = {"class_names": [f"c{i}" for i in range(9)]}
    probabilities = np.linspace(0.1, 0.9, 9)
    assert tabs_gradcam.compared_classes([], info, probabilities) == [8, 7, 6], "the top 3 of a many-class model"
    assert tabs_gradcam.compared_classes(classifiers.TOP_CLASS, info, probabilities) == [8, 7, 6]
    assert tabs_gradcam.compared_classes("c2", info, probabilities) == [2]
    assert tabs_gradcam.compared_classes([], info, np.array([0.7])) == [None], "one sigmoid unit"
    with pytest.raises(gr.Error, match="at most 4 classes"):
        tabs_gradcam.compared_classes([f"c{i}" for i in range(5)], info, probabilities)


def test_a_missing_relu_shows_in_the_difference_and_in_words(mistakes, image):
    # on a pet the unexplained class's map is negative everywhere, tiny and undivided: said in words
    _, status, *_ = tabs_gradcam.run_grad_cam(str(mistakes["gc_no_relu"]), MODEL, CAT, "", [])
    assert "dog: grad_cam() returned values below 0" in status and "in 36 of 36 places" in status, status
    # on the photo both classes have negative evidence: words and colour
    student, status, _, differences, *_ = tabs_gradcam.run_grad_cam(str(mistakes["gc_no_relu"]), MODEL, image, "", [])
    assert "keeps only the evidence *for* the class (a ReLU before dividing by the max)" in status, status
    # the picture: the difference is not white (0) everywhere
    ranges = [c.split("reference, ")[1] for _, c in differences]
    assert any(r != "0 … 0" for r in ranges), ranges
    colourful = max(np.ptp(picture.astype(int), axis=-1).max() for picture, _ in differences)
    assert colourful > 60, "red or blue cells in a difference picture"
    assert len(student) == 4, "the student's pictures are still drawn"


def largest_difference(status):
    return float(status.split("max difference from the reference: ")[1].split(")")[0])


def test_channels_not_weighted_by_their_gradients_show_in_the_difference(mistakes, image):
    _, status, _, differences, *_ = tabs_gradcam.run_grad_cam(str(mistakes["gc_no_gradient_weights"]), MODEL, image, "", [])
    assert largest_difference(status) > 0.05, status
    assert max(np.ptp(picture.astype(int), axis=-1).max() for picture, _ in differences) > 60


def test_gradients_pooled_over_batch_and_height_only_equal_the_reference_on_a_pooling_head(mistakes, image):
    """The demo models end in global average pooling: d score / d activation is the same at every position, so
    weights per (column, channel) equal the weights per channel and the heatmap is right (the grader's probe on a
    branching head catches this mistake); the page must not invent a difference."""
    _, status, _, differences, *_ = tabs_gradcam.run_grad_cam(str(mistakes["gc_weights_wrong_axes"]), MODEL, image, "", [])
    assert largest_difference(status) < 1e-5 and "⚠" not in status


def test_in_the_kit_an_own_photo_gets_no_pointer_to_a_reference(skeletons, image, tmp_path):
    with using_reference(RecordedReference(tmp_path / "none.rec")):
        _, status, reference, differences, *_ = tabs_gradcam.run_grad_cam(str(skeletons), MODEL, image, "", [])
        activations = tabs_activations.run_activations(str(skeletons), MODEL, image, [], 8)
        filters = list(tabs_filters.run_filters(str(skeletons), MODEL, "conv3", 1, 5, True))[-1]
    assert reference == [] and differences == []
    assert "Not implemented yet: write grad_cam()" in status and "reference" not in status
    assert "Not implemented yet: write extract_activations()" in activations[1] and "reference" not in activations[1]
    assert "Not implemented yet: write generate_filter_pattern()" in filters[1] and "reference" not in filters[1]


# -- activations ------------------------------------------------------------------------------


def test_batch_norm_activation_and_add_layers_are_explored_when_asked_for(image):
    layers = ["batch_normalization", "activation", "add"]
    student, status, reference, _, _, plot, explored, layer = tabs_activations.run_activations("solutions", XCEPTION, image, layers, 8)
    assert [c.split(" — ")[0] for _, c in student] == layers == [c.split(" — ")[0] for _, c in reference]
    assert "3 layers" in status and "⚠" not in status
    assert explored.layers == layers and layer["value"] == "batch_normalization"
    assert set(classifiers.layer_choices(XCEPTION)["explorable_layers"]) >= set(layers)
    assert plot.ndim == 3


def test_the_chapters_observations_show_in_the_stats(image):
    *_, explored, _ = tabs_activations.run_activations("solutions", MODEL, CAT, [], 8)
    yours, reference = explored.stats["yours"], explored.stats["reference"]
    assert list(yours) == explored.layers == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "conv4", "pool4", "conv5"]
    for name in yours:
        assert yours[name] == pytest.approx(reference[name], abs=1e-6)
    assert yours["conv1"][1] > 2 * yours["conv5"][1], "the first layer keeps more of the fine detail"
    assert yours["conv5"][0] > yours["conv1"][0], "more blank channels deeper down"


def test_the_explorer_numbers_channels_and_shows_the_clicked_one(image):
    *_, explored, layer = tabs_activations.run_activations("solutions", MODEL, image, [], 8)
    grid, ref_grid, text, channel, tile, through, ref_tile, ref_through, channel_text = tabs_activations.open_layer(explored, "conv2")
    assert grid.shape == ref_grid.shape and "**conv2** — yours: 48×48×32" in text
    assert channel == explorer.most_active_channel(explored.student, "conv2")
    assert tile.shape == through.shape == explored.picture.shape and ref_tile.shape == tile.shape
    assert f"**conv2, channel {channel}**" in channel_text
    # a click on channel 11's tile (row 1, column 3 of 8 per row) picks channel 11 on either side
    layout = explored.student.layouts["conv2"]
    scale = pictures.tile_scale(layout)
    top, left = layout.origin(11)
    x, y = (left + 3) * scale, pictures.LABEL_BAND + (top + 3) * scale
    assert explorer.clicked_channel(explored, "conv2", "student", x, y) == 11
    assert explorer.clicked_channel(explored, "conv2", "reference", x, y) == 11
    gutter = pictures.LABEL_BAND + (layout.h * scale) + scale // 2
    assert explorer.clicked_channel(explored, "conv2", "student", x, gutter) is None
    tile, through, ref_tile, ref_through, channel_text = tabs_activations.open_channel(explored, "conv2", 11)
    expected = pictures.tile(explored.student.grids["conv2"], layout, 11)
    np.testing.assert_array_equal(tile[:: tile.shape[0] // 48 + 1][:1, :1, 0], expected[:1, :1])
    assert "channel 11" in channel_text
    assert tabs_activations.open_layer(None, "conv2")[0] is None, "nothing computed yet"


def test_a_grid_outside_its_contract_and_missing_layers_are_said(tmp_path, image):
    labs = solution_labs(tmp_path)
    replace_function(labs, "interpretation", "activation_grid", '''
def activation_grid(activation, images_per_row=16):
    return np.asarray(activation[:, :, 0], dtype="float64") * 1000
''')
    replace_function(labs, "interpretation", "extract_activations", '''
_reference_extract = extract_activations


def extract_activations(model, image, layer_names=None):
    activations = _reference_extract(model, image, layer_names)
    activations.pop("pool4", None)
    return activations
''')
    student, status, reference, *_ = tabs_activations.run_activations(str(labs), MODEL, image, [], 8)
    assert "extract_activations() left out pool4." in status
    assert "conv1: activation_grid() returned a grid of shape (96, 96); the contract gives (193, 775)." in status
    assert "float64 values" in status and "drawn clipped to 0..255" in status
    assert len(student) == 8 and len(reference) == 9, "what the student's code gave is still shown"


# -- filters ------------------------------------------------------------------------------------


def test_default_filter_layers_and_ascent_settings_give_readable_patterns():
    assert classifiers.layer_choices(MODEL)["filter_default"] == "conv4"
    assert classifiers.layer_choices(XCEPTION)["filter_default"] == "separable_conv2d_4"
    info = classifiers.model_info(MODEL)
    assert classifiers.ascent_settings(info) == (255.0, 612.0)
    assert classifiers.ascent_settings({"input_size": (200, 200), "preprocess": "xception"}) == (1.0, 10.0), "the book's"
    # the extractor reads conv4 before its ReLU: every filter has a gradient on the gray start, so every one moves
    extractor = classifiers.feature_extractor(MODEL, "conv4")
    assert extractor.layers[-1].activation.__name__ == "linear"
    starts = np.stack([tabs_filters.ascent_start(info["input_size"], i, 255.0) for i in range(3)])
    from cvlab_ch9.fastpaths import filter_ascent  # noqa: PLC0415 - the instructor's fast path

    patterns = filter_ascent(extractor).patterns(range(3), starts, iterations=30, learning_rate=612.0)
    before = np.asarray(extractor(starts))[:, 2:-2, 2:-2].mean(axis=(1, 2))[np.arange(3), np.arange(3)]
    after = np.asarray(extractor(patterns))[:, 2:-2, 2:-2].mean(axis=(1, 2))[np.arange(3), np.arange(3)]
    assert (after > before).all() and (after - before).mean() > 0.5, (before, after)


def test_snapshots_continue_the_same_ascent():
    assert tabs_filters.snapshot_steps(30) == [0, 3, 10, 30] and tabs_filters.snapshot_steps(5) == [0, 1, 2, 5]
    steps = list(tabs_filters.run_filters("solutions", MODEL, "conv3", 1, 10, True))
    student, status, reference, _, patches, words = steps[-1]
    np.testing.assert_allclose(student, reference, atol=2)
    assert "learning rate 612" in status and words.startswith("filter 0: ")


def test_patches_are_cut_to_the_receptive_field_from_the_example_images(image):
    from cvlab_ch9.ui.patches import Field, receptive_field, top_patches  # noqa: PLC0415

    model = classifiers.load_model(MODEL)
    # 3x3 convolutions and 2x2 pools: conv1 sees 3 pixels, conv4 38 (jump 8), conv5 78 (jump 16)
    assert receptive_field(model, "conv1") == Field(3, 1)
    assert (receptive_field(model, "conv4").size, receptive_field(model, "conv4").jump) == (38, 8)
    assert receptive_field(model, "conv5").size == 78
    xception = classifiers.load_model(XCEPTION)
    assert receptive_field(xception, "add").size >= receptive_field(xception, "separable_conv2d_1").size
    responses = np.zeros((2, 6, 6, 2))
    responses[1, 4, 1, 0] = 5.0  # filter 0 fires in the second image, bottom left
    responses[0, 0, 5, 1] = 2.0
    pictures_ = [np.zeros((60, 60, 3), "uint8"), np.zeros((120, 60, 3), "uint8")]
    pictures_[1][80:100, 0:20] = 255
    found = top_patches(responses, pictures_, ["a", "b"], receptive_field(model, "conv4"), (96, 96), [0, 1], count=2)
    best = found[0][0]
    assert best.name == "b" and best.value == 5.0 and best.picture.shape == (96, 96, 3)
    assert best.picture.mean() > 40, "the white corner is inside the patch"
    assert found[1][0].name == "a"
    _, _, _, _, patches, words = list(tabs_filters.run_filters("solutions", MODEL, "conv4", 2, 5, False, image))[-1]
    assert patches.ndim == 3 and words.count("filter ") == 2
    assert "your image" in words or "off (below 0)" in words


# -- page hygiene ---------------------------------------------------------------------------------


def test_an_unreadable_upload_is_refused_at_once_with_the_projects_sentence(tmp_path):
    svg = tmp_path / "drawing.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>')
    cleared, warning = upload_problem(str(svg))
    assert cleared is None and warning.startswith("⚠ drawing.svg") and "SVG" in warning
    kept, warning = upload_problem(CAT)
    assert kept == gr.update() and warning == ""
    assert upload_problem(None) == (gr.update(), gr.update())


def test_errors_stay_until_closed():
    assert user_error("x").duration is None

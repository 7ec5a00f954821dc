"""UI event functions called directly: results, bad input, unfinished and broken student code, hot reload."""

import gradio as gr
import numpy as np
import pytest

from cvlab_ch9.models import DEMO_MODELS, load_demo_model
from cvlab_ch9.quiet import import_tensorflow
from cvlab_ch9.ui import (
    classifiers,
    pictures,
    resources,
    tabs_activations,
    tabs_architecture,
    tabs_filters,
    tabs_gradcam,
    tabs_grade,
    tabs_segmentation,
)
from cvlab_ch9.ui.__main__ import parse_args
from cvlab_ch9.ui.common import resolve_labs_dir
from cvlab_ch9.ui.images import load_input_image
from tests.labs import skeleton_labs, solution_labs
from tests.ui.architecture_cases import NO_PROJECTION
from tests.ui.helpers import PHOTO, browser_decision, photo, reference_difference, replace_function

MODEL = "convnet"
XCEPTION = "mini_xception"
TOP = classifiers.TOP_CLASS


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


@pytest.fixture(scope="module")
def image():
    return photo()


def test_models_and_demo_files_are_present():
    assert {MODEL, XCEPTION} <= set(DEMO_MODELS)
    assert tabs_segmentation.segmentation_config()["num_classes"] == 3


# -- the labs directory --------------------------------------------------------------


def test_labs_dir_accepts_names_and_paths(tmp_path):
    assert resolve_labs_dir("") == "labs"
    assert resolve_labs_dir("solutions/") == "solutions"
    labs = skeleton_labs(tmp_path / "mine")
    assert resolve_labs_dir(str(labs)) == labs
    with pytest.raises(gr.Error, match="does not exist"):
        resolve_labs_dir(str(tmp_path / "nope"))


# -- bad input -------------------------------------------------------------------------


def test_no_image_gets_a_message():
    with pytest.raises(gr.Error, match="No image yet"):
        tabs_gradcam.run_grad_cam("solutions", MODEL, None, "", TOP)
    with pytest.raises(gr.Error, match="No image yet"):
        tabs_segmentation.run_segmentation("solutions", None)
    with pytest.raises(gr.Error, match="No image yet"):
        tabs_activations.run_activations("solutions", MODEL, None, [], 8)


@pytest.mark.parametrize(
    "make",
    [
        lambda img: img.mean(axis=-1).astype("uint8"),  # grayscale (H, W)
        lambda img: img[..., :1],  # (H, W, 1)
        lambda img: np.concatenate([img, np.full(img.shape[:2] + (1,), 255, "uint8")], axis=-1),  # RGBA
        lambda img: img.astype("float32") / 255.0,  # float in [0, 1]
    ],
    ids=["gray", "one-channel", "rgba", "float"],
)
def test_grayscale_rgba_and_float_images_work(make, image):
    outputs = tabs_gradcam.run_grad_cam("solutions", MODEL, make(image), "", TOP)
    student, status, reference, differences, predictions, _, _ = outputs
    student_overlay, ref_overlay = student[0][0], reference[0][0]
    assert student_overlay.dtype == np.uint8 and student_overlay.shape[-1] == 3
    assert ref_overlay.shape == student_overlay.shape and len(differences) == 2
    assert reference_difference(status) < 1e-5
    # the convnet has two classes: both are listed and their probabilities sum to 1
    assert set(predictions) == {"cat", "dog"}
    assert sum(predictions.values()) == pytest.approx(1.0, abs=1e-3)


def test_tiny_image_is_refused():
    with pytest.raises(gr.Error, match="only 1x1 pixels"):
        tabs_gradcam.run_grad_cam("solutions", MODEL, np.zeros((1, 1, 3), "uint8"), "", TOP)


def test_huge_image_is_downscaled_with_a_note():
    huge = np.zeros((6000, 6000, 3), "uint8")
    huge[1000:5000, 2000:4000] = 200
    picture, note = load_input_image(huge)
    assert max(picture.shape[:2]) == 1024 and "Downscaled from 6000x6000" in note
    outputs = tabs_segmentation.run_segmentation("solutions", huge)
    assert "Downscaled from 6000x6000" in outputs[3]
    assert outputs[2][0].shape == (512, 512, 3)


def test_non_image_file_is_refused(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture")
    with pytest.raises(gr.Error, match="notes.jpg is not a picture this lab can read"):
        tabs_gradcam.run_grad_cam("solutions", MODEL, str(text), "", TOP)


def test_an_image_file_path_works():
    student, status, reference, *_ = tabs_gradcam.run_grad_cam("solutions", MODEL, str(PHOTO), "", TOP)
    expected_shape = load_input_image(str(PHOTO), max_side=512)[0].shape
    assert student[0][0].shape == reference[0][0].shape == expected_shape
    assert reference_difference(status) < 1e-5


def test_unknown_layer_names_are_refused(image):
    with pytest.raises(gr.Error, match="no layer named 'nope'"):
        tabs_gradcam.run_grad_cam("solutions", MODEL, image, "nope", TOP)
    with pytest.raises(gr.Error, match="no layer named 'nope' with a 4-D output"):
        tabs_activations.run_activations("solutions", MODEL, image, ["nope"], 8)
    with pytest.raises(gr.Error, match="no convolution layer named 'nope'"):
        list(tabs_filters.run_filters("solutions", MODEL, "nope", 2, 5))


def test_unknown_class_and_model_are_refused(image):
    with pytest.raises(gr.Error, match="Unknown class 'zebra'"):
        tabs_gradcam.run_grad_cam("solutions", MODEL, image, "", "zebra")
    with pytest.raises(gr.Error, match="Unknown model"):
        tabs_gradcam.run_grad_cam("solutions", "resnet9000", image, "", TOP)


# -- the reference always works, unfinished labs get a pointer -------------------------


def test_grad_cam_not_implemented_shows_reference(skeletons, image):
    student, status, reference, differences, predictions, _, _ = tabs_gradcam.run_grad_cam(
        str(skeletons), XCEPTION, image, "", TOP
    )
    assert student == [] and differences == []
    assert "Not implemented yet: write grad_cam() in" in status
    assert "interpretation.py. The reference result is shown on the right." in status
    # the 512x600 photo is shown downscaled to at most 512 pixels on its long side; both classes, overlays then heatmaps
    assert len(reference) == 4
    assert reference[0][0].shape == load_input_image(image, max_side=512)[0].shape
    assert reference[2][0].dtype == np.uint8 and predictions


def test_activations_for_solutions_and_skeleton(skeletons, image):
    student, status, reference, *_ = tabs_activations.run_activations("solutions", XCEPTION, image, [], 8)
    layers = classifiers.layer_choices(XCEPTION)["activation_layers"]
    assert len(student) == len(reference) == len(layers)
    assert all(grid.dtype == np.uint8 and grid.ndim == 2 for grid, _ in student)
    assert student[0][1].startswith(layers[0])
    student, status, reference, *_ = tabs_activations.run_activations(str(skeletons), XCEPTION, image, layers[:2], 8)
    assert student == [] and "Not implemented yet: write extract_activations()" in status
    assert len(reference) == 2


def test_activation_grid_not_implemented_names_it(tmp_path, image):
    labs = solution_labs(tmp_path)
    replace_function(labs, "interpretation", "activation_grid", '''
def activation_grid(activation, images_per_row=16):
    raise NotImplementedError("interpretation.activation_grid")
''')
    student, status, reference, *_ = tabs_activations.run_activations(str(labs), MODEL, image, [], 8)
    assert student == [] and reference
    assert "Not implemented yet: write activation_grid()" in status


def test_filters_for_solutions_and_skeleton(skeletons):
    layer = classifiers.layer_choices(MODEL)["filter_default"]
    steps = list(tabs_filters.run_filters("solutions", MODEL, layer, 2, 5, True))
    student, status, reference, _, patches, words = steps[-1]
    assert len(steps) == 2 and "2 of 2 patterns" in status and words.count("filter ") == 2
    # one row per filter (the snapshots: steps 0, 1, 2, 5), the same on both sides
    assert student.dtype == np.uint8 and student.ndim == 3 and student.shape == reference.shape
    assert student.shape[0] > steps[0][0].shape[0], "the second filter's row was added"
    np.testing.assert_allclose(student, reference, atol=2)
    student, status, reference, _, patches, _ = list(tabs_filters.run_filters(str(skeletons), MODEL, layer, 2, 5, True))[-1]
    assert student is None and "Not implemented yet: write generate_filter_pattern()" in status
    assert reference is not None and patches.shape[0] > 2 * pictures.STRIP_HEIGHT, "the reference's pattern beside the patches"


def test_architecture_for_solutions_and_skeleton(skeletons):
    for choice in tabs_architecture.EXERCISE_CHOICES:
        settings = tabs_architecture.settings_for_choice(choice)
        summary, status, rows = tabs_architecture.compare_architectures("solutions", choice, *settings)
        assert "Same layers" in summary and rows and all(row[4] == "✓" for row in rows)
        assert all(row[2] == row[6] and row[3] == row[7] for row in rows)
        summary, status, rows = tabs_architecture.compare_architectures(str(skeletons), choice, *settings)
        assert rows and all(row[1] == "" and row[5] for row in rows) and "Not implemented yet: write" in status
    with pytest.raises(gr.Error, match="Block filters"):
        tabs_architecture.compare_architectures("solutions", tabs_architecture.RESIDUAL, 32, "a, b", 1, False)


def test_architecture_names_the_difference(tmp_path):
    labs = solution_labs(tmp_path)
    replace_function(labs, "architecture", "residual_block", NO_PROJECTION)
    summary, _, rows = tabs_architecture.compare_architectures(str(labs), tabs_architecture.RESIDUAL, 32, "32, 64, 128", 1, False)
    assert "**Only in yours:** MaxPooling2D → (None, 16, 16, 3), 0 params" in summary
    assert "Layers — yours: 20, reference: 18" in summary
    assert len(rows) == 20 and any(row[4] == "✗" for row in rows) and rows[-1][5] == ""


# -- student exceptions and hot reload --------------------------------------------------


def test_student_exception_is_shown_not_raised(tmp_path, image):
    labs = solution_labs(tmp_path)
    replace_function(labs, "interpretation", "grad_cam", '''
def grad_cam(model, image, last_conv_layer_name, class_index=None):
    weights = {"conv": 1}
    return weights[last_conv_layer_name]
''')
    student, status, reference, *_ = tabs_gradcam.run_grad_cam(str(labs), MODEL, image, "", TOP)
    assert student == [] and reference
    assert "Your grad_cam() raised KeyError" in status
    assert "interpretation.py, line" in status and "weights[last_conv_layer_name]" in status


def test_student_nan_heatmap_is_explained(tmp_path, image):
    labs = solution_labs(tmp_path)
    replace_function(labs, "interpretation", "grad_cam", '''
def grad_cam(model, image, last_conv_layer_name, class_index=None):
    return np.zeros((4, 4), "float32") / np.zeros((4, 4), "float32")
''')
    status = tabs_gradcam.run_grad_cam(str(labs), MODEL, image, "", TOP)[1]
    assert "returned NaN in 16 of 16 values (drawn gray)" in status and "divide by the max only when it is > 0" in status


def test_syntax_error_in_student_module_is_shown(tmp_path, image):
    labs = solution_labs(tmp_path)
    (labs / "interpretation.py").write_text("def grad_cam(:\n")
    status = tabs_gradcam.run_grad_cam(str(labs), MODEL, image, "", TOP)[1]
    assert "syntax error on line 1" in status


def test_hot_reload_uses_the_new_code_on_the_next_click(tmp_path, image):
    labs = solution_labs(tmp_path)
    replace_function(labs, "interpretation", "grad_cam", '''
def grad_cam(model, image, last_conv_layer_name, class_index=None):
    return np.ones((3, 3), "float32")
''')
    first = tabs_gradcam.run_grad_cam(str(labs), MODEL, image, "", TOP)[1]
    replace_function(labs, "interpretation", "grad_cam", '''
def grad_cam(model, image, last_conv_layer_name, class_index=None):
    return np.ones((7, 5), "float32") * 0.5
''')
    second = tabs_gradcam.run_grad_cam(str(labs), MODEL, image, "", TOP)[1]
    assert "gave 3x3 heatmaps" in first
    assert "gave 7x5 heatmaps" in second


# -- segmentation -------------------------------------------------------------------------


def test_segmentation_with_demo_weights(skeletons, image):
    student, status, reference, note = tabs_segmentation.run_segmentation("solutions", image)
    assert "100.0% of pixels agree" in status
    picture, masks = reference
    assert [label for _, label in masks] == ["pet", "contour"]
    assert masks[0][0].shape == picture.shape[:2]
    student, status, reference, _ = tabs_segmentation.run_segmentation(str(skeletons), image)
    assert student is None and reference is not None
    assert "Not implemented yet: write build_segmentation_model()" in status


def test_segmentation_structure_mismatch_says_why(tmp_path, image):
    labs = solution_labs(tmp_path)
    replace_function(labs, "segmentation", "strided_downsampling", '''
def strided_downsampling(x, filters=(64, 128, 256)):
    for f in filters:
        x = layers.Conv2D(f, 3, activation="relu", padding="same")(x)
        x = layers.MaxPooling2D(2)(x)
    return x
''')
    student, status, reference, _ = tabs_segmentation.run_segmentation(str(labs), image)
    assert student is None and reference is not None
    assert "The demo weights do not fit your build_segmentation_model()" in status


# -- grade -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_grade_tab_grades_the_skeleton(skeletons):
    summary, rows = list(tabs_grade.grade_labs(str(skeletons), "segmentation"))[-1]
    assert summary.startswith("### Score: 0 /")
    assert rows and all(row[0] == "TODO" for row in rows)
    assert all("Not implemented yet: write" in row[4] for row in rows)
    with pytest.raises(gr.Error, match="Unknown lab"):
        list(tabs_grade.grade_labs(str(skeletons), "chemistry"))


# -- launcher ----------------------------------------------------------------------------------


def test_launcher_arguments():
    args = parse_args(["--port", "7999", "--share", "never"])
    assert args.port == 7999 and args.share == "never"
    assert parse_args([]).port == 7860
    with pytest.raises(SystemExit):
        parse_args(["--share", "always"])


def test_browser_test_skips_only_outside_ci_on_linux():
    assert browser_decision(True, True) == ("run", "")
    assert browser_decision(True, False) == ("run", "")
    action, reason = browser_decision(False, True, linux=True)
    assert action == "fail" and "install_browser.sh" in reason
    action, reason = browser_decision(False, False, linux=True)
    assert action == "skip" and "/usr/bin/chromium is missing" in reason
    for in_ci in (True, False):  # macOS, Windows: no Debian chromium, even in CI
        action, reason = browser_decision(False, in_ci, linux=False)
        assert action == "skip" and "Linux only" in reason


def test_demo_models_are_deterministic_without_training_flag():
    for name in (MODEL, XCEPTION):
        model = resources.load_model(name)
        assert not any(type(layer).__name__.startswith("Random") for layer in model.layers)
        x = np.random.default_rng(0).uniform(0, 255, (2,) + tuple(model.inputs[0].shape[1:])).astype("float32")
        # called as the book's code calls it (no training argument): same result twice, same as the original
        np.testing.assert_allclose(np.asarray(model(x)), np.asarray(model(x)), atol=1e-6)
        original = load_demo_model(name)
        np.testing.assert_allclose(np.asarray(model(x)), np.asarray(original(x, training=False)), atol=1e-5)

"""Lab 3 grader: the reference passes, the skeleton scores 0, rewrites pass, mistakes fail with hints.

Also tests the reference solution's own promises beyond the checks:
unbuilt Sequential models, a single layer name, error messages (the fast
paths the UI uses are tested in tests/test_fastpaths.py).
Checks run in-process (``grader.core.run_check``); one subprocess runs the
command-line grader.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from cvlab.impl import load_lab
from cvlab.paths import REPO_ROOT, SOLUTIONS_DIR
from cvlab.quiet import import_tensorflow
from grader.core import FAILED, NOT_IMPLEMENTED, PASSED, all_checks, run_check
from tests.grader.interp_helpers import (
    BOOK_STYLE_SOURCE,
    EQUIVALENTS,
    MUTATIONS,
    mutated_source,
    with_eager_grad_cam,
    write_module,
)

LAB = "interpretation"
SOLUTION_TEXT = (SOLUTIONS_DIR / f"{LAB}.py").read_text()
BRANCHING_CHECK = "interpretation.grad_cam.grad_cam_branching_head"


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


def _results(source, check_ids=None):
    student = load_lab(LAB, source)
    checks = all_checks(lab=LAB)
    if check_ids is not None:
        checks = [c for c in checks if c.id in check_ids]
    return {c.id: run_check(c, student) for c in checks}


def _describe(results):
    return "\n".join(f"{r.id}: {r.status} {r.message}" for r in results.values() if r.status != PASSED)


def test_every_exercise_has_points_and_a_hidden_check():
    checks = all_checks(lab=LAB)
    exercises = {c.exercise for c in checks}
    assert exercises == {
        "extract_activations", "activation_grid", "filter_loss", "gradient_ascent_step",
        "generate_filter_pattern", "deprocess_image", "grad_cam", "overlay_heatmap",
    }
    assert all(c.points > 0 for c in checks)
    assert 1 <= sum(c.hidden for c in checks) <= 2


def test_reference_passes_every_check():
    results = _results("solutions")
    assert all(r.status == PASSED for r in results.values()), _describe(results)


def test_skeleton_is_not_implemented_and_scores_zero(skeletons):
    results = _results(skeletons)
    assert {r.status for r in results.values()} == {NOT_IMPLEMENTED}, _describe(results)
    assert sum(r.score for r in results.values()) == 0
    assert all("Not implemented yet" in r.message for r in results.values())


def test_book_style_rewrite_passes_visible_checks_and_fails_branching_head(tmp_path):
    results = _results(write_module(tmp_path, BOOK_STYLE_SOURCE))
    visible = {k: r for k, r in results.items() if k != BRANCHING_CHECK}
    assert all(r.status == PASSED for r in visible.values()), _describe(visible)
    branching = results[BRANCHING_CHECK]
    assert branching.status == FAILED
    assert "branches" in branching.message and "keras.Model(model.inputs" in branching.message


def test_single_model_eager_grad_cam_passes(tmp_path):
    source = write_module(tmp_path, with_eager_grad_cam(SOLUTION_TEXT))
    results = _results(source, {c.id for c in all_checks(lab=LAB, exercise="grad_cam")})
    assert len(results) == 5
    assert all(r.status == PASSED for r in results.values()), _describe(results)


@pytest.mark.parametrize("rewrite", EQUIVALENTS, ids=[e.name for e in EQUIVALENTS])
def test_equivalent_rewrite_passes(rewrite, tmp_path):
    source = write_module(tmp_path, mutated_source(SOLUTION_TEXT, rewrite))
    results = _results(source, set(rewrite.checks))
    assert set(results) == set(rewrite.checks)
    assert all(r.status == PASSED for r in results.values()), _describe(results)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_mistake_fails_with_hint(mutation, tmp_path):
    source = write_module(tmp_path, mutated_source(SOLUTION_TEXT, mutation))
    results = _results(source, set(mutation.failing_checks))
    assert set(results) == set(mutation.failing_checks)
    for result in results.values():
        assert result.status == FAILED, f"{mutation.name}: {result.id} {result.status} {result.message}"
        assert result.score == 0
        message = result.message.lower()
        missing = [w for w in mutation.hint_words if w.lower() not in message]
        assert not missing, f"{mutation.name}: hint lacks {missing}: {result.message}"


@pytest.mark.parametrize(
    ("mutation_name", "still_passing"),
    [
        ("filter_loss_no_crop", ("gradient_ascent_step.gradient_step", "generate_filter_pattern.pattern_from_image")),
        ("step_per_pixel_normalized", ("generate_filter_pattern.pattern_from_image",)),
    ],
)
def test_a_mistake_costs_only_its_own_exercise(mutation_name, still_passing, tmp_path):
    mutation = next(m for m in MUTATIONS if m.name == mutation_name)
    source = write_module(tmp_path, mutated_source(SOLUTION_TEXT, mutation))
    results = _results(source, {f"{LAB}.{name}" for name in still_passing})
    assert len(results) == len(still_passing)
    assert all(r.status == PASSED for r in results.values()), _describe(results)


@pytest.mark.slow
def test_command_line_grader_gives_full_marks_to_the_reference():
    completed = subprocess.run(
        [sys.executable, "-m", "grader", "--labs", "solutions", "--lab", LAB, "--format", "gradescope"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    document = json.loads(completed.stdout)
    total = sum(c.points for c in all_checks(lab=LAB))
    assert document["score"] == pytest.approx(total)
    assert {t["status"] for t in document["tests"]} == {"passed"}


# -- the reference's own promises ---------------------------------------------------


@pytest.fixture(scope="module")
def solution():
    return load_lab(LAB, "solutions")


def _small_classifier(seed=0):
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(x))


@pytest.mark.parametrize("how", ["input_layer", "called", "unbuilt"])
def test_sequential_models_of_every_kind(solution, how):
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    stack = [layers.Conv2D(3, 3, name="c"), layers.MaxPooling2D(name="p"), layers.Flatten(), layers.Dense(2)]
    if how == "input_layer":
        stack.insert(0, keras.Input((10, 10, 3)))
    model = keras.Sequential(stack)
    if how == "called":
        model(np.zeros((1, 10, 10, 3), "float32"))
    image = np.random.default_rng(0).uniform(0, 1, (10, 10, 3)).astype("float32")
    activations = solution.extract_activations(model, image)
    assert {k: v.shape for k, v in activations.items()} == {"c": (8, 8, 3), "p": (4, 4, 3)}
    assert all(v.dtype == np.float32 for v in activations.values())
    heatmap = solution.grad_cam(model, image, "c", class_index=1)
    assert heatmap.shape == (8, 8) and heatmap.dtype == np.float32
    assert np.isfinite(heatmap).all() and heatmap.min() >= 0 and heatmap.max() <= 1


def test_nested_models_are_not_expanded(solution):
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    inner = keras.Sequential([keras.Input((10, 10, 3)), layers.Conv2D(2, 3, name="inner_conv")], name="inner")
    inputs = keras.Input((10, 10, 3))
    outputs = layers.MaxPooling2D(name="outer_pool")(inner(inputs))
    model = keras.Model(inputs, outputs)
    image = np.zeros((10, 10, 3), "float32")
    assert list(solution.extract_activations(model, image)) == ["outer_pool"]
    assert list(solution.extract_activations(inner, image)) == ["inner_conv"]


def test_unknown_names_list_the_conv_layers(solution):
    model = _small_classifier()
    with pytest.raises(ValueError, match="no layer named 'nope'; conv layers are: conv"):
        solution.grad_cam(model, np.zeros((16, 16, 3), "float32"), "nope")
    with pytest.raises(ValueError, match="no layer named 'nope'.*conv"):
        solution.extract_activations(model, np.zeros((16, 16, 3), "float32"), ["nope"])
    with pytest.raises(ValueError, match="'flatten' outputs shape \\(None, 784\\); Grad-CAM needs"):
        solution.grad_cam(model, np.zeros((16, 16, 3), "float32"), "flatten")
    with pytest.raises(ValueError, match="class_index 3 is out of range"):
        solution.grad_cam(model, np.zeros((16, 16, 3), "float32"), "conv", class_index=3)


def test_grad_cam_matches_the_books_two_model_version(solution):
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    model = _small_classifier(seed=1)
    image = np.random.default_rng(0).uniform(0, 1, (1, 16, 16, 3)).astype("float32")
    conv_model = keras.Model(model.inputs, model.get_layer("conv").output)
    head_input = keras.Input(conv_model.outputs[0].shape[1:])
    head = keras.Model(head_input, model.layers[-1](model.layers[-2](head_input)))
    nonzero = 0
    for class_index in range(3):
        with tf.GradientTape() as tape:
            activation = conv_model(image)
            tape.watch(activation)
            score = head(activation)[:, class_index]
        grads = tape.gradient(score, activation).numpy()
        heatmap = np.maximum((activation.numpy()[0] * grads.mean(axis=(0, 1, 2))).mean(axis=-1), 0)
        expected = heatmap / heatmap.max() if heatmap.max() > 0 else heatmap
        nonzero += heatmap.max() > 0
        got = solution.grad_cam(model, image, "conv", class_index=class_index)
        np.testing.assert_allclose(got, expected, atol=1e-5)
    assert nonzero >= 1


def test_one_layer_name_gives_that_layer(solution):
    model = _small_classifier(seed=2)
    image = np.random.default_rng(1).uniform(0, 1, (16, 16, 3)).astype("float32")
    activations = solution.extract_activations(model, image, ["conv"])
    assert list(activations) == ["conv"] and activations["conv"].shape == (14, 14, 4)
    np.testing.assert_allclose(activations["conv"], np.asarray(model.get_layer("conv")(image[None]))[0], atol=1e-6)


def test_filter_pattern_shape_step_size_and_range_error(solution):
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(2)
    inputs = keras.Input((None, None, 3))
    extractor = keras.Model(inputs, keras.layers.Conv2D(4, 3, activation="tanh")(inputs))
    first = solution.generate_filter_pattern(extractor, 0, iterations=1, img_size=(12, 12), seed=0)
    with pytest.raises(ValueError, match="filter_index 4 is out of range: the layer has 4 filters"):
        solution.generate_filter_pattern(extractor, 4, img_size=(12, 12))
    assert first.shape == (12, 12, 3) and first.dtype == np.float32
    start = np.random.default_rng(0).uniform(0.4, 0.6, (12, 12, 3))
    assert np.linalg.norm(first - start) == pytest.approx(10.0, rel=1e-3)  # one step of norm learning_rate

"""Lab 3 grader: the reference passes, the skeleton scores 0, rewrites pass, mistakes fail with hints.

Checks run in this process with the recorded expectations (as in the student
kit; hidden checks with the live reference), and once through a real
sandbox with the live reference (as the instructor's judge grades). Also
tests the grader's test models (numpy-seeded weights, the Sequential model
after the sandbox rebuilds it, the closed-form head gradients) and the
reference solution's own promises beyond the checks: unbuilt Sequential
models, a single layer name, error messages (the fast paths the UI uses are
tested in tests/cvlab/test_fastpaths.py).
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from cvlab_ch9.grader.core import FAILED, PASSED, all_checks, run_check
from cvlab_ch9.grader.draw import Draw
from cvlab_ch9.impl import load_lab
from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.quiet import import_tensorflow
from tests.grader.helpers import (
    LIVE,
    RECORDED,
    assert_reference_passes,
    expected_for,
    failures,
    load_text,
    local,
    remote_results,
    skeleton_results,
    solution_text,
)
from tests.grader.interp_helpers import BOOK_STYLE_SOURCE, EQUIVALENTS, MUTATIONS, mutated_source, with_eager_grad_cam

LAB = "interpretation"
SOLUTION_TEXT = solution_text(LAB)
BRANCHING_CHECK = "grad_cam.grad_cam_branching_head"


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


def _name(chk):
    return chk.id.split(".", 1)[1]


def _results(directory, text, names=None):
    """``{"<exercise>.<check>": CheckResult}`` of ``text`` as the lab module (only ``names`` when given)."""
    student = local(load_text(LAB, directory, text), LAB)
    checks = [c for c in all_checks(lab=LAB) if names is None or _name(c) in names]
    return {_name(c): run_check(c, student, expected_for(c, RECORDED)) for c in checks}


def _describe(results):
    return "\n".join(f"{k}: {r.status} {r.message}" for k, r in results.items() if r.status != PASSED)


def _assert_fails_with_hint(mutation, result):
    assert result.status == FAILED, f"{mutation.name}: {result.id} {result.status} {result.message}"
    assert result.score == 0
    missing = [w for w in mutation.hint_words if w.lower() not in result.message.lower()]
    assert not missing, f"{mutation.name}: hint lacks {missing}: {result.message}"


def test_every_exercise_has_points_and_a_hidden_check():
    checks = all_checks(lab=LAB)
    exercises = {c.exercise for c in checks}
    assert exercises == {
        "extract_activations", "activation_grid", "filter_loss", "gradient_ascent_step",
        "generate_filter_pattern", "deprocess_image", "grad_cam", "overlay_heatmap",
    }
    assert all(c.points > 0 for c in checks)
    assert {_name(c) for c in checks if c.hidden} == {"activation_grid.grid_few_channels", BRANCHING_CHECK}


def test_reference_passes_every_check(tmp_path):
    assert_reference_passes(LAB, tmp_path)


def test_skeleton_is_not_implemented_and_scores_zero(tmp_path):
    results = skeleton_results(LAB, tmp_path)
    assert all("Not implemented yet" in r.message for r in results.values())


def test_book_style_rewrite_passes_visible_checks_and_fails_branching_head(tmp_path):
    results = _results(tmp_path, BOOK_STYLE_SOURCE)
    visible = {k: r for k, r in results.items() if k != BRANCHING_CHECK}
    assert all(r.status == PASSED for r in visible.values()), _describe(visible)
    branching = results[BRANCHING_CHECK]
    assert branching.status == FAILED
    assert "branches" in branching.message and "keras.Model(model.inputs" in branching.message


def test_single_model_eager_grad_cam_passes(tmp_path):
    names = {_name(c) for c in all_checks(lab=LAB, exercise="grad_cam")}
    results = _results(tmp_path, with_eager_grad_cam(SOLUTION_TEXT), names)
    assert len(results) == 5
    assert all(r.status == PASSED for r in results.values()), _describe(results)


@pytest.mark.parametrize("rewrite", EQUIVALENTS, ids=[e.name for e in EQUIVALENTS])
def test_equivalent_rewrite_passes(rewrite, tmp_path):
    results = _results(tmp_path, mutated_source(SOLUTION_TEXT, rewrite), set(rewrite.checks))
    assert set(results) == set(rewrite.checks)
    assert all(r.status == PASSED for r in results.values()), _describe(results)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_mistake_fails_with_hint(mutation, tmp_path):
    results = _results(tmp_path, mutated_source(SOLUTION_TEXT, mutation), set(mutation.failing_checks))
    assert set(results) == set(mutation.failing_checks)
    for result in results.values():
        _assert_fails_with_hint(mutation, result)


MISTAKES_COST_ONLY_THEIR_EXERCISE = {
    "filter_loss_no_crop": ("gradient_ascent_step.gradient_step", "generate_filter_pattern.pattern_from_image"),
    "step_per_pixel_normalized": ("generate_filter_pattern.pattern_from_image",),
}


@pytest.mark.parametrize("mutation_name", sorted(MISTAKES_COST_ONLY_THEIR_EXERCISE))
def test_a_mistake_costs_only_its_own_exercise(mutation_name, tmp_path):
    still_passing = MISTAKES_COST_ONLY_THEIR_EXERCISE[mutation_name]
    mutation = next(m for m in MUTATIONS if m.name == mutation_name)
    results = _results(tmp_path, mutated_source(SOLUTION_TEXT, mutation), set(still_passing))
    assert len(results) == len(still_passing)
    assert all(r.status == PASSED for r in results.values()), _describe(results)


@pytest.mark.slow
def test_the_judge_agrees_with_in_process_grading_on_every_variant():
    """Every rewrite and mistake above, graded through one real sandbox against the live reference.

    Also shows that warnings raised in the sandbox reach the judge's
    activation_grid check (grid_divides_by_zero is caught by its NaN cast warning).
    """
    variants = {"book_style": BOOK_STYLE_SOURCE, "eager_grad_cam": with_eager_grad_cam(SOLUTION_TEXT)}
    variants.update({f"equivalent_{i}": mutated_source(SOLUTION_TEXT, e) for i, e in enumerate(EQUIVALENTS)})
    variants.update({f"mistake_{i}": mutated_source(SOLUTION_TEXT, m) for i, m in enumerate(MUTATIONS)})
    names = {"eager_grad_cam": {_name(c) for c in all_checks(lab=LAB, exercise="grad_cam")}}
    names.update({f"equivalent_{i}": set(e.checks) for i, e in enumerate(EQUIVALENTS)})
    names.update({f"mistake_{i}": {*m.failing_checks, *MISTAKES_COST_ONLY_THEIR_EXERCISE.get(m.name, ())}
                  for i, m in enumerate(MUTATIONS)})
    remote = remote_results(LAB, variants, reference=LIVE, names=names)
    book = remote["book_style"]
    assert not failures({k: r for k, r in book.items() if k != BRANCHING_CHECK})
    assert book[BRANCHING_CHECK].status == FAILED and "keras.Model(model.inputs" in book[BRANCHING_CHECK].message
    assert not failures({k: r for k, r in remote["eager_grad_cam"].items() if k.startswith("grad_cam.")})
    for i, rewrite in enumerate(EQUIVALENTS):
        assert not failures({k: remote[f"equivalent_{i}"][k] for k in rewrite.checks}), rewrite.name
    for i, mutation in enumerate(MUTATIONS):
        for name in mutation.failing_checks:
            _assert_fails_with_hint(mutation, remote[f"mistake_{i}"][name])
    for name, still_passing in MISTAKES_COST_ONLY_THEIR_EXERCISE.items():
        i = next(i for i, m in enumerate(MUTATIONS) if m.name == name)
        assert not failures({k: remote[f"mistake_{i}"][k] for k in still_passing}), name


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


# -- the grader's test models ------------------------------------------------------------


def test_test_models_take_their_weights_from_numpy_not_keras():
    import keras  # noqa: PLC0415

    from cvlab_ch9.grader.checks import interpretation_models as models  # noqa: PLC0415

    weights = []
    for keras_seed in (1, 2):
        keras.utils.set_random_seed(keras_seed)
        weights.append(models.conv_extractor(Draw.fixed(3)).get_weights())
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


def test_test_models_change_with_the_draw():
    from cvlab_ch9.grader.checks import interpretation_models as models  # noqa: PLC0415

    first, second = models.chain(Draw.fixed(1)), models.chain(Draw.fixed(2))
    assert first.model is not second.model
    assert first.batch.shape != second.batch.shape or not np.allclose(first.batch, second.batch)
    assert models.chain(Draw.fixed(1)).model.get_weights()[0].shape == first.model.get_weights()[0].shape


def test_the_called_sequential_model_works_after_the_sandbox_rebuilds_it():
    """The sandbox gets config + weights; the rebuilt model has inputs/outputs, the same layers and outputs."""
    from cvlab_ch9.grader.checks.interpretation_models import called_sequential  # noqa: PLC0415
    from cvlab_ch9.grader.harness.local import build_model_from_spec, spec_of  # noqa: PLC0415

    classifier = called_sequential(Draw.fixed(0))
    original, batch = classifier.model, classifier.batch
    rebuilt = build_model_from_spec(spec_of(original, "called_sequential"))
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in original.layers]
    assert len(rebuilt.inputs) == 1 and tuple(rebuilt.inputs[0].shape[1:]) == classifier.input_shape
    assert tuple(rebuilt.outputs[0].shape) == tuple(original.outputs[0].shape)
    np.testing.assert_allclose(np.asarray(rebuilt(batch)), np.asarray(original(batch)), atol=1e-6)
    for model in (original, rebuilt):  # the Keras 3 mistake the checks name still shows
        with pytest.raises(AttributeError, match="input"):
            _ = model.input
    reference = load_lab(LAB, "solutions")
    np.testing.assert_allclose(reference.grad_cam(rebuilt, batch, "seq_sepconv"),
                               reference.grad_cam(original, batch, "seq_sepconv"), atol=1e-6)
    got, want = (reference.extract_activations(m, batch[0]) for m in (rebuilt, original))
    assert list(got) == list(want) == ["seq_conv1", "seq_pool", "seq_sepconv"]


def _classifiers(draw):
    from cvlab_ch9.grader.checks import interpretation_models as models  # noqa: PLC0415

    return [models.chain(draw), models.called_sequential(draw), models.branching(draw)]


@pytest.mark.parametrize("seed", [0, 1])
def test_closed_form_head_gradients_match_a_gradient_tape(seed):
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from cvlab_ch9.grader.checks.interpretation_models import class_score_gradient  # noqa: PLC0415

    for classifier in _classifiers(Draw.fixed(seed)):
        model, layer, batch = classifier.model, classifier.layer, classifier.batch
        grad_model = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])
        for class_index in range(model.outputs[0].shape[-1]):
            with tf.GradientTape() as tape:
                activation, preds = grad_model(batch, training=False)
                score = preds[:, class_index]
            want = np.asarray(tape.gradient(score, activation))[0]
            got = class_score_gradient(model, layer, batch, class_index)
            np.testing.assert_allclose(got, want, atol=1e-7, err_msg=f"{model.name} class {class_index}")


@pytest.mark.parametrize("seed", range(4))
def test_grad_cam_maps_of_the_test_models_do_not_hinge_on_rounding(seed):
    """On every draw: the top class wins by a margin; every map the checks compare is clear of 0 at its maximum."""
    import keras  # noqa: PLC0415

    from cvlab_ch9.grader.checks.interpretation_models import class_score_gradient, top_class  # noqa: PLC0415

    for classifier in _classifiers(Draw.fixed(seed)):
        model, layer, batch = classifier.model, classifier.layer, classifier.batch
        probs = np.sort(np.asarray(model(batch))[0])
        assert probs[-1] - probs[-2] > 0.01, model.name
        activation = np.asarray(keras.Model(model.inputs, model.get_layer(layer).output)(batch))[0]
        classes = range(probs.size) if model.name == "chain" else [top_class(model, batch)]
        for class_index in classes:
            raw = (activation * class_score_gradient(model, layer, batch, class_index).mean(axis=(0, 1))).mean(axis=-1)
            assert abs(raw.max()) > 0.1 * np.abs(raw).max(), (model.name, class_index)
            if class_index == top_class(model, batch):
                assert raw.max() > 0 and raw.min() < -0.1 * raw.max(), f"{model.name}: a missing ReLU would not show"


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

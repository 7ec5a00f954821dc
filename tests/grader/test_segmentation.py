"""Lab 1 checks: the reference passes, the skeleton is 'not implemented',
equivalent rewrites pass, and typical mistakes fail with a hint -- in this
process with the recorded expectations (as in the student kit) and through a
real sandbox with the live reference (as the instructor's judge grades)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from cvlab_ch9.generate import generate_labs
from cvlab_ch9.grader.core import PASSED, all_checks
from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR
from cvlab_ch9.quiet import import_tensorflow
from tests.grader.helpers import (
    LIVE,
    assert_reference_passes,
    check_results,
    failures,
    remote_results,
    skeleton,
    skeleton_results,
    solution_text,
    solution_variant,
)

LAB = "segmentation"


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


def _variant(tmp_path, *replacements):
    """The solution with each ``(old, new)`` replaced once, loaded as a module."""
    return solution_variant(LAB, tmp_path, *replacements)


def _results(student, exercise=None):
    return check_results(LAB, student, exercise)


def test_reference_passes_every_check(tmp_path):
    assert_reference_passes(LAB, tmp_path)


def test_skeleton_is_not_implemented_with_zero_score(tmp_path):
    results = skeleton_results(LAB, tmp_path)
    trimap = results["trimap_to_classes.mapping"]
    assert trimap.message == "Not implemented yet: write trimap_to_classes() in labs/segmentation.py."


EQUIVALENT = {
    "separate activation layers": (
        'x = layers.Conv2D(f, 3, strides=2, activation="relu", padding="same")(x)',
        'x = layers.Conv2D(f, 3, strides=2, padding="same")(x)\n        x = layers.Activation("relu")(x)',
    ),
    "softmax layer": (
        'outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)',
        'x = layers.Conv2D(num_classes, 3, padding="same")(x)\n    outputs = layers.Softmax()(x)',
    ),
    "lookup table trimap": (
        'return (trimap - 1).astype("uint8")',
        'return np.array([0, 0, 1, 2], dtype="uint8")[trimap]',
    ),
    "keras MeanIoU": (
        "    y_true = np.asarray(y_true).reshape(-1).astype(\"int64\")\n",
        "    y_pred = np.asarray(y_pred)\n"
        "    if y_pred.shape[-1] == num_classes and y_pred.size == np.size(y_true) * num_classes:\n"
        "        y_pred = y_pred.argmax(-1)\n"
        "    metric = keras.metrics.MeanIoU(num_classes=num_classes)\n"
        "    metric.update_state(np.reshape(y_true, -1), np.reshape(y_pred, -1))\n"
        "    return float(metric.result())\n"
        "    y_true = np.asarray(y_true).reshape(-1).astype(\"int64\")\n",
    ),
}


@pytest.mark.parametrize("name", sorted(EQUIVALENT))
def test_equivalent_code_passes(tmp_path, name):
    old, new = EQUIVALENT[name]
    assert not failures(_results(_variant(tmp_path, (old, new))))


BROKEN = {
    "max pooling encoder": (
        'x = layers.Conv2D(f, 3, strides=2, activation="relu", padding="same")(x)',
        'x = layers.Conv2D(f, 3, activation="relu", padding="same")(x)\n        x = layers.MaxPooling2D(2)(x)',
        "strided_downsampling.encoder_outputs",
        ["MaxPooling2D", "strides=2"],
    ),
    "decoder without strides": (
        'x = layers.Conv2DTranspose(f, 3, strides=2, activation="relu", padding="same")(x)',
        'x = layers.Conv2DTranspose(f, 3, activation="relu", padding="same")(x)',
        "conv_transpose_decoder.decoder_shapes",
        ["missing strides=2 in the decoder"],
    ),
    "decoder with UpSampling2D": (
        'x = layers.Conv2DTranspose(f, 3, strides=2, activation="relu", padding="same")(x)',
        'x = layers.UpSampling2D(2)(x)',
        "conv_transpose_decoder.decoder_outputs",
        ["UpSampling2D", "Conv2DTranspose"],
    ),
    "sigmoid output": (
        'activation="softmax", padding="same")(x)',
        'activation="sigmoid", padding="same")(x)',
        "build_segmentation_model.model_outputs",
        ["Wrong final activation", "softmax"],
    ),
    "no rescaling": (
        "x = layers.Rescaling(1.0 / 255)(inputs)",
        "x = inputs",
        "build_segmentation_model.model_outputs",
        ["Rescaling(1.0 / 255)"],
    ),
    "forgot the minus one": (
        'return (trimap - 1).astype("uint8")',
        'return trimap.astype("uint8")',
        "trimap_to_classes.mapping",
        ["forgetting the -1"],
    ),
    "no value check": (
        "    if unexpected.size:\n",
        "    if False:\n",
        "trimap_to_classes.rejects_unknown_values",
        ["must raise ValueError"],
    ),
    "pixel accuracy instead of IoU": (
        "    ious = []\n",
        "    return float(np.mean(y_true == y_pred))\n    ious = []\n",
        "mean_iou.labels",
        ["pixel accuracy"],
    ),
    "averages over empty classes": (
        "        if union:\n            ious.append(np.logical_and(true_c, pred_c).sum() / union)",
        "        ious.append(np.logical_and(true_c, pred_c).sum() / union if union else 0.0)",
        "mean_iou.absent_classes",
        ["non-empty"],
    ),
    "no argmax on scores": (
        "        y_pred = y_pred.argmax(axis=-1)\n",
        "        y_pred = y_pred[..., 0]\n",
        "mean_iou.scores_and_channel_axis",
        ["argmax"],
    ),
    "wrong default filters": (
        "def build_segmentation_model(img_size=(200, 200), num_classes=3, filters=(64, 128, 256)):",
        "def build_segmentation_model(img_size=(200, 200), num_classes=3, filters=(32, 64, 128)):",
        "build_segmentation_model.default_parameter_count",
        ["2,880,643"],
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_mistake_fails_with_hint(tmp_path, name):
    old, new, check_id, hint_words = BROKEN[name]
    result = check_results(LAB, _variant(tmp_path, (old, new)), names={check_id})[check_id]
    assert result.status != PASSED and result.score == 0
    for word in hint_words:
        assert word in result.message, result.message


@pytest.mark.slow
def test_the_judge_agrees_with_in_process_grading_on_every_variant():
    """Every variant above, graded through one real sandbox against the live reference."""
    variants = {f"equivalent_{i}": solution_text(LAB, EQUIVALENT[name]) for i, name in enumerate(sorted(EQUIVALENT))}
    variants.update({f"broken_{i}": solution_text(LAB, BROKEN[name][:2]) for i, name in enumerate(sorted(BROKEN))})
    remote = remote_results(LAB, variants, reference=LIVE)
    for i, _ in enumerate(sorted(EQUIVALENT)):
        assert not failures(remote[f"equivalent_{i}"])
    for i, name in enumerate(sorted(BROKEN)):
        _, _, check_id, hint_words = BROKEN[name]
        result = remote[f"broken_{i}"][check_id]
        assert result.status != PASSED and result.score == 0, name
        for word in hint_words:
            assert word in result.message, (name, result.message)


def _skeleton_dir(tmp_path):
    generate_labs(SOLUTIONS_DIR, tmp_path)
    return tmp_path


@pytest.mark.slow
def test_cli_grades_solutions_through_the_judge():
    out = subprocess.run(
        [sys.executable, "-m", "grader", "--labs", "solutions", "--lab", LAB, "--format", "json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["score"] == report["max_score"] == sum(c.points for c in all_checks(lab=LAB))


def _pytest_grader(impl):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "grader", "--impl", str(impl), "--lab", LAB, "-q", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.slow
def test_pytest_wiring_passes_the_reference():
    out = _pytest_grader("solutions")
    n_checks = len(all_checks(lab=LAB, include_hidden=False))
    assert out.returncode == 0, out.stdout[-2000:]
    assert f"{n_checks} passed" in out.stdout


@pytest.mark.slow
def test_pytest_wiring_reports_the_skeleton_without_tracebacks(tmp_path):
    directory = _skeleton_dir(tmp_path)
    out = _pytest_grader(directory)
    assert out.returncode == 1
    assert "[not implemented]" in out.stdout
    assert f"write trimap_to_classes() in {directory.resolve() / 'segmentation.py'}" in out.stdout
    assert "Traceback" not in out.stdout and "raise NotImplementedError" not in out.stdout


@pytest.mark.slow
def test_cli_on_the_skeleton_prints_todo_rows_and_nothing_on_stderr(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "grader", "--labs", str(_skeleton_dir(tmp_path)), "--lab", LAB],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0
    assert out.stderr == ""
    assert "TODO  segmentation.trimap_to_classes.mapping" in out.stdout
    *_, total, isolation = out.stdout.strip().splitlines()  # the judge's last line: how the sandbox was confined
    assert total == f"Total: 0/{sum(c.points for c in all_checks(lab=LAB)):g}"
    assert isolation.startswith(("Sandbox confined by the kernel:", "WARNING: This grade is not protected"))


def test_not_implemented_names_the_file_being_graded(tmp_path):
    from cvlab_ch9.grader.core import run_check  # noqa: PLC0415
    from cvlab_ch9.grader.expect import Expected, RecordedReference  # noqa: PLC0415
    from cvlab_ch9.grader.harness.local import LocalImplementation  # noqa: PLC0415

    student = skeleton(LAB, tmp_path)
    impl = LocalImplementation(student, display_file=str(tmp_path / "segmentation.py"))
    result = run_check(all_checks(lab=LAB, exercise="mean_iou")[0], impl, Expected(RecordedReference(), LAB))
    assert result.message == f"Not implemented yet: write mean_iou() in {tmp_path / 'segmentation.py'}."


def test_the_checks_mean_iou_is_keras_mean_iou():
    import keras  # noqa: PLC0415

    from cvlab_ch9.grader.checks.segmentation_iou import keras_mean_iou  # noqa: PLC0415

    rng = np.random.default_rng(5)
    for num_classes, size in ((2, 30), (4, 50), (6, 12)):
        y_true = rng.integers(0, num_classes, size)
        y_pred = np.where(rng.random(size) < 0.5, y_true, rng.integers(0, num_classes - 1, size))
        metric = keras.metrics.MeanIoU(num_classes=num_classes)
        metric.update_state(y_true, y_pred)
        assert keras_mean_iou(y_true, y_pred, num_classes) == pytest.approx(float(metric.result()), abs=1e-6)

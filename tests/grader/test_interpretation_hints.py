"""Lab 3's diagnoses (issue 21): each usual mistake, rebuilt here independently, gets the sentence that names it,
and a right answer gets none. Pure numpy, no TensorFlow: the end-to-end rates are in
test_mistakes_rates.py (slow, parametrised per lab)."""

import numpy as np
import pytest

from cvlab_ch9.grader.checks.interpretation_hints import (
    callee_first,
    deprocess_values_hint,
    filter_loss_fault,
    filter_loss_hint,
    grid_broadcast_hint,
    grid_values_hint,
    step_fault,
    step_result_hint,
    unbatched_input_hint,
)
from cvlab_ch9.grader.checks.interpretation_hints_gradcam import (
    grad_cam_error_hint,
    grad_cam_mistakes,
    heatmap_scale_hint,
)


class Student:
    """The few Implementation methods the hints use."""

    def __init__(self, functions=(), source=""):
        self.functions, self.text = set(functions), source

    def has(self, name):
        return name in self.functions

    def source(self, name):
        return self.text

    def locate(self, exc):
        return ("interpretation.py", 7, "grads = tape.gradient(loss, batch)")


RNG = np.random.default_rng(21)


def _canvas(values, per_row, draw_channel):
    """A grid drawn the student's way, written out independently of the hints module."""
    h, w, c = values.shape
    rows = -(-c // per_row)
    canvas = np.zeros(((h + 1) * rows - 1, (w + 1) * per_row - 1), dtype="uint8")
    for k in range(c):
        row, col = k // per_row, k % per_row
        canvas[row * (h + 1): row * (h + 1) + h, col * (w + 1): col * (w + 1) + w] = draw_channel(values[:, :, k])
    return canvas


def _right(channel):
    return np.clip((channel - channel.mean()) / channel.std() * 64 + 128, 0, 255).astype("uint8")


@pytest.mark.parametrize(("mistake", "words"), [
    ("whole", "whole activation's mean and std"),
    ("min-max", "min-max scales"),
    ("no clip", "without clipping"),
])
def test_a_wrongly_standardized_grid_is_named(mistake, words):
    values = RNG.normal(0.5, 2.0, size=(4, 5, 7))
    mean, std = values.mean(), values.std()
    draw = {
        "whole": lambda ch: np.clip((ch - mean) / std * 64 + 128, 0, 255).astype("uint8"),
        "min-max": lambda ch: ((ch - ch.min()) / (ch.max() - ch.min()) * 255).astype("uint8"),
        "no clip": lambda ch: ((ch - ch.mean()) / ch.std() * 64 + 128).astype("int64").astype("uint8"),
    }[mistake]
    hint = grid_values_hint(values, 3, _canvas(values, 3, draw), (0, 0, 1, 2))
    assert hint is not None and words in hint and hint.startswith("Your activation_grid")
    assert grid_values_hint(values, 3, _canvas(values, 3, _right), (0, 0, 1, 2)) is None


def test_square_tiles_and_swapped_rows_are_told_apart_by_a_probe():
    values = RNG.normal(size=(3, 6, 7))
    square = ValueError("could not broadcast input array from shape (3,6) into shape (3,3)")
    assert "square" in grid_broadcast_hint(square, values, 3, retry=None)
    beyond = ValueError("could not broadcast input array from shape (3,6) into shape (0,6)")

    def fails(v, n):
        raise ValueError("again")

    assert "swaps rows and columns" in grid_broadcast_hint(beyond, values, 3, retry=fails)
    assert "too few rows" in grid_broadcast_hint(beyond, values, 3, retry=lambda v, n: None)


def test_filter_loss_reductions_are_named():
    output = RNG.normal(0.3, 1.0, size=(1, 9, 11, 4)).astype("float32")
    want = float(output[:, 2:-2, 2:-2, 1].mean())
    cases = {
        float(output[..., 1].mean()): "2-pixel border included",
        float(output[:, 2:, 2:, 1].mean()): "one side only",
        float(output[:, 2:-2, 2:-2, :].mean()): "every channel",
        float(output[:, 2:-2, 2:-2, 1].sum()): "sums",
        -want: "wrong sign",
    }
    for got, words in cases.items():
        assert words in filter_loss_hint(got, want, output, 1)
    assert filter_loss_hint(want + 0.5, want, output, 1) is None


def test_a_filter_loss_without_gradient_is_blamed_by_its_callers():
    student = Student({"filter_loss"})
    assert filter_loss_fault(student, lambda: (np.float32(0.3), None)) == (
        "Your filter_loss gives no gradient (see its check); fix it first.")
    assert "returns NaN" in filter_loss_fault(student, lambda: (np.float32("nan"), np.zeros((1, 4, 4, 3))))
    assert filter_loss_fault(student, lambda: (np.float32(0.3), np.ones((1, 4, 4, 3)))) is None
    assert filter_loss_fault(Student(), lambda: (0.0, None)) is None  # no filter_loss: the step's own fault


def test_a_broken_step_is_blamed_by_the_pattern():
    start = np.full((1, 4, 4, 3), 0.5, "float32")
    student = Student({"gradient_ascent_step"})
    assert step_fault(student, start, lambda: start.copy()) == (
        "Your gradient_ascent_step does not change the image (see its check); fix it first.")

    def raises():
        raise ValueError("Attempt to convert a value (None)")

    assert step_fault(student, start, raises).startswith("Your gradient_ascent_step raised ValueError")
    assert step_fault(student, start, lambda: start + 0.1) is None


def test_callee_first_replaces_a_failure_only_when_the_callee_is_at_fault():
    message = "Your filter_loss gives no gradient (see its check); fix it first."
    with pytest.raises(AssertionError, match=r"^Your filter_loss gives no gradient \(see its check\); fix it first\.$"), \
            callee_first(lambda: message):
        raise AttributeError("'numpy.float32' object has no attribute '_id'")
    with pytest.raises(AttributeError), callee_first(lambda: None):
        raise AttributeError("the caller's own mistake")
    with pytest.raises(NotImplementedError), callee_first(lambda: "never used"):
        raise NotImplementedError("interpretation.filter_loss")


def test_step_mistakes_are_named_from_the_gradient():
    raw = RNG.normal(size=(1, 6, 5, 3))
    image = RNG.uniform(0.4, 0.6, size=raw.shape)
    rate = 2.5
    rms_step = rate * raw / np.sqrt(np.mean(raw**2))
    assert "RMS" in step_result_hint(rms_step, image + rms_step, raw, rate)
    update = rate * raw / np.linalg.norm(raw)
    assert "returns only the step" in step_result_hint(update - image, update, raw, rate)
    assert step_result_hint(update, image + update, raw, rate) is None


@pytest.mark.parametrize(("mistake", "words"), [
    ("per channel", "each color channel"),
    ("no centering", "without subtracting the mean"),
    ("old keras", "0.1 around 0.5"),
])
def test_deprocess_scalings_are_named(mistake, words):
    x = RNG.normal(0.3, 0.2, size=(12, 10, 3)) + np.array([0.0, 0.2, -0.1])
    scaled = {
        "per channel": np.clip((x - x.mean(axis=(0, 1))) / x.std(axis=(0, 1)) * 64 + 128, 0, 255),
        "no centering": np.clip(x / (x - x.mean()).std() * 64 + 128, 0, 255),
        "old keras": np.clip((x - x.mean()) / x.std() * 0.1 + 0.5, 0, 1) * 255,
    }[mistake].astype("uint8")
    assert words in deprocess_values_hint(x, 2, scaled[2:-2, 2:-2])
    right = np.clip((x - x.mean()) / x.std() * 64 + 128, 0, 255).astype("uint8")
    assert deprocess_values_hint(x, 2, right[2:-2, 2:-2]) is None


def test_grad_cam_signatures_weights_on_the_rgb_input_and_argmax_over_the_batch():
    student = Student()
    wrt_input = ValueError("Incompatible shapes: [6,10,9] vs. [3] [Op:Mul]")
    hint = grad_cam_error_hint(wrt_input, student, (1, 24, 32, 3), channels=9)
    assert "with respect to the input image" in hint and "length 3" in hint and "conv layer's output" in hint
    assert "axis=(0, 1, 2)" not in hint  # the student already averages over those axes
    argmax = TypeError("Only integers ... are valid indices, got <tf.Tensor: shape=(3,), dtype=int64>")
    assert "tf.argmax(preds[0])" in grad_cam_error_hint(argmax, student, (1, 24, 32, 3), channels=9)
    assert grad_cam_error_hint(ValueError("something else"), student, (1, 24, 32, 3), channels=9) is None


def test_grad_cam_heatmap_mistakes_are_named():
    activation = RNG.uniform(0, 1, size=(5, 6, 4))
    grads = RNG.normal(size=(5, 6, 4))
    raw = (activation * grads.mean(axis=(0, 1))).mean(axis=-1)
    want = np.maximum(raw, 0) / np.maximum(raw, 0).max()
    assert "not normalized" in heatmap_scale_hint(want * 0.01, want, 2e-3)
    assert "all zeros" in heatmap_scale_hint(np.zeros_like(want), want, 2e-3)
    assert heatmap_scale_hint(want, want, 2e-3) is None
    mistakes = grad_cam_mistakes(activation, grads)
    min_max = (raw - raw.min()) / (raw.max() - raw.min())
    assert [h for h, m in mistakes.items() if np.allclose(m, min_max)][0].startswith("Your heatmap is min-max scaled")


def test_an_unbatched_image_refused_by_the_model_is_named():
    exc = ValueError("Input 0 of layer 'functional' is incompatible with the layer: expected shape=(None, 19, 27, 3), "
                     "found shape=(19, 27, 3)")
    hint = unbatched_input_hint(exc, "grad_cam", (19, 27, 3), Student())
    assert hint.startswith("Your grad_cam passes the (19, 27, 3) image to the model without adding the batch axis")
    assert "line 7" in hint
    assert unbatched_input_hint(exc, "grad_cam", (1, 19, 27, 3), Student()) is None


def test_a_grid_with_rows_and_columns_swapped_is_named():
    values = RNG.normal(size=(3, 4, 9))  # 9 channels at 3 per row: 3 rows, so every swapped position fits
    right = _canvas(values, 3, _right)
    swapped = np.zeros_like(right)
    for k in range(9):
        row, col = k % 3, k // 3
        swapped[row * 4: row * 4 + 3, col * 5: col * 5 + 4] = _right(values[:, :, k])
    assert "swaps rows and columns" in grid_values_hint(values, 3, swapped)
    assert grid_values_hint(values, 3, right) is None

"""Lab 1 checks, part 3: mean_iou, against what keras.metrics.MeanIoU gives on drawn label maps."""

import numpy as np

from cvlab_ch9.grader.checks.segmentation_trimap import LAB
from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.draw import distinct, integers
from cvlab_ch9.grader.modeltools import type_name

# -- mean_iou ------------------------------------------------------------------


def keras_mean_iou(y_true, y_pred_labels, num_classes):
    """What keras.metrics.MeanIoU gives (float) for integer labels of any (equal) size, computed as it does.

    The confusion matrix; per class true positives / (row + column - true
    positives); the mean over the classes whose union is not empty. (In
    numpy: a Keras metric costs a model build per call.)
    """
    y_true = np.asarray(y_true).reshape(-1).astype("int64")
    y_pred = np.asarray(y_pred_labels).reshape(-1).astype("int64")
    confusion = np.bincount(num_classes * y_true + y_pred, minlength=num_classes**2).reshape(num_classes, num_classes)
    hits = np.diag(confusion).astype("float64")
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - hits
    present = union > 0
    return float(np.sum(hits[present] / union[present]) / max(int(present.sum()), 1))


def label_pair(rng, num_classes, classes=None):
    """Drawn int64 label maps (N, H, W): predictions that agree with the truth on a drawn share of pixels.

    The truth holds every class of ``classes`` (default: all ``num_classes``); the others appear in neither.
    """
    shape = (integers(rng, 1, 3), integers(rng, 4, 9), integers(rng, 4, 9))
    classes = np.arange(num_classes) if classes is None else np.asarray(classes)
    y_true = rng.choice(classes, size=shape)
    y_true.reshape(-1)[rng.choice(y_true.size, size=classes.size, replace=False)] = classes
    y_pred = np.where(rng.random(shape) < rng.uniform(0.3, 0.8), y_true, rng.choice(classes, size=shape))
    return y_true.astype("int64"), y_pred.astype("int64")


def as_float(value, what="mean_iou"):
    """``value`` as a Python float; AssertionError naming the type otherwise."""
    try:
        return float(np.asarray(value, dtype="float64").reshape(()))
    except (TypeError, ValueError):
        raise AssertionError(f"{what} must return one number (a float); got {type_name(value)}.") from None


def mean_iou_hint(y_true, y_pred, got):
    """Hint (str) for a wrong mean IoU ``got`` of the integer label arrays y_true and y_pred."""
    accuracy = float(np.mean(y_true.reshape(-1) == y_pred.reshape(-1)))
    if np.isclose(got, accuracy):
        return "that is pixel accuracy; IoU per class is |true & pred| / |true | pred|, then average over classes."
    return "compute, for each class, intersection / union of the true and predicted masks, then the mean over classes."


@check(LAB, "mean_iou", points=2)
def check_labels(student, expected):
    """equals keras.metrics.MeanIoU on integer labels"""
    func = student.function("mean_iou")
    rng = expected.draw.rng(LAB, "mean_iou_labels")
    for _ in range(3):
        num_classes = integers(rng, 2, 6)
        y_true, y_pred = label_pair(rng, num_classes)
        want = keras_mean_iou(y_true, y_pred, num_classes)
        got = as_float(func(y_true, y_pred, num_classes))
        if not np.isclose(got, want, atol=1e-6):
            raise AssertionError(f"mean_iou = {got:.4f} for {num_classes} classes, keras.metrics.MeanIoU gives "
                                 f"{want:.4f}: " + mean_iou_hint(y_true, y_pred, got))


@check(LAB, "mean_iou", points=1)
def check_scores_and_channel_axis(student, expected):
    """accepts per-class scores (argmax) and labels shaped (N, H, W, 1)"""
    func = student.function("mean_iou")
    rng = expected.draw.rng(LAB, "mean_iou_scores")
    num_classes = integers(rng, 2, 5)
    y_true, _ = label_pair(rng, num_classes)
    scores = rng.random(y_true.shape + (num_classes,)).astype("float32")
    want = keras_mean_iou(y_true, scores.argmax(-1), num_classes)
    got = as_float(func(y_true[..., None], scores, num_classes))
    if not np.isclose(got, want, atol=1e-6):
        raise AssertionError(
            f"with y_true of shape (N, H, W, 1) and scores of shape (N, H, W, {num_classes}) expected {want:.4f}, "
            f"got {got:.4f}; take argmax over the last axis of scores and flatten both."
        )


@check(LAB, "mean_iou", points=1)
def check_absent_classes(student, expected):
    """classes absent from both masks do not count"""
    func = student.function("mean_iou")
    rng = expected.draw.rng(LAB, "mean_iou_absent")
    num_classes = integers(rng, 4, 7)
    present = sorted(distinct(rng, 0, num_classes - 1, integers(rng, 2, num_classes - 2)))
    y_true, y_pred = label_pair(rng, num_classes, present)
    want = keras_mean_iou(y_true, y_pred, num_classes)
    got = as_float(func(y_true, y_pred, num_classes))
    if not np.isclose(got, want, atol=1e-6):
        absent = [c for c in range(num_classes) if c not in present]
        raise AssertionError(
            f"expected {want:.4f}, got {got:.4f}: average only over classes whose union is non-empty "
            f"(here classes {absent} appear in neither mask and are skipped, as keras.metrics.MeanIoU does)."
        )

"""Lab 1 checks, part 3: mean_iou, against what keras.metrics.MeanIoU gives on drawn label maps."""

import numpy as np

from cvlab_ch9.grader.checks.segmentation_trimap import LAB
from cvlab_ch9.grader.core import check, location_text, student_error
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


def _per_class(y_true, y_pred, num_classes):
    """Per class (intersection, union, |true|, |pred|) as float arrays of length ``num_classes``."""
    t = np.asarray(y_true).reshape(-1)[:, None] == np.arange(num_classes)
    p = np.asarray(y_pred).reshape(-1)[:, None] == np.arange(num_classes)
    return ((t & p).sum(0).astype("float64"), (t | p).sum(0).astype("float64"),
            t.sum(0).astype("float64"), p.sum(0).astype("float64"))


PIXEL_ACCURACY = "That is pixel accuracy; IoU per class is |true & pred| / |true | pred|, then average over classes."


def _mean(values):
    return float(np.mean(values)) if len(values) else float("nan")


def wrong_formulas(y_true, y_pred, num_classes):
    """``[(value, hint)]``: what typical wrong formulas give on these labels, with the hint naming each."""
    inter, union, true, pred = _per_class(y_true, y_pred, num_classes)
    present = union > 0
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=present)
    first = min(3, num_classes)
    return [
        (float(np.mean(np.asarray(y_true).reshape(-1) == np.asarray(y_pred).reshape(-1))),
         PIXEL_ACCURACY),
        (_mean(2 * inter[present] / (true + pred)[present]),
         "Your mean_iou computes the Dice coefficient 2|A & B| / (|A| + |B|); IoU is |A & B| / |A | B| "
         "(intersection over union), then the mean over classes."),
        (_mean((inter + 1) / (union + 1)),
         "Your mean_iou adds a smoothing term ((intersection + 1) / (union + 1)), so every class is off and an absent "
         "class counts as 1.0; compute intersection / union and skip classes whose union is empty."),
        (_mean(iou[:first][present[:first]]),
         f"Your mean_iou counts only 3 classes (0, 1, 2) for num_classes={num_classes}; average over every class in "
         "range(num_classes) whose union is non-empty."),
        (_mean(iou[true > 0]),
         "Your mean_iou averages only over the classes found in y_true; a class that occurs only in y_pred has "
         "IoU 0 and counts too (its union is non-empty)."),
        (_mean(iou), "Your mean_iou counts classes absent from both masks as IoU 0; skip them: average only over "
                     "classes whose union is non-empty, as keras.metrics.MeanIoU does."),
    ]


def mean_iou_hint(y_true, y_pred, got, num_classes=None):
    """Hint (str) for a wrong mean IoU ``got`` of the integer label arrays y_true and y_pred."""
    if num_classes is not None:
        want = keras_mean_iou(y_true, y_pred, num_classes)
        for value, hint in wrong_formulas(y_true, y_pred, num_classes):
            if np.isfinite(value) and not np.isclose(value, want, atol=1e-6) and np.isclose(got, value, atol=1e-6):
                return hint
    elif np.isclose(got, float(np.mean(y_true.reshape(-1) == y_pred.reshape(-1)))):
        return PIXEL_ACCURACY
    return "Compute, for each class, intersection / union of the true and predicted masks, then the mean over classes."


def broadcast_iou(y_true, y_pred, num_classes):
    """What per-class IoU gives when y_true (N, H, W, 1) is compared with y_pred (N, H, W) unflattened, or NaN."""
    ious = []
    with np.errstate(all="ignore"):
        try:
            for c in range(num_classes):
                union = np.sum((y_true == c) | (y_pred == c))
                if union:
                    ious.append(np.sum((y_true == c) & (y_pred == c)) / union)
        except ValueError:  # shapes numpy cannot broadcast: that student's code raised instead
            return float("nan")
    return _mean(ious)


def call_mean_iou(student, func, y_true, y_pred, num_classes, what):
    """The student's mean_iou as a float; an exception becomes a hint naming the shapes of ``what``."""
    try:
        return as_float(func(y_true, y_pred, num_classes))
    except AssertionError:
        raise
    except Exception as exc:
        if not student_error(exc):
            raise
        name = getattr(exc, "remote_type", None) or type(exc).__name__
        where = location_text(exc, student)
        source = student.source("mean_iou")
        if what == "labels" and "argmax" in source:
            raise AssertionError(
                f"Your mean_iou raised {name} ({exc}) for y_pred labels of shape {np.shape(y_pred)}: you take the "
                f"argmax even when y_pred already holds labels; take it only for per-class scores (one more axis)"
                f"{where}.") from None
        if what == "channel axis" and "broadcast" in str(exc):
            raise AssertionError(
                f"Your mean_iou raised {name} for y_true of shape (N, H, W, 1): it broadcasts against the (N, H, W) "
                f"labels ({exc}); flatten (or squeeze) y_true first{where}.") from None
        raise


@check(LAB, "mean_iou", points=2)
def check_labels(student, expected):
    """equals keras.metrics.MeanIoU on integer labels"""
    func = student.function("mean_iou")
    rng = expected.draw.rng(LAB, "mean_iou_labels")
    for low in (2, 2, 4):  # the last one has classes beyond the pets' three
        num_classes = integers(rng, low, 6)
        y_true, y_pred = label_pair(rng, num_classes)
        want = keras_mean_iou(y_true, y_pred, num_classes)
        got = call_mean_iou(student, func, y_true, y_pred, num_classes, "labels")
        if not np.isclose(got, want, atol=1e-6):
            raise AssertionError(f"{mean_iou_hint(y_true, y_pred, got, num_classes)} (mean_iou = {got:.4f} for "
                                 f"{num_classes} classes, keras.metrics.MeanIoU gives {want:.4f}.)")


@check(LAB, "mean_iou", points=1)
def check_scores_and_channel_axis(student, expected):
    """accepts per-class scores (argmax) and labels shaped (N, H, W, 1)"""
    func = student.function("mean_iou")
    rng = expected.draw.rng(LAB, "mean_iou_scores")
    num_classes = integers(rng, 2, 5)
    y_true, _ = label_pair(rng, num_classes)
    scores = rng.random(y_true.shape + (num_classes,)).astype("float32")
    want = keras_mean_iou(y_true, scores.argmax(-1), num_classes)
    got = call_mean_iou(student, func, y_true[..., None], scores, num_classes, "channel axis")
    if not np.isclose(got, want, atol=1e-6):
        if np.isclose(got, broadcast_iou(y_true[..., None], scores.argmax(-1), num_classes), atol=1e-6):
            raise AssertionError(
                f"Your mean_iou keeps y_true's trailing axis (N, H, W, 1): it broadcasts against the (N, H, W) labels "
                f"and gives {got:.4f}, expected {want:.4f}; flatten (or squeeze) y_true first.")
        raise AssertionError(
            f"Your mean_iou gives {got:.4f} for y_true of shape (N, H, W, 1) and per-class scores of shape "
            f"(N, H, W, {num_classes}), expected {want:.4f}: take the argmax over the last axis of the scores (not "
            "one channel of them as labels) and flatten both."
        )


@check(LAB, "mean_iou", points=1)
def check_absent_classes(student, expected):
    """classes absent from both masks do not count; a class only in y_pred does"""
    func = student.function("mean_iou")
    rng = expected.draw.rng(LAB, "mean_iou_absent")
    num_classes = integers(rng, 4, 7)
    present = sorted(distinct(rng, 0, num_classes - 1, integers(rng, 2, num_classes - 2)))
    y_true, y_pred = label_pair(rng, num_classes, present)
    want = keras_mean_iou(y_true, y_pred, num_classes)
    got = call_mean_iou(student, func, y_true, y_pred, num_classes, "absent")
    absent = [c for c in range(num_classes) if c not in present]
    if not np.isclose(got, want, atol=1e-6):
        raise AssertionError(
            f"expected {want:.4f}, got {got:.4f}: average only over classes whose union is non-empty "
            f"(here classes {absent} appear in neither mask and are skipped, as keras.metrics.MeanIoU does)."
        )
    extra = absent[0]
    y_pred.reshape(-1)[rng.choice(y_pred.size, size=integers(rng, 1, 3), replace=False)] = extra
    want = keras_mean_iou(y_true, y_pred, num_classes)
    got = call_mean_iou(student, func, y_true, y_pred, num_classes, "predicted only")
    if not np.isclose(got, want, atol=1e-6):
        raise AssertionError(f"{mean_iou_hint(y_true, y_pred, got, num_classes)} (Here class {extra} occurs only in "
                             f"y_pred: expected {want:.4f}, got {got:.4f}.)")

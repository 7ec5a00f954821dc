"""Lab 1 checks, part 1: trimap_to_classes.

Trimap shapes and contents, and the unknown values, come from the check's
draw (:mod:`cvlab_ch9.grader.draw`); a function that rejects values earns
that point only when it also maps valid trimaps.
"""

import re

import numpy as np

from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.draw import distinct, integers
from cvlab_ch9.grader.expect import expectation

LAB = "segmentation"


# -- trimap_to_classes ---------------------------------------------------------


def trimap(draw, stream="trimap"):
    """A drawn uint8 trimap of values 1, 2, 3 (each present), shape (h, w) or (h, w, 1)."""
    rng = draw.rng(LAB, stream)
    shape = (integers(rng, 4, 12), integers(rng, 4, 12))
    if rng.random() < 0.3:
        shape += (1,)
    values = rng.integers(1, 4, size=shape).astype("uint8")
    flat = values.reshape(-1)
    flat[rng.choice(flat.size, size=3, replace=False)] = (1, 2, 3)
    return values


def bad_trimap(draw):
    """``(trimap with one or two values outside 1..3, sorted list of those values)``."""
    rng = draw.rng(LAB, "bad_trimap")
    values = trimap(draw, "bad_trimap_base")
    bad = distinct(rng, 4, 255, integers(rng, 1, 2))
    if rng.random() < 0.25:
        bad[0] = 0
    flat = values.reshape(-1)
    flat[rng.choice(flat.size, size=len(bad), replace=False)] = bad
    return values, sorted(bad)


@expectation(LAB)
def trimap_classes(ref, draw):
    return ref.call("trimap_to_classes", trimap(draw))


@check(LAB, "trimap_to_classes", points=2)
def check_mapping(student, expected):
    """trimap values 1, 2, 3 become classes 0, 1, 2 (uint8, same shape)"""
    given = trimap(expected.draw)
    got = np.asarray(student.function("trimap_to_classes")(given.copy()))
    if got.shape != given.shape:
        raise AssertionError(f"the result must keep the trimap's shape {given.shape}; got {got.shape}.")
    if np.array_equal(got, given):
        raise AssertionError(
            "you returned the trimap unchanged; forgetting the -1: values 1, 2, 3 must become 0, 1, 2."
        )
    if not np.array_equal(got, expected["trimap_classes"]):
        raise AssertionError("expected trimap - 1 (1 -> 0 pet, 2 -> 1 background, 3 -> 2 contour).")
    if got.dtype != np.uint8:
        raise AssertionError(f"return uint8 labels (`.astype('uint8')`); got dtype {got.dtype}.")


def _names_value(message, value):
    return re.search(rf"(?<![\d.]){value}(?![\d.])", message) is not None


@check(LAB, "trimap_to_classes", points=1)
def check_rejects_unknown_values(student, expected):
    """a trimap value outside 1..3 raises ValueError naming it (and valid trimaps still work)"""
    func = student.function("trimap_to_classes")
    valid = trimap(expected.draw, "valid_trimap")
    try:
        mapped = np.asarray(func(valid.copy()))
    except ValueError as exc:
        raise AssertionError(
            f"a valid trimap (values 1, 2, 3 only) raised ValueError ({exc}): raise only for other values."
        ) from None
    if mapped.shape != valid.shape or not np.array_equal(mapped.astype("int64"), valid.astype("int64") - 1):
        raise AssertionError("first map valid trimaps right (see the mapping check): rejecting values earns "
                             "nothing from a function that does not work on good ones.")
    given, bad = bad_trimap(expected.draw)
    try:
        func(given)
    except ValueError as exc:
        missing = [v for v in bad if not _names_value(str(exc), v)]
        if missing:
            raise AssertionError(
                f"the ValueError must name the unexpected value(s) found ({', '.join(map(str, bad))}); it said: {exc}"
            ) from None
        return
    raise AssertionError(
        f"a trimap containing {', '.join(map(str, bad))} must raise ValueError naming the values found, "
        "not return labels."
    )

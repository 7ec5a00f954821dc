"""Lab 1 checks, part 1: trimap_to_classes.

Trimap shapes and contents, and the unknown values, come from the check's
draw (:mod:`cvlab_ch9.grader.draw`); a function that rejects values earns
that point only when it also maps valid trimaps.
"""

import re

import numpy as np

from cvlab_ch9.grader.core import check, location_text, student_error
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
    bad = distinct(rng, 4, 255, integers(rng, 1, 2))  # values below 1: see below_one_trimap
    flat = values.reshape(-1)
    flat[rng.choice(flat.size, size=len(bad), replace=False)] = bad
    return values, sorted(bad)


@expectation(LAB)
def trimap_classes(ref, draw):
    return ref.call("trimap_to_classes", trimap(draw))


#: Integer dtypes a trimap may come in besides uint8 (``np.array`` of Python ints gives int64).
OTHER_INTEGER_DTYPES = ("int64", "int32", "uint16", "int16")


def _value_mapping(given, got):
    """``{trimap value: label}`` where each value of ``given`` went to one label in ``got`` (else None)."""
    mapping = {}
    for value in (1, 2, 3):
        labels = np.unique(got[given == value])
        if labels.size != 1:
            return None
        mapping[value] = int(labels[0])
    return mapping


def mapping_hint(given, got):
    """Why ``got`` is not ``given - 1`` (same shapes), from what each trimap value became."""
    mapping = _value_mapping(given, got)
    if mapping is None:
        return "Your labels are not a function of the trimap value: expected trimap - 1 (1 -> 0 pet, 2 -> 1 background, 3 -> 2 contour)."
    text = ", ".join(f"{v} -> {label}" for v, label in mapping.items())
    if sorted(mapping.values()) == [0, 1, 2]:
        return (f"Your function maps {text}: the classes are swapped. The pet (1) must become 0, "
                "the background (2) 1 and the contour (3) 2 (trimap - 1).")
    return f"Your function maps {text}; expected trimap - 1 (1 -> 0 pet, 2 -> 1 background, 3 -> 2 contour)."


@check(LAB, "trimap_to_classes", points=2)
def check_mapping(student, expected):
    """trimap values 1, 2, 3 become classes 0, 1, 2 (uint8, same shape, whatever the integer input dtype)"""
    given = trimap(expected.draw)
    got = np.asarray(student.function("trimap_to_classes")(given.copy()))
    if got.shape != given.shape:
        raise AssertionError(f"the result must keep the trimap's shape {given.shape}; got {got.shape}.")
    if np.array_equal(got, given):
        raise AssertionError(
            "you returned the trimap unchanged; forgetting the -1: values 1, 2, 3 must become 0, 1, 2."
        )
    if not np.array_equal(got, expected["trimap_classes"]):
        raise AssertionError(mapping_hint(given, got))
    if got.dtype != np.uint8:
        raise AssertionError(f"Your function returns {got.dtype} labels; return uint8 labels (`.astype('uint8')`).")
    rng = expected.draw.rng(LAB, "trimap_dtype")
    dtype = str(rng.choice(OTHER_INTEGER_DTYPES))
    wide = trimap(expected.draw, "wide_trimap").astype(dtype)
    got = np.asarray(student.function("trimap_to_classes")(wide.copy()))
    if got.dtype != np.uint8 or not np.array_equal(got, (wide - 1).astype("uint8")):
        raise AssertionError(f"Your function returns {got.dtype} labels for a trimap of dtype {dtype}; "
                             "return uint8 labels whatever the input's dtype (`.astype('uint8')`).")


def _names_value(message, value):
    return re.search(rf"(?<![\d.]){value}(?![\d.])", message) is not None


def _call_or_hint(student, func, values, what):
    """``func(values)``; an exception other than ValueError becomes an AssertionError naming it and ``what``."""
    try:
        return func(values)
    except (ValueError, AssertionError):
        raise
    except Exception as exc:
        if not student_error(exc):
            raise
        name = getattr(exc, "remote_type", None) or type(exc).__name__
        raise AssertionError(f"Your function raised {name} ({exc}) for {what}; raise ValueError naming the values "
                             f"found instead{location_text(exc, student)}.") from None


def subset_trimap(draw):
    """A valid uint8 trimap holding only one or two of the values 1, 2, 3 (the drawn subset, sorted)."""
    rng = draw.rng(LAB, "subset_trimap")
    present = sorted(distinct(rng, 1, 3, integers(rng, 1, 2)))
    shape = (integers(rng, 3, 9), integers(rng, 3, 9))
    return rng.choice(present, size=shape).astype("uint8"), present


def below_one_trimap(draw):
    """A trimap of values 1..3 with some zeros (a value below 1, the one a check of the maximum misses)."""
    rng = draw.rng(LAB, "below_one_trimap")
    values = trimap(draw, "below_one_base")
    flat = values.reshape(-1)
    flat[rng.choice(flat.size, size=integers(rng, 1, 3), replace=False)] = 0
    return values


@check(LAB, "trimap_to_classes", points=1)
def check_rejects_unknown_values(student, expected):
    """a value outside 1..3 (above 3 or below 1) raises ValueError naming it; valid trimaps (any of 1..3) still work"""
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
    partial, present = subset_trimap(expected.draw)
    try:
        func(partial.copy())
    except ValueError as exc:
        raise AssertionError(
            f"Your function raised ValueError ({exc}) for a valid trimap holding only {present}: a trimap need not "
            "hold all three values; raise only for values outside 1, 2, 3."
        ) from None
    given, bad = bad_trimap(expected.draw)
    above = _rejection(student, func, given, bad)
    below = _rejection(student, func, below_one_trimap(expected.draw), [0])
    if above == "returned":
        raise AssertionError(f"a trimap containing {', '.join(map(str, bad))} must raise ValueError naming the values "
                             "found, not return labels.")
    if below == "returned":
        raise AssertionError("Your function returns labels for a trimap containing 0: it rejects only values above 3. "
                             "Raise ValueError for values below 1 too, naming the values found.")
    for verdict in (above, below):
        if verdict:
            raise AssertionError(verdict)


def _rejection(student, func, given, bad):
    """'' when ``func(given)`` raises ValueError naming every value of ``bad``; "returned" when it returns; else a hint."""
    listed = ", ".join(map(str, bad))
    try:
        _call_or_hint(student, func, given.copy(), f"a trimap containing {listed}")
    except ValueError as exc:
        missing = [v for v in bad if not _names_value(str(exc), v)]
        if missing:
            return f"the ValueError must name the unexpected value(s) found ({listed}); it said: {exc}"
        return ""
    return "returned"

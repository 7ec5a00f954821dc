"""Lab 3 checks, part 2 (end): deprocess_image (a generated pattern made displayable).

The student's deprocess_image runs on drawn float images around a drawn
level and spread, and on the contract's edge values: ``crop=0`` (every
pixel kept) and a constant image (std 0 becomes all 128).
"""

import numpy as np

from cvlab_ch9.grader.checks.interpretation_hints import deprocess_values_hint
from cvlab_ch9.grader.checks.interpretation_models import LAB, as_array, student_call
from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.draw import integers
from cvlab_ch9.grader.expect import expectation

# -- deprocess_image -------------------------------------------------------------


def deprocess_case(draw, stream):
    """``(float32 image (h, w, 3) around a drawn level and spread, crop 1..4)``."""
    rng = draw.rng(LAB, stream)
    shape = (integers(rng, 12, 24), integers(rng, 12, 24), 3)
    values = rng.normal(rng.uniform(-0.5, 1.0), rng.uniform(0.02, 0.5), size=shape).astype("float32")
    return values, integers(rng, 1, 4)


@expectation(LAB)
def deprocessed(ref, draw):
    given, crop = deprocess_case(draw, "deprocess")
    return ref.call("deprocess_image", given, crop=crop)


@expectation(LAB)
def deprocessed_other(ref, draw):
    given, crop = deprocess_case(draw, "deprocess_other")
    return ref.call("deprocess_image", given, crop=crop)


def _assert_deprocessed(student, given, crop, want):
    got = as_array(student_call(student, "deprocess_image", given.copy(), crop=crop), "deprocess_image")
    h, w = given.shape[:2]
    if got.shape == given.shape:
        raise AssertionError(f"Your deprocess_image does not crop: with crop={crop} a {given.shape} image must lose "
                             f"{crop} pixels on each border, giving {want.shape}.")
    if got.shape != want.shape:
        if got.shape == np.empty(given.shape)[25: h - 25, 25: w - 25].shape:
            raise AssertionError(f"Your deprocess_image crops 25 pixels whatever crop is: with crop={crop} a "
                                 f"{given.shape} image must become {want.shape}; got {got.shape}.")
        raise AssertionError(f"Your deprocess_image turns a {given.shape} image with crop={crop} into shape "
                             f"{got.shape}; it must be {want.shape}.")
    if got.dtype != np.uint8:
        raise AssertionError(f"Your deprocess_image returns {got.dtype}: clip to 0..255, then `.astype('uint8')`.")
    diff = np.abs(got.astype(int) - want.astype(int))
    if diff.max() > 1:
        row, col, channel = np.unravel_index(diff.argmax(), diff.shape)
        raise AssertionError(deprocess_values_hint(given, crop, got) or (
            f"Your deprocess_image gives {got[row, col, channel]} instead of {want[row, col, channel]} at pixel "
            f"({row}, {col}, {channel}): compute (x - mean) / std * 64 + 128 with the whole image's mean and std, "
            "then clip to 0..255."))


def _assert_crop_zero(student, given, crop, want):
    """crop=0 keeps every pixel."""
    with np.errstate(all="ignore"):
        whole = as_array(student_call(student, "deprocess_image", given.copy(), crop=0), "deprocess_image")
    h, w = given.shape[:2]
    if whole.shape != given.shape or np.abs(whole[crop: h - crop, crop: w - crop].astype(int) - want.astype(int)).max() > 1:
        raise AssertionError(
            f"Your deprocess_image returns shape {whole.shape} for crop=0 instead of {given.shape}: image[crop:-crop] "
            "is empty when crop is 0 (-0 is 0); slice up to height - crop and width - crop.")


@check(LAB, "deprocess_image", points=2)
def check_deprocess(student, expected):
    """standardizes to mean 128, std 64, clips, converts to uint8 and crops `crop` pixels per border"""
    given, crop = deprocess_case(expected.draw, "deprocess")
    _assert_deprocessed(student, given, crop, expected["deprocessed"])
    side = integers(expected.draw.rng(LAB, "deprocess", "default"), 52, 60)
    default = as_array(student_call(student, "deprocess_image", np.resize(given, (side, side + 2, 3))), "deprocess_image")
    if default.shape != (side - 50, side - 48, 3):
        raise AssertionError(f"Your default crop gives shape {default.shape} for a {(side, side + 2, 3)} image: the "
                             f"default crop is 25 pixels, giving {(side - 50, side - 48, 3)}.")
    _assert_crop_zero(student, given, crop, expected["deprocessed"])


@check(LAB, "deprocess_image", points=1)
def check_deprocess_constant(student, expected):
    """a constant image (std 0) becomes all 128, not NaN (and other images still work)"""
    given, crop = deprocess_case(expected.draw, "deprocess_other")
    _assert_deprocessed(student, given, crop, expected["deprocessed_other"])
    rng = expected.draw.rng(LAB, "deprocess_constant")
    shape, crop = (integers(rng, 6, 12), integers(rng, 6, 12), 3), integers(rng, 1, 2)
    constant = np.full(shape, integers(rng, -8, 8) / 8, dtype="float32")  # exact: its mean is too
    with np.errstate(divide="ignore", invalid="ignore"):
        got = as_array(student_call(student, "deprocess_image", constant, crop=crop), "deprocess_image")
    want_shape = (shape[0] - 2 * crop, shape[1] - 2 * crop, 3)
    if got.shape != want_shape:
        raise AssertionError(f"Your deprocess_image turns a constant {shape} image with crop={crop} into shape "
                             f"{got.shape}; it must be {want_shape}.")
    if not np.all(got == 128):
        raise AssertionError(
            f"Your deprocess_image turns a constant image (std 0) into values {np.unique(got)[:5].tolist()}, not "
            "all 128: skip the division when the std is 0 (0 / 0 is NaN)."
        )

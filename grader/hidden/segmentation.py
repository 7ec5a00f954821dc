"""Hidden checks for Lab 1 — segmentation."""

from cvlab_ch9.grader.checks.segmentation_models import LAB, SHAPE_CHECK_CLASSES, assert_model_shape, model_case
from cvlab_ch9.grader.core import check


@check(LAB, "build_segmentation_model", points=1, hidden=True)
def check_non_square(student, expected):
    """works for non-square images"""
    assert_model_shape(student, expected, model_case(expected.draw, "non_square", square=False, classes=SHAPE_CHECK_CLASSES),
                       expected.draw.rng(LAB, "non_square", "lively"), " Use Input(img_size + (3,)): img_size is (height, width).")

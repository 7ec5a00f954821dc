"""Hidden checks for Lab 1 — segmentation."""

from cvlab_ch9.grader.checks.segmentation import LAB, build
from cvlab_ch9.grader.core import check


@check(LAB, "build_segmentation_model", points=1, hidden=True)
def check_non_square(student, expected):
    """works for non-square images"""
    got = build(student, img_size=(16, 24), num_classes=3, filters=(2, 4)).summary.output_shape
    if got != (None, 16, 24, 3):
        raise AssertionError(f"img_size=(16, 24) must give outputs (None, 16, 24, 3), got {got}; use Input(img_size + (3,)).")

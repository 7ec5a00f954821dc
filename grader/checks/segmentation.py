"""Checks for Lab 1 — segmentation (strided encoder, Conv2DTranspose decoder).

Every input comes from the check's draw (:mod:`cvlab_ch9.grader.draw`): trimap
contents and shapes, block input sizes, filter counts, class counts, label
maps. One module per part, imported here in exercise order (the order of
the report): :mod:`cvlab_ch9.grader.checks.segmentation_trimap`,
:mod:`cvlab_ch9.grader.checks.segmentation_models`,
:mod:`cvlab_ch9.grader.checks.segmentation_iou`.
"""

# the order of these imports is the order of the exercises in every report
# isort: off
from cvlab_ch9.grader.checks import segmentation_trimap
from cvlab_ch9.grader.checks import segmentation_models
from cvlab_ch9.grader.checks import segmentation_iou
# isort: on
from cvlab_ch9.grader.checks.segmentation_trimap import LAB

__all__ = ["LAB", "segmentation_iou", "segmentation_models", "segmentation_trimap"]

"""Checks for Lab 3 — interpreting convnets (activations, filter patterns, Grad-CAM).

Every check runs the student's function on tiny models the grader builds
from the check's draw (a non-square conv net with a plain head, Sequential
models, a feature extractor: :mod:`cvlab_ch9.grader.checks.interpretation_models`)
and compares with the reference's results on the same draw within a
tolerance. When
the result differs, the check rebuilds the usual mistakes (no border crop,
per-pixel normalization, no ReLU, wrong axes, ignored class_index, ...) and
names the one that matches.

One module per part of the chapter, imported here in exercise order (the
order of the report).
"""

from cvlab_ch9.grader.checks import (
    interpretation_activations,
    interpretation_filters,
    interpretation_filters_deprocess,
    interpretation_gradcam,
)
from cvlab_ch9.grader.checks.interpretation_models import LAB

__all__ = [
    "LAB",
    "interpretation_activations",
    "interpretation_filters",
    "interpretation_filters_deprocess",
    "interpretation_gradcam",
]

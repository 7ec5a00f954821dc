"""Checks for Lab 2 — architecture patterns (residual blocks, batch norm,
depthwise separable convolutions, mini-Xception).

One module per part, imported here in exercise order (the order of the
report): residual and batch-norm blocks (:mod:`cvlab_ch9.grader.checks.architecture_blocks`),
depthwise separable convolutions (:mod:`cvlab_ch9.grader.checks.architecture_separable`)
and the whole model (:mod:`cvlab_ch9.grader.checks.architecture_model`).
"""

# the order of these imports is the order of the exercises in every report
# isort: off
from cvlab_ch9.grader.checks import architecture_blocks
from cvlab_ch9.grader.checks import architecture_separable
from cvlab_ch9.grader.checks import architecture_model
# isort: on
from cvlab_ch9.grader.checks.architecture_blocks import LAB

__all__ = ["LAB", "architecture_blocks", "architecture_model", "architecture_separable"]

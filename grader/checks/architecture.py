"""Checks for Lab 2 — architecture patterns (residual blocks, batch norm,
depthwise separable convolutions, mini-Xception).

One module per part, imported here in exercise order (the order of the
report): the blocks (:mod:`cvlab_ch9.grader.checks.architecture_blocks`) and the
whole model (:mod:`cvlab_ch9.grader.checks.architecture_model`).
"""

from cvlab_ch9.grader.checks import architecture_blocks, architecture_model
from cvlab_ch9.grader.checks.architecture_blocks import LAB

__all__ = ["LAB", "architecture_blocks", "architecture_model"]

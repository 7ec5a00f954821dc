"""Hidden checks for Lab 3 — interpretation (instructor's side only, live reference)."""

import numpy as np

from cvlab_ch9.grader.checks.interpretation_activations import activation, grid
from cvlab_ch9.grader.checks.interpretation_gradcam import (
    assert_heatmap,
    grad_cam_expectation,
    grad_cam_hints,
    student_grad_cam,
)
from cvlab_ch9.grader.checks.interpretation_models import LAB, branching
from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.draw import integers
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.sandbox import SandboxFailure, SandboxViolationError, StudentExit

#: Failures that are not the student's grad_cam raising on the branching head: passed on unchanged.
NOT_A_CRASH = (AssertionError, NotImplementedError, SandboxFailure, SandboxViolationError, StudentExit)


def few_channels(draw):
    """A drawn activation with 1..15 channels (fewer than the default 16 per row)."""
    rng = draw.rng(LAB, "grid_few_channels")
    return activation(rng, (integers(rng, 3, 6), integers(rng, 3, 6), integers(rng, 1, 15)))


@expectation(LAB, hidden=True)
def grid_few_channels(ref, draw):
    return ref.call("activation_grid", few_channels(draw))


@check(LAB, "activation_grid", points=1, hidden=True)
def check_grid_few_channels(student, expected):
    """fewer channels than images_per_row still gives a full-width single row"""
    values = few_channels(expected.draw)
    got = grid(student, values)
    want = expected["grid_few_channels"]
    if got.shape != want.shape:
        raise AssertionError(
            f"Your grid of {values.shape[-1]} channels has shape {got.shape}: with the default images_per_row=16 they "
            f"fill one row of full width (w + 1) * 16 - 1, shape {want.shape}."
        )
    if np.abs(got.astype(int) - want.astype(int)).max() > 1:
        raise AssertionError(f"Your grid of {values.shape[-1]} channels differs from the reference's (see the values check).")


@expectation(LAB, hidden=True)
def grad_cam_branching(ref, draw):
    return grad_cam_expectation(ref, branching(draw))


@expectation(LAB, hidden=True)
def grad_cam_branching_hints(ref, draw):
    return grad_cam_hints(ref, branching(draw))


@check(LAB, "grad_cam", points=1, hidden=True)
def check_grad_cam_branching_head(student, expected):
    """works when the layers after the conv layer branch (not a plain chain)"""
    classifier = branching(expected.draw)
    try:
        got = student_grad_cam(student, classifier.model, classifier.batch, classifier.layer)
    except NOT_A_CRASH:
        raise
    except Exception as exc:
        name = getattr(exc, "remote_type", None) or type(exc).__name__
        raise AssertionError(
            f"Your grad_cam failed ({name}: {exc}) on a model whose head branches after the conv layer "
            "(two Dense layers added together): do not re-chain the layers after it; build one model "
            "keras.Model(model.inputs, [conv_layer.output, model.outputs[0]]) that returns both."
        ) from exc
    ref = expected["grad_cam_branching"]
    assert_heatmap(got, ref["top_map"], lambda: expected["grad_cam_branching_hints"], ref["top"], "branching head")

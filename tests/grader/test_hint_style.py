"""The hint style every check shares (issue 21): a capitalised sentence with a full stop; a caller names its callee."""

import pytest

from cvlab_ch9.grader.core import blame_callees, callee_hint, sentence, student_error
from cvlab_ch9.grader.sandbox import SandboxFailure


@pytest.mark.parametrize(("text", "want"), [
    ("expected trimap - 1", "Expected trimap - 1."),
    ("Your encoder uses MaxPooling2D.", "Your encoder uses MaxPooling2D."),
    ("mean_iou = 0.53 for 3 classes", "mean_iou = 0.53 for 3 classes."),
    ("separable_conv_params(64, 64, 3) returned (1, 2)", "separable_conv_params(64, 64, 3) returned (1, 2)."),
    ("  with input (8, 8, 3) the block must return (1, 4, 4, 2)  ", "With input (8, 8, 3) the block must return (1, 4, 4, 2)."),
])
def test_sentence_capitalises_prose_and_leaves_code_alone(text, want):
    assert sentence(text) == want


def test_callee_hint_names_the_callee_first():
    assert callee_hint("xception_block") == "Your xception_block is wrong (see its check); fix it first."
    assert callee_hint("strided_downsampling", "your encoder uses MaxPooling2D") == (
        "Your strided_downsampling is wrong (see its check); fix it first. Your encoder uses MaxPooling2D.")


def _fails(message):
    def run():
        raise AssertionError(message)
    return run


def test_blame_callees_replaces_a_failure_only_when_a_callee_fails():
    callees = [("ok", [lambda: None]), ("block", [_fails("stride 3")])]
    with pytest.raises(AssertionError, match="^Your block is wrong .*fix it first. Stride 3.$"), blame_callees(callees):
        raise AssertionError("the model's outputs differ")
    with pytest.raises(AssertionError, match="^the model's outputs differ$"), blame_callees([("ok", [lambda: None])]):
        raise AssertionError("the model's outputs differ")
    with blame_callees([("block", [_fails("never run")])]):
        pass  # a passing caller never runs its callees' checks


def test_student_errors_are_told_from_the_graders_own():
    assert student_error(KeyError(4)) and student_error(ValueError("operands could not be broadcast"))
    assert not student_error(NotImplementedError("segmentation.mean_iou"))
    assert not student_error(SandboxFailure("the sandbox died"))

"""Hidden checks for Lab 2 — architecture patterns."""

from cvlab_ch9.grader.checks.architecture import (
    LAB,
    build_xception,
    param_count_hint,
    params_hint,
    reference_model,
    student_params,
)
from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.modeltools import assert_close, copy_weights_by_layer, seeded_inputs

OTHER_CONFIGURATION = {"input_shape": (20, 28, 3), "num_classes": 4, "block_filters": (4, 8, 8), "augment": False}
OTHER_SEED = 7


def _keras_counts(in_channels, out_channels, kernel_size):
    """Keras' own bias-free (Conv2D, SeparableConv2D) parameter counts (built in the judge, no student code)."""
    from keras import layers  # noqa: PLC0415

    x_shape = (None, 9, 9, in_channels)
    regular_layer = layers.Conv2D(out_channels, kernel_size, use_bias=False)
    separable_layer = layers.SeparableConv2D(out_channels, kernel_size, use_bias=False)
    regular_layer.build(x_shape)
    separable_layer.build(x_shape)
    return regular_layer.count_params(), separable_layer.count_params()


@check(LAB, "separable_conv_params", points=1, hidden=True)
def check_separable_params_match_keras(student, expected):
    """agrees with Keras' own Conv2D / SeparableConv2D parameter counts"""
    for in_channels, out_channels, kernel_size in ((5, 7, 3), (1, 4, 5), (16, 16, 1)):
        want = _keras_counts(in_channels, out_channels, kernel_size)
        got = student_params(student, in_channels, out_channels, kernel_size)
        if got != want:
            raise AssertionError(
                f"for in={in_channels}, out={out_channels}, kernel_size={kernel_size} Keras counts {want}, "
                f"you returned {got}: " + params_hint(got, want, out_channels)
            )


def _other_batch():
    return seeded_inputs((2,) + OTHER_CONFIGURATION["input_shape"], seed=OTHER_SEED)


@expectation(LAB, hidden=True, name="other_configuration")
def other_configuration_expectation(ref):
    return reference_model(ref, _other_batch(), OTHER_SEED, **OTHER_CONFIGURATION)


@check(LAB, "build_mini_xception", points=1, hidden=True)
def check_other_configurations(student, expected):
    """honours input_shape (non-square), num_classes and block_filters"""
    kwargs = OTHER_CONFIGURATION
    model = build_xception(student, **kwargs)
    ref = expected["other_configuration"]
    if model.summary.params != ref["params"]:
        raise AssertionError(
            f"with {kwargs} the model has {model.summary.params:,} parameters, the chapter's {ref['params']:,}. "
            + param_count_hint(model, ref)
        )
    copy_weights_by_layer(ref["layers"], model, f"with {kwargs} the layers differ from the chapter's")
    assert_close(model.predict(_other_batch()), ref["output"], f"model output for {kwargs}", atol=1e-5, rtol=1e-4)

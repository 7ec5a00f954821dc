"""Hidden checks for Lab 2 — architecture patterns."""

from cvlab_ch9.grader.checks.architecture_model import (
    assert_model_outputs,
    build_xception,
    explained,
    param_count_hint,
    pixels,
    reference_model,
    small_config,
)
from cvlab_ch9.grader.checks.architecture_separable import LAB, params_hint, separable_cases, student_params
from cvlab_ch9.grader.core import check, sentence
from cvlab_ch9.grader.draw import integers
from cvlab_ch9.grader.expect import expectation


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
    for in_channels, out_channels, kernel_size in separable_cases(expected.draw, "separable_keras", count=3):
        want = _keras_counts(in_channels, out_channels, kernel_size)
        got = student_params(student, in_channels, out_channels, kernel_size)
        if got != want:
            raise AssertionError(
                f"{sentence(params_hint(got, want, (in_channels, out_channels, kernel_size)))} (For in={in_channels}, "
                f"out={out_channels}, kernel_size={kernel_size} Keras counts {want}, you returned {got}.)"
            )


def other_configuration(draw):
    """A drawn non-square input, 2..5 classes, two or three blocks, no augmentation; and a batch."""
    shapes = draw.shape_rng(LAB, "other_configuration")
    config = small_config(shapes, square=False)
    config["block_filters"] = tuple(integers(shapes, 2, 8, size=integers(shapes, 2, 3)))
    kwargs = {**config, "num_classes": integers(shapes, 2, 5), "augment": False}
    return kwargs, pixels(draw.rng(LAB, "other_configuration"), config["input_shape"], 2)


@expectation(LAB, hidden=True, name="other_configuration")
def other_configuration_expectation(ref, draw):
    kwargs, batch = other_configuration(draw)
    return reference_model(ref, batch, draw.rng(LAB, "other_configuration", "weights"), **kwargs)


@check(LAB, "build_mini_xception", points=1, hidden=True)
@explained
def check_other_configurations(student, expected):
    """honours input_shape (non-square), num_classes and block_filters"""
    kwargs, batch = other_configuration(expected.draw)
    model = build_xception(student, **kwargs)
    ref = expected["other_configuration"]
    try:
        assert_model_outputs(model, ref, batch, f"{kwargs}")
    except AssertionError as exc:
        if model.summary.params != ref["params"]:
            raise AssertionError(param_count_hint(model.summary, ref, f"with {kwargs} the model")) from None
        raise exc from None

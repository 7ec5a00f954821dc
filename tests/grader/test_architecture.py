"""Lab 2 checks: the reference passes, the skeleton is 'not implemented',
equivalent rewrites pass, and typical mistakes fail with a precise hint -- in
this process with the recorded expectations (as in the student kit) and
through a real sandbox with the live reference (as the instructor's judge
grades)."""

import pytest

from cvlab_ch9.grader.core import FAILED, all_checks
from cvlab_ch9.quiet import import_tensorflow
from tests.grader.helpers import (
    LIVE,
    assert_reference_passes,
    check_results,
    failures,
    remote_results,
    skeleton_results,
    solution_text,
    solution_variant,
)

LAB = "architecture"


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


def _variant(tmp_path, *replacements):
    """The solution with each ``(old, new)`` replaced once, loaded as a module."""
    return solution_variant(LAB, tmp_path, *replacements)


def _results(student, exercise=None):
    return check_results(LAB, student, exercise)


def test_reference_passes_every_check(tmp_path):
    assert_reference_passes(LAB, tmp_path)


def test_skeleton_is_not_implemented_with_zero_score(tmp_path):
    results = skeleton_results(LAB, tmp_path)
    assert results["xception_block.xception_outputs"].message == (
        "Not implemented yet: write xception_block() in labs/architecture.py."
    )


def test_some_checks_are_hidden_and_every_exercise_is_graded():
    checks = all_checks(lab=LAB)
    assert 1 <= sum(c.hidden for c in checks) <= 2
    assert {c.exercise for c in checks} == {
        "residual_block", "conv_bn_relu", "separable_conv_params", "xception_block", "build_mini_xception",
    }


RESIDUAL_ADD = "    return layers.add([x, residual])\n    ### END SOLUTION\n\n\ndef conv_bn_relu"
XCEPTION_ADD = "    return layers.add([x, residual])\n    ### END SOLUTION\n\n\ndef build_mini_xception"
XCEPTION_SEPCONV = '    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)\n'
XCEPTION_SHORTCUT = 'residual = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(residual)'

EQUIVALENT = {
    "Add layer (residual)": ("residual_block", (RESIDUAL_ADD, RESIDUAL_ADD.replace("layers.add(", "layers.Add()("))),
    "keras.ops.add (xception)": (
        "xception_block", (XCEPTION_ADD, XCEPTION_ADD.replace("layers.add([x, residual])", "keras.ops.add(x, residual)")),
    ),
    "separate Activation layers": (
        "residual_block",
        (
            '    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)\n'
            '    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)\n',
            '    x = layers.Conv2D(filters, 3, padding="same")(x)\n    x = layers.Activation("relu")(x)\n'
            '    x = layers.Conv2D(filters, 3, padding="same")(x)\n    x = layers.ReLU()(x)\n',
        ),
    ),
    "shortcut built first": (
        "residual_block",
        (
            "    residual = x\n    x = layers.Conv2D(filters, 3",
            "    residual = x\n    if pooling:\n        residual = layers.Conv2D(filters, 1, strides=2)(x)\n"
            "    x = layers.Conv2D(filters, 3",
        ),
        ("        residual = layers.Conv2D(filters, 1, strides=2)(residual)\n", ""),
    ),
    "plus operator": ("residual_block", (RESIDUAL_ADD, RESIDUAL_ADD.replace("layers.add([x, residual])", "x + residual"))),
    "keras.ops.relu": (
        "conv_bn_relu",
        ('    return layers.Activation("relu")(x)', "    return keras.ops.relu(x)"),
    ),
    "Sequential pieces": (
        "xception_block",
        (
            "    x = layers.BatchNormalization()(x)\n    x = layers.Activation(\"relu\")(x)\n" + XCEPTION_SEPCONV,
            "    x = keras.Sequential([layers.BatchNormalization(), layers.Activation(\"relu\"), "
            "layers.SeparableConv2D(filters, 3, padding=\"same\", use_bias=False)])(x)\n",
        ),
    ),
    "1x1 strided shortcut with padding='valid' (same output)": (
        "xception_block", (XCEPTION_SHORTCUT, XCEPTION_SHORTCUT.replace('padding="same", ', "")),
    ),
    "subclassed Layer (conv -> BN -> relu)": (
        "conv_bn_relu",
        (
            '    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(x)\n'
            '    x = layers.BatchNormalization()(x)\n    return layers.Activation("relu")(x)',
            "    return ConvBNReLU(filters, kernel_size)(x)\n\n\n"
            "class ConvBNReLU(layers.Layer):\n"
            "    def __init__(self, filters, kernel_size, **kwargs):\n"
            "        super().__init__(**kwargs)\n"
            '        self.conv = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)\n'
            "        self.norm = layers.BatchNormalization()\n\n"
            "    def call(self, x, training=None):\n"
            "        return keras.ops.relu(self.norm(self.conv(x), training=training))",
        ),
    ),
    "sparse Sequential head": (
        "build_mini_xception",
        (
            "    x = layers.GlobalAveragePooling2D()(x)\n    x = layers.Dropout(0.5)(x)\n",
            "    x = keras.Sequential([layers.GlobalAveragePooling2D(), layers.Dropout(0.5)])(x)\n",
        ),
    ),
}


@pytest.mark.parametrize("name", list(EQUIVALENT))
def test_equivalent_code_passes(tmp_path, name):
    exercise, *replacements = EQUIVALENT[name]
    assert not failures(_results(_variant(tmp_path, *replacements), exercise))


# (exercise, failing check, hint words, replacements)
BROKEN = {
    "residual projection missing": (
        "residual_block", "residual_shapes", ["Conv2D(filters, 1)", "channels"],
        [('    elif filters != residual.shape[-1]:', "    elif False:")],
    ),
    "residual shortcut not strided": (
        "residual_block", "residual_shapes", ["strides=2 is missing"],
        [("residual = layers.Conv2D(filters, 1, strides=2)(residual)", "residual = layers.Conv2D(filters, 1)(residual)")],
    ),
    "residual pooling missing": (
        "residual_block", "residual_shapes", ["pooling is missing"],
        [('        x = layers.MaxPooling2D(2, padding="same")(x)\n', "")],
    ),
    "residual pooling with padding='valid'": (
        "residual_block", "residual_shapes", ["padding='same'"],
        [('x = layers.MaxPooling2D(2, padding="same")(x)', "x = layers.MaxPooling2D(2)(x)")],
    ),
    "residual without the addition": (
        "residual_block", "residual_outputs", ["layers.add([x, residual])"],
        [(RESIDUAL_ADD, RESIDUAL_ADD.replace("return layers.add([x, residual])", "return x"))],
    ),
    "residual always projected": (
        "residual_block", "residual_outputs", ["shortcut is x itself"],
        [("    elif filters != residual.shape[-1]:", "    else:")],
    ),
    "BatchNormalization after the activation": (
        "conv_bn_relu", "conv_bn_relu_training", ["after the activation"],
        [(
            '    x = layers.BatchNormalization()(x)\n    return layers.Activation("relu")(x)',
            '    x = layers.Activation("relu")(x)\n    return layers.BatchNormalization()(x)',
        )],
    ),
    "conv with bias before BatchNormalization": (
        "conv_bn_relu", "conv_bn_relu_training", ["use_bias=False"],
        [('kernel_size, padding="same", use_bias=False)(x)', 'kernel_size, padding="same")(x)')],
    ),
    "xception without strided residual": (
        "xception_block", "xception_outputs", ["strided residual is missing"],
        [(XCEPTION_ADD, XCEPTION_ADD.replace("return layers.add([x, residual])", "return x"))],
    ),
    "xception shortcut with bias": (
        "xception_block", "xception_outputs", ["use_bias=False"],
        [(XCEPTION_SHORTCUT, XCEPTION_SHORTCUT.replace(", use_bias=False", ""))],
    ),
    "xception with regular Conv2D": (
        "xception_block", "xception_outputs", ["SeparableConv2D, not Conv2D"],
        [(XCEPTION_SEPCONV, XCEPTION_SEPCONV.replace("SeparableConv2D", "Conv2D"))],
    ),
    "xception pooling missing": (
        "xception_block", "xception_shapes", ["pooling is missing"],
        [('    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)\n', "")],
    ),
    "xception post-activation order": (
        "xception_block", "xception_outputs", ["pre-activation"],
        [(
            "    x = layers.BatchNormalization()(x)\n    x = layers.Activation(\"relu\")(x)\n" + XCEPTION_SEPCONV,
            XCEPTION_SEPCONV + "    x = layers.BatchNormalization()(x)\n    x = layers.Activation(\"relu\")(x)\n",
        )],
    ),
    "mini-Xception Dense(2, softmax) head": (
        "build_mini_xception", "default_parameter_count", ["722,370", "Dense(1, activation='sigmoid')"],
        [('outputs = layers.Dense(1, activation="sigmoid")(x)', 'outputs = layers.Dense(2, activation="softmax")(x)')],
    ),
    "mini-Xception bias in the first conv": (
        "build_mini_xception", "default_parameter_count", ["721,889", "first Conv2D(32, 5) has a bias"],
        [("x = layers.Conv2D(32, 5, use_bias=False)(x)", "x = layers.Conv2D(32, 5)(x)")],
    ),
    "mini-Xception augmentation missing": (
        "build_mini_xception", "augmentation", ["RandomFlip('horizontal')", "no augmentation layers"],
        [("    if augment:\n", "    if False:\n")],
    ),
    "mini-Xception augments although augment=False": (
        "build_mini_xception", "augmentation", ["must not augment"],
        [("    if augment:\n", "    if True:\n")],
    ),
    "mini-Xception wrong Dropout rate": (
        "build_mini_xception", "head", ["Dropout(0.5)"],
        [("layers.Dropout(0.5)", "layers.Dropout(0.2)")],
    ),
    "mini-Xception without final sigmoid": (
        "build_mini_xception", "head", ["sigmoid", "final activation linear"],
        [('outputs = layers.Dense(1, activation="sigmoid")(x)', "outputs = layers.Dense(1)(x)")],
    ),
    "mini-Xception without Rescaling": (
        "build_mini_xception", "model_outputs", ["Rescaling(1.0 / 255)"],
        [("    x = layers.Rescaling(1.0 / 255)(x)\n", "")],
    ),
    "separable_conv_params swapped": (
        "separable_conv_params", "separable_params", ["swapped"],
        [("    return regular, separable", "    return separable, regular")],
    ),
    "separable_conv_params with bias": (
        "separable_conv_params", "separable_params", ["bias-free"],
        [("    return regular, separable", "    return regular + out_channels, separable + out_channels")],
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_mistake_fails_with_hint(tmp_path, name):
    exercise, check_name, words, replacements = BROKEN[name]
    name = f"{exercise}.{check_name}"
    result = check_results(LAB, _variant(tmp_path, *replacements), names={name})[name]
    assert result.status == FAILED, (result.status, result.message)
    assert result.score == 0
    for word in words:
        assert word in result.message, result.message


@pytest.mark.slow
def test_the_judge_agrees_with_in_process_grading_on_every_variant():
    """Every variant above, graded through one real sandbox against the live reference (hidden checks too).

    As in the in-process tests, a variant runs the checks of the exercise it changes.
    """
    variants, exercises = {}, {}
    for i, name in enumerate(EQUIVALENT):
        exercise, *replacements = EQUIVALENT[name]
        variants[f"equivalent_{i}"], exercises[f"equivalent_{i}"] = solution_text(LAB, *replacements), exercise
    for i, name in enumerate(BROKEN):
        exercise, _, _, replacements = BROKEN[name]
        variants[f"broken_{i}"], exercises[f"broken_{i}"] = solution_text(LAB, *replacements), exercise
    remote = remote_results(LAB, variants, reference=LIVE, exercises=exercises)
    for i, name in enumerate(EQUIVALENT):
        assert not failures(remote[f"equivalent_{i}"]), name
    for i, name in enumerate(BROKEN):
        exercise, check_name, words, _ = BROKEN[name]
        result = remote[f"broken_{i}"][f"{exercise}.{check_name}"]
        assert result.status == FAILED and result.score == 0, (name, result.status, result.message)
        for word in words:
            assert word in result.message, (name, result.message)

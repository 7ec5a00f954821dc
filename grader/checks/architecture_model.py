"""Lab 2 checks, part 2: build_mini_xception.

Scored on behaviour the judge sees, on drawn inputs:

- the default parameter count: the judge's own rebuild of the config (or,
  for code it cannot rebuild, the reference's weights reproducing the
  reference's outputs; see :mod:`cvlab_ch9.grader.modelfacts`);
- the head: with the Dense kernel set to 0 and a drawn bias ``b`` the model
  must output ``sigmoid(b)`` (one class) or ``softmax(b)`` (several): that is
  the final activation, read from outputs; with the kernel reading one
  feature, training mode must drop about half of the samples' features
  (Dropout(0.5)) and inference mode none;
- augmentation: in training mode, copies of one image must come out
  differently with augment=True (beyond dropout: the kernel reads one
  feature, so dropout gives at most one kept value) and identically with
  augment=False; at inference both models agree;
- outputs: the reference's weights copied in, outputs compared.

The augmentation factors (0.1 rotation, 0.2 zoom, horizontal flips) act only
in training mode, so no comparison of outputs can confirm them: they are
read from the model's config as the judge rebuilds it (or from the model's
own description where it cannot), and only ever take a point away.
"""

import functools

import numpy as np

from cvlab_ch9.grader.checks.architecture_blocks import LAB
from cvlab_ch9.grader.checks.architecture_hints import PROBE_CONFIG, mini_xception_hint
from cvlab_ch9.grader.checks.architecture_separable import check_xception_outputs, check_xception_shapes
from cvlab_ch9.grader.core import blame_callees, check, sentence, student_error
from cvlab_ch9.grader.draw import distinct, integers, uniform
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.modelfacts import assert_parameter_count, by_class_hint, default_model_expectations, model_facts
from cvlab_ch9.grader.modeltools import (
    assert_close,
    copy_weights_by_layer,
    effective_final_activation,
    flat_layers,
    is_model,
    layers_of,
    layers_with_weights,
    output_of,
    set_drawn_weights,
    type_name,
)
from cvlab_ch9.grader.rebuild import verified_model

RANDOM_AUGMENTATION = ("RandomFlip", "RandomRotation", "RandomZoom")
DEFAULT_PARAMS = 721_857

# typical mistakes and the parameter difference they cause with the defaults
_KNOWN_DIFFERENCES = {
    513: "Your head is Dense(2, 'softmax') (1,026 parameters); with num_classes=1 use Dense(1, activation='sigmoid') (513).",
    32: "Your first Conv2D(32, 5) has a bias; use use_bias=False (BatchNormalization follows in the first block).",
    -1536: "Your first convolution is Conv2D(32, 3); the chapter's is Conv2D(32, 5, use_bias=False).",
    992: "Your shortcut convolutions have biases; use Conv2D(filters, 1, strides=2, padding='same', use_bias=False).",
    1984: "Your SeparableConv2D layers have biases; use use_bias=False.",
}

_CLASS_HINTS = {
    "Dense": "the head is Dense(1, activation='sigmoid') for num_classes=1.",
    "Conv2D": "the only regular convolutions are Conv2D(32, 5, use_bias=False) and each block's "
    "Conv2D(filters, 1, strides=2, padding='same', use_bias=False) shortcut.",
    "SeparableConv2D": "each block has two SeparableConv2D(filters, 3, padding='same', use_bias=False).",
    "BatchNormalization": "each block has two BatchNormalization layers, one before each SeparableConv2D.",
}


def xception_callee(student, expected):
    """The student's xception_block with its own checks (run only to name the cause of a model's failure)."""
    return [("xception_block", [lambda: check_xception_shapes(student, expected),
                                lambda: check_xception_outputs(student, expected)])]


def explained(check_func):
    """A mini-Xception check whose failure names a failing xception_block first, then the model's own mistake."""

    @functools.wraps(check_func)
    def run(student, expected):
        with blame_callees(xception_callee(student, expected)):
            try:
                return check_func(student, expected)
            except (AssertionError, ValueError) as failure:
                hint = ""
                try:
                    hint = mini_xception_hint(build_xception(student, **PROBE_CONFIG), student.source("build_mini_xception"))
                except Exception as exc:
                    if not student_error(exc):
                        raise
                if hint:
                    raise AssertionError(hint) from None
                raise failure from None

    return run


def build_xception(impl, **kwargs):
    """The implementation's ``build_mini_xception(**kwargs)`` as a ModelHandle (AssertionError otherwise)."""
    model = impl.function("build_mini_xception")(**kwargs)
    if not is_model(model):
        raise AssertionError(f"build_mini_xception() must return a keras.Model, got {type_name(model)}.")
    return model


def param_count_hint(summary, ref_counts, kwargs_text="the default model"):
    """Why a model whose ModelSummary is ``summary`` has another count than ``ref_counts`` (see :func:`model_facts`)."""
    diff = summary.params - ref_counts["params"]
    lead = f"{kwargs_text} has {summary.params:,} parameters; the chapter's has {ref_counts['params']:,}. "
    if diff in _KNOWN_DIFFERENCES and kwargs_text == "the default model":
        # the known difference names the mistake: it comes first, the counts after
        return f"{sentence(_KNOWN_DIFFERENCES[diff])} ({sentence(lead)})"
    return lead + by_class_hint(summary, ref_counts["by_class"], _CLASS_HINTS)


def small_config(shapes, square=True):
    """Drawn keyword arguments: a small input (sides 12..20), one or two blocks of 2..8 filters (structure stream)."""
    sides = distinct(shapes, 12, 20, 2)
    shape = (sides[0], sides[0] if square else sides[1], 3)
    return {"input_shape": shape, "block_filters": tuple(integers(shapes, 2, 8, size=integers(shapes, 1, 2)))}


def pixels(rng, shape, count):
    """``count`` drawn images of ``shape`` (pixels in 0..255), float32."""
    return uniform(rng, (count,) + tuple(shape), 0.0, 255.0)


# -- the default parameter count -------------------------------------------------


def default_batch(draw):
    return pixels(draw.rng(LAB, "default_model", "batch"), (180, 180, 3), 1)


DEFAULT_STREAM = default_model_expectations(LAB, build_xception, default_batch)


@check(LAB, "build_mini_xception", points=2)
@explained
def check_default_parameter_count(student, expected):
    """the default model has the chapter's 721,857 parameters"""
    ref = expected["default_model"]
    assert_parameter_count(build_xception(student), expected, "default_model", DEFAULT_STREAM,
                           default_batch(expected.draw), lambda summary: param_count_hint(summary, ref))


# -- probing the head -------------------------------------------------------------


def head_weights(model, num_classes):
    """``(weights, kernel index)``: the model's weights and where its Dense(num_classes) kernel is (its bias follows)."""
    weights = [np.array(w) for w in model.get_weights()]
    if (len(weights) >= 2 and weights[-2].ndim == 2 and weights[-2].shape[1] == num_classes
            and weights[-1].shape == (num_classes,)):
        return weights, len(weights) - 2
    raise AssertionError(
        f"the model must end with Dense({num_classes}) (with its bias): its last weights should be a kernel of shape "
        f"(features, {num_classes}) and a bias of shape ({num_classes},); got shapes "
        f"{[tuple(w.shape) for w in weights[-2:]]}."
    )


def set_head(model, weights, index, kernel, bias):
    probe = list(weights)
    probe[index], probe[index + 1] = kernel.astype("float32"), bias.astype("float32")
    model.set_weights(probe)


def _rounded(values):
    return [round(float(v), 4) for v in np.ravel(values)]


def _softmax(values):
    exp = np.exp(values - values.max())
    return exp / exp.sum()


def _sigmoid(values):
    return 1.0 / (1.0 + np.exp(-values))


def assert_final_activation(model, batch, num_classes, rng):
    """With the head's kernel 0 and a drawn bias b, every output row is sigmoid(b) / softmax(b)."""
    weights, index = head_weights(model, num_classes)
    bias = rng.uniform(0.4, 1.6, size=num_classes) * rng.choice([-1.0, 1.0], size=num_classes)
    set_head(model, weights, index, np.zeros_like(weights[index]), bias)
    got = output_of(model, batch, "the model")
    if got.shape != (len(batch), num_classes):
        raise AssertionError(f"with num_classes={num_classes} the output must have shape {(len(batch), num_classes)}; "
                             f"got {got.shape}.")
    want = _sigmoid(bias) if num_classes == 1 else _softmax(bias)
    if np.allclose(got, want, atol=1e-5):
        return
    final = effective_final_activation(model)
    if np.allclose(got, bias, atol=1e-5):
        final = "linear"
    activation = "sigmoid" if num_classes == 1 else "softmax"
    raise AssertionError(
        f"with num_classes={num_classes} the output is Dense({num_classes}, activation='{activation}'); with the "
        f"head's kernel at 0 your model gives {_rounded(got[0])} instead of {activation}(bias) = "
        f"{_rounded(want)} (final activation {final})."
    )


def one_feature_outputs(model, batch, weights, index, training):
    """Outputs with the head reading only one feature: ``(feature channel, outputs)``; bias 0 (sigmoid(0) = 0.5).

    The first channel whose feature is not 0 at inference is used, so a dropped
    feature (0.5) and a kept one are told apart.
    """
    kernel = np.zeros_like(weights[index])
    for channel in range(min(kernel.shape[0], 4)):
        kernel[:] = 0.0
        kernel[channel, 0] = 1.0
        set_head(model, weights, index, kernel, np.zeros(1))
        if not np.allclose(output_of(model, batch[:1], "the model"), 0.5, atol=1e-6):
            break
    return output_of(model, batch, "the model") if not training else np.asarray(model.predict(batch, training=True))


HEAD_STREAM = (LAB, "head")


def head_case(draw):
    shapes, values = draw.shape_rng(*HEAD_STREAM), draw.rng(*HEAD_STREAM)
    config = small_config(shapes)
    return (config, integers(shapes, 2, 5), pixels(values, config["input_shape"], 2),
            pixels(values, config["input_shape"], 1))


@check(LAB, "build_mini_xception", points=1)
@explained
def check_head(student, expected):
    """a sigmoid (1 class) / softmax (n classes) output after Dropout(0.5) (drawn sizes and classes)"""
    config, classes, batch, image = head_case(expected.draw)
    rng = expected.draw.rng(*HEAD_STREAM, "bias")
    model = build_xception(student, augment=False, **config)
    assert_final_activation(model, batch, 1, rng)
    assert_final_activation(build_xception(student, augment=False, num_classes=classes, **config), batch, classes, rng)
    weights, index = head_weights(model, 1)
    copies = np.repeat(image, 256, axis=0)
    inference = one_feature_outputs(model, copies, weights, index, training=False)
    if not np.allclose(inference, inference[0], atol=1e-6):
        raise AssertionError("at inference the model must not drop anything: copies of one image give different "
                             "outputs. Dropout(0.5) is active only in training mode.")
    dropped = float(np.mean(np.isclose(one_feature_outputs(model, copies, weights, index, training=True), 0.5,
                                       atol=1e-7)))
    if not 0.3 <= dropped <= 0.7:  # 256 samples: a rate of 0.5 lands outside with probability below 1e-9
        rates = [d.rate for d in layers_of(model, "Dropout")]
        found = f" (your model uses Dropout rate {rates[0]:g}, found rates {rates})" if rates else ""
        raise AssertionError(f"the head has one Dropout(0.5) after GlobalAveragePooling2D: in training mode your model "
                             f"dropped {dropped:.0%} of the features instead of about 50%{found}.")


# -- augmentation --------------------------------------------------------------------


def _factor_bound(factor):
    """0.1 for a factor given as 0.1, (-0.1, 0.1) or [-0.1, 0.1]."""
    return float(np.max(np.abs(np.asarray(factor, dtype="float64"))))


def _augmentation_names(model):
    return [layer.class_name for layer in flat_layers(model) if layer.class_name.startswith("Random")]


def _distinct_kept(outputs):
    """How many different values (1e-5 apart) the outputs that were not dropped (0.5) take."""
    kept = np.sort(outputs[~np.isclose(outputs, 0.5, atol=1e-7)])
    return 0 if kept.size == 0 else 1 + int(np.sum(np.diff(kept) > 1e-5))


def _assert_factors(summary):
    """AssertionError when the random layers' settings differ from the chapter's (summary: the judge's rebuild)."""
    layers = summary.layers_of(*RANDOM_AUGMENTATION)
    names = [layer.class_name for layer in layers]
    if names != list(RANDOM_AUGMENTATION):
        raise AssertionError(f"with augment=True the model starts with RandomFlip('horizontal'), RandomRotation(0.1), "
                             f"RandomZoom(0.2); found {names or 'no augmentation layers'}.")
    flip, rotation, zoom = layers
    config = {layer.class_name: layer.get_config() for layer in layers}
    if (config["RandomFlip"].get("mode") != "horizontal"
            or not np.isclose(_factor_bound(config["RandomRotation"]["factor"]), 0.1)
            or not np.isclose(_factor_bound(config["RandomZoom"]["height_factor"]), 0.2)):
        raise AssertionError(f"use RandomFlip('horizontal'), RandomRotation(0.1) and RandomZoom(0.2); found "
                             f"{flip.name} {config['RandomFlip'].get('mode')!r}, {rotation.name} "
                             f"{config['RandomRotation'].get('factor')}, {zoom.name} {config['RandomZoom'].get('height_factor')}.")


def augmentation_case(draw):
    values = draw.rng(LAB, "augmentation")
    config = small_config(draw.shape_rng(LAB, "augmentation"))
    return config, pixels(values, config["input_shape"], 2), pixels(values, config["input_shape"], 1)


@check(LAB, "build_mini_xception", points=1)
@explained
def check_augmentation(student, expected):
    """RandomFlip/RandomRotation/RandomZoom act in training mode only when augment=True"""
    draw = expected.draw
    config, batch, image = augmentation_case(draw)
    with_aug = build_xception(student, augment=True, **config)
    rebuilt = verified_model(with_aug, draw.rng(LAB, "augmentation", "rebuild"),
                             draw.seed(LAB, "augmentation", "rebuild"), batch)
    without = build_xception(student, augment=False, **config)
    weights, index = head_weights(without, 1)
    if [w.shape for w in with_aug.get_weights()] != [w.shape for w in weights]:
        raise AssertionError("augment=True must only add the random augmentation layers (which have no weights); "
                             "your model's other layers change with augment.")
    copies = np.repeat(image, 64, axis=0)
    if _distinct_kept(one_feature_outputs(without, copies, weights, index, training=True)) > 1:
        raise AssertionError(f"with augment=False the model must not augment; in training mode copies of one image "
                             f"came out differently (found {', '.join(_augmentation_names(without)) or 'randomness'}).")
    augmented = one_feature_outputs(with_aug, copies, weights, index, training=True)
    if _distinct_kept(augmented) < 3:
        names = [layer.class_name for layer in layers_of(with_aug, *RANDOM_AUGMENTATION)]
        raise AssertionError(f"with augment=True the model starts with RandomFlip('horizontal'), RandomRotation(0.1), "
                             f"RandomZoom(0.2): in training mode copies of one image must come out differently; found "
                             f"{names or 'no augmentation layers'}.")
    with_aug.set_weights(weights)
    without.set_weights(weights)
    assert_close(output_of(with_aug, batch, "the model"), output_of(without, batch, "the model"),
                 "augmentation must act only in training mode: with augment=True the inference output")
    _assert_factors(rebuilt.summary if rebuilt is not None else with_aug.summary)
    if not layers_of(without, "Rescaling"):
        raise AssertionError("add Rescaling(1.0 / 255) after the (optional) augmentation: inputs are pixels in 0..255.")


# -- outputs ----------------------------------------------------------------------------


def reference_model(ref, batch, rng, **kwargs):
    """``{"layers", "output", "params", "by_class", "layer_shapes"}`` of the reference's ``build_mini_xception(**kwargs)``.

    Every weight is drawn from ``rng`` (see :func:`set_drawn_weights`) before
    the weights and the inference-mode output on ``batch`` are taken.
    """
    model = build_xception(ref, **kwargs)
    set_drawn_weights(model, rng)
    return {"layers": layers_with_weights(model), "output": model.predict(batch), **model_facts(model)}


def small_model_cases(draw):
    """Two drawn configurations (augment True, then False) with their batches."""
    shapes, values = draw.shape_rng(LAB, "small_models"), draw.rng(LAB, "small_models")
    cases = []
    for augment in (True, False):
        config = small_config(shapes)
        cases.append(({**config, "augment": augment}, pixels(values, config["input_shape"], 2)))
    return cases


@expectation(LAB, name="small_models")
def small_models_expectation(ref, draw):
    rng = draw.rng(LAB, "small_models", "weights")
    return [reference_model(ref, batch, rng, **kwargs) for kwargs, batch in small_model_cases(draw)]


def assert_model_outputs(model, ref, batch, what):
    """Copy the reference's layers into ``model``; its output on ``batch`` must be the reference's."""
    copy_weights_by_layer(
        ref["layers"], model,
        f"{what}: the layers differ from the chapter's mini-Xception (Rescaling, Conv2D(32, 5, use_bias=False), "
        "one xception_block per entry of block_filters, GlobalAveragePooling2D, Dropout, Dense)",
    )
    got = output_of(model, batch, "the model")
    try:
        assert_close(got, ref["output"], f"model output ({what})", atol=1e-5, rtol=1e-4)
    except AssertionError as exc:
        rescaled = output_of(model, batch / 255.0, "the model")
        if rescaled.shape == ref["output"].shape and np.allclose(rescaled, ref["output"], atol=1e-4):
            raise AssertionError(f"{exc} Add Rescaling(1.0 / 255): inputs are pixels in 0..255.") from None
        hint = "" if layers_of(model, "Rescaling") else " Add Rescaling(1.0 / 255): inputs are pixels in 0..255."
        raise AssertionError(f"{exc}{hint}") from None


@check(LAB, "build_mini_xception", points=3)
@explained
def check_model_outputs(student, expected):
    """with the reference weights, outputs equal the reference (augmentation is identity at inference)"""
    for (kwargs, batch), ref in zip(small_model_cases(expected.draw), expected["small_models"]):
        assert_model_outputs(build_xception(student, **kwargs), ref, batch, f"{kwargs}")

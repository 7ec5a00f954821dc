"""Checks for Lab 1 — segmentation (strided encoder, Conv2DTranspose decoder).

Each model check builds the student's block on a tiny input, copies the
reference weights into it and compares outputs with the reference's
(recorded, or computed from solutions/ on the instructor's side).
"""

import numpy as np

from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.modeltools import (
    assert_close,
    copy_weights,
    effective_final_activation,
    is_model,
    layers_of,
    seeded_inputs,
    type_name,
)

LAB = "segmentation"
POOLING = ("MaxPooling2D", "AveragePooling2D")
UPSAMPLING = ("UpSampling2D",)


def trimap(seed=0, shape=(6, 7)):
    """Seeded uint8 trimap of ``shape`` with values 1, 2, 3."""
    return np.random.default_rng(seed).integers(1, 4, size=shape).astype("uint8")


# -- trimap_to_classes ---------------------------------------------------------


@expectation(LAB)
def trimap_classes(ref):
    return ref.call("trimap_to_classes", trimap())


@check(LAB, "trimap_to_classes", points=2)
def check_mapping(student, expected):
    """trimap values 1, 2, 3 become classes 0, 1, 2 (uint8, same shape)"""
    given = trimap()
    got = np.asarray(student.function("trimap_to_classes")(given.copy()))
    if got.shape != given.shape:
        raise AssertionError(f"the result must keep the trimap's shape {given.shape}; got {got.shape}.")
    if np.array_equal(got, given):
        raise AssertionError(
            "you returned the trimap unchanged; forgetting the -1: values 1, 2, 3 must become 0, 1, 2."
        )
    if not np.array_equal(got, expected["trimap_classes"]):
        raise AssertionError("expected trimap - 1 (1 -> 0 pet, 2 -> 1 background, 3 -> 2 contour).")
    if got.dtype != np.uint8:
        raise AssertionError(f"return uint8 labels (`.astype('uint8')`); got dtype {got.dtype}.")


@check(LAB, "trimap_to_classes", points=1)
def check_rejects_unknown_values(student, expected):
    """a trimap value outside 1..3 raises ValueError naming it"""
    given = trimap()
    given[0, 0] = 4
    func = student.function("trimap_to_classes")
    try:
        func(given)
    except ValueError as exc:
        if "4" not in str(exc):
            raise AssertionError(f"the ValueError must name the unexpected value(s) found (4); it said: {exc}") from None
        return
    raise AssertionError("a trimap containing 4 must raise ValueError naming the values found, not return labels.")


# -- strided_downsampling ------------------------------------------------------

ENCODER_INPUT = (32, 32, 3)
ENCODER_FILTERS = (4, 8)


def encoder(impl):
    return impl.build_block("strided_downsampling", ENCODER_INPUT, filters=ENCODER_FILTERS)


def encoder_batch():
    return seeded_inputs((2,) + ENCODER_INPUT, low=0.0, high=1.0)


@expectation(LAB, name="encoder")
def encoder_expectation(ref):
    model = encoder(ref)
    return {"weights": model.get_weights(), "output": model.predict(encoder_batch())}


@check(LAB, "strided_downsampling", points=2)
def check_encoder_structure(student, expected):
    """halves the resolution per stage with strided Conv2D, no pooling"""
    model = encoder(student)
    pooling = layers_of(model, *POOLING)
    if pooling:
        raise AssertionError(
            f"your encoder uses {pooling[0].class_name}; the chapter downsamples with strides=2 "
            "in the first Conv2D of each stage (pooling discards where things are)."
        )
    side = ENCODER_INPUT[0] // 2 ** len(ENCODER_FILTERS)
    want = (None, side, side, ENCODER_FILTERS[-1])
    got = model.summary.output_shape
    if got != want:
        raise AssertionError(
            f"with input {ENCODER_INPUT} and filters={ENCODER_FILTERS} the encoder must output {want}, got {got}. "
            "Each stage is Conv2D(f, 3, strides=2, ...) then Conv2D(f, 3, ...), both padding='same'."
        )
    convs = layers_of(model, "Conv2D")
    if len(convs) != 2 * len(ENCODER_FILTERS):
        raise AssertionError(f"expected 2 Conv2D layers per filter value ({2 * len(ENCODER_FILTERS)}), found {len(convs)}.")


@check(LAB, "strided_downsampling", points=2)
def check_encoder_outputs(student, expected):
    """with the reference weights, outputs equal the reference encoder"""
    model, ref = encoder(student), expected["encoder"]
    copy_weights(ref["weights"], model, "the encoder's layers differ from Conv2D(f, 3, strides=2) + Conv2D(f, 3) per stage")
    assert_close(model.predict(encoder_batch()), ref["output"], "encoder output")
    assert_relu_everywhere(model, "encoder")


def assert_relu_everywhere(model, part):
    for layer in layers_of(model, "Conv2D", "Conv2DTranspose"):
        if layer.activation not in ("relu", "linear"):
            raise AssertionError(f"every convolution of the {part} uses activation='relu'; {layer.name} uses {layer.activation}.")


# -- conv_transpose_decoder ----------------------------------------------------

DECODER_INPUT = (4, 4, 8)
DECODER_FILTERS = (8, 4)


def decoder(impl):
    return impl.build_block("conv_transpose_decoder", DECODER_INPUT, filters=DECODER_FILTERS)


def decoder_batch():
    return seeded_inputs((2,) + DECODER_INPUT, low=0.0, high=1.0)


@expectation(LAB, name="decoder")
def decoder_expectation(ref):
    model = decoder(ref)
    return {"weights": model.get_weights(), "output": model.predict(decoder_batch())}


@check(LAB, "conv_transpose_decoder", points=2)
def check_decoder_structure(student, expected):
    """doubles the resolution per stage with Conv2DTranspose(strides=2)"""
    model = decoder(student)
    if layers_of(model, *UPSAMPLING):
        raise AssertionError("your decoder uses UpSampling2D; the chapter upsamples with Conv2DTranspose(f, 3, strides=2).")
    if not layers_of(model, "Conv2DTranspose"):
        raise AssertionError("the decoder must use Conv2DTranspose layers (Conv2D cannot increase the resolution).")
    want = (None, 16, 16, DECODER_FILTERS[-1])
    got = model.summary.output_shape
    if got is not None and tuple(got[1:3]) == DECODER_INPUT[:2]:
        raise AssertionError(
            "the decoder output has the input's resolution: missing strides=2 in the decoder. The second "
            "Conv2DTranspose of each stage must use strides=2 to double the resolution."
        )
    if got != want:
        raise AssertionError(
            f"with input {DECODER_INPUT} and filters={DECODER_FILTERS} the decoder must output {want}, got {got}."
        )


@check(LAB, "conv_transpose_decoder", points=2)
def check_decoder_outputs(student, expected):
    """with the reference weights, outputs equal the reference decoder"""
    model, ref = decoder(student), expected["decoder"]
    copy_weights(
        ref["weights"], model,
        "the decoder's layers differ from Conv2DTranspose(f, 3) + Conv2DTranspose(f, 3, strides=2) per stage",
    )
    stride_order = [layer.strides for layer in layers_of(model, "Conv2DTranspose")]
    if stride_order and tuple(stride_order[0]) == (2, 2):
        raise AssertionError(
            "in each decoder stage the stride-1 Conv2DTranspose comes first and the strides=2 one second."
        )
    assert_close(model.predict(decoder_batch()), ref["output"], "decoder output")
    assert_relu_everywhere(model, "decoder")


# -- build_segmentation_model --------------------------------------------------

SMALL = {"img_size": (32, 32), "num_classes": 3, "filters": (4, 8)}
DEFAULT_PARAMS = 2_880_643


def build(impl, **kwargs):
    model = impl.function("build_segmentation_model")(**kwargs)
    if not is_model(model):
        raise AssertionError(f"build_segmentation_model() must return a keras.Model, got {type_name(model)}.")
    return model


def model_batch():
    return seeded_inputs((2, 32, 32, 3))


@expectation(LAB, name="small_model")
def small_model_expectation(ref):
    model = build(ref, **SMALL)
    return {"weights": model.get_weights(), "output": model.predict(model_batch())}


@check(LAB, "build_segmentation_model", points=2)
def check_default_parameter_count(student, expected):
    """the default model has the chapter's 2,880,643 parameters"""
    count = build(student).summary.params
    if count != DEFAULT_PARAMS:
        raise AssertionError(
            f"the default model has {count:,} parameters; the chapter's has {DEFAULT_PARAMS:,}. "
            "Check img_size=(200, 200), filters=(64, 128, 256) and the final Conv2D(num_classes, 3)."
        )


@check(LAB, "build_segmentation_model", points=3)
def check_model_outputs(student, expected):
    """rescales, encodes, decodes and ends in a per-pixel softmax (same outputs as the reference)"""
    model, ref = build(student, **SMALL), expected["small_model"]
    got_shape = model.summary.output_shape
    if got_shape != (None, 32, 32, 3):
        raise AssertionError(f"for img_size=(32, 32) the model must output (None, 32, 32, 3), got {got_shape}.")
    final = effective_final_activation(model)
    if final != "softmax":
        raise AssertionError(
            f"wrong final activation ({final}): end with Conv2D(num_classes, 3, activation='softmax', padding='same') "
            "so each pixel gets a probability distribution over the classes."
        )
    if not layers_of(model, "Rescaling"):
        raise AssertionError("add Rescaling(1.0 / 255) right after the Input: the model receives pixels in 0..255.")
    copy_weights(ref["weights"], model,
                 "the model's layers differ from the chapter's (see strided_downsampling and conv_transpose_decoder)")
    assert_close(model.predict(model_batch()), ref["output"], "model output", atol=1e-5)


@check(LAB, "build_segmentation_model", points=1)
def check_num_classes(student, expected):
    """honours num_classes and filters"""
    got = build(student, img_size=(16, 16), num_classes=5, filters=(2, 4)).summary.output_shape
    if got != (None, 16, 16, 5):
        raise AssertionError(f"img_size=(16, 16), num_classes=5 must give outputs (None, 16, 16, 5), got {got}.")


# -- mean_iou ------------------------------------------------------------------


def keras_mean_iou(y_true, y_pred_labels, num_classes):
    """keras.metrics.MeanIoU (float) of integer labels of any (equal) size, flattened."""
    import keras  # noqa: PLC0415

    metric = keras.metrics.MeanIoU(num_classes=num_classes)
    metric.update_state(np.asarray(y_true).reshape(-1), np.asarray(y_pred_labels).reshape(-1))
    return float(metric.result())


def labels(seed, shape=(2, 8, 8), num_classes=3):
    """Seeded int64 labels of ``shape`` in 0..num_classes-1."""
    return np.random.default_rng(seed).integers(0, num_classes, size=shape)


def as_float(value, what="mean_iou"):
    """``value`` as a Python float; AssertionError naming the type otherwise."""
    try:
        return float(np.asarray(value, dtype="float64").reshape(()))
    except (TypeError, ValueError):
        raise AssertionError(f"{what} must return one number (a float); got {type_name(value)}.") from None


def mean_iou_hint(y_true, y_pred, got):
    """Hint (str) for a wrong mean IoU ``got`` of the integer label arrays y_true and y_pred."""
    accuracy = float(np.mean(y_true.reshape(-1) == y_pred.reshape(-1)))
    if np.isclose(got, accuracy):
        return "that is pixel accuracy; IoU per class is |true & pred| / |true | pred|, then average over classes."
    return "compute, for each class, intersection / union of the true and predicted masks, then the mean over classes."


@check(LAB, "mean_iou", points=2)
def check_labels(student, expected):
    """equals keras.metrics.MeanIoU on integer labels"""
    func = student.function("mean_iou")
    for seed in range(3):
        y_true, y_pred = labels(seed), labels(seed + 10)
        y_pred[:1] = y_true[:1]  # half the batch right
        want = keras_mean_iou(y_true, y_pred, 3)
        got = as_float(func(y_true, y_pred, 3))
        if not np.isclose(got, want, atol=1e-6):
            raise AssertionError(f"mean_iou = {got:.4f}, keras.metrics.MeanIoU gives {want:.4f}: "
                                 + mean_iou_hint(y_true, y_pred, got))


@check(LAB, "mean_iou", points=1)
def check_scores_and_channel_axis(student, expected):
    """accepts per-class scores (argmax) and labels shaped (N, H, W, 1)"""
    func = student.function("mean_iou")
    y_true = labels(3)
    scores = np.random.default_rng(4).random((2, 8, 8, 3)).astype("float32")
    want = keras_mean_iou(y_true, scores.argmax(-1), 3)
    got = as_float(func(y_true[..., None], scores, 3))
    if not np.isclose(got, want, atol=1e-6):
        raise AssertionError(
            f"with y_true of shape (N, H, W, 1) and scores of shape (N, H, W, 3) expected {want:.4f}, got {got:.4f}; "
            "take argmax over the last axis of scores and flatten both."
        )


@check(LAB, "mean_iou", points=1)
def check_absent_classes(student, expected):
    """classes absent from both masks do not count"""
    func = student.function("mean_iou")
    y_true = np.array([[[0, 0], [1, 1]]])
    y_pred = np.array([[[0, 1], [1, 1]]])
    want = keras_mean_iou(y_true, y_pred, 4)  # classes 2 and 3 never appear
    got = as_float(func(y_true, y_pred, 4))
    if not np.isclose(got, want, atol=1e-6):
        raise AssertionError(
            f"expected {want:.4f}, got {got:.4f}: average only over classes whose union is non-empty "
            "(classes that appear in neither mask are skipped, as keras.metrics.MeanIoU does)."
        )

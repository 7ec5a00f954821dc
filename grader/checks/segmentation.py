"""Checks for Lab 1 — segmentation (strided encoder, Conv2DTranspose decoder)."""

import numpy as np

from grader.core import check, student_function
from grader.modeltools import (
    assert_close,
    copy_weights,
    effective_final_activation,
    layers_of,
    model_from_block,
    predict,
    seeded_inputs,
)
from grader.reference import reference

LAB = "segmentation"
POOLING = ("MaxPooling2D", "AveragePooling2D")
UPSAMPLING = ("UpSampling2D",)


def _trimap(seed=0, shape=(6, 7)):
    """Seeded uint8 trimap of ``shape`` with values 1, 2, 3."""
    return np.random.default_rng(seed).integers(1, 4, size=shape).astype("uint8")


# -- trimap_to_classes ---------------------------------------------------------


@check(LAB, "trimap_to_classes", points=2)
def check_mapping(student):
    """trimap values 1, 2, 3 become classes 0, 1, 2 (uint8, same shape)"""
    trimap = _trimap()
    got = np.asarray(student_function(student, "trimap_to_classes")(trimap.copy()))
    if got.shape != trimap.shape:
        raise AssertionError(f"the result must keep the trimap's shape {trimap.shape}; got {got.shape}.")
    if np.array_equal(got, trimap):
        raise AssertionError(
            "you returned the trimap unchanged; forgetting the -1: values 1, 2, 3 must become 0, 1, 2."
        )
    if np.array_equal(got, trimap.astype(int) + 1) or not np.array_equal(got, trimap - 1):
        raise AssertionError("expected trimap - 1 (1 -> 0 pet, 2 -> 1 background, 3 -> 2 contour).")
    if got.dtype != np.uint8:
        raise AssertionError(f"return uint8 labels (`.astype('uint8')`); got dtype {got.dtype}.")


@check(LAB, "trimap_to_classes", points=1)
def check_rejects_unknown_values(student):
    """a trimap value outside 1..3 raises ValueError naming it"""
    trimap = _trimap()
    trimap[0, 0] = 4
    func = student_function(student, "trimap_to_classes")
    try:
        func(trimap)
    except ValueError as exc:
        if "4" not in str(exc):
            raise AssertionError(f"the ValueError must name the unexpected value(s) found (4); it said: {exc}") from None
        return
    raise AssertionError("a trimap containing 4 must raise ValueError naming the values found, not return labels.")


# -- strided_downsampling ------------------------------------------------------

ENCODER_INPUT = (32, 32, 3)
ENCODER_FILTERS = (4, 8)


def _encoder(impl):
    return model_from_block(
        student_function(impl, "strided_downsampling"), "strided_downsampling", ENCODER_INPUT, filters=ENCODER_FILTERS
    )


@check(LAB, "strided_downsampling", points=2)
def check_encoder_structure(student):
    """halves the resolution per stage with strided Conv2D, no pooling"""
    model = _encoder(student)
    pooling = layers_of(model, *POOLING)
    if pooling:
        raise AssertionError(
            f"your encoder uses {type(pooling[0]).__name__}; the chapter downsamples with strides=2 "
            "in the first Conv2D of each stage (pooling discards where things are)."
        )
    side = ENCODER_INPUT[0] // 2 ** len(ENCODER_FILTERS)
    expected = (None, side, side, ENCODER_FILTERS[-1])
    got = tuple(model.outputs[0].shape)
    if got != expected:
        raise AssertionError(
            f"with input {ENCODER_INPUT} and filters={ENCODER_FILTERS} the encoder must output {expected}, got {got}. "
            "Each stage is Conv2D(f, 3, strides=2, ...) then Conv2D(f, 3, ...), both padding='same'."
        )
    convs = layers_of(model, "Conv2D")
    if len(convs) != 2 * len(ENCODER_FILTERS):
        raise AssertionError(f"expected 2 Conv2D layers per filter value ({2 * len(ENCODER_FILTERS)}), found {len(convs)}.")


@check(LAB, "strided_downsampling", points=2)
def check_encoder_outputs(student):
    """with the reference weights, outputs equal the reference encoder"""
    model, ref = _encoder(student), _encoder(reference(LAB))
    copy_weights(ref, model, "the encoder's layers differ from Conv2D(f, 3, strides=2) + Conv2D(f, 3) per stage")
    x = seeded_inputs((2,) + ENCODER_INPUT, low=0.0, high=1.0)
    assert_close(
        predict(model, x), predict(ref, x), "encoder output",
    )
    _assert_relu_everywhere(model, "encoder")


def _assert_relu_everywhere(model, part):
    for layer in layers_of(model, "Conv2D", "Conv2DTranspose"):
        name = getattr(getattr(layer, "activation", None), "__name__", None)
        if name not in ("relu", "linear"):
            raise AssertionError(f"every convolution of the {part} uses activation='relu'; {layer.name} uses {name}.")


# -- conv_transpose_decoder ----------------------------------------------------

DECODER_INPUT = (4, 4, 8)
DECODER_FILTERS = (8, 4)


def _decoder(impl):
    return model_from_block(
        student_function(impl, "conv_transpose_decoder"), "conv_transpose_decoder", DECODER_INPUT, filters=DECODER_FILTERS
    )


@check(LAB, "conv_transpose_decoder", points=2)
def check_decoder_structure(student):
    """doubles the resolution per stage with Conv2DTranspose(strides=2)"""
    model = _decoder(student)
    if layers_of(model, *UPSAMPLING):
        raise AssertionError("your decoder uses UpSampling2D; the chapter upsamples with Conv2DTranspose(f, 3, strides=2).")
    transposed = layers_of(model, "Conv2DTranspose")
    if not transposed:
        raise AssertionError("the decoder must use Conv2DTranspose layers (Conv2D cannot increase the resolution).")
    expected = (None, 16, 16, DECODER_FILTERS[-1])
    got = tuple(model.outputs[0].shape)
    if got[1:3] == DECODER_INPUT[:2]:
        raise AssertionError(
            "the decoder output has the input's resolution: missing strides=2 in the decoder. The second "
            "Conv2DTranspose of each stage must use strides=2 to double the resolution."
        )
    if got != expected:
        raise AssertionError(
            f"with input {DECODER_INPUT} and filters={DECODER_FILTERS} the decoder must output {expected}, got {got}."
        )


@check(LAB, "conv_transpose_decoder", points=2)
def check_decoder_outputs(student):
    """with the reference weights, outputs equal the reference decoder"""
    model, ref = _decoder(student), _decoder(reference(LAB))
    copy_weights(
        ref, model,
        "the decoder's layers differ from Conv2DTranspose(f, 3) + Conv2DTranspose(f, 3, strides=2) per stage",
    )
    x = seeded_inputs((2,) + DECODER_INPUT, low=0.0, high=1.0)
    stride_order = [layer.strides for layer in layers_of(model, "Conv2DTranspose")]
    if stride_order and tuple(stride_order[0]) == (2, 2):
        raise AssertionError(
            "in each decoder stage the stride-1 Conv2DTranspose comes first and the strides=2 one second."
        )
    assert_close(predict(model, x), predict(ref, x), "decoder output")
    _assert_relu_everywhere(model, "decoder")


# -- build_segmentation_model --------------------------------------------------

SMALL = {"img_size": (32, 32), "num_classes": 3, "filters": (4, 8)}
DEFAULT_PARAMS = 2_880_643


def _build(impl, **kwargs):
    import keras  # noqa: PLC0415

    model = student_function(impl, "build_segmentation_model")(**kwargs)
    if not isinstance(model, keras.Model):
        raise AssertionError(f"build_segmentation_model() must return a keras.Model, got {type(model).__name__}.")
    return model


@check(LAB, "build_segmentation_model", points=2)
def check_default_parameter_count(student):
    """the default model has the chapter's 2,880,643 parameters"""
    model = _build(student)
    count = model.count_params()
    if count != DEFAULT_PARAMS:
        raise AssertionError(
            f"the default model has {count:,} parameters; the chapter's has {DEFAULT_PARAMS:,}. "
            "Check img_size=(200, 200), filters=(64, 128, 256) and the final Conv2D(num_classes, 3)."
        )


@check(LAB, "build_segmentation_model", points=3)
def check_model_outputs(student):
    """rescales, encodes, decodes and ends in a per-pixel softmax (same outputs as the reference)"""
    model, ref = _build(student, **SMALL), _build(reference(LAB), **SMALL)
    got_shape = tuple(model.outputs[0].shape)
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
    copy_weights(ref, model, "the model's layers differ from the chapter's (see strided_downsampling and conv_transpose_decoder)")
    x = seeded_inputs((2, 32, 32, 3))
    assert_close(predict(model, x), predict(ref, x), "model output", atol=1e-5)


@check(LAB, "build_segmentation_model", points=1)
def check_num_classes(student):
    """honours num_classes and filters"""
    model = _build(student, img_size=(16, 16), num_classes=5, filters=(2, 4))
    got = tuple(model.outputs[0].shape)
    if got != (None, 16, 16, 5):
        raise AssertionError(f"img_size=(16, 16), num_classes=5 must give outputs (None, 16, 16, 5), got {got}.")


@check(LAB, "build_segmentation_model", points=1, hidden=True)
def check_non_square(student):
    """works for non-square images"""
    model = _build(student, img_size=(16, 24), num_classes=3, filters=(2, 4))
    got = tuple(model.outputs[0].shape)
    if got != (None, 16, 24, 3):
        raise AssertionError(f"img_size=(16, 24) must give outputs (None, 16, 24, 3), got {got}; use Input(img_size + (3,)).")


# -- mean_iou ------------------------------------------------------------------


def _keras_mean_iou(y_true, y_pred_labels, num_classes):
    """keras.metrics.MeanIoU (float) of integer labels of any (equal) size, flattened."""
    import keras  # noqa: PLC0415

    metric = keras.metrics.MeanIoU(num_classes=num_classes)
    metric.update_state(np.asarray(y_true).reshape(-1), np.asarray(y_pred_labels).reshape(-1))
    return float(metric.result())


def _labels(seed, shape=(2, 8, 8), num_classes=3):
    """Seeded int64 labels of ``shape`` in 0..num_classes-1."""
    return np.random.default_rng(seed).integers(0, num_classes, size=shape)


def _mean_iou_hint(y_true, y_pred, got, num_classes):
    """Hint (str) for a wrong mean IoU ``got`` of the integer label arrays y_true and y_pred."""
    accuracy = float(np.mean(y_true.reshape(-1) == y_pred.reshape(-1)))
    if np.isclose(got, accuracy):
        return "that is pixel accuracy; IoU per class is |true & pred| / |true | pred|, then average over classes."
    return "compute, for each class, intersection / union of the true and predicted masks, then the mean over classes."


@check(LAB, "mean_iou", points=2)
def check_labels(student):
    """equals keras.metrics.MeanIoU on integer labels"""
    func = student_function(student, "mean_iou")
    for seed in range(3):
        y_true, y_pred = _labels(seed), _labels(seed + 10)
        y_pred[: 1] = y_true[: 1]  # half the batch right
        expected = _keras_mean_iou(y_true, y_pred, 3)
        got = func(y_true, y_pred, 3)
        if not np.isclose(float(got), expected, atol=1e-6):
            raise AssertionError(f"mean_iou = {float(got):.4f}, keras.metrics.MeanIoU gives {expected:.4f}: "
                                 + _mean_iou_hint(y_true, y_pred, float(got), 3))


@check(LAB, "mean_iou", points=1)
def check_scores_and_channel_axis(student):
    """accepts per-class scores (argmax) and labels shaped (N, H, W, 1)"""
    func = student_function(student, "mean_iou")
    y_true = _labels(3)
    scores = np.random.default_rng(4).random((2, 8, 8, 3)).astype("float32")
    expected = _keras_mean_iou(y_true, scores.argmax(-1), 3)
    got = func(y_true[..., None], scores, 3)
    if not np.isclose(float(got), expected, atol=1e-6):
        raise AssertionError(
            f"with y_true of shape (N, H, W, 1) and scores of shape (N, H, W, 3) expected {expected:.4f}, got {float(got):.4f}; "
            "take argmax over the last axis of scores and flatten both."
        )


@check(LAB, "mean_iou", points=1)
def check_absent_classes(student):
    """classes absent from both masks do not count"""
    func = student_function(student, "mean_iou")
    y_true = np.array([[[0, 0], [1, 1]]])
    y_pred = np.array([[[0, 1], [1, 1]]])
    expected = _keras_mean_iou(y_true, y_pred, 4)  # classes 2 and 3 never appear
    got = float(func(y_true, y_pred, 4))
    if not np.isclose(got, expected, atol=1e-6):
        raise AssertionError(
            f"expected {expected:.4f}, got {got:.4f}: average only over classes whose union is non-empty "
            "(classes that appear in neither mask are skipped, as keras.metrics.MeanIoU does)."
        )

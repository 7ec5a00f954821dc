"""Lab 3 checks, part 2: filter patterns by gradient ascent (filter_loss ... deprocess_image).

A mistake in one exercise costs only that exercise: the gradient step is
graded against the student's own filter_loss gradient or the reference's
(whichever it follows), the ascent loop against the student's own step
(called repeatedly) or the reference's loop.
"""

import numpy as np

from cvlab_ch9.grader.checks.interpretation_models import (
    LAB,
    as_array,
    as_float_array,
    conv_extractor,
    image,
    keras3_hint,
    student_call,
    student_gradient,
)
from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.harness.wire import Tensor
from cvlab_ch9.grader.modeltools import assert_close

# -- filter_loss ---------------------------------------------------------------

FILTER_IMAGE_SHAPE = (1, 12, 14, 3)


@expectation(LAB, name="filter_loss")
def filter_loss_expectation(ref):
    return float(ref.call("filter_loss", conv_extractor(), Tensor(image(FILTER_IMAGE_SHAPE, seed=5)), 2))


@check(LAB, "filter_loss", points=2)
def check_filter_loss(student, expected):
    """mean activation of one filter, 2-pixel border excluded, differentiable"""
    extractor = conv_extractor()
    given = image(FILTER_IMAGE_SHAPE, seed=5)
    loss, grads = student_gradient(student, "filter_loss", (extractor, Tensor(given), 2), wrt=1)
    got = as_float_array(loss, "filter_loss")
    if got.size != 1:
        raise AssertionError(f"filter_loss must return a scalar (the mean); got shape {got.shape}.")
    got = float(got.reshape(()))
    want = expected["filter_loss"]
    if not np.isclose(got, want, atol=1e-5, rtol=1e-4):
        # the grader's own extractor on the same image, for the usual mistakes
        output = np.asarray(extractor(given))
        hint = "take the mean of activation[:, 2:-2, 2:-2, filter_index]."
        if np.isclose(got, output[..., 2].mean(), atol=1e-5, rtol=1e-4):
            hint = ("crop the 2-pixel border before averaging: activation[:, 2:-2, 2:-2, filter_index] "
                    "(border pixels see the zero padding and create artifacts).")
        elif np.isclose(got, output[:, 2:-2, 2:-2, :].mean(), atol=1e-5, rtol=1e-4):
            hint = "keep only channel filter_index: activation[:, 2:-2, 2:-2, filter_index]."
        raise AssertionError(f"filter_loss = {got:.5f}, expected {want:.5f}: {hint}")
    if grads is None:
        raise AssertionError(
            "no gradient flows from your loss to the image: compute it with TensorFlow/keras ops on "
            "feature_extractor(image) (not .predict() or numpy)."
        )


# -- gradient_ascent_step --------------------------------------------------------

STEP_IMAGE = {"shape": FILTER_IMAGE_SHAPE, "seed": 6, "low": 0.4, "high": 0.6}
STEP_FILTER, STEP_RATE = 1, 2.5


@expectation(LAB)
def filter_loss_gradient(ref):
    """d filter_loss / d image of the reference at the step check's image."""
    args = (conv_extractor(), Tensor(image(**STEP_IMAGE)), STEP_FILTER)
    return ref.gradient("filter_loss", args, {}, 1)[1]


def _raw_gradients(student, expected, given):
    """d filter_loss / d image for the student's own filter_loss (when differentiable) and the reference's.

    The step is graded against whichever the student's step follows, so a
    filter_loss mistake does not cost the gradient_ascent_step points too.
    """
    gradients = []
    if student.has("filter_loss"):
        _, grads = student_gradient(student, "filter_loss", (conv_extractor(), Tensor(given), STEP_FILTER), wrt=1)
        if isinstance(grads, np.ndarray) and grads.shape == given.shape:
            gradients.append(grads)
    gradients.append(expected["filter_loss_gradient"])
    return gradients


def _l2_normalized(grads, axis):
    """``grads`` divided by its L2 norm along ``axis`` (what a wrong ``axis=`` produces)."""
    norm = np.sqrt(np.sum(grads.astype("float64") ** 2, axis=axis, keepdims=True))
    return grads / np.maximum(norm, 1e-12)


def _cosine(a, b):
    """Cosine similarity (float) of two arrays of the same size, flattened, in float64."""
    a, b = np.ravel(a).astype("float64"), np.ravel(b).astype("float64")
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


@check(LAB, "gradient_ascent_step", points=2)
def check_gradient_step(student, expected):
    """adds learning_rate times the gradient divided by its global L2 norm"""
    given = image(**STEP_IMAGE)
    result = student_call(student, "gradient_ascent_step", conv_extractor(), Tensor(given), STEP_FILTER, STEP_RATE)
    result = as_float_array(result, "the new image")
    if result.shape != FILTER_IMAGE_SHAPE:
        raise AssertionError(f"return the updated image with the input's shape {FILTER_IMAGE_SHAPE}; got {result.shape}.")
    step = result - given
    # the gradient (of the student's loss or the reference's) that the step follows best
    raw = max(_raw_gradients(student, expected, given), key=lambda grads: abs(_cosine(step, grads)))
    want = STEP_RATE * _l2_normalized(raw, None)
    cosine = _cosine(step, want)
    if cosine < -0.99:
        raise AssertionError("you step against the gradient: gradient *ascent* is image + learning_rate * grads.")
    step_norm = float(np.linalg.norm(step))
    if np.allclose(step, STEP_RATE * raw, atol=1e-6, rtol=1e-3):
        raise AssertionError(
            "normalize the gradient before the step: grads = tf.math.l2_normalize(grads) "
            "(the raw gradient's size depends on the filter's scale)."
        )
    if cosine < 0.999:
        for what, axis in (("each pixel", -1), ("each channel", (0, 1, 2)), ("each value", 0)):
            if _cosine(step, _l2_normalized(raw, axis)) > 0.999:
                raise AssertionError(
                    f"you normalized {what} separately; divide by one L2 norm over the whole gradient "
                    "(tf.math.l2_normalize(grads, axis=None), the default)."
                )
    if cosine < 0.999:
        raise AssertionError(
            "the step does not follow the gradient of filter_loss with respect to the image: compute "
            "it with tf.GradientTape (tape.watch(image)) around filter_loss(feature_extractor, image, filter_index)."
        )
    if not np.isclose(step_norm, STEP_RATE, rtol=1e-3):
        raise AssertionError(
            f"the step's L2 norm is {step_norm:.4g}, expected learning_rate = {STEP_RATE}: divide the gradient "
            "by its global L2 norm (tf.math.l2_normalize(grads, axis=None)) and multiply by learning_rate."
        )
    assert_close(step, want.astype("float32"), "gradient step", atol=1e-4, rtol=1e-3)


# -- generate_filter_pattern -----------------------------------------------------

PATTERN_START = {"shape": FILTER_IMAGE_SHAPE, "seed": 7, "low": 0.4, "high": 0.6}
PATTERN_FILTER, PATTERN_RATE, PATTERN_ITERATIONS = 2, 1.5, 3


def _pattern(impl, iterations):
    return impl.call("generate_filter_pattern", conv_extractor(), PATTERN_FILTER, iterations=iterations,
                     learning_rate=PATTERN_RATE, image=Tensor(image(**PATTERN_START)))


@expectation(LAB)
def patterns(ref):
    """The reference's pattern after 3 steps, and after 1 and 30 (for the hints)."""
    return {f"steps_{n}": _pattern(ref, n) for n in (PATTERN_ITERATIONS, 1, 30)}


def _own_steps(student, start):
    """``PATTERN_ITERATIONS`` calls of the student's own gradient_ascent_step, (H, W, 3), or None without one.

    A loop around a wrong step is still a right loop: generate_filter_pattern
    is graded against either the reference or the student's own step.
    """
    if not student.has("gradient_ascent_step"):
        return None
    current = start
    for _ in range(PATTERN_ITERATIONS):
        current = student.call("gradient_ascent_step", conv_extractor(), Tensor(current), PATTERN_FILTER, PATTERN_RATE)
        if not isinstance(current, np.ndarray) or current.shape != start.shape:
            return None
    return current.astype("float32")[0]


@check(LAB, "generate_filter_pattern", points=2)
def check_pattern_from_image(student, expected):
    """runs `iterations` gradient-ascent steps from the given image and returns (H, W, 3) float32"""
    start = image(**PATTERN_START)
    student.function("generate_filter_pattern")  # MissingFunction when absent
    with keras3_hint("generate_filter_pattern"):
        got = as_float_array(_pattern(student, PATTERN_ITERATIONS), "the pattern")
    ref = expected["patterns"]
    want = ref[f"steps_{PATTERN_ITERATIONS}"]
    if got.shape == start.shape:
        raise AssertionError(f"return one image (H, W, 3) = {want.shape}: drop the batch axis (image[0]).")
    if got.shape != want.shape:
        raise AssertionError(f"expected a pattern of shape {want.shape}, got {got.shape}.")
    if np.allclose(got, start[0], atol=1e-6):
        raise AssertionError(
            "the pattern equals the start image: in the loop, update it with "
            "image = gradient_ascent_step(feature_extractor, image, filter_index, learning_rate)."
        )
    if np.allclose(got, want, atol=1e-3, rtol=1e-3):
        return
    own_steps = _own_steps(student, start)
    if own_steps is not None and np.allclose(got, own_steps, atol=1e-3, rtol=1e-3):
        return
    for steps in (1, 30):
        if np.allclose(got, ref[f"steps_{steps}"], atol=1e-3):
            raise AssertionError(f"you ran {steps} step(s) instead of `iterations` (3 here): loop range(iterations).")
    raise AssertionError(
        "the pattern differs from `iterations` calls of gradient_ascent_step(feature_extractor, image, "
        "filter_index, learning_rate) from the given image."
    )


@check(LAB, "generate_filter_pattern", points=1)
def check_seeded_start(student, expected):
    """without an image, starts from seeded uniform(0.4, 0.6) noise of img_size"""
    extractor = conv_extractor()
    kwargs = {"iterations": 0, "img_size": (10, 14)}
    first = as_array(student_call(student, "generate_filter_pattern", extractor, 0, seed=11, **kwargs), "the pattern")
    if first.shape != (10, 14, 3):
        raise AssertionError(f"img_size=(10, 14) must give a (10, 14, 3) pattern (height first); got {first.shape}.")
    if first.dtype != np.float32:
        raise AssertionError(f"return float32 (`.astype('float32')`); got {first.dtype}.")
    if first.min() < 0.4 - 1e-6 or first.max() > 0.6 + 1e-6 or first.std() < 1e-3:
        raise AssertionError(
            f"with iterations=0 the result is the start image, which must be uniform noise in [0.4, 0.6); "
            f"got values from {first.min():.3f} to {first.max():.3f}."
        )
    again = as_float_array(student_call(student, "generate_filter_pattern", extractor, 0, seed=11, **kwargs), "the pattern")
    other = as_float_array(student_call(student, "generate_filter_pattern", extractor, 0, seed=12, **kwargs), "the pattern")
    if not np.array_equal(first, again):
        raise AssertionError(
            "the same seed must give the same start image: draw it with np.random.default_rng(seed).uniform(...) "
            "or tf.random.stateless_uniform(shape, seed=[seed, 0], ...) (tf.random.uniform(seed=...) changes "
            "from call to call)."
        )
    if np.array_equal(first, other):
        raise AssertionError("different seeds must give different start images: use the seed argument.")


# -- deprocess_image -------------------------------------------------------------


def _pattern_image():
    """Seeded float32 (20, 22, 3) image around 0.3 (a generated pattern's range)."""
    return np.random.default_rng(8).normal(0.3, 0.05, size=(20, 22, 3)).astype("float32")


@expectation(LAB)
def deprocessed(ref):
    return ref.call("deprocess_image", _pattern_image(), crop=3)


@check(LAB, "deprocess_image", points=2)
def check_deprocess(student, expected):
    """standardizes to mean 128, std 64, clips, converts to uint8 and crops `crop` pixels per border"""
    given = _pattern_image()
    want = expected["deprocessed"]
    got = as_array(student_call(student, "deprocess_image", given.copy(), crop=3), "deprocess_image")
    if got.shape == given.shape:
        raise AssertionError("crop `crop` pixels from each border: image[crop:-crop, crop:-crop] (shape (14, 16, 3) here).")
    if got.shape != want.shape:
        raise AssertionError(f"with crop=3 a (20, 22, 3) image must become {want.shape}; got {got.shape}.")
    if got.dtype != np.uint8:
        raise AssertionError(f"return uint8 (clip to 0..255, then `.astype('uint8')`); got {got.dtype}.")
    if np.abs(got.astype(int) - want.astype(int)).max() > 1:
        raise AssertionError(
            "values differ from (x - mean) / std * 64 + 128 clipped to 0..255 (mean and std over the whole image)."
        )
    default = as_array(student_call(student, "deprocess_image", np.resize(given, (60, 60, 3))), "deprocess_image")
    if default.shape != (10, 10, 3):
        raise AssertionError(f"the default crop is 25 pixels: a (60, 60, 3) image must become (10, 10, 3); got {default.shape}.")


@check(LAB, "deprocess_image", points=1)
def check_deprocess_constant(student, expected):
    """a constant image (std 0) becomes all 128, not NaN"""
    given = np.full((8, 8, 3), 0.5, dtype="float32")
    with np.errstate(divide="ignore", invalid="ignore"):
        got = as_array(student_call(student, "deprocess_image", given, crop=2), "deprocess_image")
    if got.shape != (4, 4, 3):
        raise AssertionError(f"with crop=2 an (8, 8, 3) image must become (4, 4, 3); got {got.shape}.")
    if not np.all(got == 128):
        raise AssertionError(
            "an image with std 0 must become all 128: skip the division when the std is 0 "
            f"(0 / 0 is NaN); got values {np.unique(got)[:5].tolist()}."
        )

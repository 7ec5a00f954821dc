"""Lab 3 checks, part 2: filter patterns by gradient ascent (filter_loss ... deprocess_image).

A mistake in one exercise costs only that exercise: the gradient step is
graded against the student's own filter_loss gradient or the reference's
(whichever it follows), the ascent loop against the student's own step
(called repeatedly) or the reference's loop.
"""

import numpy as np

from cvlab_ch9.grader.checks.interpretation_hints import (
    callee_first,
    filter_loss_fault,
    filter_loss_hint,
    no_gradient_hint,
    step_error_hint,
    step_fault,
    step_result_hint,
    student_errors_explained,
)
from cvlab_ch9.grader.checks.interpretation_models import (
    LAB,
    as_array,
    as_float_array,
    conv_extractor,
    extractor_filters,
    image,
    keras3_hint,
    student_call,
    student_gradient,
)
from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.draw import distinct, integers
from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.harness.wire import Tensor
from cvlab_ch9.grader.modeltools import assert_close

# -- filter_loss ---------------------------------------------------------------


def filter_case(draw, stream, low=0.0, high=1.0):
    """``(image (1, h, w, 3), filter index)`` drawn for the check ``stream`` (sides 8..16, a filter of the extractor)."""
    rng = draw.rng(LAB, stream)
    shape = (1, integers(rng, 8, 16), integers(rng, 8, 16), 3)
    return image(rng, shape, low, high), integers(rng, 0, extractor_filters(draw) - 1)


@expectation(LAB, name="filter_loss")
def filter_loss_expectation(ref, draw):
    given, index = filter_case(draw, "filter_loss")
    return float(ref.call("filter_loss", conv_extractor(draw), Tensor(given), index))


@check(LAB, "filter_loss", points=2)
def check_filter_loss(student, expected):
    """mean activation of one filter, 2-pixel border excluded, differentiable"""
    extractor = conv_extractor(expected.draw)
    given, index = filter_case(expected.draw, "filter_loss")
    loss, grads = student_gradient(student, "filter_loss", (extractor, Tensor(given), index), wrt=1)
    got = as_float_array(loss, "filter_loss")
    if got.size != 1:
        raise AssertionError(f"Your filter_loss returns an array of shape {got.shape}: return a scalar, the mean.")
    got = float(got.reshape(()))
    want = expected["filter_loss"]
    if not np.isclose(got, want, atol=1e-5, rtol=1e-4):
        # the grader's own extractor on the same image, for the usual mistakes
        output = np.asarray(extractor(given))
        raise AssertionError(filter_loss_hint(got, want, output, index) or (
            f"Your filter_loss returned {got:.5g} instead of {want:.5g} for filter_index={index}: take the mean of "
            "activation[:, 2:-2, 2:-2, filter_index]."))
    if grads is None:
        raise AssertionError(no_gradient_hint(student.source("filter_loss")))


# -- gradient_ascent_step --------------------------------------------------------

def step_case(draw):
    """``(image in [0.4, 0.6), filter index, learning rate)`` drawn for the step check."""
    given, index = filter_case(draw, "gradient_step", 0.4, 0.6)
    return given, index, float(np.round(draw.rng(LAB, "gradient_step", "rate").uniform(0.5, 5.0), 3))


@expectation(LAB)
def filter_loss_gradient(ref, draw):
    """d filter_loss / d image of the reference at the step check's image."""
    given, index, _ = step_case(draw)
    return ref.gradient("filter_loss", (conv_extractor(draw), Tensor(given), index), {}, 1)[1]


def _raw_gradients(student, expected, given, index):
    """d filter_loss / d image for the student's own filter_loss (when differentiable) and the reference's.

    The step is graded against whichever the student's step follows, so a
    filter_loss mistake does not cost the gradient_ascent_step points too.
    """
    gradients = []
    if student.has("filter_loss"):
        args = (conv_extractor(expected.draw), Tensor(given), index)
        _, grads = student_gradient(student, "filter_loss", args, wrt=1)
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
    given, index, rate = step_case(expected.draw)
    extractor = conv_extractor(expected.draw)
    with callee_first(lambda: _filter_loss_fault(student, extractor, given, index)):
        _assert_step(student, expected, extractor, (given, index, rate))


def _filter_loss_fault(student, extractor, given, index):
    """Why the student's filter_loss cannot drive a step on ``given``, or None."""
    return filter_loss_fault(student, lambda: student_gradient(student, "filter_loss", (extractor, Tensor(given), index), wrt=1))


def _assert_step(student, expected, extractor, case):
    given, index, rate = case
    with student_errors_explained(lambda exc: step_error_hint(exc, student)):
        result = student_call(student, "gradient_ascent_step", extractor, Tensor(given), index, rate)
    result = as_float_array(result, "the new image")
    if result.shape != given.shape:
        raise AssertionError(f"Your gradient_ascent_step returns shape {result.shape}: return the updated image, "
                             f"with the input's shape {given.shape}.")
    step = result - given
    # the gradient (of the student's loss or the reference's) that the step follows best
    raw = max(_raw_gradients(student, expected, given, index), key=lambda grads: abs(_cosine(step, grads)))
    want = rate * _l2_normalized(raw, None)
    cosine = _cosine(step, want)
    if cosine < -0.99:
        raise AssertionError("Your gradient_ascent_step steps against the gradient (descent): gradient *ascent* is "
                             "image + learning_rate * grads.")
    step_norm = float(np.linalg.norm(step))
    if np.allclose(step, rate * raw, atol=1e-6, rtol=1e-3):
        raise AssertionError(
            f"Your gradient_ascent_step adds the raw gradient (a step of L2 norm {step_norm:.4g}, not learning_rate = "
            f"{rate}): normalize it first, grads = tf.math.l2_normalize(grads)."
        )
    if cosine < 0.999:
        for what, axis in (("each pixel", -1), ("each channel", (0, 1, 2)), ("each value", 0)):
            if _cosine(step, _l2_normalized(raw, axis)) > 0.999:
                raise AssertionError(
                    f"Your gradient_ascent_step normalizes {what} separately; divide by one L2 norm over the whole "
                    "gradient (tf.math.l2_normalize(grads, axis=None), the default)."
                )
    hint = step_result_hint(step, result, raw, rate)
    if hint:
        raise AssertionError(hint)
    if cosine < 0.999:
        raise AssertionError(
            "Your gradient_ascent_step does not follow the gradient of filter_loss with respect to the image: "
            "compute it with tf.GradientTape (tape.watch(image)) around filter_loss(feature_extractor, image, filter_index)."
        )
    if not np.isclose(step_norm, rate, rtol=1e-3):
        raise AssertionError(
            f"Your step's L2 norm is {step_norm:.4g}, not learning_rate = {rate}: divide the gradient "
            "by its global L2 norm (tf.math.l2_normalize(grads, axis=None)) and multiply by learning_rate."
        )
    assert_close(step, want.astype("float32"), "Your gradient step", atol=1e-4, rtol=1e-3)


# -- generate_filter_pattern -----------------------------------------------------

def pattern_case(draw):
    """``(start image in [0.4, 0.6), filter index, learning rate, iterations 2..4)`` drawn for the pattern check."""
    start, index = filter_case(draw, "pattern", 0.4, 0.6)
    rng = draw.rng(LAB, "pattern", "settings")
    return start, index, float(np.round(rng.uniform(0.5, 3.0), 3)), integers(rng, 2, 4)


def _pattern(impl, draw, iterations, start=None):
    drawn, index, rate, _ = pattern_case(draw)
    return impl.call("generate_filter_pattern", conv_extractor(draw), index, iterations=iterations,
                     learning_rate=rate, image=Tensor(drawn if start is None else start))


@expectation(LAB)
def pattern(ref, draw):
    """The reference's pattern after the drawn number of steps."""
    return _pattern(ref, draw, pattern_case(draw)[3])


@expectation(LAB)
def pattern_hints(ref, draw):
    """The reference's pattern after 1 and after 30 steps (read only to explain a wrong pattern)."""
    return {f"steps_{n}": _pattern(ref, draw, n) for n in (1, 30)}


def _own_steps(student, draw, rate=None):
    """The drawn number of calls of the student's own gradient_ascent_step, (H, W, 3), or None without one.

    A loop around a wrong step is still a right loop: generate_filter_pattern
    is graded against either the reference or the student's own step.
    ``rate`` replaces the drawn learning rate (to recognise a fixed one).
    """
    if not student.has("gradient_ascent_step"):
        return None
    current, index, drawn_rate, iterations = pattern_case(draw)
    for _ in range(iterations):
        current = student.call("gradient_ascent_step", conv_extractor(draw), Tensor(current), index,
                               drawn_rate if rate is None else rate)
        if not isinstance(current, np.ndarray) or current.shape != pattern_case(draw)[0].shape:
            return None
    return current.astype("float32")[0]


def pattern_callee_fault(student, draw):
    """The student's filter_loss or gradient_ascent_step, when one of them cannot drive the pattern; or None."""
    start, index, rate, _ = pattern_case(draw)
    extractor = conv_extractor(draw)
    return _filter_loss_fault(student, extractor, start, index) or step_fault(
        student, start, lambda: student.call("gradient_ascent_step", extractor, Tensor(start), index, rate))


@check(LAB, "generate_filter_pattern", points=2)
def check_pattern_from_image(student, expected):
    """runs `iterations` gradient-ascent steps from the given image and returns (H, W, 3) float32"""
    student.function("generate_filter_pattern")  # MissingFunction when absent
    with callee_first(lambda: pattern_callee_fault(student, expected.draw)):
        _assert_pattern(student, expected)


def _assert_pattern(student, expected):
    start, _, rate, iterations = pattern_case(expected.draw)
    with keras3_hint("generate_filter_pattern"):
        got = as_float_array(_pattern(student, expected.draw, iterations), "the pattern")
    want = expected["pattern"]
    if got.shape == start.shape:
        raise AssertionError(f"Your pattern keeps the batch axis, shape {got.shape}: return one image (H, W, 3) = "
                             f"{want.shape}, image[0].")
    if got.shape == (200, 200, 3) and want.shape != got.shape:
        raise AssertionError(f"Your generate_filter_pattern ignores the image argument: from a {want.shape} start image "
                             f"it returned a {got.shape} pattern; start from image when it is given.")
    if got.shape != want.shape:
        raise AssertionError(f"Your pattern has shape {got.shape}; from a {want.shape} start image it must be {want.shape}.")
    if np.allclose(got, start[0], atol=1e-6):
        raise AssertionError(
            "Your pattern equals the start image: in the loop, update it with "
            "image = gradient_ascent_step(feature_extractor, image, filter_index, learning_rate)."
        )
    if np.allclose(got, want, atol=1e-3, rtol=1e-3):
        return got
    own_steps = _own_steps(student, expected.draw)
    if own_steps is not None and np.allclose(got, own_steps, atol=1e-3, rtol=1e-3):
        return got
    for steps in (1, 30):
        if np.allclose(got, expected["pattern_hints"][f"steps_{steps}"], atol=1e-3):
            raise AssertionError(f"Your generate_filter_pattern ran {steps} step(s) instead of `iterations` "
                                 f"({iterations} here): loop range(iterations).")
    fixed = _own_steps(student, expected.draw, rate=10.0)
    if fixed is not None and np.allclose(got, fixed, atol=1e-3, rtol=1e-3):
        raise AssertionError(f"Your generate_filter_pattern steps with learning_rate 10.0 whatever learning_rate is "
                             f"({rate} here): pass the learning_rate argument to gradient_ascent_step.")
    raise AssertionError(
        "Your pattern differs from `iterations` calls of gradient_ascent_step(feature_extractor, image, "
        "filter_index, learning_rate) from the given image."
    )


@check(LAB, "generate_filter_pattern", points=1)
def check_seeded_start(student, expected):
    """without an image, starts from seeded uniform(0.4, 0.6) noise of img_size (and ascends from it)"""
    with callee_first(lambda: pattern_callee_fault(student, expected.draw)):
        _assert_seeded_start(student, expected)


def _assert_seeded_start(student, expected):
    extractor = conv_extractor(expected.draw)
    rng = expected.draw.rng(LAB, "seeded_start")
    size = tuple(distinct(rng, 6, 16, 2))  # never square: a start drawn (width, height) shows
    seed, other_seed = distinct(rng, 0, 10_000, 2)
    index = integers(rng, 0, extractor_filters(expected.draw) - 1)
    kwargs = {"iterations": 0, "img_size": size}
    first = as_array(student_call(student, "generate_filter_pattern", extractor, index, seed=seed, **kwargs), "the pattern")
    if first.shape != size + (3,):
        raise AssertionError(f"Your pattern for img_size={size} has shape {first.shape}; it must be {size + (3,)} "
                             "(height first).")
    if first.dtype != np.float32:
        raise AssertionError(f"Your pattern is {first.dtype}: return float32 (`.astype('float32')`).")
    if first.min() < 0.4 - 1e-6 or first.max() > 0.6 + 1e-6 or first.std() < 1e-3:
        raise AssertionError(
            f"Your start image has values from {first.min():.3f} to {first.max():.3f}: with iterations=0 the result "
            "is the start image, which must be uniform noise in [0.4, 0.6)."
        )
    again = as_float_array(student_call(student, "generate_filter_pattern", extractor, index, seed=seed, **kwargs),
                           "the pattern")
    other = as_float_array(student_call(student, "generate_filter_pattern", extractor, index, seed=other_seed, **kwargs),
                           "the pattern")
    if not np.array_equal(first, again):
        raise AssertionError(
            "Your start image changes with the same seed: draw it with np.random.default_rng(seed).uniform(...) "
            "or tf.random.stateless_uniform(shape, seed=[seed, 0], ...) (tf.random.uniform(seed=...) changes "
            "from call to call)."
        )
    if np.array_equal(first, other):
        raise AssertionError("Your start image is the same for different seeds: use the seed argument.")
    steps = {"iterations": integers(rng, 1, 3), "img_size": size}
    seeded = as_float_array(student_call(student, "generate_filter_pattern", extractor, index, seed=seed, **steps),
                            "the pattern")
    explicit = as_float_array(student_call(student, "generate_filter_pattern", extractor, index,
                                           image=Tensor(first[np.newaxis]), **steps), "the pattern")
    if seeded.shape != first.shape or np.allclose(seeded, first, atol=1e-6):
        raise AssertionError(f"Your pattern does not move away from the seeded start image with iterations="
                             f"{steps['iterations']} and no image: run the gradient-ascent steps from it.")
    if explicit.shape != seeded.shape or not np.allclose(seeded, explicit, atol=1e-4, rtol=1e-4):
        raise AssertionError("Your pattern from the seeded noise differs from the one you give when that noise is passed "
                             "as image=: draw the start, then run the same loop.")

"""Lab 3 checks, part 3: Grad-CAM class activation maps (grad_cam, overlay_heatmap).

When a heatmap differs from the reference's, the check rebuilds the usual
mistakes (no ReLU, no normalization, wrong axes, sum over channels, no
weights) from recorded intermediates -- the layer's activation (the
reference's extract_activations) and d score / d activation (the test
model's head in closed form) -- and names the one that matches. Nothing
here runs Grad-CAM or a GradientTape.
"""

import numpy as np

from cvlab_ch9.grader.checks.interpretation_hints import student_errors_explained, unbatched_input_hint
from cvlab_ch9.grader.checks.interpretation_hints_gradcam import (
    colored,
    grad_cam_error_hint,
    grad_cam_mistakes,
    heatmap_scale_hint,
    overlay_error_hint,
    overlay_values_hint,
)
from cvlab_ch9.grader.checks.interpretation_models import (
    LAB,
    as_array,
    as_float_array,
    called_sequential,
    chain,
    class_score_gradient,
    image,
    is_shape_error,
    negative_sigmoid,
    num_classes,
    student_call,
    top_class,
)
from cvlab_ch9.grader.core import check
from cvlab_ch9.grader.draw import integers
from cvlab_ch9.grader.expect import expectation

# -- grad_cam --------------------------------------------------------------------

GRAD_CAM_ATOL = 2e-3


def grad_cam_intermediates(ref, model, layer_name, batch, class_indices):
    """``{"activation": (h, w, c), "gradients": {str(class): (h, w, c)}}`` for the mistake variants."""
    activation_ = ref.call("extract_activations", model, batch, layer_names=[layer_name])[layer_name]
    gradients = {str(c): class_score_gradient(model, layer_name, batch, c) for c in class_indices}
    return {"activation": activation_, "gradients": gradients}


def grad_cam_expectation(ref, classifier, class_indices=()):
    """The reference's top class and top-class heatmap, and one heatmap per class in ``class_indices``."""
    model, layer, batch = classifier.model, classifier.layer, classifier.batch
    return {
        "top": top_class(model, batch),
        "top_map": ref.call("grad_cam", model, batch, layer),
        "maps": {str(c): ref.call("grad_cam", model, batch, layer, class_index=c) for c in class_indices},
    }


def grad_cam_hints(ref, classifier, class_indices=()):
    """The intermediates the mistake variants are built from (read only to explain a wrong heatmap)."""
    model, layer, batch = classifier.model, classifier.layer, classifier.batch
    return grad_cam_intermediates(ref, model, layer, batch, sorted({top_class(model, batch), *class_indices}))


@expectation(LAB)
def grad_cam_chain(ref, draw):
    classifier = chain(draw)
    return grad_cam_expectation(ref, classifier, range(num_classes(classifier.model)))


@expectation(LAB)
def grad_cam_chain_hints(ref, draw):
    classifier = chain(draw)
    return grad_cam_hints(ref, classifier, range(num_classes(classifier.model)))


@expectation(LAB)
def grad_cam_sequential(ref, draw):
    return grad_cam_expectation(ref, called_sequential(draw))


@expectation(LAB)
def grad_cam_sequential_hints(ref, draw):
    return grad_cam_hints(ref, called_sequential(draw))


GRAD_CAM_HINTS = {
    "no_relu": ("apply ReLU before normalizing (np.maximum(heatmap, 0)): Grad-CAM keeps only what speaks for the "
                "class."),
}


def student_grad_cam(student, model, batch, layer_name, **kwargs):
    """The student's heatmap as float array, with NaN/shape hints."""
    import tensorflow as tf  # noqa: PLC0415

    conv_layer = model.get_layer(layer_name)
    image_shape, channels = np.shape(batch), conv_layer.output.shape[-1]

    def explain(exc):
        hint = grad_cam_error_hint(exc, student, image_shape, channels) or unbatched_input_hint(
            exc, "grad_cam", image_shape, student)
        if hint is None and isinstance(exc, (ValueError, tf.errors.InvalidArgumentError)) and is_shape_error(exc):
            hint = (f"Your grad_cam failed with a shape mismatch ({type(exc).__name__}: {str(exc).splitlines()[0]}): "
                    "the weights must be one number per channel of the conv layer's output, multiplied with the "
                    "activation (h, w, c).")
        return hint

    with np.errstate(divide="ignore", invalid="ignore"), student_errors_explained(explain):
        result = student_call(student, "grad_cam", model, batch, layer_name, **kwargs)
        heatmap = as_float_array(result, "the heatmap")
    spatial = tuple(conv_layer.output.shape[1:3])
    if heatmap.shape == (1,) + spatial:
        raise AssertionError(f"Your heatmap keeps the batch axis, shape {heatmap.shape}: return shape {spatial}.")
    if heatmap.shape == tuple(conv_layer.input.shape[1:3]) and heatmap.shape != spatial:
        raise AssertionError(f"Your heatmap has the spatial size of the conv layer's input {heatmap.shape}, not of its "
                             f"output {spatial}: use model.get_layer(name).output.")
    if heatmap.shape != spatial:
        raise AssertionError(
            f"Your heatmap has shape {heatmap.shape}; it must have the conv layer's spatial size {spatial} (mean over "
            "channels)."
        )
    if np.isnan(heatmap).any():
        raise AssertionError(
            "Your heatmap contains NaN: when its max is 0 (nothing speaks for the class) return zeros "
            "instead of dividing 0 / 0."
        )
    dtype = as_array(result, "the heatmap").dtype
    if dtype != np.float32:
        raise AssertionError(f"Your heatmap is {dtype}: return float32 (`.astype('float32')`).")
    return heatmap


def assert_heatmap(got, want, hints, class_index, what):
    """AssertionError with a hint unless the (h, w) float heatmaps ``got`` and ``want`` agree (atol 2e-3).

    The hint names the usual mistake whose heatmap ``got`` matches, if any,
    built from ``hints()`` (see :func:`grad_cam_intermediates`; asked for only
    when the heatmaps differ) for ``class_index``.
    """
    if np.allclose(got, want, atol=GRAD_CAM_ATOL):
        return
    if got.min() < -1e-6:
        raise AssertionError(f"Your heatmap ({what}) has negative values down to {got.min():.3g}: "
                             f"{GRAD_CAM_HINTS['no_relu']}")
    hint = heatmap_scale_hint(got, want, GRAD_CAM_ATOL)
    if hint:
        raise AssertionError(f"{hint[:-1]} ({what}).")
    recorded = hints()
    for hint, variant in grad_cam_mistakes(recorded["activation"], recorded["gradients"][str(class_index)]).items():
        if variant.shape == got.shape and np.allclose(got, variant, atol=GRAD_CAM_ATOL):
            raise AssertionError(f"{hint[:-1]} ({what}).")
    diff = float(np.abs(got - want).max())
    raise AssertionError(
        f"Your heatmap ({what}) differs from the reference by up to {diff:.3g}: weight the conv layer's output by "
        "the mean gradient of preds[:, class_index] per channel (over batch, height, width), average over channels, "
        "ReLU, divide by the max."
    )


@check(LAB, "grad_cam", points=3)
def check_grad_cam_top_class(student, expected):
    """heatmap of the top predicted class: (h, w) float32 in [0, 1], as the reference"""
    classifier = chain(expected.draw)
    model, layer, batch = classifier.model, classifier.layer, classifier.batch
    ref = expected["grad_cam_chain"]
    got = student_grad_cam(student, model, batch, layer)
    assert_heatmap(got, ref["top_map"], lambda: expected["grad_cam_chain_hints"], ref["top"], "top-class heatmap")
    got3 = student_grad_cam(student, model, batch[0], layer)
    if not np.allclose(got3, ref["top_map"], atol=GRAD_CAM_ATOL):
        raise AssertionError("Your heatmap for an (H, W, 3) image without the batch axis differs from the one for "
                             "(1, H, W, 3): accept both.")


@check(LAB, "grad_cam", points=2)
def check_grad_cam_class_index(student, expected):
    """class_index selects the class whose score is differentiated"""
    classifier = chain(expected.draw)
    model, layer, batch = classifier.model, classifier.layer, classifier.batch
    ref = expected["grad_cam_chain"]
    others = [c for c in range(num_classes(model)) if c != ref["top"]]  # class 0 among them: the top is never 0
    got = {c: student_grad_cam(student, model, batch, layer, class_index=c) for c in others}
    as_top = [c for c in others if not np.allclose(got[c], ref["maps"][str(c)], atol=GRAD_CAM_ATOL)
              and np.allclose(got[c], ref["top_map"], atol=GRAD_CAM_ATOL)]
    if as_top == [0]:
        raise AssertionError(
            "Your grad_cam treats class_index=0 like None (the top class's heatmap) while the other classes work: "
            "`if not class_index:` is true for 0; test `class_index is None`."
        )
    if as_top:
        raise AssertionError(
            f"Your grad_cam ignores class_index: class_index={as_top[0]} gave the top class's heatmap (class "
            f"{ref['top']}); use preds[:, class_index] when class_index is given, the top class only when it is None."
        )
    for class_index in others:
        assert_heatmap(got[class_index], ref["maps"][str(class_index)], lambda: expected["grad_cam_chain_hints"],
                       class_index, f"heatmap for class_index={class_index}")


@check(LAB, "grad_cam", points=1)
def check_grad_cam_sequential(student, expected):
    """works on a Sequential model (Keras 3: model.inputs / model.outputs)"""
    classifier = called_sequential(expected.draw)
    ref = expected["grad_cam_sequential"]
    got = student_grad_cam(student, classifier.model, classifier.batch, classifier.layer)
    assert_heatmap(got, ref["top_map"], lambda: expected["grad_cam_sequential_hints"], ref["top"], "Sequential model")


@check(LAB, "grad_cam", points=1)
def check_grad_cam_all_negative(student, expected):
    """a map with nothing for the class (max 0) is all zeros, not NaN (single sigmoid output)"""
    sequential = called_sequential(expected.draw)
    ref = expected["grad_cam_sequential"]
    got = student_grad_cam(student, sequential.model, sequential.batch, sequential.layer)
    if not np.allclose(got, ref["top_map"], atol=GRAD_CAM_ATOL):
        raise AssertionError("Your grad_cam is not right on an ordinary model yet (see the other grad_cam checks): an "
                             "all-zero map earns nothing from a function that gives zeros everywhere.")
    classifier = negative_sigmoid(expected.draw)
    model, layer, batch = classifier.model, classifier.layer, classifier.batch
    got = student_grad_cam(student, model, batch, layer)
    if np.any(got != 0):
        if got.min() < 0:
            raise AssertionError(
                "Your heatmap has negative values where every channel's weight is negative, so after ReLU nothing "
                "is left and it must be all 0: " + GRAD_CAM_HINTS["no_relu"]
            )
        raise AssertionError(
            "Your heatmap is not all zeros although every channel's weight is negative here (the sigmoid score falls "
            "with every activation), so "
            "relu(map) is 0 everywhere and the heatmap must be all zeros: apply ReLU before dividing by the max, "
            "and return zeros when the max is 0."
        )
    got = student_grad_cam(student, model, batch, layer, class_index=0)
    if np.any(got != 0):
        raise AssertionError("Your heatmap for class_index=0 is not all 0: with one sigmoid output, class_index=0 is "
                             "that output.")


# -- overlay_heatmap -------------------------------------------------------------

def overlay_inputs(draw, stream):
    """(drawn uint8 (H, W, 3) image, float32 (h, w) heatmap in [0, 1] with a 0 and a 1, alpha in 0.65..0.9)."""
    rng = draw.rng(LAB, stream)
    height, width = integers(rng, 16, 32), integers(rng, 16, 32)
    width += width == height
    picture = rng.integers(40, 200, size=(height, width, 3)).astype("uint8")
    heatmap = image(rng, (integers(rng, 4, 8), integers(rng, 4, 8)))
    flat = heatmap.reshape(-1)
    flat[rng.choice(flat.size, size=2, replace=False)] = (0.0, 1.0)
    return picture, heatmap, float(np.round(rng.uniform(0.65, 0.9), 2))


@expectation(LAB)
def overlay(ref, draw):
    picture, heatmap, _ = overlay_inputs(draw, "overlay")
    return ref.call("overlay_heatmap", picture, heatmap)


@expectation(LAB)
def overlay_alpha(ref, draw):
    picture, heatmap, alpha = overlay_inputs(draw, "overlay_alpha")
    return {"alpha": ref.call("overlay_heatmap", picture, heatmap, alpha=alpha),
            "default": ref.call("overlay_heatmap", picture, heatmap)}


def _colormap_overlay(picture, heatmap, name, alpha=0.4, scale=255):
    """The overlay with another colormap or color scale (for the hints), as the docstring states it."""
    total = alpha * colored(picture, heatmap, name, scale) + picture
    total -= total.min()
    return (total / total.max() * 255).astype("uint8")


def fitted_alpha(got, picture, heatmap):
    """The alpha an overlay was made with, by least squares: got = s * (alpha * jet + image) + t; None if no fit.

    Robust to how the colored heatmap was resized (bilinear, bicubic): what
    differs between resizers is small next to the colors themselves.
    """
    jet = colored(picture, heatmap).reshape(-1).astype("float64")
    design = np.stack([jet, picture.reshape(-1).astype("float64"), np.ones(jet.size)], axis=1)
    target = got.reshape(-1).astype("float64")
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = float(np.sqrt(np.mean((design @ coef - target) ** 2)))
    if coef[1] <= 1e-6 or residual > 8.0:  # not jet * alpha + image, rescaled
        return None
    return float(coef[0] / coef[1])


def _overlay(student, picture, heatmap, **kwargs):
    """The student's overlay as an array; a shape mismatch while adding becomes a size hint."""
    import tensorflow as tf  # noqa: PLC0415

    try:
        with student_errors_explained(lambda exc: overlay_error_hint(exc, student)):
            return as_array(student_call(student, "overlay_heatmap", picture.copy(), heatmap.copy(), **kwargs), "the overlay")
    except (ValueError, tf.errors.InvalidArgumentError) as exc:
        if not is_shape_error(exc):
            raise
        height, width = picture.shape[:2]
        raise AssertionError(
            f"Your overlay_heatmap failed with a shape mismatch ({str(exc).splitlines()[0]}): resize the colored "
            f"heatmap to the image's size (H, W) = {(height, width)} before adding it. PIL's resize takes "
            "(width, height); tf.image.resize takes (height, width)."
        ) from exc


def _overlay_close(got, want):
    """Close enough: other resizers (PIL bilinear, the book's default bicubic) differ by a few levels."""
    diff = np.abs(got.astype("float32") - want.astype("float32"))
    # measured: the book's exact code (bicubic) is within mean 4.3 / 99th percentile 14 of the reference;
    # nearest-neighbour resizing, alpha 0.8 instead of 0.4 and the jet-like 'turbo' are at mean >= 9
    return float(diff.mean()) <= 6.0 and float(np.percentile(diff, 99)) <= 24


@check(LAB, "overlay_heatmap", points=2)
def check_overlay(student, expected):
    """jet-colored heatmap resized to the image, added with alpha, uint8 (H, W, 3)"""
    picture, heatmap, _ = overlay_inputs(expected.draw, "overlay")
    got = _overlay(student, picture, heatmap)
    want = expected["overlay"]
    height, width = picture.shape[:2]
    if got.shape == (width, height, 3):
        raise AssertionError(
            f"Your overlay has shape {got.shape}: height and width are swapped. PIL's resize takes (width, height), "
            "tf.image.resize takes (height, width)."
        )
    if got.shape == picture.shape[:2] + (4,):
        raise AssertionError(f"Your overlay has 4 channels (RGBA), shape {got.shape}: keep only the colormap's RGB "
                             "channels, colors[:, :3].")
    if got.shape != picture.shape:
        raise AssertionError(
            f"Your overlay has shape {got.shape}; it must have the image's shape {picture.shape}: resize the colored "
            f"heatmap to (H, W) = {(height, width)} before adding."
        )
    if got.dtype != np.uint8:
        raise AssertionError(f"Your overlay is {got.dtype}: return uint8 (min-max rescale to 0..255, then "
                             "`.astype('uint8')`).")
    if _overlay_close(got, want):
        return
    if _overlay_close(got, _colormap_overlay(picture, heatmap, "jet", scale=1)):
        raise AssertionError(
            "Your overlay adds the colormap's RGB values in 0..1 to the 0..255 image: multiply them by 255 first."
        )
    for name in ("viridis", "gray", "hot", "turbo"):
        if _overlay_close(got, _colormap_overlay(picture, heatmap, name)):
            raise AssertionError(f"Your overlay uses the {name!r} colormap; the chapter uses matplotlib.colormaps['jet'].")
    hint = overlay_values_hint(picture, heatmap, got, _overlay_close)
    if hint:
        raise AssertionError(hint)
    raise AssertionError(
        "Your overlay differs from the reference: color uint8(255 * heatmap) with matplotlib.colormaps['jet'] "
        "(RGB, times 255), resize bilinearly to (H, W), add alpha * colored + image, min-max rescale to 0..255."
    )


@check(LAB, "overlay_heatmap", points=1)
def check_overlay_alpha_and_rescale(student, expected):
    """honours alpha and rescales the sum to the full 0..255 range"""
    picture, heatmap, alpha = overlay_inputs(expected.draw, "overlay_alpha")
    got = _overlay(student, picture, heatmap, alpha=alpha)
    if got.shape != picture.shape:
        raise AssertionError(f"Your overlay has shape {got.shape}; it must have the image's shape {picture.shape}.")
    if int(got.min()) > 1 or int(got.max()) < 254:
        raise AssertionError(
            f"Your overlay's values span {int(got.min())}..{int(got.max())}: min-max rescale the sum to 0..255 "
            "(as keras.utils.array_to_img does)."
        )
    ref = expected["overlay_alpha"]
    if _overlay_close(got, ref["alpha"]):
        return
    fitted = fitted_alpha(got, picture, heatmap)
    # measured: the book's bicubic resize overshoots the colors and fits an alpha 10-15 % larger
    if fitted is not None and 0.85 * alpha <= fitted <= 1.25 * alpha:
        return  # the same alpha with another resizer
    if _overlay_close(got, ref["default"]) or (fitted is not None and abs(fitted - 0.4) <= 0.04):
        raise AssertionError(f"Your alpha={alpha} gave the overlay of the default 0.4: use the alpha argument.")
    raise AssertionError(f"Your overlay with alpha={alpha} differs from alpha * jet(heatmap) * 255 + image, rescaled.")

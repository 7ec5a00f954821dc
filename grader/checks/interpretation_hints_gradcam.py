"""Lab 3 hints, Grad-CAM part: name the mistake behind a wrong heatmap or overlay.

See :mod:`cvlab_ch9.grader.checks.interpretation_hints` for the approach:
the usual mistakes are rebuilt from the reference's intermediates (the
layer's activation and d score / d activation) or read from numeric
signatures of the student's own errors.
"""

import re

import numpy as np

from cvlab_ch9.grader.core import location_text

# -- grad_cam -------------------------------------------------------------------------------


def _normalized(heatmap):
    peak = heatmap.max()
    return heatmap / peak if peak > 0 else np.zeros_like(heatmap)


def grad_cam_mistakes(activation, grads):
    """Heatmaps that the usual mistakes produce from the (h, w, c) activation and gradients, hint -> (h, w)."""
    weights = grads.mean(axis=(0, 1))
    raw = (activation * weights).mean(axis=-1)
    spread = raw.max() - raw.min()
    return {
        ("Your heatmap is min-max scaled, so its minimum becomes 0 and negative evidence shows: apply ReLU "
         "(np.maximum(heatmap, 0)) and divide by the max instead."):
            (raw - raw.min()) / spread if spread > 0 else raw,
        ("Your grad_cam weights each channel by the mean absolute gradient (tf.abs): use the signed mean gradient, "
         "so channels that speak against the class count against it."):
            _normalized(np.maximum((activation * np.abs(grads).mean(axis=(0, 1))).mean(axis=-1), 0)),
        ("Your heatmap is the plain mean of the activation's channels, without weights: weight each channel by the "
         "mean gradient of the class score before averaging."):
            _normalized(np.maximum(activation.mean(axis=-1), 0)),
        ("Your grad_cam averages the gradients over the wrong axes: average over (batch, height, width), "
         "axis=(0, 1, 2), to get one weight per channel."):
            _normalized(np.maximum((activation * grads.mean(axis=0)).mean(axis=-1), 0)),
    }


def heatmap_scale_hint(got, want, atol):
    """A heatmap that is right up to its scale (not divided by the max) or all zeros where the reference is not."""
    if want.max() <= 0:
        return None
    if got.max() <= 1e-6 and got.min() >= -1e-6:
        return ("Your heatmap is all zeros: the gradients you averaged are zero, as when you differentiate all the "
                "class scores together (softmax outputs sum to 1); differentiate only the chosen score, "
                "preds[:, class_index].")
    if got.max() > 0 and not np.isclose(got.max(), 1.0, atol=atol) and np.allclose(got / got.max(), want, atol=atol):
        return (f"Your heatmap is not normalized (its max is {got.max():.4g}, not 1): divide it by its max so that "
                "its values lie in [0, 1].")
    return None


def grad_cam_error_hint(exc, student, image_shape, channels):
    """Shape or index errors with a numeric signature: weights on the RGB input, argmax over the batch."""
    text = str(exc)
    where = location_text(exc, student)
    vectors = re.findall(r"\[([\d,]+)\]|\(([\d,]+),?\)", text)
    lengths = {len(a.split(",")) if a else len(b.split(",")) for a, b in vectors}
    sizes = {int(v) for a, b in vectors for v in (a or b).split(",") if v}
    if ("incompatible shapes" in text.lower() or "broadcast" in text.lower()) and 1 in lengths \
            and image_shape[-1] in sizes and channels != image_shape[-1]:
        return (f"Your grad_cam takes the gradient with respect to the input image: its weights have length "
                f"{image_shape[-1]} (one per RGB channel) against an activation of {channels} channels{where}. "
                "Differentiate the class score with respect to the conv layer's output instead.")
    if "valid indices" in text and re.search(r"shape=\(\d+,\)", text):
        return (f"Your top class is a vector of indices, not one index{where}: tf.argmax(preds) takes the argmax over "
                "the batch axis; use tf.argmax(preds[0]) for the top predicted class.")
    return None


# -- overlay_heatmap ------------------------------------------------------------------------


def overlay_error_hint(exc, student):
    """Indexing the colormap with floats."""
    if "used as indices must be of integer" in str(exc):
        return (f"Your overlay_heatmap indexes the colormap with float values{location_text(exc, student)}: "
                "convert 255 * heatmap to integer indices with np.uint8 first.")
    return None


def colored(picture, heatmap, name="jet", scale=255, method="bilinear"):
    """The heatmap in colormap ``name`` times ``scale``, resized to the picture, float (H, W, 3)."""
    import matplotlib  # noqa: PLC0415 - plotting and TensorFlow load only when an overlay is graded
    import tensorflow as tf  # noqa: PLC0415 - idem

    colors = matplotlib.colormaps[name](np.arange(256))[:, :3]
    return tf.image.resize(colors[np.uint8(255 * heatmap)] * scale, picture.shape[:2], method=method).numpy()


def _rescaled(total):
    total = total - total.min()
    return (total / total.max() * 255).astype("uint8")


def overlay_values_hint(picture, heatmap, got, close, alpha=0.4):
    """Which usual mistake made the overlay ``got`` (clip, nearest resize, alpha on the image), or None."""
    image = picture.astype("float32")
    jet = colored(picture, heatmap)
    candidates = [
        (np.clip(alpha * jet + image, 0, 255).astype("uint8"),
         "Your overlay clips the sum to 0..255: min-max rescale it to 0..255 instead (as keras.utils.array_to_img does)."),
        (_rescaled(alpha * colored(picture, heatmap, method="nearest") + image),
         "Your overlay resizes the colored heatmap with nearest neighbours: resize it bilinearly."),
        (_rescaled(jet + alpha * image),
         "Your overlay weights the image by alpha instead of the colored heatmap: add alpha * colored + image."),
    ]
    for candidate, hint in candidates:
        if close(got, candidate):
            return hint
    return None

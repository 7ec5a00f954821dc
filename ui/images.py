"""Turning whatever the user gave us into a uint8 RGB picture, or a clear message.

Gradio's ``gr.Image(type="numpy")`` already gives uint8 RGB; direct calls and
the API may also pass grayscale, RGBA, float arrays, PIL images or file
paths. :func:`load_input_image` accepts all of them through
:mod:`cvlab.imaging` and rejects what cannot work with a ``gr.Error``.
"""

from pathlib import Path

import numpy as np

from ui.common import user_error

#: Smallest side accepted: smaller images carry no information to look at.
MIN_SIDE = 8
#: Larger images are downscaled (keeping the aspect ratio) so overlays stay fast.
MAX_SIDE = 1024

NO_IMAGE = "No image yet: upload a picture (JPEG, PNG, WebP, BMP, …) or click one of the examples below the image."


def _imaging():
    """The ``cvlab.imaging`` module, or a gr.Error while it has not landed."""
    try:
        from cvlab import imaging  # noqa: PLC0415 - optional until it lands
    except ImportError as exc:
        raise user_error(f"Image handling is not available: cvlab/imaging.py is missing or cannot be imported ({exc}).") from exc
    return imaging


def load_input_image(value, max_side=MAX_SIDE):
    """A displayable uint8 RGB image from the user's input.

    Args:
        value: None, a numpy array (gray (H, W), (H, W, 1), RGB, RGBA;
            uint8 or float), a PIL image, or the path of an image file.
        max_side: the longest side after downscaling.

    Returns:
        tuple (np.ndarray uint8 (H, W, 3), note): ``note`` is "" or a
        sentence saying the image was downscaled.

    Raises:
        gr.Error: no image, unreadable file, too small, or more pixels than
            ``cvlab.imaging.MAX_PIXELS``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise user_error(NO_IMAGE)
    imaging = _imaging()
    try:
        if isinstance(value, (str, Path)):
            image = imaging.read_image(value)
        else:
            image = imaging.to_rgb_uint8(value)
    except (imaging.ImageError, ValueError, TypeError, OSError) as exc:
        name = Path(value).name if isinstance(value, (str, Path)) else "the input"
        raise user_error(
            f"Could not use {name} as an image ({exc}). Upload a photo in a common format such as JPEG or PNG."
        ) from exc
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise user_error(
            f"The image is only {width}x{height} pixels; use one at least {MIN_SIDE}x{MIN_SIDE} pixels."
        )
    if max(height, width) <= max_side:
        return image, ""
    scale = max_side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    small = imaging.resize_image(image, size, method="bilinear")
    small = np.clip(np.asarray(small), 0, 255).astype("uint8")
    return small, f"Downscaled from {width}x{height} to {size[1]}x{size[0]} pixels."


def model_input(image, size):
    """float32 (1, h, w, 3) pixels in 0..255 for a model whose input is ``size`` = (h, w)."""
    batch = np.asarray(_imaging().prepare_for_model(image, tuple(size)), dtype="float32")
    return batch[np.newaxis]


def jet_image(heatmap, size=None):
    """uint8 (H, W, 3) jet-colored picture of a [0, 1] heatmap, nearest-upscaled to ``size``."""
    import matplotlib  # noqa: PLC0415

    heatmap = np.clip(np.nan_to_num(np.asarray(heatmap, dtype="float32")), 0, 1)
    colors = (matplotlib.colormaps["jet"](np.uint8(255 * heatmap))[..., :3] * 255).astype("uint8")
    if size is None:
        return colors
    rows = np.minimum((np.arange(size[0]) * heatmap.shape[0]) // size[0], heatmap.shape[0] - 1)
    cols = np.minimum((np.arange(size[1]) * heatmap.shape[1]) // size[1], heatmap.shape[1] - 1)
    return colors[rows][:, cols]


def upscale_gray(canvas, min_side=256):
    """Nearest-neighbour upscale of a small uint8 picture so its short side is ≥ ``min_side``."""
    canvas = np.asarray(canvas)
    factor = max(1, int(np.ceil(min_side / max(1, min(canvas.shape[:2])))))
    factor = min(factor, 16)
    return np.repeat(np.repeat(canvas, factor, axis=0), factor, axis=1)

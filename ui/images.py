"""Turning whatever the user gave us into a uint8 RGB picture, or a clear message.

The UI's image boxes (:class:`cvlab_ch9.ui.inputs.ImageFile`) hand over the uploaded
file's path undecoded; direct calls and the API may also pass numpy arrays
(grayscale, RGBA, float), PIL images or file paths. :func:`load_input_image`
reads all of them through :mod:`cvlab_ch9.imaging` and answers anything that
cannot work with a one-sentence ``gr.Error``.
"""

from pathlib import Path

import numpy as np

from cvlab_ch9 import imaging
from cvlab_ch9.image_formats import readable_formats
from cvlab_ch9.ui.common import user_error

#: Smallest side accepted: smaller images carry no information to look at.
MIN_SIDE = 8
#: Larger images are downscaled (keeping the aspect ratio) so overlays stay fast.
MAX_SIDE = 1024


def no_image_message():
    """The sentence for a click without an image."""
    return (
        f"No image yet: upload a picture ({', '.join(readable_formats())}) "
        "or click one of the examples below the image."
    )


def _decode(value):
    """uint8 (H, W, 3) from a file path (turned upright by its EXIF orientation) or an array/PIL image."""
    if isinstance(value, (str, Path)):
        # the upload's own name: the folder is Gradio's temporary one
        return imaging.read_image(value, upright=True, name=Path(value).name)
    return imaging.to_rgb_uint8(value)


def load_input_image(value, max_side=MAX_SIDE):
    """A displayable uint8 RGB image from the user's input.

    Args:
        value: None, a numpy array (gray (H, W), (H, W, 1), RGB, RGBA;
            uint8 or float), a PIL image, or the path of an image file
            (EXIF orientation applied: the picture is upright as a browser
            shows it, and the model sees it so).
        max_side: the longest side after downscaling.

    Returns:
        tuple (np.ndarray uint8 (H, W, 3), note): ``note`` is "" or a
        sentence saying the image was downscaled.

    Raises:
        gr.Error: one sentence naming the file and what to do: no image, a
            missing, empty, damaged or cut-off file, a format that cannot be
            decoded (HEIC, SVG, ...), too small, or more pixels than
            ``cvlab_ch9.imaging.MAX_PIXELS`` (checked before decoding).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise user_error(no_image_message())
    try:
        image = _decode(value)
    except imaging.ImageError as exc:
        raise user_error(str(exc)) from exc
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
    batch = np.asarray(imaging.prepare_for_model(image, tuple(size)), dtype="float32")
    return batch[np.newaxis]


def jet_image(heatmap, size=None):
    """uint8 (H, W, 3) jet-colored picture of a [0, 1] heatmap (clipped; NaN gray), nearest-upscaled to ``size``."""
    import matplotlib  # noqa: PLC0415

    heatmap = np.asarray(heatmap, dtype="float32")
    finite = np.isfinite(heatmap)
    levels = np.uint8(255 * np.clip(np.where(finite, heatmap, 0), 0, 1))
    colors = (matplotlib.colormaps["jet"](levels)[..., :3] * 255).astype("uint8")
    colors[~finite] = 128
    return colors if size is None else nearest_resize(colors, size)


def nearest_resize(array, size):
    """Nearest-neighbour resize of an (h, w) or (h, w, c) array (any dtype) to ``size`` = (H, W).

    Output row i is input row ``i * h // H`` (likewise for columns); the dtype is kept.
    """
    array = np.asarray(array)
    rows = np.minimum((np.arange(size[0]) * array.shape[0]) // size[0], array.shape[0] - 1)
    cols = np.minimum((np.arange(size[1]) * array.shape[1]) // size[1], array.shape[1] - 1)
    return array[rows][:, cols]


def channel_grid(value, channels, per_row=None, gutter=1, min_side=96):
    """uint8 grid of the first ``channels`` channels of an (h, w, c) array, each min-max scaled.

    ``per_row`` channels to a row (default: the square root of the count, so
    the grid is about as tall as wide and fills a gallery's square cell; one
    row of eight left it mostly empty), white ``gutter``-pixel lines between
    them, upscaled so the short side is at least ``min_side``.
    """
    value = np.asarray(value, dtype="float32")
    count = min(channels, value.shape[-1])
    columns = min(per_row or int(np.ceil(np.sqrt(count))), count)
    rows = -(-count // columns)
    h, w = value.shape[:2]
    canvas = np.full((rows * (h + gutter) - gutter, columns * (w + gutter) - gutter), 255, dtype="uint8")
    for c in range(count):
        plane = value[..., c]
        span = float(plane.max() - plane.min())
        scaled = (plane - plane.min()) / span * 255 if span > 0 else np.zeros_like(plane)
        top, left = (c // columns) * (h + gutter), (c % columns) * (w + gutter)
        canvas[top:top + h, left:left + w] = scaled.astype("uint8")
    return upscale_gray(canvas, min_side=min_side)


def upscale_gray(canvas, min_side=256):
    """Nearest-neighbour upscale of a small uint8 picture so its short side is ≥ ``min_side``."""
    canvas = np.asarray(canvas)
    factor = max(1, int(np.ceil(min_side / max(1, min(canvas.shape[:2])))))
    factor = min(factor, 16)
    return np.repeat(np.repeat(canvas, factor, axis=0), factor, axis=1)

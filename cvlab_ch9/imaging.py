"""Image plumbing shared by the data loader, the Gradio UI and the grader.

Everything here uses numpy and Pillow only (no TensorFlow) so it imports fast.

Conventions
-----------
* Sizes are ``(height, width)``, as in Keras (Pillow itself uses ``(width, height)``).
* "RGB image" means a C-contiguous ``np.ndarray`` of shape ``(H, W, 3)`` and dtype
  ``uint8`` with values 0..255.
* Transparent images are composited over a white background (what a browser shows
  for a transparent PNG), not just stripped of their alpha channel.
* Errors a user can fix are raised as :class:`ImageError`, whose message is a full
  sentence that says what to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cvlab_ch9.image_formats import SNIFF_BYTES, readable_formats_text, sniff_format

__all__ = [
    "MAX_PIXELS",
    "RESIZE_METHODS",
    "ImageError",
    "open_image",
    "prepare_for_model",
    "read_image",
    "resize_image",
    "to_rgb_uint8",
]

#: Largest image (height * width) accepted anywhere; bigger images are refused
#: with a message asking the user to downscale them first. Files are checked from
#: their header, before decoding, so a decompression bomb costs no memory. Below
#: Pillow's own limit (``Image.MAX_IMAGE_PIXELS``, about 89 megapixels), which
#: still refuses anything above twice its value at ``Image.open``.
MAX_PIXELS = 50_000_000

#: Interpolation names accepted by :func:`resize_image` (mapped to Pillow filters).
RESIZE_METHODS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "area": Image.Resampling.BOX,
    "box": Image.Resampling.BOX,
    "lanczos": Image.Resampling.LANCZOS,
}

# Float images are converted in blocks of about this many values, so that a huge
# float64 array does not need several full-size temporaries.
_FLOAT_BLOCK_VALUES = 4_000_000

# Pillow modes with an alpha channel (or transparency info) that we composite over white.
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")

_WHITE = 255


class ImageError(ValueError):
    """A user-fixable problem with an image; the message says what to do."""


def _check_pixel_count(height: int, width: int, subject: str = "The image") -> None:
    """Raise ImageError when ``height * width`` exceeds :data:`MAX_PIXELS`; ``subject`` starts the sentence."""
    pixels = int(height) * int(width)
    if pixels > MAX_PIXELS:
        raise ImageError(
            f"{subject} is {width}x{height} pixels ({pixels / 1e6:.1f} megapixels), "
            f"more than the {MAX_PIXELS / 1e6:.0f} megapixels this lab accepts; "
            "downscale it (for example to 2000 pixels on the long side) and try again."
        )


def _check_size(size) -> tuple[int, int]:
    """Validate a ``(height, width)`` pair of positive ints and return it as a tuple."""
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise ImageError(
            f"size must be a (height, width) pair of positive integers, got {size!r}."
        ) from exc
    if height < 1 or width < 1:
        raise ImageError(
            f"size must be a (height, width) pair of positive integers, got {size!r}."
        )
    return height, width


# --------------------------------------------------------------------------- PIL input


def _composite_over_white(rgba: Image.Image) -> Image.Image:
    """Flatten an ``RGBA`` PIL image onto a white background; returns mode ``RGB``."""
    background = Image.new("RGB", rgba.size, (_WHITE, _WHITE, _WHITE))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _pil_high_bit_depth_to_l(image: Image.Image) -> Image.Image:
    """Convert a 16/32-bit integer or float single-channel PIL image to mode ``L``.

    16-bit data (``I;16*`` modes, or ``I`` with values above 255) is scaled by
    1/257 so 65535 maps to 255; float (``F``) data goes through the float rules of
    :func:`to_rgb_uint8`.
    """
    array = np.asarray(image)
    if image.mode == "F":
        return Image.fromarray(_float_to_uint8(array.astype(np.float32, copy=False)))
    array = array.astype(np.int64, copy=False)
    if image.mode.startswith("I;16") or (array.size and array.max() > 255):
        array = array // 257
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def _pil_to_rgb(image: Image.Image) -> Image.Image:
    """Return an ``RGB`` PIL image; transparency is composited over white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return _pil_high_bit_depth_to_l(image).convert("RGB")
    has_alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
    if has_alpha:
        return _composite_over_white(image.convert("RGBA"))
    return image.convert("RGB")


def _check_pil_size(image: Image.Image, subject: str = "The image") -> None:
    """Raise ImageError for an empty or oversized PIL image; ``subject`` starts the sentence."""
    width, height = image.size
    if width == 0 or height == 0:
        raise ImageError(f"{subject} is empty (0 pixels): upload a real picture.")
    _check_pixel_count(height, width, subject)


# ------------------------------------------------------------------------- array input


def _float_to_uint8(array: np.ndarray) -> np.ndarray:
    """Convert a float array (any shape) to uint8.

    Values are taken as 0..1 when the maximum is at most 1.0, else as 0..255;
    out-of-range values are clipped and the result is rounded. NaN or infinite
    values raise :class:`ImageError`. Works block by block over the first axis so
    the temporaries stay small for huge inputs.
    """
    if array.size == 0:
        return np.zeros(array.shape, dtype=np.uint8)
    flat_rows = array.reshape(array.shape[0], -1)
    rows_per_block = max(1, _FLOAT_BLOCK_VALUES // max(1, flat_rows.shape[1]))
    maximum = -np.inf
    for start in range(0, flat_rows.shape[0], rows_per_block):
        block = flat_rows[start : start + rows_per_block]
        if not np.isfinite(block).all():
            raise ImageError(
                "The image contains NaN or infinite values; pass finite numbers "
                "(0..1 or 0..255)."
            )
        maximum = max(maximum, float(block.max()))
    scale = 255.0 if maximum <= 1.0 else 1.0
    out = np.empty(flat_rows.shape, dtype=np.uint8)
    for start in range(0, flat_rows.shape[0], rows_per_block):
        block = flat_rows[start : start + rows_per_block].astype(np.float32)
        block *= scale
        np.clip(block, 0.0, 255.0, out=block)
        np.rint(block, out=block)
        out[start : start + rows_per_block] = block
    return out.reshape(array.shape)


def _values_to_uint8(array: np.ndarray) -> np.ndarray:
    """Convert an array of any numeric dtype (any shape) to uint8 values 0..255.

    * uint8: unchanged (no copy).
    * bool: False -> 0, True -> 255.
    * other integers: must already be within 0..255, else ImageError.
    * float: see :func:`_float_to_uint8`.
    """
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(array.dtype, np.integer):
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ImageError(
                f"The image has {array.dtype} values from {array.min()} to {array.max()}; "
                "integer images must use 0..255 (convert 16-bit images to 8-bit first)."
            )
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        return _float_to_uint8(array)
    raise ImageError(
        f"Cannot use an array of dtype {array.dtype} as an image; "
        "pass uint8 (0..255) or float (0..1 or 0..255) values."
    )


def _gray_alpha_to_rgb(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite (H,W) uint8 gray with (H,W) uint8 alpha over white -> (H,W,3) uint8."""
    return _rgba_to_rgb(np.dstack([gray, gray, gray, alpha]))


def _rgba_to_rgb(rgba: np.ndarray) -> np.ndarray:
    """Composite (H,W,4) uint8 RGBA over white -> (H,W,3) uint8 (via Pillow, low memory)."""
    image = Image.fromarray(np.ascontiguousarray(rgba))
    return np.array(_composite_over_white(image))


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Turn a (H,W), (H,W,1), (H,W,2), (H,W,3) or (H,W,4) array into (H,W,3) uint8."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
        raise ImageError(
            f"Expected an image array of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
            f"got shape {array.shape}. Pass a single image, not a batch."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(
            f"The image is empty (shape {array.shape}): upload a real picture."
        )
    _check_pixel_count(array.shape[0], array.shape[1])
    values = _values_to_uint8(array)
    if values.ndim == 2:
        values = values[:, :, np.newaxis]
    channels = values.shape[2]
    if channels == 1:
        return np.repeat(values, 3, axis=2)
    if channels == 2:
        return _gray_alpha_to_rgb(values[:, :, 0], values[:, :, 1])
    if channels == 4:
        return _rgba_to_rgb(values)
    return values


# -------------------------------------------------------------------------- public API


def to_rgb_uint8(image) -> np.ndarray:
    """Convert any supported image to a contiguous RGB array.

    Args:
        image: a ``PIL.Image.Image`` (any mode; the first frame of an animation) or a
            numpy array of shape (H,W), (H,W,1), (H,W,2) gray+alpha, (H,W,3) or
            (H,W,4) RGBA. Arrays may be uint8, bool, other integers within 0..255,
            or float: float values are read as 0..1 when their maximum is <= 1.0,
            else as 0..255 (clipped, rounded).

    Returns:
        np.ndarray (H, W, 3) uint8, C-contiguous. A uint8 (H,W,3) contiguous input
        is returned as is (no copy). Transparency is composited over white.

    Raises:
        ImageError: for None, a wrong rank or channel count, an empty image,
            NaN/inf values, values out of range, or more than MAX_PIXELS pixels.
    """
    if image is None:
        raise ImageError("No image was given: upload an image or pick an example.")
    if isinstance(image, Image.Image):
        _check_pil_size(image)
        return np.array(_pil_to_rgb(image), dtype=np.uint8)
    try:
        array = np.asarray(image)
    except (TypeError, ValueError) as exc:
        raise ImageError(
            f"Cannot use a {type(image).__name__} as an image; pass a numpy array "
            "or a PIL image."
        ) from exc
    if array.dtype.kind not in "biuf":
        raise ImageError(
            f"Cannot use a {type(image).__name__} as an image; pass a numpy array "
            "or a PIL image (use read_image for a file path)."
        )
    return np.ascontiguousarray(_array_to_rgb(array))


def _display_name(path: Path) -> str:
    """Short, user-facing name for a file: its last two path components."""
    return "/".join(path.parts[-2:]) if len(path.parts) >= 2 else str(path)


def _what_works() -> str:
    """The end of a sentence naming the formats that work, e.g. "a JPEG, PNG, ... or TIFF file"."""
    return f"a {readable_formats_text()} file"


def _unidentified_message(path: Path, name: str) -> str:
    """The sentence for a file Pillow does not recognise: what it is, if known, and what works."""
    with open(path, "rb") as file:
        known = sniff_format(file.read(SNIFF_BYTES))
    if known is not None:
        return (
            f"{name} is in the {known} format, which this lab cannot decode; "
            f"convert it to {_what_works()} first."
        )
    return f"{name} is not a picture this lab can read; use {_what_works()} instead."


def _damaged_message(name: str, file_format: str | None = None) -> str:
    """The sentence for a file that is cut off or damaged (in its header, or in its picture data)."""
    what = f"starts like a {file_format} file but its picture data is" if file_format else "is"
    return f"{name} {what} damaged or cut off; download or export it again and use the complete file."


def _unreadable_message(name: str, exc: OSError) -> str:
    """The sentence for a file the operating system refuses to read (permission denied, I/O error)."""
    return f"{name} cannot be read ({exc.strerror or exc}); make sure the file is readable and try again."


def _file_size(path: Path, name: str) -> int:
    """Size in bytes of the file ``path``; ImageError when it is missing, not a file or not readable."""
    try:
        if not path.is_file():
            raise ImageError(f"{name} does not exist or is not a file; check the path.")
        return path.stat().st_size
    except OSError as exc:  # e.g. a folder on the way that this user may not enter
        raise ImageError(_unreadable_message(name, exc)) from exc


def open_image(path, name=None) -> Image.Image:
    """Open an image file with Pillow (lazily, headers only) and check its size.

    Nothing is decoded yet, so a file whose header claims more than
    MAX_PIXELS pixels (a decompression bomb) is refused before any memory
    is allocated for its pixels.

    Args:
        path: str or Path of an image file.
        name: how messages call the file (default: its last two path components).

    Returns:
        An unloaded ``PIL.Image.Image`` (first frame for GIF/TIFF/WebP animations).

    Raises:
        ImageError: a sentence naming the file when it is missing, empty, not
            readable, not an image Pillow can open (naming HEIC, SVG or PDF when
            it is one of those) or larger than MAX_PIXELS.
    """
    path = Path(path)
    name = name or _display_name(path)
    if _file_size(path, name) == 0:
        raise ImageError(
            f"{name} is empty (0 bytes), so there is no picture in it; save or upload it again, or use another picture."
        )
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageError(
            f"{name} has more pixels than the {MAX_PIXELS / 1e6:.0f} megapixels this lab accepts, so it was not "
            "decoded; downscale it (for example to 2000 pixels on the long side) and try again."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(_unidentified_message(path, name)) from exc
    except OSError as exc:
        if exc.errno is None:  # raised by a Pillow plugin: the header is cut off or damaged
            raise ImageError(_damaged_message(name)) from exc
        raise ImageError(_unreadable_message(name, exc)) from exc
    except MemoryError:
        raise
    # e.g. ValueError for a PNG text or colour-profile chunk that inflates past Pillow's limit
    except Exception as exc:
        raise ImageError(
            f"{name} could not be opened: its header is damaged or holds more metadata than this lab reads; "
            "save it again as a plain JPEG or PNG."
        ) from exc
    try:
        _check_pil_size(image, name)
    except ImageError:
        image.close()
        raise
    return image


def _decode_rgb(image: Image.Image, name: str, upright: bool) -> np.ndarray:
    """Decode an opened image (its first frame) to uint8 (H, W, 3), turned upright by its EXIF orientation if ``upright``."""
    try:
        image.load()
        if upright:
            ImageOps.exif_transpose(image, in_place=True)
        return np.array(_pil_to_rgb(image), dtype=np.uint8)
    except MemoryError:
        raise
    # Pillow's decoders report damaged or cut-off data as OSError, SyntaxError, EOFError,
    # struct.error, ValueError, ... depending on the format: each means the same to the user.
    except Exception as exc:
        raise ImageError(_damaged_message(name, image.format)) from exc


def read_image(path, *, upright=False, name=None) -> np.ndarray:
    """Read an image file (JPEG, PNG, WebP, GIF first frame, BMP, TIFF, ...).

    Args:
        path: str or Path.
        upright: turn the picture as its EXIF orientation tag says (phone photos are
            often stored sideways with such a tag), as a browser shows it. Off by
            default: the data loader gives the pixels ``keras.utils.load_img`` gives.
        name: how messages call the file (default: its last two path components). The
            UI passes the upload's own file name, so no temporary folder is shown.

    Returns:
        np.ndarray (H, W, 3) uint8, C-contiguous; transparency composited over white;
        16-bit images scaled to 8 bits; CMYK and palette images converted to RGB.

    Raises:
        ImageError: one sentence naming the file when it is missing, empty, not an
            image (naming HEIC, SVG or PDF), too big, damaged or cut off.
    """
    path = Path(path)
    name = name or _display_name(path)
    with open_image(path, name) as image:
        return _decode_rgb(image, name, upright)


def _resize_pil(image: Image.Image, size: tuple[int, int], method: str) -> Image.Image:
    """Resize a PIL image to ``size`` = (height, width) with the named method.

    Large reductions first shrink by an integer factor with ``Image.reduce``
    (``reducing_gap``), which is fast and keeps memory low; the result is still
    antialiased.
    """
    height, width = size
    if image.size == (width, height):
        return image.copy()
    resample = RESIZE_METHODS[method]
    reducing_gap = None if method == "nearest" else 3.0
    return image.resize((width, height), resample=resample, reducing_gap=reducing_gap)


def _check_method(method: str) -> str:
    """Validate an interpolation name (see RESIZE_METHODS)."""
    if method not in RESIZE_METHODS:
        raise ImageError(
            f"Unknown resize method {method!r}; use one of {', '.join(RESIZE_METHODS)}."
        )
    return method


def resize_image(image: np.ndarray, size, method: str = "bilinear") -> np.ndarray:
    """Resize a uint8 image or mask with Pillow.

    Args:
        image: uint8 array (H,W) (e.g. a trimap or mask), (H,W,1), (H,W,3) or (H,W,4).
        size: (height, width) of the result.
        method: "bilinear" (default, antialiased when shrinking, as
            ``keras.utils.load_img``), "nearest" (use for masks: keeps the values),
            "bicubic", "area"/"box" or "lanczos".

    Returns:
        uint8 array (height, width) or (height, width, C), same channel layout as the
        input; always a new array.

    Raises:
        ImageError: for a non-uint8 array, a bad shape, size or method.
    """
    height, width = _check_size(size)
    _check_method(method)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ImageError(
            f"resize_image expects uint8 values, got {array.dtype}; "
            "convert with to_rgb_uint8 first (or astype(np.uint8) for a mask)."
        )
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ImageError(
            f"resize_image expects shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
            f"got {array.shape}."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"The image is empty (shape {array.shape}): nothing to resize.")
    squeeze = array.ndim == 3 and array.shape[2] == 1
    source = array[:, :, 0] if squeeze else array
    resized = np.asarray(
        _resize_pil(Image.fromarray(np.ascontiguousarray(source)), (height, width), method)
    )
    out = np.array(resized, dtype=np.uint8, copy=True)
    return out[:, :, np.newaxis] if squeeze else out


def prepare_for_model(image, size) -> np.ndarray:
    """Turn any supported image into a model input (without the batch axis).

    Args:
        image: anything :func:`to_rgb_uint8` accepts (numpy array or PIL image).
        size: (height, width) the model expects.

    Returns:
        np.ndarray (height, width, 3) float32 with values 0..255 (the lab's models
        start with ``Rescaling(1/255)``). Resized bilinearly (antialiased), so a
        1x1 image is upsampled and a 6000x6000 one is reduced cheaply.

    Raises:
        ImageError: see :func:`to_rgb_uint8`.
    """
    height, width = _check_size(size)
    if isinstance(image, Image.Image):
        _check_pil_size(image)
        rgb_image = _pil_to_rgb(image)
    else:
        rgb_image = Image.fromarray(to_rgb_uint8(image))
    resized = _resize_pil(rgb_image, (height, width), "bilinear")
    return np.asarray(resized, dtype=np.float32)

"""Tests for cvlab_ch9.imaging (numpy + Pillow image plumbing)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from PIL import Image, features

from cvlab_ch9 import imaging
from cvlab_ch9.imaging import (
    ImageError,
    prepare_for_model,
    read_image,
    resize_image,
    to_rgb_uint8,
)


@pytest.fixture
def rgb_image() -> np.ndarray:
    """(20, 30, 3) uint8 with distinct values per pixel and channel."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)


# ------------------------------------------------------------------------ to_rgb_uint8


def test_rgb_uint8_passes_through_without_copy(rgb_image):
    out = to_rgb_uint8(rgb_image)
    assert out is rgb_image  # documented: a contiguous uint8 (H, W, 3) input is returned as is
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    assert out.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(out, rgb_image)


def test_non_contiguous_input_becomes_contiguous(rgb_image):
    view = rgb_image[:, ::2]
    out = to_rgb_uint8(view)
    assert out.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(out, view)


@pytest.mark.parametrize("shape", [(20, 30), (20, 30, 1)])
def test_grayscale_is_replicated(shape):
    gray = np.arange(600, dtype=np.uint8).reshape(shape)
    out = to_rgb_uint8(gray)
    assert out.shape == (20, 30, 3)
    for channel in range(3):
        np.testing.assert_array_equal(out[:, :, channel], gray.reshape(20, 30))


def test_rgba_is_composited_over_white():
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., :3] = (10, 100, 200)
    rgba[0, 0, 3] = 255  # opaque: colour kept
    rgba[0, 1, 3] = 0  # transparent: white
    rgba[1, :, 3] = 128  # half: between
    out = to_rgb_uint8(rgba)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[0, 0], (10, 100, 200))
    np.testing.assert_array_equal(out[0, 1], (255, 255, 255))
    assert np.all(np.abs(out[1, 0].astype(int) - (132, 177, 227)) <= 2)


def test_gray_alpha_is_composited():
    gray_alpha = np.zeros((1, 2, 2), dtype=np.uint8)
    gray_alpha[0, 0] = (50, 255)
    gray_alpha[0, 1] = (50, 0)
    out = to_rgb_uint8(gray_alpha)
    np.testing.assert_array_equal(out[0], [[50, 50, 50], [255, 255, 255]])


def test_float_zero_to_one_and_zero_to_255():
    unit = np.array([[[0.0, 0.5, 1.0]]], dtype=np.float32)
    np.testing.assert_array_equal(to_rgb_uint8(unit), [[[0, 128, 255]]])
    wide = np.array([[[0.0, 127.6, 300.0]]], dtype=np.float64)
    np.testing.assert_array_equal(to_rgb_uint8(wide), [[[0, 128, 255]]])


def test_float_negative_values_are_clipped():
    out = to_rgb_uint8(np.array([[-0.5, 0.25]]))
    np.testing.assert_array_equal(out[0, :, 0], [0, 64])


def test_bool_and_int_arrays():
    np.testing.assert_array_equal(to_rgb_uint8(np.array([[True, False]]))[0, :, 0], [255, 0])
    np.testing.assert_array_equal(to_rgb_uint8(np.array([[3, 250]], dtype=np.int64))[0, :, 1], [3, 250])
    with pytest.raises(ImageError, match="0..255"):
        to_rgb_uint8(np.array([[0, 4000]], dtype=np.uint16))


def test_none_gives_a_helpful_message():
    with pytest.raises(ImageError, match="No image was given: upload an image or pick an example."):
        to_rgb_uint8(None)


@pytest.mark.parametrize(
    "bad",
    [np.zeros(5, np.uint8), np.zeros((2, 4, 4, 3), np.uint8), np.zeros((4, 4, 5), np.uint8)],
    ids=["rank1", "batch", "5channels"],
)
def test_wrong_shape(bad):
    with pytest.raises(ImageError, match="shape"):
        to_rgb_uint8(bad)


@pytest.mark.parametrize("shape", [(0, 5, 3), (5, 0), (0, 0)])
def test_empty_image(shape):
    with pytest.raises(ImageError, match="empty"):
        to_rgb_uint8(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_nan_and_inf(bad_value):
    image = np.zeros((4, 4, 3), np.float32)
    image[1, 2, 0] = bad_value
    with pytest.raises(ImageError, match="NaN"):
        to_rgb_uint8(image)


def test_object_arrays_are_refused():
    with pytest.raises(ImageError, match="numpy array or a PIL image"):
        to_rgb_uint8("cat.jpg")


def test_pil_images_of_any_mode():
    rgba = Image.new("RGBA", (3, 2), (0, 0, 255, 0))
    np.testing.assert_array_equal(to_rgb_uint8(rgba), np.full((2, 3, 3), 255))
    gray = Image.new("L", (3, 2), 77)
    np.testing.assert_array_equal(to_rgb_uint8(gray), np.full((2, 3, 3), 77))
    palette = Image.new("P", (3, 2), 0)
    palette.putpalette([9, 8, 7] * 256)
    np.testing.assert_array_equal(to_rgb_uint8(palette)[0, 0], (9, 8, 7))
    sixteen = Image.fromarray(np.full((2, 3), 65535, dtype=np.uint16))
    np.testing.assert_array_equal(to_rgb_uint8(sixteen), np.full((2, 3, 3), 255))
    out = to_rgb_uint8(Image.new("RGB", (3, 2), (1, 2, 3)))
    assert out.flags["WRITEABLE"] and out.flags["C_CONTIGUOUS"]


def test_max_pixels_guard_names_the_fix():
    huge = np.broadcast_to(np.uint8(0), (8000, 7000))  # 56 MP, no memory used
    with pytest.raises(ImageError, match="downscale it"):
        to_rgb_uint8(huge)


# -------------------------------------------------------------------------- read_image


SAVE_FORMATS = ["JPEG", "PNG", "BMP", "TIFF"] + (["WEBP"] if features.check("webp") else [])


@pytest.mark.parametrize("fmt", SAVE_FORMATS)
def test_read_common_formats(tmp_path, fmt):
    path = tmp_path / f"img.{fmt.lower()}"
    Image.new("RGB", (7, 5), (200, 40, 10)).save(path, fmt)
    out = read_image(path)
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8
    assert np.all(np.abs(out.astype(int) - (200, 40, 10)) <= 12)


def test_read_gif_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (6, 4), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    out = read_image(str(path))
    assert out.shape == (4, 6, 3)
    np.testing.assert_array_equal(out[0, 0], (255, 0, 0))


def test_read_transparent_png_and_grayscale(tmp_path):
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    np.testing.assert_array_equal(read_image(tmp_path / "clear.png"), np.full((4, 4, 3), 255))
    Image.new("L", (4, 3), 90).save(tmp_path / "gray.jpg")
    assert read_image(tmp_path / "gray.jpg").shape == (3, 4, 3)


def test_non_image_file_names_the_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture")
    with pytest.raises(ImageError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path.parent.name}/notes.jpg is not a picture this lab can read; use a JPEG, PNG")
    assert str(path.parent) not in message  # the last two path components, not the whole path


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ImageError, match="cut.jpg"):
        read_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        read_image(tmp_path / "nope.png")


def test_read_image_checks_max_pixels_before_decoding(tmp_path, monkeypatch):
    Image.new("RGB", (20, 20)).save(tmp_path / "big.png")
    monkeypatch.setattr(imaging, "MAX_PIXELS", 100)
    with pytest.raises(ImageError, match="big.png is 20x20 pixels.*downscale it"):
        read_image(tmp_path / "big.png")


# ------------------------------------------------------------------------ resize_image


def test_resize_bilinear_shape_and_dtype(rgb_image):
    out = resize_image(rgb_image, (10, 40))
    assert out.shape == (10, 40, 3) and out.dtype == np.uint8


def test_resize_same_size_returns_a_copy(rgb_image):
    out = resize_image(rgb_image, (20, 30))
    np.testing.assert_array_equal(out, rgb_image)
    out[0, 0] = 0
    assert out is not rgb_image


def test_resize_nearest_keeps_mask_values():
    mask = np.random.default_rng(1).integers(1, 4, size=(37, 23), dtype=np.uint8)
    for size in [(200, 100), (9, 5)]:
        out = resize_image(mask, size, method="nearest")
        assert out.shape == size and out.dtype == np.uint8
        assert set(np.unique(out)) <= {1, 2, 3}


def test_resize_keeps_a_single_channel_axis():
    out = resize_image(np.zeros((5, 5, 1), np.uint8), (3, 4), "nearest")
    assert out.shape == (3, 4, 1)


def test_resize_rejects_bad_input(rgb_image):
    with pytest.raises(ImageError, match="uint8"):
        resize_image(rgb_image.astype(np.float32), (4, 4))
    with pytest.raises(ImageError, match="Unknown resize method"):
        resize_image(rgb_image, (4, 4), method="cubic-ish")
    with pytest.raises(ImageError, match="height, width"):
        resize_image(rgb_image, (0, 4))


# ------------------------------------------------------------------- prepare_for_model


def test_prepare_tiny_image_is_upsampled():
    out = prepare_for_model(np.array([[[10, 20, 30]]], np.uint8), (8, 6))
    assert out.shape == (8, 6, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.broadcast_to([10, 20, 30], (8, 6, 3)))


def test_prepare_float_gray_image():
    out = prepare_for_model(np.full((4, 4), 1.0), (2, 2))
    np.testing.assert_allclose(out, 255.0)


def test_prepare_pil_rgba():
    out = prepare_for_model(Image.new("RGBA", (50, 40), (0, 0, 0, 0)), (5, 5))
    np.testing.assert_allclose(out, 255.0)


def test_prepare_rejects_none():
    with pytest.raises(ImageError, match="No image was given"):
        prepare_for_model(None, (4, 4))


def test_prepare_huge_image_needs_no_full_size_copy():
    height = width = 6000
    ramp = np.linspace(0, 255, width, dtype=np.float32).astype(np.uint8)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = ramp[None, :, None]
    tracemalloc.start()
    try:
        out = prepare_for_model(image, (180, 180))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (180, 180, 3) and out.dtype == np.float32
    assert abs(float(out[90, 0, 0]) - 0.0) < 3 and abs(float(out[90, -1, 0]) - 255.0) < 3
    # numpy-side temporaries (Pillow's buffers are not traced): no full-size copies
    assert peak < 20e6, f"peak numpy allocation {peak / 1e6:.0f} MB"


def test_prepare_huge_pil_image():
    image = Image.new("RGB", (6000, 6000), (30, 60, 90))
    out = prepare_for_model(image, (64, 64))
    np.testing.assert_allclose(out, np.broadcast_to([30, 60, 90], (64, 64, 3)))

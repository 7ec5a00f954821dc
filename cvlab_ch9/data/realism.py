"""What makes a synthetic pet photo look less like a cartoon: photo backgrounds, fur, camera effects.

Pure numpy + Pillow, every random choice drawn from the caller's
``np.random.Generator``, so the renderer stays seeded and deterministic.
The photo textures come from :func:`cvlab_ch9.data.textures.load_textures`
(float32 (h, w, 3) arrays in 0..255); with none, callers keep their
procedural backgrounds.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def _to_image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def texture_crop(rng: np.random.Generator, texture: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A random crop of ``texture`` with the aspect of ``size`` = (H, W), maybe mirrored, resized to it.

    The crop's shorter side is 30-100 % of the texture's, so one texture gives
    many different scales. Returns float32 (H, W, 3).
    """
    height, width = size
    tex_h, tex_w = texture.shape[:2]
    side = rng.uniform(0.3, 1.0) * min(tex_h, tex_w)
    crop_h = max(8, min(tex_h, round(side * min(1.0, height / width))))
    crop_w = max(8, min(tex_w, round(side * min(1.0, width / height))))
    top = int(rng.integers(0, tex_h - crop_h + 1))
    left = int(rng.integers(0, tex_w - crop_w + 1))
    crop = texture[top : top + crop_h, left : left + crop_w]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    resized = _to_image(crop).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def _recolour(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Random colours for a texture: a gray one is tinted between two random colours, a colour one re-balanced."""
    if np.allclose(image[..., 0], image[..., 1], atol=8) and np.allclose(image[..., 1], image[..., 2], atol=8):
        dark = rng.uniform(10, 150, size=3)
        light = np.clip(dark + rng.uniform(40, 150, size=3), 0, 255)
        t = image.mean(axis=2, keepdims=True) / 255.0
        return dark + (light - dark) * t
    gain = rng.uniform(0.75, 1.25, size=3) * rng.uniform(0.7, 1.2)
    return image * gain


def defocus(rng: np.random.Generator, image: np.ndarray, max_radius: float) -> np.ndarray:
    """Gaussian blur of float (H, W, 3) ``image`` with a random radius in [0, max_radius] (half the time none)."""
    if rng.random() < 0.5 or max_radius <= 0:
        return image
    radius = rng.uniform(0.5, max_radius)
    return np.asarray(_to_image(image).filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32)


def photo_background(rng: np.random.Generator, textures, size: tuple[int, int], unit: float) -> np.ndarray:
    """A background cut from a random photo texture: float32 (H, W, 3) in 0..255.

    Recoloured, and often out of focus (as behind a pet photographed up close);
    ``unit`` (the canvas' shorter side) scales the blur.
    """
    texture = textures[int(rng.integers(len(textures)))]
    image = _recolour(rng, texture_crop(rng, texture, size))
    return defocus(rng, image, unit * 0.03)


def fur_detail(rng: np.random.Generator, size: tuple[int, int], unit: float) -> np.ndarray:
    """Zero-mean fur-like luminance detail, float32 (H, W, 1) in about -1..1: fine strands (noise
    stretched along one random direction, as hair lies), rotated at random.

    The photo textures stay out of the fur on purpose: a model that saw gravel
    or grass grain on the pets took rocks and blurred ground for pets.
    """
    height, width = size
    side = int(max(height, width) * 1.5)
    strand = max(2, round(unit * rng.uniform(0.02, 0.06)))
    noise = rng.normal(0.0, 1.0, size=(max(2, side // strand), side)).astype(np.float32)
    streaks = Image.fromarray(noise).resize((side, side), Image.Resampling.BILINEAR)
    streaks = streaks.rotate(float(rng.uniform(0, 360)), resample=Image.Resampling.BILINEAR)
    top, left = (side - height) // 2, (side - width) // 2
    detail = np.asarray(streaks, dtype=np.float32)[top : top + height, left : left + width]
    return (detail / max(float(np.abs(detail).max()), 1e-6))[:, :, None]


def shade(pet: Image.Image, mask: Image.Image, radius: float, depth: float) -> Image.Image:
    """``pet`` (RGB) darkened by up to ``depth`` towards the edges of ``mask`` (L), so the body looks round."""
    inside = np.asarray(mask.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32) / 255.0
    factor = 1.0 - depth * (1.0 - inside)
    return Image.fromarray(np.clip(np.asarray(pet, dtype=np.float32) * factor[:, :, None], 0, 255).astype(np.uint8))


def camera_look(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Photometric jitter of a float (H, W, 3) 0..255 photo: exposure, contrast, gamma, saturation, colour cast."""
    image = np.clip(image, 0, 255) / 255.0
    image = image ** rng.uniform(0.75, 1.35)
    gray = image.mean(axis=2, keepdims=True)
    image = gray + (image - gray) * rng.uniform(0.6, 1.3)  # saturation
    mean = float(image.mean())
    image = mean + (image - mean) * rng.uniform(0.75, 1.25)  # contrast
    image = image * rng.uniform(0.8, 1.2) * rng.uniform(0.92, 1.08, size=3)  # exposure, white balance
    return (np.clip(image, 0, 1) * 255.0).astype(np.float32)

"""The synthetic pets renderer: one seeded cartoon pet photo and its exact mask.

Pure numpy + Pillow and deterministic: the same parameters give the same bytes
on the same machine. Each image shows one cartoon pet (body, head, legs, tail;
cats have pointed ears and a short muzzle, dogs floppy ears and a long snout;
breed-dependent, overlapping colours and patterns) on a textured background
with occasional distractor blobs that are not part of the mask.
:func:`cvlab_ch9.data.trimaps.trimap_from_mask` turns the mask into an Oxford-style trimap.

Two styles (``style``): "photo", the default since generator version 2,
is closer to photos (:mod:`cvlab_ch9.data.realism`): most backgrounds are crops
of the photo textures in ``cvlab_ch9/data/photo_textures`` (recoloured, often
out of focus), the fur has strands and shading, a third of the pets are
close-ups (the head large, the body cut by the frame), some face the camera,
cats have larger eyes, and every picture gets a random exposure, contrast,
gamma, saturation and white balance; without the texture files its
backgrounds are procedural only. "cartoon" draws exactly what version 1
drew: flat pets on procedural backgrounds (the segmentation demo model is
trained on it). The module is long because both styles share its geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from cvlab_ch9.data import realism
from cvlab_ch9.data.textures import load_textures

#: Breeds of the synthetic set -> species. Names follow the Oxford-IIIT rule:
#: cat breeds are Capitalized, dog breeds lowercase.
BREEDS: dict[str, str] = {
    "Abyssinian": "cat",
    "Bengal": "cat",
    "Siamese": "cat",
    "beagle": "dog",
    "pug": "dog",
    "samoyed": "dog",
}

_SUPERSAMPLE = 2
#: Share of the backgrounds cut from a photo texture (when there are textures).
PHOTO_BACKGROUND_SHARE = 0.75
#: Share of close-ups: the pet drawn CLOSEUP_ZOOM times larger around its head, cut by the frame.
CLOSEUP_SHARE = 0.35
CLOSEUP_ZOOM = (1.8, 3.2)
#: Drawing styles: "photo" (generator version 2) and "cartoon" (version 1).
STYLES = ("photo", "cartoon")


# ===================================================================== cartoon pets

# Breed looks: base colour, colour of the "points" (ears, muzzle, tail, paws),
# pattern, per-pixel fur noise.  Colours overlap across species on purpose.
_BREED_LOOKS = {
    "Abyssinian": {"base": (176, 112, 62), "points": (120, 72, 40), "pattern": "ticked", "noise": 22},
    "Bengal": {"base": (206, 154, 84), "points": (70, 45, 28), "pattern": "spots", "noise": 12},
    "Siamese": {"base": (228, 212, 186), "points": (72, 52, 42), "pattern": "points", "noise": 8},
    "beagle": {"base": (184, 122, 62), "points": (40, 32, 28), "pattern": "saddle", "noise": 10},
    "pug": {"base": (214, 180, 130), "points": (34, 30, 28), "pattern": "points", "noise": 8},
    "samoyed": {"base": (238, 236, 230), "points": (214, 208, 198), "pattern": "plain", "noise": 10},
}


@dataclass(frozen=True)
class _Canvas:
    """Drawing surface size in (super-sampled) pixels."""

    height: int
    width: int

    @property
    def unit(self) -> float:
        """Reference length: the shorter side."""
        return float(min(self.height, self.width))


def _ellipse(cx, cy, rx, ry, angle=0.0, n=40) -> np.ndarray:
    """(n, 2) float polygon of a rotated ellipse (angle in radians)."""
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    return np.stack([cx + x * cos_a - y * sin_a, cy + x * sin_a + y * cos_a], axis=1)


def _thick_polyline(points, width) -> list[np.ndarray]:
    """A stroked polyline as a list of polygons (segment quads + round joints)."""
    points = np.asarray(points, dtype=float)
    polygons = []
    half = width / 2.0
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / length * half, dx / length * half
        polygons.append(np.array([[x0 + nx, y0 + ny], [x1 + nx, y1 + ny], [x1 - nx, y1 - ny], [x0 - nx, y0 - ny]]))
    for x, y in points:
        polygons.append(_ellipse(x, y, half, half, n=16))
    return polygons


def _pet_parts(rng: np.random.Generator, species: str, unit: float, frontal: bool = False) -> dict:
    """Geometry of one pet around the origin (y points down).

    ``frontal``: the face looks at the camera (snout below the eyes) instead
    of to the side.

    Returns a dict of part name -> list of polygons ((k, 2) float arrays) and the
    head centre/radius, facing direction and ``frontal`` used for the face details.
    """
    facing = 1.0 if rng.random() < 0.5 else -1.0
    rx = unit * rng.uniform(0.17, 0.25)
    ry = rx * rng.uniform(0.48, 0.62)
    angle = math.radians(rng.uniform(-15.0, 15.0))
    axis = np.array([math.cos(angle), math.sin(angle)]) * facing
    is_cat = species == "cat"
    head_r = rx * (rng.uniform(0.50, 0.62) if is_cat else rng.uniform(0.56, 0.70))
    head = axis * rx * 0.82 + np.array([0.0, -ry * rng.uniform(0.7, 1.0)])
    parts: dict[str, list[np.ndarray]] = {"body": [_ellipse(0.0, 0.0, rx, ry, angle)]}

    leg_len = ry * rng.uniform(0.8, 1.2)
    leg_w = ry * (rng.uniform(0.22, 0.30) if is_cat else rng.uniform(0.30, 0.40))
    legs = []
    for along in (-0.62, -0.36, 0.40, 0.64):
        top = axis * rx * along + np.array([0.0, ry * 0.2])
        legs += _thick_polyline([top, top + np.array([0.0, ry * 0.6 + leg_len])], leg_w)
    parts["legs"] = legs

    tail_base = -axis * rx * 0.92
    if is_cat:
        tail = [tail_base, tail_base - axis * rx * 0.35 + np.array([0.0, -ry * 0.9]),
                tail_base - axis * rx * rng.uniform(0.3, 0.6) + np.array([0.0, -ry * rng.uniform(1.6, 2.1)])]
        tail_w = ry * rng.uniform(0.16, 0.22)
    else:
        tail = [tail_base, tail_base - axis * rx * 0.3 + np.array([0.0, -ry * rng.uniform(0.5, 0.9)])]
        tail_w = ry * rng.uniform(0.22, 0.32)
    parts["tail"] = _thick_polyline(tail, tail_w)

    hx, hy = head
    parts["head"] = [_ellipse(hx, hy, head_r, head_r * rng.uniform(0.9, 1.0))]
    if is_cat:
        ears = []
        for side in (-1.0, 1.0):
            spread = math.radians(rng.uniform(22.0, 34.0))
            half_base = math.radians(rng.uniform(18.0, 24.0))
            base_a = (hx + head_r * math.sin(side * spread - half_base), hy - head_r * math.cos(side * spread - half_base))
            base_b = (hx + head_r * math.sin(side * spread + half_base), hy - head_r * math.cos(side * spread + half_base))
            tip_r = head_r * rng.uniform(1.55, 1.8)
            tip = (hx + tip_r * math.sin(side * spread * 1.1), hy - tip_r * math.cos(side * spread * 1.1))
            ears.append(np.array([base_a, tip, base_b, (hx, hy)]))
        parts["ears"] = ears
        snout_c = (hx, hy + head_r * 0.35) if frontal else (hx + facing * head_r * 0.55, hy + head_r * 0.25)
        parts["snout"] = [_ellipse(*snout_c, head_r * 0.38, head_r * 0.28)]
    else:
        ears = []
        for side in (-1.0, 1.0):
            tilt = math.radians(side * rng.uniform(8.0, 22.0))
            ears.append(_ellipse(hx + side * head_r * 0.82, hy + head_r * 0.25, head_r * 0.30,
                                 head_r * rng.uniform(0.62, 0.80), tilt))
        parts["ears"] = ears
        snout_len = head_r * rng.uniform(0.65, 0.9)
        if frontal:  # a muzzle seen from the front: wide, below the eyes, reaching below the head
            snout_c = (hx, hy + head_r * 0.45)
            parts["snout"] = [_ellipse(*snout_c, head_r * rng.uniform(0.45, 0.6), snout_len * 0.6)]
        else:
            snout_c = (hx + facing * (head_r * 0.55 + snout_len * 0.5), hy + head_r * 0.28)
            parts["snout"] = [_ellipse(*snout_c, snout_len, head_r * rng.uniform(0.34, 0.42))]
    return {"parts": parts, "head": (hx, hy, head_r), "snout": snout_c, "facing": facing,
            "body": (rx, ry, angle), "frontal": frontal}


def _parts_bbox(parts: dict) -> tuple[float, float, float, float]:
    """(x_min, y_min, x_max, y_max) over all polygons."""
    points = np.concatenate([poly for polys in parts.values() for poly in polys])
    return points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()


def _translate(pet: dict, offset: np.ndarray) -> dict:
    """Move every coordinate of a pet description by ``offset`` (x, y)."""
    ox, oy = offset
    parts = {name: [poly + offset for poly in polys] for name, polys in pet["parts"].items()}
    hx, hy, hr = pet["head"]
    sx, sy = pet["snout"]
    return {**pet, "parts": parts, "head": (hx + ox, hy + oy, hr), "snout": (sx + ox, sy + oy)}


def _place_pet(rng: np.random.Generator, pet: dict, canvas: _Canvas) -> dict:
    """Translate the pet to a random position where it fits inside the canvas."""
    x0, y0, x1, y1 = _parts_bbox(pet["parts"])
    margin = canvas.unit * 0.03
    offset = []
    for low, high, size in ((x0, x1, canvas.width), (y0, y1, canvas.height)):
        lo, hi = margin - low, size - margin - high
        offset.append(rng.uniform(lo, hi) if hi > lo else (lo + hi) / 2.0)
    return _translate(pet, np.array(offset))


def _place_closeup(rng: np.random.Generator, pet: dict, canvas: _Canvas) -> dict:
    """Translate a (zoomed) pet so its head centre lies in the middle of the canvas; the rest may leave it."""
    hx, hy, _ = pet["head"]
    target = np.array([rng.uniform(0.3, 0.7) * canvas.width, rng.uniform(0.3, 0.7) * canvas.height])
    return _translate(pet, target - np.array([hx, hy]))


def _jitter_colour(rng: np.random.Generator, colour, amount=0.12) -> tuple[int, int, int]:
    """Colour multiplied by a random brightness and per-channel tint."""
    scale = rng.uniform(1 - amount, 1 + amount) * rng.uniform(1 - amount / 3, 1 + amount / 3, size=3)
    return tuple(int(v) for v in np.clip(np.asarray(colour) * scale, 0, 255))


def _smooth_noise(rng: np.random.Generator, canvas: _Canvas, cells: int, channels: int) -> np.ndarray:
    """Low-frequency noise (H, W, channels) float32 in about -1..1 (bilinear upsampled)."""
    small = rng.uniform(-1.0, 1.0, size=(cells, cells, channels)).astype(np.float32)
    layers = [
        np.asarray(Image.fromarray(small[:, :, c]).resize((canvas.width, canvas.height), Image.Resampling.BICUBIC))
        for c in range(channels)
    ]
    return np.stack(layers, axis=2)


def _background(rng: np.random.Generator, canvas: _Canvas) -> np.ndarray:
    """Textured background (H, W, 3) float32 0..255: gradient + blotches or tiles."""
    c0 = rng.uniform(30, 230, size=3)
    c1 = np.clip(c0 + rng.uniform(-90, 90, size=3), 0, 255)
    theta = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0 : canvas.height, 0 : canvas.width].astype(np.float32)
    t = (xs * math.cos(theta) + ys * math.sin(theta)) / canvas.unit
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    image = c0 + (c1 - c0) * t[:, :, None]
    kind = rng.integers(0, 3)
    if kind == 1:
        image += _smooth_noise(rng, canvas, int(rng.integers(4, 10)), 3) * rng.uniform(15, 40)
    elif kind == 2:
        period = canvas.unit * rng.uniform(0.08, 0.25)
        tiles = ((xs // period + ys // period) % 2) if rng.random() < 0.5 else ((ys // period) % 2)
        image += (tiles[:, :, None] - 0.5) * rng.uniform(15, 45)
    return image.astype(np.float32)


def _draw_distractors(rng: np.random.Generator, draw: ImageDraw.ImageDraw, canvas: _Canvas) -> None:
    """0-3 random blobs on the background (not part of the pet mask)."""
    count = int(rng.choice([0, 0, 1, 1, 2, 3]))
    looks = list(_BREED_LOOKS.values())
    for _ in range(count):
        cx, cy = rng.uniform(0, canvas.width), rng.uniform(0, canvas.height)
        radius = canvas.unit * rng.uniform(0.04, 0.13)
        if rng.random() < 0.5:
            colour = _jitter_colour(rng, looks[int(rng.integers(len(looks)))]["base"], 0.2)
        else:
            colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
        vertices = int(rng.integers(5, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, size=vertices))
        radii = radius * rng.uniform(0.6, 1.0, size=vertices)
        polygon = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)
        draw.polygon([tuple(p) for p in polygon], fill=colour)


def _fill(draw: ImageDraw.ImageDraw, polygons, colour) -> None:
    """Fill every polygon with ``colour``."""
    for polygon in polygons:
        draw.polygon([tuple(p) for p in polygon], fill=colour)


def _draw_pattern(rng, draw, pet: dict, look: dict, points_colour) -> None:
    """Breed pattern on the pet colour layer (clipped by the mask later)."""
    parts = pet["parts"]
    rx, ry, angle = pet["body"]
    body_c = parts["body"][0].mean(axis=0)
    pattern = look["pattern"]
    if pattern == "points":
        for name in ("ears", "snout", "tail"):
            _fill(draw, parts[name], points_colour)
    elif pattern == "spots":
        for _ in range(int(rng.integers(10, 18))):
            x = body_c[0] + rng.uniform(-rx, rx)
            y = body_c[1] + rng.uniform(-ry, ry)
            r = ry * rng.uniform(0.10, 0.20)
            _fill(draw, [_ellipse(x, y, r, r * rng.uniform(0.6, 1.0), rng.uniform(0, np.pi), n=12)], points_colour)
    elif pattern == "saddle":
        _fill(draw, [_ellipse(body_c[0], body_c[1] - ry * 0.35, rx * 0.7, ry * 0.55, angle)], points_colour)
        _fill(draw, parts["ears"], _jitter_colour(rng, (120, 70, 35), 0.1))
        _fill(draw, parts["snout"], (236, 232, 224))
    elif pattern == "ticked":
        _fill(draw, parts["ears"], points_colour)


def _eye_look(rng: np.random.Generator, species: str, hr: float, photo: bool):
    """(eye radius, iris colour, pupil half-width, pupil half-height, highlight?) for a head of radius ``hr``."""
    if not photo:  # the cartoon style (generator version 1)
        iris = (120, 160, 60) if species == "cat" and rng.random() < 0.6 else (40, 30, 25)
        return hr * 0.11, iris, hr * 0.11 * 0.45, hr * 0.11 * 0.45, False
    if species != "cat":
        eye_r = hr * rng.uniform(0.09, 0.12)
        return eye_r, (40, 30, 25), eye_r * 0.45, eye_r * 0.45, True
    # cats' eyes are larger for their head, green or amber, with a slit or a round pupil
    eye_r = hr * rng.uniform(0.13, 0.17)
    iris = _jitter_colour(rng, (130, 160, 70) if rng.random() < 0.5 else (190, 140, 50))
    if rng.random() < 0.5:
        return eye_r, iris, eye_r * rng.uniform(0.15, 0.3), eye_r * 0.81, True
    return eye_r, iris, eye_r * 0.45, eye_r * 0.45, True


def _draw_face(draw, pet: dict, species: str, rng: np.random.Generator, photo: bool = False) -> None:
    """Eyes and nose (inside the head/snout, so the mask is unchanged); ``photo``: the photo style's eyes."""
    hx, hy, hr = pet["head"]
    facing = pet["facing"]
    eye_r, iris, pupil_w, pupil_h, highlight = _eye_look(rng, species, hr, photo)
    for dx in (-0.38, 0.38) if pet.get("frontal") else (0.05, 0.45):
        ex, ey = hx + facing * hr * dx, hy - hr * 0.2
        draw.ellipse([ex - eye_r, ey - eye_r, ex + eye_r, ey + eye_r], fill=iris)
        draw.ellipse([ex - pupil_w, ey - pupil_h, ex + pupil_w, ey + pupil_h], fill=(10, 10, 10))
        if highlight:
            draw.ellipse([ex + eye_r * 0.2, ey - eye_r * 0.45, ex + eye_r * 0.4, ey - eye_r * 0.25], fill=(235, 235, 235))
    sx, sy = pet["snout"]
    nose_r = hr * (0.10 if species == "cat" else 0.16)
    nx = sx if pet.get("frontal") else sx + facing * hr * (0.28 if species == "cat" else 0.6)
    draw.ellipse([nx - nose_r, sy - hr * 0.12 - nose_r, nx + nose_r, sy - hr * 0.12 + nose_r],
                 fill=(200, 120, 130) if species == "cat" else (25, 20, 20))


def _draw_shadow(background: Image.Image, draw, pet: dict, canvas: _Canvas) -> None:
    """A flat darker ellipse on the ground under the pet (background, not mask)."""
    x0, y0, x1, y1 = _parts_bbox(pet["parts"])
    probe = (
        int(np.clip((x0 + x1) / 2, 0, canvas.width - 1)),
        int(np.clip(y1, 0, canvas.height - 1)),
    )
    shade = tuple(int(v * 0.6) for v in background.getpixel(probe))
    draw.ellipse([x0, y1 - (y1 - y0) * 0.08, x1, y1 + (y1 - y0) * 0.06], fill=shade)


def _photo_or_procedural_background(rng: np.random.Generator, canvas: _Canvas, textures) -> Image.Image:
    """Background picture: a photo texture crop (PHOTO_BACKGROUND_SHARE of the time, with textures) or procedural."""
    if textures and rng.random() < PHOTO_BACKGROUND_SHARE:
        array = realism.photo_background(rng, textures, (canvas.height, canvas.width), canvas.unit)
    else:
        array = _background(rng, canvas)
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def _cartoon_fur(rng: np.random.Generator, canvas: _Canvas, look: dict):
    """(fur colour layer float32 (H, W, 3), points colour) of the cartoon style (version 1's draws, in its order)."""
    base = _jitter_colour(rng, look["base"])
    points_colour = _jitter_colour(rng, look["points"])
    fur = np.empty((canvas.height, canvas.width, 3), dtype=np.float32)
    fur[:] = base
    fur += rng.normal(0.0, look["noise"], size=(canvas.height, canvas.width, 1)).astype(np.float32)
    fur += _smooth_noise(rng, canvas, 6, 1) * 18.0
    return fur, points_colour


def _photo_fur(rng: np.random.Generator, canvas: _Canvas, look: dict):
    """(fur colour layer, points colour) of the photo style: the cartoon fur with strands (its own order of draws)."""
    points_colour = _jitter_colour(rng, look["points"])
    fur = np.empty((canvas.height, canvas.width, 3), dtype=np.float32)
    fur[:] = _jitter_colour(rng, look["base"])
    fur += rng.normal(0.0, look["noise"], size=(canvas.height, canvas.width, 1)).astype(np.float32)
    fur += _smooth_noise(rng, canvas, 6, 1) * 18.0
    strands = realism.fur_detail(rng, (canvas.height, canvas.width), canvas.unit)
    return fur + strands * rng.uniform(12.0, 40.0), points_colour


def render_pet_image(rng: np.random.Generator, breed: str, size: tuple[int, int], textures=None, style: str = "photo"):
    """Draw one synthetic pet photo.

    Args:
        rng: the image's random generator (every choice comes from it).
        breed: a key of BREEDS.
        size: (height, width).
        textures: photo textures (float32 (h, w, 3) arrays, see
            :func:`cvlab_ch9.data.textures.load_textures`); None = the vendored ones;
            () = procedural backgrounds only. Unused by the cartoon style.
        style: "photo" (generator version 2, see the module docstring) or
            "cartoon" (version 1: flat cartoon pets on procedural backgrounds,
            the same pictures as before version 2).

    Returns:
        (image, mask): (H, W, 3) uint8 RGB and (H, W) bool exact pet mask at ``size``
        (a pixel is pet when at least half of its super-samples are).
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}.")
    photo = style == "photo"
    height, width = size
    canvas = _Canvas(height * _SUPERSAMPLE, width * _SUPERSAMPLE)
    species = BREEDS[breed]
    look = _BREED_LOOKS[breed]
    if photo:
        textures = load_textures() if textures is None else tuple(textures)
        background = _photo_or_procedural_background(rng, canvas, textures)
    else:
        background = Image.fromarray(np.clip(_background(rng, canvas), 0, 255).astype(np.uint8))
    background_draw = ImageDraw.Draw(background)
    _draw_distractors(rng, background_draw, canvas)

    closeup = photo and rng.random() < CLOSEUP_SHARE
    frontal = photo and rng.random() < (0.5 if closeup else 0.25)
    zoom = rng.uniform(*CLOSEUP_ZOOM) if closeup else 1.0
    pet = _pet_parts(rng, species, canvas.unit * zoom, frontal)
    pet = _place_closeup(rng, pet, canvas) if closeup else _place_pet(rng, pet, canvas)
    if not closeup and rng.random() < 0.5:  # soft shadow on the ground (background, not pet)
        _draw_shadow(background, background_draw, pet, canvas)

    fur, points_colour = (_photo_fur if photo else _cartoon_fur)(rng, canvas, look)
    pet_layer = Image.fromarray(np.clip(fur, 0, 255).astype(np.uint8))
    pet_draw = ImageDraw.Draw(pet_layer)
    _draw_pattern(rng, pet_draw, pet, look, points_colour)
    _draw_face(pet_draw, pet, species, rng, photo)

    mask_layer = Image.new("L", (canvas.width, canvas.height), 0)
    mask_draw = ImageDraw.Draw(mask_layer)
    for polygons in pet["parts"].values():
        _fill(mask_draw, polygons, 255)

    if photo:
        pet_layer = realism.shade(pet_layer, mask_layer, canvas.unit * rng.uniform(0.03, 0.08), rng.uniform(0.15, 0.4))
    composite = Image.composite(pet_layer, background, mask_layer)
    image = np.asarray(composite.reduce(_SUPERSAMPLE), dtype=np.float32)
    if photo:
        image = realism.camera_look(rng, image)
    coverage = np.asarray(mask_layer.reduce(_SUPERSAMPLE))
    image = image + rng.normal(0.0, rng.uniform(2.0, 6.0), size=image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), coverage >= 128

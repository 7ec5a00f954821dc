"""Pets data: a synthetic set in the Oxford-IIIT Pets layout, and the loader.

Layout (the real dataset and the synthetic one share it)::

    ROOT/images/<Breed>_<n>.jpg            cat breeds Capitalized, dog breeds lowercase
    ROOT/annotations/trimaps/<stem>.png    uint8 1 = pet, 2 = background, 3 = border
    ROOT/annotations/list.txt              optional: "Image CLASS-ID SPECIES BREED-ID"

Files whose name starts with "." (macOS ``._x.jpg`` resource forks) and ``.mat``
files in ``images/`` are ignored; any other unexpected file raises
:class:`DatasetError`, so a typo never silently shrinks the data set.

The synthetic generator is pure numpy + Pillow and deterministic: the same
parameters give the same bytes on the same machine. Each image shows one cartoon
pet (body, head, legs, tail; cats have pointed ears and a short muzzle, dogs
floppy ears and a long snout; breed-dependent, overlapping colours and patterns)
on a textured background with occasional distractor blobs that are not part of
the mask.

Command line::

    python -m cvlab.data generate [--root DIR] [--n N] [--size H W] [--seed S]
    python -m cvlab.data check [--root DIR|oxford]
    python -m cvlab.data download [--root DIR] [--mirror URL] [--keep-archives]   # Oxford-IIIT Pets (cvlab.oxford)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from cvlab.imaging import ImageError, read_image, resize_image
from cvlab.paths import DATA_DIR

__all__ = [
    "BREEDS",
    "DEFAULT_SYNTHETIC_ROOT",
    "SPECIES_NAMES",
    "DatasetError",
    "PetSample",
    "ensure_synthetic_pets",
    "find_samples",
    "generate_synthetic_pets",
    "load_classification_arrays",
    "load_image",
    "load_segmentation_arrays",
    "load_trimap",
    "main",
    "split_indices",
    "trimap_from_mask",
]

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

#: Class names of the classification task; labels index into this tuple.
SPECIES_NAMES = ("cat", "dog")

#: Trimap values used by Oxford-IIIT Pets.
TRIMAP_PET, TRIMAP_BACKGROUND, TRIMAP_BORDER = 1, 2, 3
TRIMAP_VALUES = (TRIMAP_PET, TRIMAP_BACKGROUND, TRIMAP_BORDER)

DEFAULT_SYNTHETIC_ROOT = DATA_DIR / "synthetic_pets"
STAMP_NAME = "cvlab_dataset.json"
#: Bump when the drawing code changes, so ensure_synthetic_pets regenerates old sets.
GENERATOR_VERSION = 1

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
IGNORED_IMAGE_EXTENSIONS = (".mat",)
TRIMAP_EXTENSION = ".png"
MIN_SYNTHETIC_SIDE = 16
JPEG_QUALITY = 90
_SUPERSAMPLE = 2
_MAX_EXAMPLES_IN_MESSAGE = 3


class DatasetError(ValueError):
    """A problem with a data folder or file; the message says what to do."""


@dataclass(frozen=True)
class PetSample:
    """One image of the data set with its trimap and labels.

    Attributes:
        image_path: ROOT/images/<stem>.jpg (or .jpeg/.png).
        trimap_path: ROOT/annotations/trimaps/<stem>.png.
        breed: the stem without its trailing ``_<n>`` (e.g. "american_bulldog").
        species: "cat" or "dog" (from list.txt when listed there, else from the
            capitalization rule: Capitalized breed -> cat).
    """

    image_path: Path
    trimap_path: Path
    breed: str
    species: str

    @property
    def name(self) -> str:
        """The file stem shared by the image and its trimap (e.g. "Abyssinian_1")."""
        return self.image_path.stem

    @property
    def label(self) -> int:
        """Species index into SPECIES_NAMES (0 = cat, 1 = dog)."""
        return SPECIES_NAMES.index(self.species)


# =========================================================================== loader


def _relative(path: Path) -> str:
    """User-facing name of a dataset file: from ``images/`` or ``annotations/`` on."""
    parts = path.parts
    for anchor in ("annotations", "images"):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[index:])
    return str(path)


def _is_ignored(entry: Path, ignored_extensions: tuple[str, ...]) -> bool:
    """True for hidden files (name starts with '.') and ignored extensions."""
    return entry.name.startswith(".") or entry.suffix.lower() in ignored_extensions


def _plural(count: int, singular: str, plural: str) -> str:
    """'1 image' / '3 images'."""
    return f"{count} {singular if count == 1 else plural}"


def _examples(names) -> str:
    """'a.png, b.png, c.png' from the first few sorted names."""
    return ", ".join(sorted(names)[:_MAX_EXAMPLES_IN_MESSAGE])


def _scan_folder(
    folder: Path, allowed: tuple[str, ...], ignored: tuple[str, ...], what: str
) -> dict[str, Path]:
    """Map file stem -> path for the allowed files in ``folder``.

    Hidden entries and files with an ``ignored`` extension are skipped; anything
    else (another extension, a sub-folder, two files with one stem) raises.
    """
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if _is_ignored(entry, ignored):
            continue
        if entry.is_dir():
            raise DatasetError(
                f"{_relative(entry)} is a folder; {what} must contain only files. "
                "Move it out of the data set."
            )
        if entry.suffix.lower() not in allowed:
            raise DatasetError(
                f"{_relative(entry)} is not a {' / '.join(allowed)} file. "
                f"Remove it from {_relative(folder)}/ (only hidden files"
                f"{' and ' + ' / '.join(ignored) + ' files' if ignored else ''} are ignored)."
            )
        if entry.stem in found:
            raise DatasetError(
                f"{_relative(found[entry.stem])} and {_relative(entry)} have the same name; "
                "keep only one of them."
            )
        found[entry.stem] = entry
    return found


def _check_root(root: Path) -> tuple[Path, Path]:
    """Return (images dir, trimaps dir) of ``root`` or raise a helpful DatasetError."""
    hint = (
        "An Oxford-IIIT Pets folder contains images/NAME.jpg and "
        "annotations/trimaps/NAME.png"
    )
    if not root.exists():
        raise DatasetError(
            f"The data folder {root} does not exist. Run `python -m cvlab.data generate` "
            "for the synthetic pets, or download Oxford-IIIT Pets and pass the folder "
            "that contains images/ and annotations/."
        )
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder. {hint}; pass that folder.")
    images_dir = root / "images"
    trimaps_dir = root / "annotations" / "trimaps"
    if not images_dir.is_dir():
        raise DatasetError(
            f"{root} has no images/ folder. {hint}; pass the folder that contains both."
        )
    if not trimaps_dir.is_dir():
        raise DatasetError(
            f"{root} has no annotations/trimaps/ folder. {hint}; pass the folder that "
            "contains both (the real data set ships annotations.tar.gz separately)."
        )
    return images_dir, trimaps_dir


def _check_pairs(images: dict[str, Path], trimaps: dict[str, Path]) -> None:
    """Raise DatasetError when an image has no trimap or a trimap has no image."""
    if not images:
        raise DatasetError(
            "images/ contains no .jpg, .jpeg or .png files. Put the pet photos there "
            "(or run `python -m cvlab.data generate`)."
        )
    without_trimap = sorted(set(images) - set(trimaps))
    if without_trimap:
        raise DatasetError(
            f"{_plural(len(without_trimap), 'image has', 'images have')} no trimap in "
            f"annotations/trimaps (e.g. {_examples(n + TRIMAP_EXTENSION for n in without_trimap)}). "
            "Every images/NAME.jpg needs annotations/trimaps/NAME.png."
        )
    without_image = sorted(set(trimaps) - set(images))
    if without_image:
        raise DatasetError(
            f"{_plural(len(without_image), 'trimap has', 'trimaps have')} no image in "
            f"images/ (e.g. {_examples(n + TRIMAP_EXTENSION for n in without_image)}). "
            "Every annotations/trimaps/NAME.png needs images/NAME.jpg; add the images "
            "or delete the extra trimaps."
        )


def _parse_list_txt(path: Path) -> dict[str, str]:
    """Read annotations/list.txt -> {image stem: species}.

    Lines starting with '#' and blank lines are skipped; the others are
    ``Image CLASS-ID SPECIES BREED-ID`` with SPECIES 1 = cat, 2 = dog.
    """
    species_by_code = {"1": "cat", "2": "dog"}
    result: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            fields = text.split()
            if len(fields) != 4 or fields[2] not in species_by_code:
                raise DatasetError(
                    f"annotations/list.txt line {line_number} is {text!r}; expected "
                    "'Image CLASS-ID SPECIES BREED-ID' with SPECIES 1 (cat) or 2 (dog). "
                    "Fix the line or delete list.txt (species then come from the "
                    "capitalization of the file names)."
                )
            result[fields[0]] = species_by_code[fields[2]]
    return result


def _breed_from_stem(stem: str) -> str:
    """'american_bulldog_12' -> 'american_bulldog' (stems without _<n> are the breed)."""
    match = re.fullmatch(r"(.+)_(\d+)", stem)
    return match.group(1) if match else stem


def _species_from_breed(breed: str) -> str:
    """Oxford-IIIT rule: a Capitalized breed is a cat, a lowercase one a dog."""
    return "cat" if breed[:1].isupper() else "dog"


def find_samples(root) -> list[PetSample]:
    """List the (image, trimap, breed, species) samples of a pets folder.

    Args:
        root: folder with ``images/`` and ``annotations/trimaps/`` (real Oxford-IIIT
            Pets or synthetic).

    Returns:
        PetSample list sorted by file stem (plain, case-sensitive ``sorted`` as in the
        book, so the Capitalized cat breeds come first).

    Raises:
        DatasetError: root or a sub-folder missing, an unexpected file, an image
            without trimap or a trimap without image, a malformed list.txt.
    """
    root = Path(root)
    images_dir, trimaps_dir = _check_root(root)
    images = _scan_folder(images_dir, IMAGE_EXTENSIONS, IGNORED_IMAGE_EXTENSIONS, "images/")
    trimaps = _scan_folder(trimaps_dir, (TRIMAP_EXTENSION,), (), "annotations/trimaps/")
    _check_pairs(images, trimaps)
    list_path = root / "annotations" / "list.txt"
    listed = _parse_list_txt(list_path) if list_path.is_file() else {}
    samples = []
    for stem in sorted(images):
        breed = _breed_from_stem(stem)
        species = listed.get(stem, _species_from_breed(breed))
        samples.append(PetSample(images[stem], trimaps[stem], breed, species))
    return samples


def load_image(path, size=None) -> np.ndarray:
    """Read a dataset image as RGB.

    Args:
        path: image file.
        size: (height, width) to resize to (bilinear), or None for the original size.

    Returns:
        np.ndarray (H, W, 3) uint8.

    Raises:
        DatasetError: naming the file when Pillow cannot read it.
    """
    path = Path(path)
    try:
        image = read_image(path)
        return image if size is None else resize_image(image, size, "bilinear")
    except ImageError as exc:
        raise DatasetError(
            f"{_relative(path)} cannot be used: {exc} Replace or delete the file."
        ) from exc


def _read_trimap_values(path: Path) -> np.ndarray:
    """Read a trimap PNG as its raw (H, W) int64 values (no colour conversion)."""
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            values = np.array(image).astype(np.int64)
    except (OSError, SyntaxError, ValueError) as exc:
        raise DatasetError(
            f"{_relative(path)} is not a PNG Pillow can read ({exc}). Replace it with "
            "a single-channel PNG with values 1 (pet), 2 (background), 3 (border)."
        ) from exc
    if mode not in ("L", "P", "I", "I;16", "1"):
        raise DatasetError(
            f"{_relative(path)} has {mode} pixels; a trimap must be a single-channel "
            "PNG with values 1 (pet), 2 (background), 3 (border)."
        )
    return values


def load_trimap(path, size=None) -> np.ndarray:
    """Read an Oxford-IIIT trimap.

    Args:
        path: trimap PNG.
        size: (height, width) to resize to (nearest neighbour), or None.

    Returns:
        np.ndarray (H, W) uint8 with values in {1, 2, 3}.

    Raises:
        DatasetError: unreadable file, or values other than 1, 2, 3.
    """
    path = Path(path)
    values = _read_trimap_values(path)
    bad = sorted(set(np.unique(values).tolist()) - set(TRIMAP_VALUES))
    if bad:
        raise DatasetError(
            f"{_relative(path)} contains value(s) {bad}; Oxford-IIIT trimaps use only "
            "1 (pet), 2 (background), 3 (border)."
        )
    values = values.astype(np.uint8)
    return values if size is None else resize_image(values, size, "nearest")


def _select(samples: list[PetSample], limit, seed=None) -> list[PetSample]:
    """``limit`` samples (all when limit is None): the first ones, or with ``seed`` a seeded
    random choice kept in name order (a real data set sorted by name starts with all its cats)."""
    if limit is None or int(limit) >= len(samples):
        return samples
    if int(limit) < 0:
        raise DatasetError(f"limit must be None or >= 0, got {limit}.")
    if seed is None:
        return samples[: int(limit)]
    chosen = sorted(random.Random(seed).sample(range(len(samples)), int(limit)))
    return [samples[i] for i in chosen]


def _load_images(samples: list[PetSample], img_size) -> np.ndarray:
    """uint8 (N, H, W, 3) RGB images of ``samples`` resized to ``img_size`` = (H, W) (bilinear)."""
    height, width = img_size
    images = np.empty((len(samples), height, width, 3), dtype=np.uint8)
    for index, sample in enumerate(samples):
        images[index] = load_image(sample.image_path, img_size)
    return images


def load_segmentation_arrays(root, img_size=(200, 200), limit=None, seed=None):
    """Load images and raw trimaps for segmentation.

    Args:
        root: pets folder (see find_samples).
        img_size: (height, width).
        limit: load only ``limit`` samples: the first ones sorted by name, or
            with ``seed`` a seeded random choice (in name order).

    Returns:
        (images, trimaps): uint8 (N, H, W, 3) and uint8 (N, H, W) with the raw values
        1, 2, 3 (mapping them to classes is a lab exercise).
    """
    samples = _select(find_samples(root), limit, seed)
    height, width = img_size
    trimaps = np.empty((len(samples), height, width), dtype=np.uint8)
    for index, sample in enumerate(samples):
        trimaps[index] = load_trimap(sample.trimap_path, img_size)
    return _load_images(samples, img_size), trimaps


def load_classification_arrays(root, img_size=(180, 180), limit=None, seed=None):
    """Load images and species labels (cat vs dog).

    Args:
        root: pets folder (see find_samples).
        img_size: (height, width).
        limit, seed: as in load_segmentation_arrays.

    Returns:
        (images, labels, class_names): uint8 (N, H, W, 3), int32 (N,) indices into
        class_names, and class_names == SPECIES_NAMES.
    """
    samples = _select(find_samples(root), limit, seed)
    labels = np.array([sample.label for sample in samples], dtype=np.int32)
    return _load_images(samples, img_size), labels, SPECIES_NAMES


def split_indices(n: int, val_fraction: float = 0.2, seed: int = 1337):
    """Deterministic shuffle split, as in the book.

    The indices 0..n-1 are shuffled with ``random.Random(seed)`` and the last
    ``round(n * val_fraction)`` become the validation set (at least one of each when
    n >= 2 and val_fraction > 0).

    Returns:
        (train_idx, val_idx): int64 arrays, disjoint, together a permutation of 0..n-1.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}.")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}.")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_val = int(round(n * val_fraction))
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    split = n - n_val
    return np.array(order[:split], dtype=np.int64), np.array(order[split:], dtype=np.int64)


# ====================================================================== trimaps


def _disk_offsets(radius: int) -> list[tuple[int, int]]:
    """(dy, dx) offsets of a discrete disk of the given radius."""
    return [
        (dy, dx)
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
        if dy * dy + dx * dx <= radius * radius
    ]


def _shift_or(mask: np.ndarray, offsets) -> np.ndarray:
    """Binary dilation of (H, W) bool ``mask`` by the given offsets (zero padding)."""
    height, width = mask.shape
    out = np.zeros_like(mask)
    for dy, dx in offsets:
        src = mask[max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
        out[max(0, dy) : height - max(0, -dy), max(0, dx) : width - max(0, -dx)] |= src
    return out


def trimap_from_mask(mask: np.ndarray, band_radius=None) -> np.ndarray:
    """Oxford-style trimap from an exact pet mask.

    Args:
        mask: (H, W) bool (or 0/nonzero) pet mask.
        band_radius: the border band covers pixels within this distance of the mask
            edge on both sides (so it straddles it, about 2 * radius wide); default
            ``max(1, round(min(H, W) / 128))`` (a 2-pixel band at 128x128).

    Returns:
        (H, W) uint8: 1 pet, 2 background, 3 border.
    """
    mask = np.asarray(mask).astype(bool)
    if band_radius is None:
        band_radius = max(1, round(min(mask.shape) / 128))
    offsets = _disk_offsets(int(band_radius))
    dilated = _shift_or(mask, offsets)
    eroded = ~_shift_or(~mask, offsets)
    trimap = np.full(mask.shape, TRIMAP_BACKGROUND, dtype=np.uint8)
    trimap[mask] = TRIMAP_PET
    trimap[dilated & ~eroded] = TRIMAP_BORDER
    return trimap


# ===================================================================== synthetic pets

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


def _pet_parts(rng: np.random.Generator, species: str, unit: float) -> dict:
    """Geometry of one pet around the origin (y points down).

    Returns a dict of part name -> list of polygons ((k, 2) float arrays) and the
    head centre/radius and facing direction used for the face details.
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
        snout_c = (hx + facing * head_r * 0.55, hy + head_r * 0.25)
        parts["snout"] = [_ellipse(*snout_c, head_r * 0.38, head_r * 0.28)]
    else:
        ears = []
        for side in (-1.0, 1.0):
            tilt = math.radians(side * rng.uniform(8.0, 22.0))
            ears.append(_ellipse(hx + side * head_r * 0.82, hy + head_r * 0.25, head_r * 0.30,
                                 head_r * rng.uniform(0.62, 0.80), tilt))
        parts["ears"] = ears
        snout_len = head_r * rng.uniform(0.65, 0.9)
        snout_c = (hx + facing * (head_r * 0.55 + snout_len * 0.5), hy + head_r * 0.28)
        parts["snout"] = [_ellipse(*snout_c, snout_len, head_r * rng.uniform(0.34, 0.42))]
    return {"parts": parts, "head": (hx, hy, head_r), "snout": snout_c, "facing": facing,
            "body": (rx, ry, angle)}


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


def _draw_face(draw, pet: dict, species: str, rng: np.random.Generator) -> None:
    """Eyes and nose (inside the head/snout, so the mask is unchanged)."""
    hx, hy, hr = pet["head"]
    facing = pet["facing"]
    eye_r = hr * 0.11
    iris = (120, 160, 60) if species == "cat" and rng.random() < 0.6 else (40, 30, 25)
    for dx in (0.05, 0.45):
        ex, ey = hx + facing * hr * dx, hy - hr * 0.2
        draw.ellipse([ex - eye_r, ey - eye_r, ex + eye_r, ey + eye_r], fill=iris)
        draw.ellipse([ex - eye_r * 0.45, ey - eye_r * 0.45, ex + eye_r * 0.45, ey + eye_r * 0.45], fill=(10, 10, 10))
    sx, sy = pet["snout"]
    nose_r = hr * (0.10 if species == "cat" else 0.16)
    nx = sx + facing * hr * (0.28 if species == "cat" else 0.6)
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


def _render_pet_image(rng: np.random.Generator, breed: str, size: tuple[int, int]):
    """Draw one synthetic pet photo.

    Returns:
        (image, mask): (H, W, 3) uint8 RGB and (H, W) bool exact pet mask at ``size``
        (a pixel is pet when at least half of its super-samples are).
    """
    height, width = size
    canvas = _Canvas(height * _SUPERSAMPLE, width * _SUPERSAMPLE)
    species = BREEDS[breed]
    look = _BREED_LOOKS[breed]

    background = Image.fromarray(np.clip(_background(rng, canvas), 0, 255).astype(np.uint8))
    background_draw = ImageDraw.Draw(background)
    _draw_distractors(rng, background_draw, canvas)

    pet = _place_pet(rng, _pet_parts(rng, species, canvas.unit), canvas)
    if rng.random() < 0.5:  # soft shadow on the ground (background, not pet)
        _draw_shadow(background, background_draw, pet, canvas)

    base = _jitter_colour(rng, look["base"])
    points_colour = _jitter_colour(rng, look["points"])
    fur = np.empty((canvas.height, canvas.width, 3), dtype=np.float32)
    fur[:] = base
    fur += rng.normal(0.0, look["noise"], size=(canvas.height, canvas.width, 1)).astype(np.float32)
    fur += _smooth_noise(rng, canvas, 6, 1) * 18.0
    pet_layer = Image.fromarray(np.clip(fur, 0, 255).astype(np.uint8))
    pet_draw = ImageDraw.Draw(pet_layer)
    _draw_pattern(rng, pet_draw, pet, look, points_colour)
    _draw_face(pet_draw, pet, species, rng)

    mask_layer = Image.new("L", (canvas.width, canvas.height), 0)
    mask_draw = ImageDraw.Draw(mask_layer)
    for polygons in pet["parts"].values():
        _fill(mask_draw, polygons, 255)

    composite = Image.composite(pet_layer, background, mask_layer)
    image = np.asarray(composite.reduce(_SUPERSAMPLE), dtype=np.float32)
    coverage = np.asarray(mask_layer.reduce(_SUPERSAMPLE))
    image = image + rng.normal(0.0, rng.uniform(2.0, 6.0), size=image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), coverage >= 128


def _breed_schedule(n_images: int) -> list[tuple[str, int]]:
    """Balanced (breed, number) list: breeds in turn, numbers from 1 per breed."""
    breeds = list(BREEDS)
    return [(breeds[i % len(breeds)], i // len(breeds) + 1) for i in range(n_images)]


def _list_txt(entries: list[tuple[str, str]]) -> str:
    """annotations/list.txt content for (stem, breed) entries, Oxford format."""
    by_name = sorted(BREEDS, key=str.lower)
    cats = [b for b in by_name if BREEDS[b] == "cat"]
    dogs = [b for b in by_name if BREEDS[b] == "dog"]
    lines = [
        "#Image CLASS-ID SPECIES BREED ID",
        f"#ID: 1:{len(by_name)} Class ids",
        "#SPECIES: 1:Cat 2:Dog",
        f"#BREED ID: 1-{len(cats)}:Cat 1:{len(dogs)}:Dog",
        "#All images with 1st letter as captial are cat images",
        "#images with small first letter are dog images",
        "#cvlab synthetic pets",
    ]
    for stem, breed in sorted(entries, key=lambda e: e[0].lower()):
        species = BREEDS[breed]
        class_id = by_name.index(breed) + 1
        breed_id = (cats if species == "cat" else dogs).index(breed) + 1
        lines.append(f"{stem} {class_id} {SPECIES_NAMES.index(species) + 1} {breed_id}")
    return "\n".join(lines) + "\n"


def _check_generation_args(n_images, image_size, seed) -> tuple[int, tuple[int, int], int]:
    """Validate and normalise generator parameters."""
    n_images = int(n_images)
    if n_images < 1:
        raise DatasetError(f"n_images must be at least 1, got {n_images}.")
    height, width = (int(v) for v in image_size)
    if min(height, width) < MIN_SYNTHETIC_SIDE:
        raise DatasetError(
            f"image_size must be at least {MIN_SYNTHETIC_SIDE}x{MIN_SYNTHETIC_SIDE}, "
            f"got {height}x{width}."
        )
    return n_images, (height, width), int(seed)


def _stamp(n_images: int, image_size: tuple[int, int], seed: int) -> dict:
    """Parameters recorded in cvlab_dataset.json."""
    return {
        "generator": "cvlab.data.generate_synthetic_pets",
        "version": GENERATOR_VERSION,
        "n_images": n_images,
        "image_size": list(image_size),
        "seed": seed,
    }


def generate_synthetic_pets(root, n_images: int = 240, image_size=(128, 128), seed: int = 0) -> Path:
    """Write a synthetic pets data set in the Oxford-IIIT Pets layout.

    Writes ``images/<Breed>_<n>.jpg`` (JPEG quality 90), ``annotations/trimaps/
    <Breed>_<n>.png`` (uint8 1 pet / 2 background / 3 border), ``annotations/list.txt``
    and a ``cvlab_dataset.json`` stamp with the parameters. Breeds take turns, so
    they (and the species) are balanced. Image i only depends on (seed, i).

    Args:
        root: folder to create; must not exist or be empty.
        n_images: number of images.
        image_size: (height, width) of every image, at least 16x16.
        seed: random seed.

    Returns:
        root as a Path.

    Raises:
        DatasetError: bad parameters, or root is a non-empty folder.
    """
    n_images, image_size, seed = _check_generation_args(n_images, image_size, seed)
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DatasetError(
            f"{root} already exists and is not an empty folder. Pick a new folder, or use "
            "ensure_synthetic_pets(root), which replaces an outdated synthetic set."
        )
    images_dir = root / "images"
    trimaps_dir = root / "annotations" / "trimaps"
    images_dir.mkdir(parents=True, exist_ok=True)
    trimaps_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, (breed, number) in enumerate(_breed_schedule(n_images)):
        rng = np.random.default_rng([seed, index])
        image, mask = _render_pet_image(rng, breed, image_size)
        stem = f"{breed}_{number}"
        Image.fromarray(image).save(images_dir / f"{stem}.jpg", "JPEG", quality=JPEG_QUALITY)
        Image.fromarray(trimap_from_mask(mask)).save(trimaps_dir / f"{stem}.png", "PNG")
        entries.append((stem, breed))
    (root / "annotations" / "list.txt").write_text(_list_txt(entries), encoding="utf-8")
    stamp = json.dumps(_stamp(n_images, image_size, seed), indent=2, sort_keys=True)
    (root / STAMP_NAME).write_text(stamp + "\n", encoding="utf-8")
    return root


def _read_stamp(root: Path):
    """The stamp dict of a generated set, or None when absent or unreadable."""
    try:
        return json.loads((root / STAMP_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def _remove_tree(path: Path) -> None:
    """Delete a folder we created (temporary or outdated set); missing is fine."""
    if path.exists():
        shutil.rmtree(path)


def ensure_synthetic_pets(root=None, n_images: int = 240, image_size=(128, 128), seed: int = 0) -> Path:
    """Make sure a synthetic pets set with these parameters exists; return its root.

    Does nothing (fast) when ``root/cvlab_dataset.json`` records the same
    parameters. Otherwise generates into a temporary sibling folder and renames it
    into place, so concurrent callers never see a half-written set: when another
    process wins the rename with the same parameters its set is used.

    Args:
        root: target folder (default DATA_DIR / "synthetic_pets").
        n_images, image_size, seed: see generate_synthetic_pets.

    Raises:
        DatasetError: root exists but was not made by cvlab (never deleted), or the
            set keeps changing under us.
    """
    n_images, image_size, seed = _check_generation_args(n_images, image_size, seed)
    root = Path(root) if root is not None else DEFAULT_SYNTHETIC_ROOT
    wanted = _stamp(n_images, image_size, seed)
    if _read_stamp(root) == wanted:
        return root
    if root.exists() and _read_stamp(root) is None and (not root.is_dir() or any(root.iterdir())):
        raise DatasetError(
            f"{root} exists but is not a cvlab synthetic data set (no {STAMP_NAME}); "
            "it was left untouched. Pass another folder or delete it."
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp = root.parent / f".{root.name}.tmp-{tag}"
    try:
        generate_synthetic_pets(temp, n_images, image_size, seed)
        for _attempt in range(3):
            if _read_stamp(root) == wanted:
                return root
            _move_aside(root, tag)
            try:
                os.rename(temp, root)
                return root
            except OSError:
                continue  # another process put its set there first: check it again
        raise DatasetError(
            f"Could not install the synthetic data set at {root}: other processes keep "
            "replacing it with different parameters. Use a separate root per setting."
        )
    finally:
        _remove_tree(temp)


def _move_aside(root: Path, tag: str) -> None:
    """Rename an outdated generated set out of the way and delete it."""
    old = root.parent / f".{root.name}.old-{tag}"
    try:
        os.rename(root, old)
    except FileNotFoundError:
        return
    _remove_tree(old)


# ================================================================================ CLI


def _count_species(samples: list[PetSample]) -> str:
    """'120 cat, 120 dog'."""
    return ", ".join(f"{sum(s.species == name for s in samples)} {name}" for name in SPECIES_NAMES)


def main(argv=None) -> int:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m cvlab.data", description="cvlab pets data")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="create the synthetic pets set (no-op if up to date)")
    generate.add_argument("--root", type=Path, default=DEFAULT_SYNTHETIC_ROOT)
    generate.add_argument("--n", type=int, default=240, help="number of images (default 240)")
    generate.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=(128, 128))
    generate.add_argument("--seed", type=int, default=0)
    check = commands.add_parser("check", help="validate a pets folder and print counts")
    check.add_argument("--root", default=DEFAULT_SYNTHETIC_ROOT, help="a folder, or 'oxford' for the downloaded set")
    _add_download_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "download":
        from cvlab.oxford import install_command  # noqa: PLC0415 - cvlab.oxford imports this module

        return install_command(args)
    if args.command == "check":
        from cvlab.oxford import resolve_data_root  # noqa: PLC0415

        args.root = resolve_data_root(args.root)
    action = "checked"
    try:
        if args.command == "generate":
            params = _check_generation_args(args.n, args.size, args.seed)
            up_to_date = _read_stamp(args.root) == _stamp(*params)
            ensure_synthetic_pets(args.root, *params)
            action = "already up to date" if up_to_date else "wrote"
        samples = find_samples(args.root)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    breeds = sorted({s.breed for s in samples}, key=str.lower)
    print(f"{action} {args.root}: {len(samples)} images with trimaps "
          f"({_count_species(samples)}), {len(breeds)} breeds: {', '.join(breeds)}")
    return 0


def _add_download_parser(commands) -> None:
    """The ``download`` sub-command (Oxford-IIIT Pets from the book's URLs, see cvlab.oxford)."""
    from cvlab import download, oxford  # noqa: PLC0415

    sub = commands.add_parser("download", help="download Oxford-IIIT Pets (about 810 MB) and install it for --data oxford")
    sub.add_argument("--root", type=Path, default=oxford.DEFAULT_ROOT, help=f"where to install (default {oxford.DEFAULT_ROOT})")
    sub.add_argument("--downloads", type=Path, default=oxford.DOWNLOADS_DIR, help="folder for the archives (default %(default)s)")
    sub.add_argument("--mirror", default=None, help=f"fetch https://HOST/PATH from MIRROR/HOST/PATH (default ${download.MIRROR_ENV})")
    sub.add_argument("--timeout", type=float, default=None, help=f"seconds without data before giving up (default {download.DEFAULT_TIMEOUT:g})")
    sub.add_argument("--keep-archives", action="store_true", help="keep the .tar.gz files after installing")


if __name__ == "__main__":
    sys.exit(main())

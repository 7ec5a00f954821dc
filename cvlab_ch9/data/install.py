"""Writing a synthetic pets set to disk, in the Oxford-IIIT Pets layout, safely.

:func:`generate_synthetic_pets` writes a new set; :func:`ensure_synthetic_pets`
makes sure one with the given parameters exists (a no-op when it does),
generating into a temporary sibling folder and renaming it into place so
that concurrent callers never see a half-written set.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from cvlab_ch9.data.pets import SPECIES_NAMES, DatasetError
from cvlab_ch9.data.synthetic import BREEDS, STYLES, render_pet_image
from cvlab_ch9.data.textures import load_textures, textures_digest
from cvlab_ch9.data.trimaps import trimap_from_mask
from cvlab_ch9.paths import DATA_DIR

DEFAULT_SYNTHETIC_ROOT = DATA_DIR / "synthetic_pets"
STAMP_NAME = "cvlab_dataset.json"
#: Bump when the drawing code changes, so ensure_synthetic_pets regenerates old sets.
#: Version 1 is the "cartoon" style, which still draws exactly as it did; 2 is the "photo" style.
GENERATOR_VERSION = 2
STYLE_VERSIONS = {"photo": GENERATOR_VERSION, "cartoon": 1}
DEFAULT_STYLE = "photo"
MIN_SYNTHETIC_SIDE = 16
JPEG_QUALITY = 90


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



def _check_generation_args(n_images, image_size, seed, style=DEFAULT_STYLE) -> tuple[int, tuple[int, int], int]:
    """Validate and normalise generator parameters."""
    if style not in STYLES:
        raise DatasetError(f"style must be one of {', '.join(STYLES)}, got {style!r}.")
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


def _stamp(n_images: int, image_size: tuple[int, int], seed: int, style: str = DEFAULT_STYLE) -> dict:
    """Parameters recorded in cvlab_dataset.json.

    The cartoon style's stamp is version 1's, so sets drawn before version 2
    stay valid; the photo style's adds the textures' digest ('' = none).
    """
    stamp = {
        "generator": "cvlab_ch9.data.generate_synthetic_pets",
        "version": STYLE_VERSIONS[style],
        "n_images": n_images,
        "image_size": list(image_size),
        "seed": seed,
    }
    return stamp if style == "cartoon" else {**stamp, "style": style, "textures": textures_digest()}


def generate_synthetic_pets(root, n_images: int = 240, image_size=(128, 128), seed: int = 0, style: str = DEFAULT_STYLE) -> Path:
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
        style: "photo" (default: photo backgrounds, close-ups, camera effects)
            or "cartoon" (the flat pets of generator version 1); see cvlab_ch9.data.synthetic.

    Returns:
        root as a Path.

    Raises:
        DatasetError: bad parameters, or root is a non-empty folder.
    """
    n_images, image_size, seed = _check_generation_args(n_images, image_size, seed, style)
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
    textures = load_textures() if style == "photo" else ()
    for index, (breed, number) in enumerate(_breed_schedule(n_images)):
        rng = np.random.default_rng([seed, index])
        image, mask = render_pet_image(rng, breed, image_size, textures, style)
        stem = f"{breed}_{number}"
        Image.fromarray(image).save(images_dir / f"{stem}.jpg", "JPEG", quality=JPEG_QUALITY)
        Image.fromarray(trimap_from_mask(mask)).save(trimaps_dir / f"{stem}.png", "PNG")
        entries.append((stem, breed))
    (root / "annotations" / "list.txt").write_text(_list_txt(entries), encoding="utf-8")
    stamp = json.dumps(_stamp(n_images, image_size, seed, style), indent=2, sort_keys=True)
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


def ensure_synthetic_pets(root=None, n_images: int = 240, image_size=(128, 128), seed: int = 0,
                          style: str = DEFAULT_STYLE) -> Path:
    """Make sure a synthetic pets set with these parameters exists; return its root.

    Does nothing (fast) when ``root/cvlab_dataset.json`` records the same
    parameters. Otherwise generates into a temporary sibling folder and renames it
    into place, so concurrent callers never see a half-written set: when another
    process wins the rename with the same parameters its set is used.

    Args:
        root: target folder (default DATA_DIR / "synthetic_pets").
        n_images, image_size, seed, style: see generate_synthetic_pets.

    Raises:
        DatasetError: root exists but was not made by cvlab (never deleted), or the
            set keeps changing under us.
    """
    n_images, image_size, seed = _check_generation_args(n_images, image_size, seed, style)
    root = Path(root) if root is not None else DEFAULT_SYNTHETIC_ROOT
    wanted = _stamp(n_images, image_size, seed, style)
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
        generate_synthetic_pets(temp, n_images, image_size, seed, style)
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



def is_up_to_date(root, n_images: int = 240, image_size=(128, 128), seed: int = 0, style: str = DEFAULT_STYLE) -> bool:
    """True when ``root`` holds a synthetic set made with exactly these parameters (and textures).

    Raises:
        DatasetError: bad parameters.
    """
    return _read_stamp(Path(root)) == _stamp(*_check_generation_args(n_images, image_size, seed, style), style)

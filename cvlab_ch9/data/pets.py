"""Reading a pets data set in the Oxford-IIIT Pets layout (the real one or the synthetic one).

Layout::

    ROOT/images/<Breed>_<n>.jpg            cat breeds Capitalized, dog breeds lowercase
    ROOT/annotations/trimaps/<stem>.png    uint8 1 = pet, 2 = background, 3 = border
    ROOT/annotations/list.txt              optional: "Image CLASS-ID SPECIES BREED-ID"

Files whose name starts with "." (macOS ``._x.jpg`` resource forks) and ``.mat``
files in ``images/`` are ignored; any other unexpected file raises
:class:`DatasetError`, so a typo never silently shrinks the data set.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from cvlab_ch9.imaging import ImageError, read_image, resize_image

#: Class names of the classification task; labels index into this tuple.
SPECIES_NAMES = ("cat", "dog")

#: Trimap values used by Oxford-IIIT Pets.
TRIMAP_PET, TRIMAP_BACKGROUND, TRIMAP_BORDER = 1, 2, 3
TRIMAP_VALUES = (TRIMAP_PET, TRIMAP_BACKGROUND, TRIMAP_BORDER)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
IGNORED_IMAGE_EXTENSIONS = (".mat",)
TRIMAP_EXTENSION = ".png"
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
            f"The data folder {root} does not exist. Run `python -m cvlab_ch9.data generate` "
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
            "(or run `python -m cvlab_ch9.data generate`)."
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


def select_samples(samples: list[PetSample], limit, seed=None) -> list[PetSample]:
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
    samples = select_samples(find_samples(root), limit, seed)
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
    samples = select_samples(find_samples(root), limit, seed)
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

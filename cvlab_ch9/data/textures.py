"""Photo textures for the synthetic pets: small crops of public-domain and CC0 photos.

The files in ``cvlab_ch9/data/photo_textures/`` were written from scikit-image's
sample data by ``python -m tools.vendor_textures`` (sources and licences in
the README there) and are committed, so generating the pets never needs
scikit-image. :func:`load_textures` returns them; when the folder is gone
(a trimmed copy) it returns nothing and the photo style draws procedural
backgrounds only.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from cvlab_ch9.paths import package_data

#: Package data of ``cvlab_ch9.data`` (read with importlib.resources).
TEXTURES_DIR = package_data("cvlab_ch9.data", "photo_textures")
#: Vendored file -> the scikit-image data function it comes from.
TEXTURE_FILES = {
    "brick.jpg": "brick",
    "grass.jpg": "grass",
    "gravel.jpg": "gravel",
    "coffee.jpg": "coffee",
    "astronaut.jpg": "astronaut",
    "rocket.jpg": "rocket",
}


def load_textures(folder=None) -> tuple[np.ndarray, ...]:
    """The vendored textures as float32 RGB arrays (h, w, 3) in 0..255, in TEXTURE_FILES order.

    Args:
        folder: default TEXTURES_DIR (read at each call).

    Returns an empty tuple when none of the files is in ``folder`` (then the
    renderer falls back to procedural textures); a folder with only some of
    them gives those. Decoded once per folder and kept (read-only arrays).
    """
    return _load_folder(Path(folder or TEXTURES_DIR).resolve())


@functools.lru_cache(maxsize=4)
def _load_folder(folder: Path) -> tuple[np.ndarray, ...]:
    images = []
    for name in TEXTURE_FILES:
        path = folder / name
        if path.is_file():
            with Image.open(path) as image:
                array = np.asarray(image.convert("RGB"), dtype=np.float32)
            array.setflags(write=False)  # shared by every caller
            images.append(array)
    return tuple(images)


def textures_digest(folder=None) -> str:
    """Short SHA-256 over the texture files present (names and bytes): '' without any.

    The synthetic set's stamp records it, so a set drawn with other (or no)
    textures is regenerated.
    """
    digest = hashlib.sha256()
    found = False
    for name in TEXTURE_FILES:
        path = Path(folder or TEXTURES_DIR) / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
            found = True
    return digest.hexdigest()[:16] if found else ""

"""Tiny archives in the exact layout of the real Oxford-IIIT Pets ones.

``images.tar.gz``: ``images/<Breed>_<n>.jpg`` plus the three ``.mat`` files the
real archive has; like the real one, a few ".jpg" files are really a GIF, a
PNG with an alpha channel and a CMYK JPEG (TFDS lists Abyssinian_34, the
Egyptian_Mau ones and others). ``annotations.tar.gz``: ``annotations/trimaps/<stem>.png``
with their macOS ``._<stem>.png`` companions, ``annotations/xmls/``,
``annotations/list.txt``, ``trainval.txt``, ``test.txt`` and ``README``.
The pictures are synthetic pets (cvlab_ch9.data).
"""

import io
import tarfile
from pathlib import Path

from PIL import Image

from cvlab_ch9.data import generate_synthetic_pets

#: Pillow format and mode for the odd ".jpg" files (by position in the sorted image list).
ODD_FILES = {1: ("GIF", "P"), 2: ("PNG", "RGBA"), 3: ("JPEG", "CMYK")}


def _image_bytes(path: Path, index: int) -> bytes:
    """The JPEG as written, or re-encoded the odd way ODD_FILES gives for this index."""
    if index not in ODD_FILES:
        return path.read_bytes()
    fmt, mode = ODD_FILES[index]
    buffer = io.BytesIO()
    with Image.open(path) as picture:
        picture.convert(mode).save(buffer, fmt)
    return buffer.getvalue()


def _add_bytes(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mtime = 1_300_000_000
    tar.addfile(info, io.BytesIO(payload))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def _tar_gz(build) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        build(tar)
    return buffer.getvalue()


def make_oxford_archives(workdir: Path, n_images: int = 12, size=(48, 48), seed: int = 5) -> dict[str, bytes]:
    """{"images.tar.gz": bytes, "annotations.tar.gz": bytes} built from a synthetic set in ``workdir``."""
    root = generate_synthetic_pets(Path(workdir) / "source", n_images, size, seed=seed)
    images = sorted((root / "images").glob("*.jpg"))
    trimaps = sorted((root / "annotations" / "trimaps").glob("*.png"))
    list_txt = (root / "annotations" / "list.txt").read_text(encoding="utf-8")
    entries = [line for line in list_txt.splitlines() if line and not line.startswith("#")]

    def build_images(tar):
        _add_dir(tar, "images")
        for index, path in enumerate(images):
            _add_bytes(tar, f"images/{path.name}", _image_bytes(path, index))
        for name in ("Abyssinian_100.mat", "Abyssinian_101.mat", "Abyssinian_102.mat"):
            _add_bytes(tar, f"images/{name}", b"MATLAB 5.0 MAT-file")

    def build_annotations(tar):
        for folder in ("annotations", "annotations/trimaps", "annotations/xmls"):
            _add_dir(tar, folder)
        for path in trimaps:
            _add_bytes(tar, f"annotations/trimaps/{path.name}", path.read_bytes())
            _add_bytes(tar, f"annotations/trimaps/._{path.name}", b"\x00\x05\x16\x07 AppleDouble")
        for path in images[: len(images) // 2]:
            _add_bytes(tar, f"annotations/xmls/{path.stem}.xml", f"<annotation><filename>{path.name}</filename></annotation>".encode())
        _add_bytes(tar, "annotations/list.txt", list_txt.encode())
        half = len(entries) // 2
        _add_bytes(tar, "annotations/trainval.txt", ("\n".join(entries[:half]) + "\n").encode())
        _add_bytes(tar, "annotations/test.txt", ("\n".join(entries[half:]) + "\n").encode())
        _add_bytes(tar, "annotations/README", b"OXFORD-IIIT PET Dataset\n")

    return {"images.tar.gz": _tar_gz(build_images), "annotations.tar.gz": _tar_gz(build_annotations)}


def wrong_layout_archive(workdir: Path) -> bytes:
    """An images.tar.gz whose pictures lie at the top level (no images/ folder)."""
    root = generate_synthetic_pets(Path(workdir) / "flat", 4, (32, 32), seed=2)

    def build(tar):
        for path in sorted((root / "images").glob("*.jpg")):
            _add_bytes(tar, path.name, path.read_bytes())

    return _tar_gz(build)

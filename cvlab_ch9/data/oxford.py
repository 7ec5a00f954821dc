"""Oxford-IIIT Pets from the book's URLs: download, verify, extract, install.

``python -m cvlab_ch9.data download`` calls :func:`install_oxford_pets`:

1. If ``ROOT`` (default ``data/oxford-iiit-pet``) already holds the data set,
   nothing is downloaded.
2. Each archive (``images.tar.gz``, ``annotations.tar.gz``) is taken from
   ``data/downloads/`` when it is already there (an earlier run, or put there
   by hand), else downloaded there with :func:`cvlab_ch9.download.fetch`
   (progress bar, ``.part`` file, resume).
3. Both archives are extracted into a hidden temporary folder next to ROOT;
   every member must lie under ``images/`` or ``annotations/`` (no links, no
   absolute paths). The result must pass :func:`cvlab_ch9.data.find_samples`
   (every image has its trimap, list.txt parses) and every image named in
   ``annotations/list.txt`` must exist.
4. Only then is the folder renamed to ROOT, with a ``cvlab_download.json``
   stamp, and the archives are deleted (``keep_archives`` keeps them).

A damaged archive is deleted (the next run downloads it again); every
failure raises :class:`OxfordError` with one sentence: what failed, how to
download by hand, where to put the files.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cvlab_ch9.data.pets import DatasetError, find_samples
from cvlab_ch9.download import ConsoleProgress, DownloadError, fetch, human_bytes, mirrored, os_error_message
from cvlab_ch9.paths import DATA_DIR

#: Where the book downloads Oxford-IIIT Pets from.
BASE_URL = "https://www.robots.ox.ac.uk/~vgg/data/pets/data/"
DEFAULT_ROOT = DATA_DIR / "oxford-iiit-pet"
DOWNLOADS_DIR = DATA_DIR / "downloads"
STAMP_NAME = "cvlab_download.json"
#: ``--data oxford`` in the training commands means DEFAULT_ROOT.
DATA_KEYWORD = "oxford"


@dataclass(frozen=True)
class Archive:
    """One of the data set's archives.

    Attributes:
        name: file name on the server and in the downloads folder.
        top: the folder every member lies in.
        size: bytes of the published archive (for the disk-space check and
            the progress bar when the server sends no length; TFDS records
            the same numbers).
        extracted: approximate bytes once extracted.
    """

    name: str
    top: str
    size: int
    extracted: int

    @property
    def url(self) -> str:
        return BASE_URL + self.name


ARCHIVES = (
    Archive("images.tar.gz", "images", 791_918_971, 800_000_000),
    Archive("annotations.tar.gz", "annotations", 19_173_078, 80_000_000),
)


class OxfordError(RuntimeError):
    """The data set could not be installed; the message says what to do."""


def resolve_data_root(value):
    """``"oxford"`` -> DEFAULT_ROOT; any other value -> Path(value); None stays None."""
    if value is None:
        return None
    return DEFAULT_ROOT if str(value) == DATA_KEYWORD else Path(value).expanduser()


def manual_steps(downloads: Path) -> str:
    """How to download by hand, where to put the files (the end of every error sentence)."""
    urls = " and ".join(archive.url for archive in ARCHIVES)
    return (f"download {urls} by hand (with a browser, for instance), put them in {downloads}/ and run "
            "`python -m cvlab_ch9.data download` again, which checks and extracts them")


def is_installed(root) -> bool:
    """True when ``root`` holds a complete data set (our stamp, or a folder that passes find_samples)."""
    root = Path(root)
    if (root / STAMP_NAME).is_file() and (root / "images").is_dir():
        return True
    try:
        return bool(find_samples(root))
    except DatasetError:
        return False


def _members_to_extract(archive: Archive, members) -> list:
    """The members to extract: everything under ``archive.top`` (top-level ``._*`` macOS files are skipped).

    Raises:
        DatasetError: a member outside ``archive.top``, an absolute or ``..``
            path, or a link or device.
    """
    keep = []
    for member in members:
        name = member.name[2:] if member.name.startswith("./") else member.name
        parts = name.split("/")
        if name in ("", ".") or (len(parts) == 1 and parts[0].startswith("._")):
            continue
        if name.startswith("/") or ".." in parts or parts[0] != archive.top:
            raise DatasetError(
                f"{archive.name} contains {member.name!r}, outside {archive.top}/, so it is not the "
                "Oxford-IIIT Pets archive"
            )
        if not (member.isfile() or member.isdir()):
            raise DatasetError(f"{archive.name} contains {member.name!r}, which is not a plain file or folder")
        keep.append(member)
    return keep


def extract(archive: Archive, path: Path, into: Path) -> int:
    """Extract the archive file ``path`` into ``into`` after checking its layout; returns the member count.

    Raises:
        DatasetError: the archive does not open, is truncated or damaged, or
            has a member outside ``archive.top``.
    """
    # the "data" filter (Python >= 3.11.4) refuses unsafe members a second time
    safety = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    try:
        with tarfile.open(path, "r:*") as tar:
            members = _members_to_extract(archive, tar.getmembers())  # reads the whole archive
            tar.extractall(into, members=members, **safety)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, OSError) and os_error_message(exc, into):
            raise
        raise DatasetError(f"{archive.name} is damaged or not a tar archive ({exc})") from exc
    if not (into / archive.top).is_dir():
        raise DatasetError(f"{archive.name} has no {archive.top}/ folder; it is not the Oxford-IIIT Pets archive")
    return len(members)


def _check_list(root: Path, samples) -> None:
    """Every image named in annotations/list.txt must be in images/."""
    list_path = root / "annotations" / "list.txt"
    if not list_path.is_file():
        raise DatasetError("annotations.tar.gz has no annotations/list.txt; it is not the Oxford-IIIT Pets archive")
    names = {s.name for s in samples}
    listed = [line.split()[0] for line in list_path.read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]
    missing = sorted(set(listed) - names)
    if missing:
        raise DatasetError(
            f"annotations/list.txt names {len(missing)} images that images.tar.gz does not contain "
            f"(e.g. {', '.join(missing[:3])}); the two archives do not belong together"
        )


def _obtain(archive: Archive, downloads: Path, mirror, timeout, progress_factory, log) -> Path:
    """The archive file in ``downloads``: already there, or downloaded now."""
    path = downloads / archive.name
    if path.is_file():
        log(f"using {path} ({human_bytes(path.stat().st_size)}), already downloaded")
        return path
    url = mirrored(archive.url, mirror)
    log(f"downloading {url}")
    progress = progress_factory(archive.name) if progress_factory else None
    return fetch(url, path, timeout=timeout, progress=progress, extra_space=archive.extracted)


def _counts(samples) -> dict:
    return {
        "n_images": len(samples),
        "n_cat": sum(s.species == "cat" for s in samples),
        "n_dog": sum(s.species == "dog" for s in samples),
    }


def _stamp(samples, seconds: dict, mirror) -> dict:
    return {
        "dataset": "Oxford-IIIT Pets",
        "installed_by": "python -m cvlab_ch9.data download",
        "urls": [mirrored(a.url, mirror) for a in ARCHIVES],
        **_counts(samples),
        "seconds": seconds,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def read_stamp(root=None) -> dict | None:
    """The install stamp of ``root`` (default DEFAULT_ROOT) as a dict, or None."""
    try:
        return json.loads((Path(root or DEFAULT_ROOT) / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def install_oxford_pets(root=None, downloads=None, mirror=None, timeout=None, keep_archives=False,
                        progress_factory=ConsoleProgress, log=print) -> dict:
    """Download (if needed), verify and install Oxford-IIIT Pets at ``root``.

    Args:
        root: target folder (default DEFAULT_ROOT = data/oxford-iiit-pet).
        downloads: folder for the archives (default data/downloads).
        mirror: see :func:`cvlab_ch9.download.mirrored` (default ``$CVLAB_DOWNLOAD_MIRROR``).
        timeout: seconds without data before giving up (default 30 or ``$CVLAB_DOWNLOAD_TIMEOUT``).
        keep_archives: keep the .tar.gz files after a successful install.
        progress_factory: ``callable(label) -> progress(done, total)``, or None.
        log: ``callable(str)`` for one-line status messages.

    Returns:
        dict with ``root``, ``downloaded`` (False when it was already installed),
        ``n_images``, ``n_cat``, ``n_dog`` and ``seconds`` (download / extract).

    Raises:
        OxfordError: one sentence saying what failed and what to do.
    """
    root = Path(root or DEFAULT_ROOT)
    downloads = Path(downloads or DOWNLOADS_DIR)
    if is_installed(root):
        return {"root": root, "downloaded": False, **(read_stamp(root) or _counts(find_samples(root)))}
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise OxfordError(
            f"{root} exists but is not a complete Oxford-IIIT Pets folder; nothing was changed: "
            "move it away or delete it, then run `python -m cvlab_ch9.data download` again."
        )
    try:
        return _install(root, downloads, mirror, timeout, keep_archives, progress_factory, log)
    except DownloadError as exc:
        raise OxfordError(f"{exc}: {manual_steps(downloads)}.") from exc
    except OSError as exc:
        message = os_error_message(exc, getattr(exc, "filename", None) or root)
        if message is None:
            raise
        raise OxfordError(message) from exc


def _install(root, downloads, mirror, timeout, keep_archives, progress_factory, log) -> dict:
    seconds = {}
    start = time.perf_counter()
    paths = [_obtain(a, downloads, mirror, timeout, progress_factory, log) for a in ARCHIVES]
    seconds["download"] = round(time.perf_counter() - start, 2)
    root.parent.mkdir(parents=True, exist_ok=True)
    temp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        start = time.perf_counter()
        samples = _extract_and_verify(temp, paths, downloads, log)
        seconds["extract"] = round(time.perf_counter() - start, 2)
        stamp = _stamp(samples, seconds, mirror)
        (temp / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        if root.exists():
            root.rmdir()  # empty (checked by the caller)
        os.rename(temp, root)
    finally:
        if temp.exists():
            shutil.rmtree(temp)
    if not keep_archives:
        for path in paths:
            path.unlink()
    return {"root": root, "downloaded": True, **stamp}


def _extract_and_verify(temp: Path, paths: list[Path], downloads: Path, log) -> list:
    """Extract the archives into ``temp`` and check the result; returns its samples.

    Raises:
        OxfordError: an archive is damaged or does not have the real layout;
            the unusable archive files are deleted so the next run downloads them again.
    """
    for archive, path in zip(ARCHIVES, paths, strict=True):
        log(f"extracting {path.name}")
        try:
            extract(archive, path, temp)
        except DatasetError as exc:
            path.unlink()
            raise OxfordError(f"{exc}; it was deleted: run the command again to download it anew, or "
                              f"{manual_steps(downloads)}.") from exc
    try:
        samples = find_samples(temp)
        _check_list(temp, samples)
    except DatasetError as exc:
        for path in paths:
            path.unlink()
        raise OxfordError(f"The archives do not have the Oxford-IIIT Pets layout ({exc}); they were deleted: "
                          f"run the command again to download them anew, or {manual_steps(downloads)}.") from exc
    return samples


def install_command(args) -> int:
    """``python -m cvlab_ch9.data download`` (args: root, downloads, mirror, timeout, keep_archives)."""
    try:
        result = install_oxford_pets(args.root, args.downloads, args.mirror, args.timeout, args.keep_archives)
    except OxfordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = f"{result.get('n_images', '?')} images ({result.get('n_cat', '?')} cat, {result.get('n_dog', '?')} dog)"
    if result["downloaded"]:
        print(f"installed Oxford-IIIT Pets in {result['root']}: {counts}; "
              f"download {result['seconds']['download']:.1f} s, extraction {result['seconds']['extract']:.1f} s")
    else:
        print(f"Oxford-IIIT Pets is already in {result['root']} ({counts}); nothing downloaded")
    print("train on it with `python -m cvlab_ch9.train_segmentation --data oxford` or "
          "`python -m cvlab_ch9.models train --data oxford`")
    return 0

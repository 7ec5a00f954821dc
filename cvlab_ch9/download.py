"""HTTP downloads with a progress bar, resume, a timeout and one-sentence errors.

:func:`fetch` is the one download routine behind ``python -m cvlab_ch9.data
download`` (Oxford-IIIT Pets) and ``python -m cvlab_ch9.models download imagenet``
(Keras' ImageNet Xception files). It writes ``DEST.part`` and renames it to
``DEST`` only when the file is complete (and its hash matches when one is
given), so nothing half-written ever sits where a loader looks. A ``.part``
left by an interrupted run is resumed with an HTTP ``Range`` request, or
restarted from zero when the server does not support ranges.

Every failure raises :class:`DownloadError` whose message is one sentence
about what failed; callers append how to download by hand and where to put
the file.

Mirrors: ``CVLAB_DOWNLOAD_MIRROR=http://host:port`` (or the ``mirror``
argument) turns ``https://HOST/PATH`` into ``http://host:port/HOST/PATH``,
the layout ``wget -x URL`` writes, so a folder of such downloads served by
``python -m http.server`` works as a classroom mirror. The tests use it to
point the real code at a server on 127.0.0.1.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import re
import shutil
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

MIRROR_ENV = "CVLAB_DOWNLOAD_MIRROR"
TIMEOUT_ENV = "CVLAB_DOWNLOAD_TIMEOUT"
#: Seconds without a byte (or to connect) before a download is given up.
DEFAULT_TIMEOUT = 30.0
CHUNK_BYTES = 1 << 20
USER_AGENT = "cvlab-download/1"
PART_SUFFIX = ".part"


class DownloadError(RuntimeError):
    """A download failed; the message is one sentence saying what failed.

    ``retry`` is True for problems another attempt may not have (a stalled or
    cut-off transfer), False for those it will (refused, HTTP error, disk full).
    """

    def __init__(self, message: str, retry: bool = False):
        super().__init__(message)
        self.retry = retry


def mirrored(url: str, mirror: str | None = None) -> str:
    """``url`` on the mirror (argument, else ``$CVLAB_DOWNLOAD_MIRROR``), or ``url`` itself.

    ``https://www.example.org/a/b.tgz`` on mirror ``http://127.0.0.1:8000`` is
    ``http://127.0.0.1:8000/www.example.org/a/b.tgz``.
    """
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV, "")
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    return f"{mirror.rstrip('/')}/{parts.netloc}{parts.path}"


def default_timeout() -> float:
    """``$CVLAB_DOWNLOAD_TIMEOUT`` seconds, else DEFAULT_TIMEOUT."""
    value = os.environ.get(TIMEOUT_ENV, "")
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def human_bytes(count) -> str:
    """'755.2 MB' (decimal units, as download pages give them)."""
    count = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


class ConsoleProgress:
    """A text progress bar on stderr: ``callable(done_bytes, total_bytes_or_None)``.

    On a terminal it redraws one line; otherwise (logs, CI) it prints a line
    at every 10 %.
    """

    def __init__(self, label: str, stream=None, width: int = 30):
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self.last_decile = -1
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int | None) -> None:
        rate = done / max(time.monotonic() - self.start, 1e-6)
        if total:
            fraction = min(done / total, 1.0)
            bar = "#" * int(fraction * self.width)
            text = (f"{self.label} [{bar:<{self.width}}] {fraction:4.0%} "
                    f"{human_bytes(done)} / {human_bytes(total)} {human_bytes(rate)}/s")
            decile = int(fraction * 10)
        else:
            text = f"{self.label} {human_bytes(done)} {human_bytes(rate)}/s"
            decile = int(done // (50 * 1000 * 1000))
        if self.interactive:
            self.stream.write("\r" + text + ("\n" if total and done >= total else ""))
        elif decile != self.last_decile:
            self.stream.write(text + "\n")
        self.last_decile = decile
        self.stream.flush()


def no_space_message(folder: Path, needed: int | None = None) -> str:
    """The disk-space sentence."""
    free = shutil.disk_usage(_existing_parent(folder)).free
    need = f"needs about {human_bytes(needed)} and " if needed else ""
    return (f"Not enough disk space in {folder}: the download {need}{human_bytes(free)} is free; "
            "free some space or choose a folder on another disk.")


def no_permission_message(path: Path) -> str:
    """The permission sentence."""
    return (f"Cannot write to {path} (permission denied); choose a folder you can write to "
            "or fix its permissions.")


def _existing_parent(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_free_space(folder: Path, needed: int) -> None:
    """Raise DownloadError (the disk-space sentence) when ``folder``'s disk has less than ``needed`` bytes free."""
    if needed > shutil.disk_usage(_existing_parent(folder)).free:
        raise DownloadError(no_space_message(folder, needed))


def os_error_message(exc: OSError, path: Path) -> str | None:
    """The disk-space or permission sentence for ``exc``, or None for other errors."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return no_space_message(Path(path).parent)
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return no_permission_message(path)
    return None


def md5_of(path: Path) -> str:
    """Hex md5 of a file (the hash Keras' get_file records for its files)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _content_range_total(header: str | None) -> tuple[int | None, int | None]:
    """(start, total) from ``Content-Range: bytes START-END/TOTAL`` (or ``bytes */TOTAL``)."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", header or "")
    if not match:
        return None, None
    start = int(match.group(1)) if match.group(1) else None
    total = int(match.group(2)) if match.group(2) != "*" else None
    return start, total


def _connection_error(url: str, exc: BaseException, timeout: float) -> DownloadError:
    """DownloadError for a failure to connect or a stalled transfer."""
    host = urllib.parse.urlsplit(url).netloc
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return DownloadError(f"The download of {url} stalled: no data for {timeout:g} s", retry=True)
    if isinstance(reason, ConnectionRefusedError):
        return DownloadError(f"Could not connect to {host} (connection refused)")
    if isinstance(reason, socket.gaierror):
        return DownloadError(f"Could not find the server {host} (no internet connection?)")
    return DownloadError(f"The download of {url} failed ({reason})", retry=isinstance(reason, ConnectionError))


def _open(url: str, offset: int, timeout: float):
    """Open ``url`` asking for bytes from ``offset`` on; returns the response."""
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _start(url: str, part: Path, timeout: float):
    """Open the transfer for ``part``: (response, offset, total) or (None, size, size) when complete.

    A 206 answer continues the ``.part``; a 200 answer (the server ignores
    ranges) or a range that does not fit restarts it from zero.
    """
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            _, total = _content_range_total(exc.headers.get("Content-Range"))
            exc.close()
            if total == offset:
                return None, offset, offset  # the .part is already complete
            part.unlink()
            return _start(url, part, timeout)
        raise DownloadError(f"The server answered {exc.code} {exc.reason} for {url}") from exc
    if response.status == 206:
        start, total = _content_range_total(response.headers.get("Content-Range"))
        if start == offset:
            return response, offset, total
        response.close()
        part.unlink()
        return _start(url, part, timeout)
    length = response.headers.get("Content-Length")
    if offset:
        part.unlink()  # the server sent the whole file: restart cleanly
    return response, 0, int(length) if length and length.isdigit() else None


def _copy(response, part: Path, offset: int, total: int | None, progress) -> int:
    """Append the response body to ``part``; returns the size of ``part`` afterwards."""
    done = offset
    with response, open(part, "ab" if offset else "wb") as out:
        if progress:
            progress(done, total)
        while True:
            chunk = response.read(CHUNK_BYTES)
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return done


def _transfer(url: str, part: Path, timeout: float, progress, extra_space: int) -> int | None:
    """One attempt: bring ``part`` up to date; returns the expected total size (None if unknown).

    Raises DownloadError for HTTP and connection problems, too little disk
    space for the rest of the file plus ``extra_space`` bytes, and a body
    shorter than announced (the ``.part`` is kept for a resume).
    """
    try:
        response, offset, total = _start(url, part, timeout)
        if response is None:
            return total
        if total is not None:
            try:
                check_free_space(part.parent, total - offset + extra_space)
            except DownloadError:
                response.close()
                raise
        done = _copy(response, part, offset, total, progress)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, urllib.error.URLError):
            message = os_error_message(exc, part)
            if message:
                raise DownloadError(message) from exc
        if isinstance(exc, http.client.IncompleteRead):
            raise DownloadError(f"The download of {url} was cut off", retry=True) from exc
        raise _connection_error(url, exc, timeout) from exc
    if total is not None and done < total:
        raise DownloadError(
            f"The download of {url} was cut off after {human_bytes(done)} of {human_bytes(total)}", retry=True
        )
    return total


def fetch(url: str, dest, *, md5: str | None = None, timeout: float | None = None,
          progress=None, attempts: int = 3, extra_space: int = 0) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``; return ``dest``.

    Args:
        url: http(s) URL (already mirrored, see :func:`mirrored`).
        dest: final file path; its folder is created.
        md5: expected hex md5; a mismatch deletes the ``.part`` and raises.
        timeout: seconds to connect and between two received chunks
            (default :func:`default_timeout`).
        progress: ``callable(done_bytes, total_bytes_or_None)`` or None.
        attempts: transfers tried in this call; each one resumes the ``.part``.
        extra_space: bytes needed on the same disk besides the file (e.g. to
            extract it); checked once the file's size is known.

    Raises:
        DownloadError: one sentence (connection refused, stalled, HTTP error,
            cut off, hash mismatch, no disk space, no permission).
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + PART_SUFFIX)
    timeout = default_timeout() if timeout is None else float(timeout)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(os_error_message(exc, dest.parent) or f"Cannot create {dest.parent} ({exc})") from exc
    for attempt in range(1, max(1, attempts) + 1):
        try:
            total = _transfer(url, part, timeout, progress, extra_space)
            break
        except DownloadError as exc:
            if not exc.retry or attempt >= attempts:
                raise
    if total is not None and part.stat().st_size != total:
        part.unlink()
        raise DownloadError(f"The download of {url} has the wrong size; the partial file was deleted")
    if md5 is not None and md5_of(part) != md5:
        part.unlink()
        raise DownloadError(f"The file downloaded from {url} is corrupt (its md5 hash does not match)")
    os.replace(part, dest)
    return dest

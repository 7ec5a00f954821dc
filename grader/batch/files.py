"""Reading a student's folder without following links out of it.

A submission is what the student put into their folder. A link there (to
``solutions/segmentation.py``, to another student's file, to anything
outside) is never followed: walking the folder does not enter linked
folders, and every file is opened one path component at a time with
``O_NOFOLLOW`` below the folder (``openat``), so a link anywhere on the way
is refused, also one swapped in after the walk. A refused file is one
sentence for that student (:class:`Refused`), never a crash and never code
that is graded. FIFOs, devices and oversized files are refused the same way
(reading them would block or fill the instructor's memory).
"""

import errno
import os
import stat
from pathlib import Path

#: Largest submitted file read (a lab module is a few KB, a notebook with outputs a few MB).
MAX_FILE_BYTES = 32 * 2**20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class Refused(Exception):
    """A submitted file the grader does not read; ``str(exc)`` is the sentence for the student's report."""


def link_sentence(name):
    return f"{name} in your submission is a link, which the grader does not follow: upload the file itself."


def walk_files(folder):
    """Relative paths of the files in ``folder`` and below, hidden ones and linked folders left out, sorted.

    Links to files are listed (reading them is refused with a sentence); links to folders are not entered.
    """
    root = Path(folder)
    found = []
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(current).relative_to(root)
        found.extend(base / name for name in files if not name.startswith("."))
    return sorted(found)


def is_real_folder(path):
    """True for a folder that is not a link (``lstat``: the folder itself, not what a link points to)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _open_nofollow(root, parts):
    """A file descriptor of ``root/parts...`` opened without following any link below ``root``."""
    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        return os.open(parts[-1], os.O_RDONLY | _NOFOLLOW | _NONBLOCK, dir_fd=fd)
    finally:
        os.close(fd)


def _open_checked(root, parts):
    """Where ``openat`` is missing (Windows): every component checked with ``lstat`` before the open."""
    path = Path(root)
    for part in ("", *parts):
        path = path / part if part else path
        if os.path.islink(path) or getattr(path, "is_junction", lambda: False)():
            raise OSError(errno.ELOOP, "a link", str(path))
    return os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))


def read_inside(root, path, limit=MAX_FILE_BYTES):
    """The bytes of the regular file ``path`` inside the folder ``root``, no link followed.

    Raises:
        FileNotFoundError: there is no such file.
        Refused: a link on the way, not a regular file, or larger than ``limit``.
    """
    parts = Path(os.path.relpath(path, root)).parts  # on the names: no link is resolved
    name = parts[-1]
    if parts[0] == os.pardir or parts == (os.curdir,):
        raise Refused(f"{name} is not inside the submission folder.")
    opener = _open_nofollow if os.open in os.supports_dir_fd and _NOFOLLOW else _open_checked
    try:
        fd = opener(root, parts)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):  # a link (EMLINK on FreeBSD) or a file as a folder
            raise Refused(link_sentence(name)) from None
        raise
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{name} in your submission is not a regular file: upload the file itself.")
        if info.st_size > limit:
            raise Refused(f"{name} is larger than {limit // 2**20} MB; a lab file is much smaller: upload the right file.")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"{name} is larger than {limit // 2**20} MB; a lab file is much smaller: upload the right file.")
    return data

"""The reference side, one for the grader and the UI: live from ``solutions/``, or recorded.

What the reference gives is named by a *book* and a *key*: the grader's
expectations are books named after the labs (key: the expectation's name,
``segmentation``/``encoder``), the UI's results on the example images are
the book ``gallery`` (key: :func:`cvlab_ch9.ui.reference.result_key`). Every
provider is a :class:`Reference`:

- a **live** one (:class:`LiveSide`; the instructor's checkout) computes the
  value with ``solutions/``: ``value(book, key, compute)`` returns ``compute()``.
  The grader's live reference computes its expectations on a fresh secret
  draw per grading (:meth:`cvlab_ch9.grader.expect.LiveReference.for_grading`);
  nothing of a secret draw is ever recorded.
- a **recorded** one (:class:`RecordedSide`; the student kit, which has no
  ``solutions/``) reads the value from ``grader/recordings/<book>.rec``
  (:mod:`cvlab_ch9.recording`: versioned, SHA-256 checked, no pickle) and
  never computes: a missing value is a :class:`NotRecorded` error.

:func:`choose_reference` is the one auto/live/recorded rule (``auto``: live
where ``solutions/`` exists). ``python -m grader.record`` writes every book
(the labs' expectations on the fixed draw, committed; the UI gallery, which
the kit build records) and ``--check`` fails on drift from ``solutions/``.
"""

import dataclasses
import io
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cvlab_ch9.grader.harness.wire import WireError, decode_body, encode
from cvlab_ch9.impl import LAB_NAMES, lab_path
from cvlab_ch9.recording import SUFFIX, ContainerError, pack, unpack

RECORDINGS_DIR = Path(__file__).resolve().parent / "recordings"
#: The UI's book: reference results on the example images (recorded into the kit, never committed).
GALLERY = "gallery"
BOOKS = (*LAB_NAMES, GALLERY)
MODES = ("auto", "live", "recorded")
#: What an instructor runs when a recording is stale or missing.
RECORD_COMMAND = "python -m grader.record"
_PNG = "@png"


class RecordingError(RuntimeError):
    """A recording is missing, damaged or out of date: the reference cannot answer (not the student's fault)."""


class NotRecorded(RecordingError):
    """The recording exists but holds no value for the key asked for."""


class ReferenceChoiceError(ValueError):
    """An unknown reference mode, or ``live`` where there is no ``solutions/``."""


class Reference(Protocol):
    """What the grader and the UI ask of a reference side."""

    #: ``"live"`` (computed from solutions/) or ``"recorded"`` (read from a recording).
    kind: str

    def value(self, book: str, key: str, compute: Callable[[], Any]) -> Any:
        """The reference's value ``key`` of ``book``; the live side returns ``compute()``."""


class LiveSide:
    """The live reference: every value is computed (by ``compute``, with ``solutions/``)."""

    kind = "live"

    def value(self, book, key, compute):
        return compute()


class RecordedSide:
    """The recorded reference: values read from ``<directory>/<book>.rec`` (``paths`` names other files per book).

    Each book is read once, on first use.
    """

    kind = "recorded"

    def __init__(self, directory=None, paths=None):
        self.directory = directory
        self._paths = dict(paths or {})
        self._books = {}

    def path(self, book):
        return Path(self._paths[book]) if book in self._paths else recording_path(book, self.directory)

    def recording(self, book):
        """The :class:`Recording` of ``book``. Raises RecordingError (missing, damaged, another version)."""
        if book not in self._books:
            self._books[book] = load_recording(self.path(book), book)
        return self._books[book]

    def value(self, book, key, compute=None):
        """The recorded value; ``compute`` is never called. Raises NotRecorded, RecordingError."""
        values = self.recording(book).values
        if key not in values:
            raise NotRecorded(f"The recordings have no value {book}.{key}: they are older than the checks. "
                              f"Reinstall the lab kit (instructors: {RECORD_COMMAND}).")
        return values[key]


def solutions_available():
    """True where every ``solutions/<lab>.py`` exists (the instructor's checkout)."""
    return all(lab_path(lab, "solutions").is_file() for lab in LAB_NAMES)


def choose_reference(mode, live, recorded):
    """The provider for ``mode``: ``live()``, ``recorded()``, or for ``auto`` live where solutions/ exists.

    Args:
        live, recorded: functions making each provider (only the chosen one is called).

    Raises:
        ReferenceChoiceError: an unknown mode, or ``live`` without solutions/.
    """
    if mode not in MODES:
        raise ReferenceChoiceError(f"Unknown reference {mode!r}; use one of: {', '.join(MODES)}.")
    if mode == "auto":
        mode = "live" if solutions_available() else "recorded"
    if mode == "live" and not solutions_available():
        raise ReferenceChoiceError("The live reference needs solutions/, which this copy does not have; use --reference recorded.")
    return live() if mode == "live" else recorded()


# -- the recordings --------------------------------------------------------------------------


@dataclasses.dataclass
class Recording:
    """One book: ``values`` (``{key: value}``: arrays, numbers, texts, tuples, lists, dicts) and ``meta`` (the same kinds)."""

    book: str
    values: dict
    meta: dict = dataclasses.field(default_factory=dict)


def recording_path(book, directory=None):
    return Path(directory or RECORDINGS_DIR) / f"{book}{SUFFIX}"


def _png(array):
    """PNG bytes (uint8 array) of a uint8 (H, W) or (H, W, 3) picture when smaller than deflating it; else None."""
    from PIL import Image  # noqa: PLC0415 - only recordings holding pictures need it

    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)) or array.size < 64:
        return None
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", optimize=True)
    data = buffer.getvalue()
    return np.frombuffer(data, dtype=np.uint8) if len(data) < len(zlib.compress(array.tobytes(), 6)) else None


def _packed(value):
    """``value`` with pictures replaced by ``{"@png": bytes}`` (lossless, smaller)."""
    if isinstance(value, np.ndarray):
        png = _png(value)
        return value if png is None else {_PNG: png}
    if isinstance(value, tuple):
        return tuple(_packed(v) for v in value)
    if isinstance(value, list):
        return [_packed(v) for v in value]
    if isinstance(value, dict):
        return {k: _packed(v) for k, v in value.items()}
    return value


def _unpacked(value):
    if isinstance(value, dict):
        if set(value) == {_PNG} and isinstance(value[_PNG], np.ndarray):
            from PIL import Image  # noqa: PLC0415

            with Image.open(io.BytesIO(value[_PNG].tobytes())) as image:
                return np.asarray(image)
        return {k: _unpacked(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_unpacked(v) for v in value)
    if isinstance(value, list):
        return [_unpacked(v) for v in value]
    return value


def save_recording(path, recording):
    """Write ``recording`` to ``path`` (atomically: a reader never sees half a file); returns the path."""
    keys = list(recording.values)
    frames = [encode({"keys": keys, "meta": _packed(recording.meta)})]
    frames += [encode(_packed(recording.values[key])) for key in keys]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(pack(recording.book, frames))
    partial.replace(path)
    return path


def load_recording(path, book=None):
    """The :class:`Recording` at ``path`` (of ``book`` when given).

    Raises:
        RecordingError: missing, unreadable, damaged or of another version; the message says what to do.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"The recording {path.name} ({path}) cannot be read ({exc.strerror or exc}); "
                             f"reinstall the lab kit (instructors: {RECORD_COMMAND}).") from None
    try:
        manifest, frames = unpack(raw)
        if book is not None and manifest["book"] != book:
            raise ContainerError(f"it records {manifest['book']!r}, not {book!r}")
        index = decode_body(frames[0]) if frames else None
        if not isinstance(index, dict) or not isinstance(index.get("keys"), list) or len(index["keys"]) != len(frames) - 1:
            raise ContainerError("its index is damaged")
        values = {key: _unpacked(decode_body(frame)) for key, frame in zip(index["keys"], frames[1:])}
    except (ContainerError, WireError, OSError, ValueError) as exc:
        raise RecordingError(f"The recording {path} is damaged or of another version ({exc}); "
                             f"reinstall the lab kit (instructors: {RECORD_COMMAND}).") from None
    return Recording(manifest["book"], values, _unpacked(index.get("meta") or {}))


def read_recording(book, directory=None):
    """``{key: value}`` recorded for ``book`` in ``directory`` (default: the package's recordings)."""
    return load_recording(recording_path(book, directory), book).values


def write_recording(book, values, directory=None, meta=None):
    """Write ``{key: value}`` as the recording of ``book``; returns the path."""
    return save_recording(recording_path(book, directory), Recording(book, dict(values), dict(meta or {})))

"""The UI's reference column: one provider, live where ``solutions/`` exists, recorded in the student kit.

Every tab asks :func:`reference_side` for what its reference column shows.

- :class:`LiveReference` (the instructor's checkout) computes it with the
  reference implementation (:func:`cvlab_ch9.impl.reference_lab`). Its Grad-CAM
  and filter ascent can be swapped for faster equivalents
  (``LiveReference(grad_cam=..., filter_patterns=..., batch_size=...)``), as
  ``cvlab_ch9.fastpaths`` provides.
- :class:`RecordedReference` (the student kit, which has no answer key)
  answers from a gallery recorded with the live reference when the kit was
  built (``grader/recordings/gallery.rec``, the reference side's one recording
  format and folder, written by ``python -m grader.record --book gallery``):
  the results on the example images with the UI's default settings, the
  filter patterns of every offered layer, the architecture tables for the
  chapter's settings. Anything else gets one sentence saying what the column
  shows instead.

What needs no exercise code is the same on both sides and does not come
through here: the segmentation tab's reference is the demo model's own
prediction. The mean IoU of a training run without the student's
``mean_iou`` comes from :meth:`mean_iou` (``keras.metrics.MeanIoU`` in the kit).

Both are :class:`cvlab_ch9.grader.reference.Reference` providers (the book
``gallery``), chosen by the grader's own auto/live/recorded rule.

A tab asks for a result by a *key* (:func:`result_key`: what determines it:
kind, model and its file's fingerprint, image digest, layer, settings) and
gives ``compute(lab)``, which computes it from a reference module.
"""

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import types

import numpy as np

from cvlab_ch9.grader.reference import (
    GALLERY,
    MODES,
    LiveSide,
    NotRecorded,
    RecordedSide,
    Recording,
    RecordingError,
    choose_reference,
    load_recording,
    recording_path,
    save_recording,
)
from cvlab_ch9.impl import reference_lab

#: Where the kit keeps the recorded gallery (never committed: ``course kit`` writes it into the kit).
GALLERY_PATH = recording_path(GALLERY)
#: ``auto`` (live where solutions/ exists), ``live`` or ``recorded``; ``python -m ui --reference`` sets it.
REFERENCE_ENV = "CVLAB_UI_REFERENCE"
REFERENCE_KINDS = MODES
#: Side of the block-mean thumbnail that recognises an example image decoded slightly differently.
THUMB_SIDE = 12
#: Largest mean-pixel difference of two thumbnails of the same example image (JPEG decoders differ by a level or two).
THUMB_TOLERANCE = 3.0
#: Reference filters the live side ascends together (as fast as 8 per batch here, half the memory).
FAST_BATCH = 4

PHOTO_NOTE = (
    "No answer key in the kit: the reference is recorded for the example images only, "
    "so for your own photo only your result is shown; click an example to compare."
)
NO_GALLERY_NOTE = (
    "This copy has neither solutions/ nor the recorded reference (grader/recordings/gallery.rec), so the reference "
    "column stays empty; use the kit your instructor built (`python -m course kit`)."
)


@dataclasses.dataclass
class Shown:
    """What the reference column shows: ``value`` (None: nothing) and ``note`` (a sentence, or "")."""

    value: object = None
    note: str = ""


def result_key(kind, **fields):
    """A result's key: canonical JSON of ``{"kind": kind, **fields}`` (lists for tuples)."""
    return json.dumps({"kind": kind, **fields}, sort_keys=True, default=list)


def image_digest(picture):
    """Digest of a uint8 (H, W, 3) picture: its shape and bytes."""
    picture = np.ascontiguousarray(picture, dtype=np.uint8)
    return hashlib.sha256(repr(picture.shape).encode() + picture.tobytes()).hexdigest()[:24]


def thumbnail(picture):
    """float32 (THUMB_SIDE, THUMB_SIDE, 3) block means of a uint8 (H, W, 3) picture."""
    picture = np.asarray(picture, dtype="float32")
    rows = np.array_split(np.arange(picture.shape[0]), THUMB_SIDE)
    cols = np.array_split(np.arange(picture.shape[1]), THUMB_SIDE)
    return np.array([[picture[r][:, c].mean(axis=(0, 1)) for c in cols] for r in rows], dtype="float32")


@functools.cache
def model_fingerprint(name):
    """Digest of the file of classifier ``name`` (a demo model or one trained on photos); "" for others."""
    from cvlab_ch9 import models  # noqa: PLC0415 - cvlab_ch9.models imports the model store only

    try:
        path = models.demo_model_path(name)
        return hashlib.sha256(path.read_bytes()).hexdigest()[:24]
    except (ValueError, OSError):
        return ""


def generate_patterns(module, extractor, indices, iterations, img_size, learning_rate=10.0, starts=None):
    """float32 (H, W, 3) patterns of ``module.generate_filter_pattern``, one per filter index.

    Each starts from ``starts[k]`` (float (H, W, 3)) when given, else from
    the function's own gray noise seeded with its index.
    """
    return [
        module.generate_filter_pattern(
            extractor, i, iterations=iterations, learning_rate=learning_rate,
            image=None if starts is None else np.asarray(starts[k], dtype="float32"), img_size=img_size, seed=i,
        )
        for k, i in enumerate(indices)
    ]


def keras_mean_iou(y_true, y_pred, num_classes):
    """Mean IoU of integer labels ``y_true`` (N, H, W[, 1]) and labels or per-class scores ``y_pred``, by ``keras.metrics.MeanIoU``."""
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim and y_pred.shape[-1] == num_classes and y_pred.size == y_true.size * num_classes:
        y_pred = y_pred.argmax(axis=-1)
    metric = keras.metrics.MeanIoU(num_classes=num_classes)
    metric.update_state(y_true, y_pred.reshape(-1))
    return float(metric.result())


class LiveReference(LiveSide):
    """The reference computed with ``solutions/`` (the instructor's side).

    Args:
        grad_cam: replaces the reference ``grad_cam(model, image, layer, class_index)``
            (a traced equivalent), or None.
        filter_patterns: ``f(extractor, indices, iterations, img_size, learning_rate, starts) -> [float32 (H, W, 3)]``
            replacing the reference's one-filter-at-a-time ascent (a batched
            equivalent of :func:`generate_patterns`), or None.
        batch_size: how many filters the Filters tab asks for at once.
    """

    def __init__(self, grad_cam=None, filter_patterns=None, batch_size=1):
        self._grad_cam, self._filter_patterns = grad_cam, filter_patterns
        self.batch_size = int(batch_size)

    def lab(self, lab):
        """The reference module of ``lab`` as the tabs use it: with ``filter_patterns`` and any fast paths in place."""
        module = reference_lab(lab)
        if lab != "interpretation":
            return module
        view = types.SimpleNamespace(**vars(module))
        if self._grad_cam is not None:
            view.grad_cam = self._grad_cam
        view.filter_patterns = self._filter_patterns or functools.partial(generate_patterns, module)
        return view

    def image_key(self, picture):
        return image_digest(picture)

    def one(self, lab, key, compute, settings=""):
        """``Shown(compute(reference module of lab))``; ``settings`` is what a recording would hold."""
        return Shown(self.value(GALLERY, key, lambda: compute(self.lab(lab))))

    def many(self, lab, keys, compute, settings=""):
        """``Shown(list)``: ``compute(module)`` returns one value per key."""
        return Shown(list(self.value(GALLERY, keys, lambda: compute(self.lab(lab)))))

    def mean_iou(self):
        """(``mean_iou`` function, how messages name it) for scoring without the student's."""
        return reference_lab("segmentation").mean_iou, "the reference"


# -- the recorded gallery ------------------------------------------------------------------


@dataclasses.dataclass
class Gallery:
    """Recorded reference results.

    Attributes:
        entries: ``{result key: value}`` (arrays, tuples, lists, dicts, numbers, strings).
        images: ``{image digest: {"name": example file, "thumb": float32 thumbnail}}``.
        models: ``{classifier name: file fingerprint}`` of the models recorded.
    """

    entries: dict = dataclasses.field(default_factory=dict)
    images: dict = dataclasses.field(default_factory=dict)
    models: dict = dataclasses.field(default_factory=dict)
    #: what ``python -m grader.record --check`` records again to compare: ``{"models": [...], "max_filters": N}``
    settings: dict = dataclasses.field(default_factory=dict)

    def save(self, path):
        """Write the gallery as the recording (:mod:`cvlab_ch9.recording`) of the book ``gallery``; pictures as PNG."""
        meta = {"images": self.images, "models": self.models, "settings": self.settings}
        save_recording(path, Recording(GALLERY, dict(self.entries), meta))

    @classmethod
    def from_recording(cls, recording):
        meta = recording.meta
        return cls(entries=recording.values, images=dict(meta.get("images", {})), models=dict(meta.get("models", {})),
                   settings=dict(meta.get("settings", {})))

    @classmethod
    def load(cls, path):
        """The gallery at ``path``. Raises RecordingError when it is not one this version can read."""
        return cls.from_recording(load_recording(path, GALLERY))


class RecordedReference(RecordedSide):
    """The reference from a recorded :class:`Gallery` (the student kit); a sentence where nothing is recorded."""

    batch_size = 16

    def __init__(self, path=GALLERY_PATH):
        super().__init__(paths={GALLERY: path})
        self._gallery = None
        self._problem = ""

    @property
    def gallery(self):
        """The loaded gallery, or None when the file is missing or unreadable (:attr:`problem` says which)."""
        path = self.path(GALLERY)
        if self._gallery is None and path.is_file():
            try:
                self._gallery = Gallery.from_recording(self.recording(GALLERY))
            except RecordingError as exc:
                self._problem = (f"The recorded reference {path.name} cannot be read ({exc}), so the reference column "
                                 "stays empty; ask your instructor for a fresh kit (`python -m course kit`).")
                return None
        return self._gallery

    @property
    def problem(self):
        """Why there is no gallery, as a sentence: a file that cannot be read, or none at all."""
        return "" if self.gallery is not None else (self._problem or NO_GALLERY_NOTE)

    def image_key(self, picture):
        """The digest of ``picture``, or of the recorded example it is (decoded a level or two differently)."""
        digest = image_digest(picture)
        gallery = self.gallery
        if gallery is None or digest in gallery.images:
            return digest
        thumb = thumbnail(picture)
        for known, info in gallery.images.items():
            if tuple(info["shape"]) == tuple(np.shape(picture)) and float(np.abs(info["thumb"] - thumb).max()) <= THUMB_TOLERANCE:
                return known
        return digest

    def _why_missing(self, key, settings):
        gallery = self.gallery
        if gallery is None:
            return self.problem
        fields = json.loads(key)
        if "image" in fields and fields["image"] not in gallery.images:
            return PHOTO_NOTE
        if "model" in fields and gallery.models.get(fields["model"]) != fields.get("model_file"):
            names = ", ".join(gallery.models) or "none"
            return (f"No answer key in the kit: the reference is recorded for the demo models as shipped ({names}), "
                    "so for this model only your result is shown.")
        return f"No answer key in the kit: the reference is recorded {settings or 'with the default settings only'}."

    def one(self, lab, key, compute, settings=""):
        """``Shown(recorded value)``, or ``Shown(None, sentence)`` when it was not recorded (``compute`` is not used)."""
        if self.gallery is None:
            return Shown(None, self.problem)
        try:
            return Shown(self.value(GALLERY, key))
        except NotRecorded:
            return Shown(None, self._why_missing(key, settings))

    def many(self, lab, keys, compute, settings=""):
        """``Shown(values recorded for keys, in order; None where missing)`` with a sentence when any is missing."""
        gallery = self.gallery
        values = [gallery.entries.get(k) if gallery is not None else None for k in keys]
        missing = next((k for k, v in zip(keys, values) if v is None), None)
        return Shown(values, self._why_missing(missing, settings) if missing is not None else "")

    def mean_iou(self):
        return keras_mean_iou, "keras.metrics.MeanIoU"


class RecordingReference(LiveReference):
    """A :class:`LiveReference` that keeps every result it computes in a :class:`Gallery` (:mod:`cvlab_ch9.ui.gallery`)."""

    def __init__(self, live):
        super().__init__(live._grad_cam, live._filter_patterns, live.batch_size)
        self.gallery = Gallery()

    def image_key(self, picture, name=""):
        digest = image_digest(picture)
        self.gallery.images.setdefault(digest, {"name": name, "shape": list(np.shape(picture)), "thumb": thumbnail(picture)})
        return digest

    def _note_model(self, key):
        fields = json.loads(key)
        if "model" in fields:
            self.gallery.models[fields["model"]] = fields.get("model_file", "")

    def one(self, lab, key, compute, settings=""):
        shown = super().one(lab, key, compute, settings)
        self._note_model(key)
        self.gallery.entries[key] = shown.value
        return shown

    def many(self, lab, keys, compute, settings=""):
        shown = super().many(lab, keys, compute, settings)
        for key, value in zip(keys, shown.value):
            self._note_model(key)
            self.gallery.entries[key] = value
        return shown


def fast_patterns(extractor, indices, iterations, img_size, learning_rate=10.0, starts=None):
    """float32 (H, W, 3) patterns of ``indices`` by :mod:`cvlab_ch9.fastpaths`' batched ascent, started like :func:`generate_patterns`."""
    from cvlab_ch9.fastpaths import filter_ascent, start_images  # noqa: PLC0415 - imports TensorFlow

    indices = list(indices)
    starts = start_images(img_size, indices) if starts is None else np.asarray(starts, dtype="float32")
    return list(filter_ascent(extractor).patterns(indices, starts, iterations=iterations, learning_rate=learning_rate))


def fast_grad_cam(model, image, layer, class_index):
    """:func:`cvlab_ch9.fastpaths.grad_cam` (traced; equal to the reference within float rounding)."""
    from cvlab_ch9.fastpaths import grad_cam  # noqa: PLC0415 - imports TensorFlow

    return grad_cam(model, image, layer, class_index)


def fast_live_reference():
    """The live reference with the UI's fast paths: traced Grad-CAM, filters ascended FAST_BATCH at a time."""
    return LiveReference(grad_cam=fast_grad_cam, filter_patterns=fast_patterns, batch_size=FAST_BATCH)


# -- which one ---------------------------------------------------------------------------


def make_reference(kind="auto", gallery=GALLERY_PATH):
    """The provider for ``kind`` by the reference side's one rule: ``live``, ``recorded``, or ``auto`` (live where solutions/ exists).

    Raises:
        ValueError: (:class:`~cvlab_ch9.grader.reference.ReferenceChoiceError`) an unknown kind, or ``live`` without solutions/.
    """
    return choose_reference(kind, live=fast_live_reference, recorded=lambda: RecordedReference(gallery))


_current = []


def reference_side():
    """The provider in use: the one :func:`using_reference` set, else ``make_reference($CVLAB_UI_REFERENCE or auto)``."""
    if not _current:
        _current.append(make_reference(os.environ.get(REFERENCE_ENV, "auto") or "auto"))
    return _current[-1]


@contextlib.contextmanager
def using_reference(provider):
    """Use ``provider`` as the reference side inside the block (the recorder, tests)."""
    reference_side()
    _current.append(provider)
    try:
        yield provider
    finally:
        _current.remove(provider)


def set_reference(provider):
    """Use ``provider`` from now on (``python -m ui --reference``)."""
    _current[:] = [provider]

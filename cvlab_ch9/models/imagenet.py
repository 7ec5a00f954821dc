"""The book's pretrained model: Keras' ImageNet Xception, its class names, the elephant photo.

Offline by default: :func:`load_imagenet_xception` reads Keras' cache only
and never downloads; ``python -m cvlab_ch9.models download imagenet`` (or the
UI's Download button) fetches the files on request.

The files are the ones the book's code gets with ``keras.applications.
Xception(weights="imagenet")``, ``keras.applications.xception.
decode_predictions`` and ``keras.utils.get_file(fname="elephant.jpg", ...)``:
same URLs, same names in Keras' cache (``$KERAS_HOME`` or ``~/.keras``,
``models/`` and ``datasets/``) and the same md5 hashes. Once they are there,
the book's own code finds them and downloads nothing, and the other way
round.

They are fetched with :func:`cvlab_ch9.download.fetch` rather than
``keras.utils.get_file``: ``get_file`` has no timeout (a stalled server
hangs it forever), no resume and reports progress only to stdout, while the
UI needs a progress bar and every failure must end in a sentence.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cvlab_ch9.download import ConsoleProgress, DownloadError, fetch, md5_of, mirrored, os_error_message

#: The Grad-CAM layer of the book's Xception (chapter 9).
LAST_CONV_LAYER = "block14_sepconv2_act"
INPUT_SIZE = (299, 299)


@dataclass(frozen=True)
class KerasFile:
    """A file Keras downloads into its cache.

    Attributes:
        url: where Keras (or the book) downloads it from.
        fname: its name in the cache.
        cache_subdir: ``models`` or ``datasets`` (``keras.utils.get_file``'s argument).
        md5: the hash Keras checks (None: the book gives none).
        what: a short description for messages.
        size: about how big it is, for messages.
    """

    url: str
    fname: str
    cache_subdir: str
    md5: str | None
    what: str
    size: str


#: keras.applications.Xception(weights="imagenet", include_top=True)
XCEPTION_WEIGHTS = KerasFile(
    "https://storage.googleapis.com/tensorflow/keras-applications/xception/xception_weights_tf_dim_ordering_tf_kernels.h5",
    "xception_weights_tf_dim_ordering_tf_kernels.h5", "models", "0a58e3b7378bc2990ea3b43d5981f1f6",
    "the ImageNet Xception weights", "88 MB",
)
#: keras.applications.imagenet_utils.decode_predictions
CLASS_INDEX = KerasFile(
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
    "imagenet_class_index.json", "models", "c2c37ea517e94d9795004a39431a14cb",
    "the ImageNet class names", "35 kB",
)
#: the book's Grad-CAM photo: keras.utils.get_file(fname="elephant.jpg", origin=...)
ELEPHANT = KerasFile(
    "https://img-datasets.s3.amazonaws.com/elephant.jpg", "elephant.jpg", "datasets", None,
    "the book's elephant photo", "200 kB",
)
IMAGENET_FILES = (XCEPTION_WEIGHTS, CLASS_INDEX)


class ImageNetError(RuntimeError):
    """An ImageNet file is missing or could not be downloaded; the message says what to do."""


def keras_cache_dir() -> Path:
    """Keras' cache folder, as keras decides it: ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras``
    when the home folder is not writable). Read at call time, without importing Keras."""
    if os.environ.get("KERAS_HOME"):
        return Path(os.environ["KERAS_HOME"]).expanduser()
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def cache_path(file: KerasFile) -> Path:
    """Where ``file`` lies in Keras' cache (it may not exist)."""
    return keras_cache_dir() / file.cache_subdir / file.fname


_verified: dict[tuple, bool] = {}


def is_cached(file: KerasFile) -> bool:
    """True when ``file`` is in the cache with the right hash (the hash is checked once per version of the file)."""
    path = cache_path(file)
    try:
        stat = path.stat()
    except OSError:
        return False
    if file.md5 is None:
        return stat.st_size > 0
    key = (str(path), stat.st_size, stat.st_mtime_ns, file.md5)
    if key not in _verified:
        _verified[key] = md5_of(path) == file.md5
    return _verified[key]


def imagenet_cached() -> bool:
    """True when the Xception weights and the class names are both cached."""
    return all(is_cached(f) for f in IMAGENET_FILES)


def manual_steps(file: KerasFile) -> str:
    """How to get ``file`` by hand and where to put it (the end of every error sentence)."""
    return f"download {file.url} by hand (with a browser, for instance) and save it as {cache_path(file)}"


def fetch_keras_file(file: KerasFile, mirror=None, timeout=None, progress=None) -> Path:
    """``file`` from the cache, downloading it first when missing or damaged.

    Raises:
        ImageNetError: one sentence: what failed, how to download by hand, where to put it.
    """
    path = cache_path(file)
    if is_cached(file):
        return path
    try:
        fetch(mirrored(file.url, mirror), path, md5=file.md5, timeout=timeout, progress=progress)
    except DownloadError as exc:
        raise ImageNetError(f"{exc}, so {file.what} could not be downloaded: {manual_steps(file)}.") from exc
    return path


def download_imagenet(mirror=None, timeout=None, progress_factory=ConsoleProgress, log=print) -> list[Path]:
    """Fetch the Xception weights and the class names into Keras' cache (no-op when cached).

    Args:
        progress_factory: ``callable(label) -> progress(done, total)`` or None.

    Returns:
        the cached paths (weights, class index).
    """
    paths = []
    for file in IMAGENET_FILES:
        if is_cached(file):
            log(f"{file.what}: already in {cache_path(file)}")
        else:
            log(f"downloading {file.what} ({file.size}) to {cache_path(file)}")
        progress = progress_factory(file.fname) if progress_factory else None
        paths.append(fetch_keras_file(file, mirror, timeout, progress))
    return paths


def book_elephant(mirror=None, timeout=None, progress=None) -> Path:
    """The book's elephant photo (``~/.keras/datasets/elephant.jpg``), downloaded when missing."""
    return fetch_keras_file(ELEPHANT, mirror, timeout, progress)


def _missing(file: KerasFile) -> ImageNetError:
    return ImageNetError(
        f"{file.what[0].upper()}{file.what[1:]} are not in Keras' cache ({cache_path(file)}): run "
        "`python -m cvlab_ch9.models download imagenet` (or click Download in the UI), or "
        f"{manual_steps(file)}."
    )


def load_imagenet_xception():
    """``keras.applications.Xception`` with the cached ImageNet weights; never downloads.

    Returns:
        keras.Model: float32 (batch, 299, 299, 3) in -1..1
        (``keras.applications.xception.preprocess_input``) -> (batch, 1000) softmax.

    Raises:
        ImageNetError: the weights are not cached (the message says how to get them).
    """
    if not is_cached(XCEPTION_WEIGHTS):
        raise _missing(XCEPTION_WEIGHTS)
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    import keras  # noqa: PLC0415

    # the same file Xception(weights="imagenet") loads, passed as a path so Keras never downloads
    return keras.applications.Xception(weights=str(cache_path(XCEPTION_WEIGHTS)))


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet class names (``"African_elephant"``, ...) from the cached class index.

    Raises:
        ImageNetError: not cached.
    """
    if not is_cached(CLASS_INDEX):
        raise _missing(CLASS_INDEX)
    index = json.loads(cache_path(CLASS_INDEX).read_text(encoding="utf-8"))
    return [index[str(i)][1] for i in range(len(index))]


def decode_predictions(predictions, top=5) -> list[list[tuple[str, float]]]:
    """Like ``keras.applications.xception.decode_predictions`` (cache only): per image, the
    ``top`` (class name, probability) pairs, most likely first, for (N, 1000) ``predictions``."""
    import numpy as np  # noqa: PLC0415

    names = imagenet_class_names()
    predictions = np.asarray(predictions)
    return [[(names[i], float(row[i])) for i in np.argsort(row)[::-1][:top]] for row in predictions]


def download_command(mirror=None, timeout=None) -> int:
    """``python -m cvlab_ch9.models download imagenet``: fetch the model files and the elephant photo."""
    try:
        download_imagenet(mirror, timeout)
        elephant = book_elephant(mirror, timeout, ConsoleProgress(ELEPHANT.fname))
    except ImageNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        message = os_error_message(exc, keras_cache_dir())
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
    print(f"ImageNet Xception is ready in {keras_cache_dir() / 'models'}; the book's elephant photo is {elephant}")
    print("use it in the UI (model 'ImageNet Xception (the book's model)') or with cvlab_ch9.models.load_imagenet_xception()")
    return 0

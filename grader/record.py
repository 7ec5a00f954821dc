"""``python -m grader.record [--check] [--lab NAME | --book BOOK] [--out DIR]``: write or verify the reference's recordings.

One command for every recording of the reference side
(:mod:`cvlab_ch9.grader.reference`), all in one format, in one folder
(``grader/recordings/``):

- ``<lab>.rec``: the grader's expectations on the fixed draw, which
  students' checks compare with in place of ``solutions/`` (committed);
- ``gallery.rec``: the UI's reference results on the example images, which
  the kit's UI shows (about 17 MB, never committed: ``python -m course kit``
  records it into the kit). Its recorder, ``cvlab_ch9.ui.gallery``, runs in a
  child process (the UI is a layer above the grader).

Regenerate after changing ``solutions/``, a check's expectations or what the
UI shows; ``--check`` exits 1 when a recording no longer matches what
``solutions/`` produces (the drift tests run it; the gallery is checked
where one was recorded, with the settings it was recorded with).
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from cvlab_ch9.grader.expect import record_values
from cvlab_ch9.grader.harness.wire import Opaque
from cvlab_ch9.grader.reference import (
    BOOKS,
    GALLERY,
    RecordingError,
    load_recording,
    read_recording,
    recording_path,
    write_recording,
)
from cvlab_ch9.impl import LAB_NAMES
from cvlab_ch9.paths import REPO_ROOT

#: The gallery's tolerance: pictures may differ by a level, float results by float rounding of another run.
GALLERY_TOLERANCE = {"atol": 1e-3, "rtol": 1e-3, "levels": 1}


def differences(recorded, live, path="", atol=1e-5, rtol=1e-4, levels=0):
    """Where ``recorded`` and ``live`` differ (list of paths); float arrays within a tolerance, integer ones within ``levels``."""
    tolerance = {"atol": atol, "rtol": rtol, "levels": levels}
    if isinstance(live, np.ndarray) or isinstance(recorded, np.ndarray):
        if not (isinstance(live, np.ndarray) and isinstance(recorded, np.ndarray)):
            return [path or "value"]
        if live.shape != recorded.shape or live.dtype != recorded.dtype:
            return [f"{path} (shape or dtype)"]
        if live.dtype.kind in "fc":
            return [] if np.allclose(recorded, live, atol=atol, rtol=rtol, equal_nan=True) else [path]
        if live.dtype.kind in "iu" and levels:
            return [] if np.abs(recorded.astype("int64") - live.astype("int64")).max(initial=0) <= levels else [path]
        return [] if np.array_equal(recorded, live) else [path]
    if isinstance(live, dict) and isinstance(recorded, dict):
        if set(live) != set(recorded):
            return [f"{path} (keys)"]
        return [d for key in live for d in differences(recorded[key], live[key], f"{path}.{key}", **tolerance)]
    if isinstance(live, (list, tuple)) and isinstance(recorded, (list, tuple)):
        if len(live) != len(recorded) or type(live) is not type(recorded):
            return [f"{path} (length)"]
        return [d for i, (r, v) in enumerate(zip(recorded, live)) for d in differences(r, v, f"{path}[{i}]", **tolerance)]
    if isinstance(live, float) and isinstance(recorded, (int, float)):
        return [] if np.isclose(recorded, live, atol=atol, rtol=rtol) else [path]
    if isinstance(live, Opaque) or isinstance(recorded, Opaque):
        return [] if live == recorded else [path]
    return [] if recorded == live else [path]


def changed_keys(recorded, live, **tolerance):
    """Sorted keys that are in one of ``{key: value}`` ``recorded`` and ``live`` only, or differ."""
    changed = set(live) ^ set(recorded)
    changed |= {key for key in set(live) & set(recorded) if differences(recorded[key], live[key], **tolerance)}
    return sorted(changed)


def drift(lab, directory=None):
    """Names of ``lab``'s expectations whose recording differs from solutions/ (or is missing)."""
    live = record_values(lab)
    try:
        recorded = read_recording(lab, directory)
    except RecordingError:
        return sorted(live)
    return changed_keys(recorded, live)


def record_gallery(path, models=None, max_filters=None):
    """Record the UI's gallery to ``path`` from solutions/ (a child ``python -m cvlab_ch9.ui.gallery``); returns its output.

    Raises:
        RecordingError: the recorder failed (its last line says why).
    """
    command = [sys.executable, "-m", "cvlab_ch9.ui.gallery", "--out", str(path)]
    if models:
        command += ["--models", *models]
    if max_filters:
        command += ["--max-filters", str(max_filters)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, encoding="utf-8", errors="replace", check=False)
    if done.returncode != 0 or not Path(path).is_file():
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise RecordingError(f"Recording the UI's reference gallery failed ({last}); "
                             "run `python -m grader.record --book gallery` to see why.")
    return done.stdout


def gallery_drift(path):
    """Keys of the gallery at ``path`` that differ from what solutions/ gives now, recorded again with its own settings."""
    recorded = load_recording(path, GALLERY)
    settings = recorded.meta.get("settings", {})
    with tempfile.TemporaryDirectory(prefix="cvlab-gallery-check-") as tmp:
        fresh = Path(tmp) / path.name
        record_gallery(fresh, settings.get("models"), settings.get("max_filters"))
        live = load_recording(fresh, GALLERY)
    return changed_keys(recorded.values, live.values, **GALLERY_TOLERANCE)


def check_book(book, directory):
    """``(ok, sentence)`` about whether ``book``'s recording in ``directory`` matches solutions/."""
    if book == GALLERY:
        path = recording_path(GALLERY, directory)
        if not path.is_file():
            return True, f"{GALLERY}: not recorded in {path.parent} (python -m course kit records it into the kit)"
        changed = gallery_drift(path)
    else:
        changed = drift(book, directory)
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        return False, f"{book}: the recording differs from solutions/ in {shown}; run python -m grader.record --book {book}"
    return True, f"{book}: the recording matches solutions/"


def write_book(book, directory, models=None, max_filters=None):
    """Record ``book`` into ``directory`` from solutions/; returns a sentence saying where."""
    if book == GALLERY:
        path = recording_path(GALLERY, directory)
        output = record_gallery(path, models, max_filters)
        return output.strip().splitlines()[-1] if output.strip() else f"wrote {path}"
    return f"wrote {write_recording(book, record_values(book), directory)}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader.record", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a recording differs from solutions/")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--book", choices=BOOKS, help="only this recording (a lab's expectations, or the UI's gallery)")
    which.add_argument("--lab", choices=LAB_NAMES, dest="book", help="only this lab's expectations (same as --book LAB)")
    which.add_argument("--no-gallery", action="store_true", help="the labs' expectations only")
    parser.add_argument("--out", type=Path, default=None, help="the recordings folder (default: grader/recordings)")
    parser.add_argument("--models", nargs="*", help="gallery: demo models (default: all)")
    parser.add_argument("--max-filters", type=int, help="gallery: filters per layer (default: as many as the Filters tab offers)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    books = [args.book] if args.book else list(LAB_NAMES if args.no_gallery else BOOKS)
    if set(books) & set(LAB_NAMES):
        from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - the expectations need Keras; the gallery runs in a child

        import_tensorflow()
    status = 0
    for book in books:
        try:
            if args.check:
                ok, sentence = check_book(book, args.out)
                status |= not ok
            else:
                sentence = write_book(book, args.out, args.models, args.max_filters)
        except RecordingError as exc:
            status, sentence = 1, str(exc)
        print(sentence, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

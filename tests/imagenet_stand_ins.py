"""Stand-ins for Keras' ImageNet files, served under their real names by the loopback server.

Two kinds, both with a class index of 1000 made-up names in the real JSON
layout and a small elephant photo:

- :func:`build_stand_ins`: the weights are a seeded ``Xception(weights=None)``
  saved in the legacy HDF5 format Keras downloads (about 88 MB, the real
  architecture, random weights). Building it takes seconds and the file is
  big, so the tests get it from the session fixture ``imagenet_stand_ins``
  (tests/conftest.py), built once per run into a temporary folder; only the
  tests that load the model use it.
- :func:`small_stand_ins`: the weights are a few bytes that are not a model,
  for the tests of the download itself (hashes, cache, command line).

Their md5 hashes replace the real ones in :mod:`cvlab_ch9.models.imagenet` for the
test (:func:`use_stand_in_hashes`), so the real hash check runs on them.
"""

import dataclasses
import hashlib
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from cvlab_ch9.models import imagenet


@dataclasses.dataclass(frozen=True)
class StandIns:
    """The files to serve.

    Attributes:
        weights_path: the weights file on disk (read when served).
        weights_md5: its md5.
        class_index, elephant: the class index JSON and a JPEG, as bytes.
        probe_input: float32 (1, 299, 299, 3) in -1..1, or None for small stand-ins.
        probe: the stand-in model's output for ``probe_input`` (1, 1000), or None.
    """

    weights_path: Path
    weights_md5: str
    class_index: bytes
    elephant: bytes
    probe_input: np.ndarray | None = None
    probe: np.ndarray | None = None


def md5(payload: bytes) -> str:
    return hashlib.md5(payload, usedforsecurity=False).hexdigest()


def _class_index() -> bytes:
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    index["386"] = ["n02504458", "African_elephant"]
    return json.dumps(index).encode()


def _elephant() -> bytes:
    photo = io.BytesIO()
    Image.fromarray(np.full((64, 96, 3), 120, "uint8")).save(photo, "JPEG")
    return photo.getvalue()


def small_stand_ins(workdir: Path) -> StandIns:
    """Stand-ins whose weights file is a few bytes (hash-checked, not loadable)."""
    path = Path(workdir) / imagenet.XCEPTION_WEIGHTS.fname
    path.write_bytes(b"not an HDF5 file: a stand-in for the download tests\n")
    return StandIns(path, md5(path.read_bytes()), _class_index(), _elephant())


def build_stand_ins(workdir: Path) -> StandIns:
    """Stand-ins with a real (randomly initialised, seeded) Xception weights file in ``workdir``."""
    import h5py  # noqa: PLC0415 - TensorFlow and h5py only where the big stand-in is built
    import keras  # noqa: PLC0415
    from keras.src.legacy.saving import legacy_h5_format  # noqa: PLC0415

    keras.utils.set_random_seed(0)
    model = keras.applications.Xception(weights=None)
    path = Path(workdir) / imagenet.XCEPTION_WEIGHTS.fname
    with h5py.File(path, "w") as file:  # the format of the file Keras downloads
        legacy_h5_format.save_weights_to_hdf5_group(file, model)
    probe_input = np.random.default_rng(1).uniform(-1, 1, (1, 299, 299, 3)).astype("float32")
    return StandIns(
        weights_path=path,
        weights_md5=md5(path.read_bytes()),
        class_index=_class_index(),
        elephant=_elephant(),
        probe_input=probe_input,
        probe=np.asarray(model(probe_input, training=False)),
    )


def use_stand_in_hashes(monkeypatch, stand_ins: StandIns) -> None:
    """Make cvlab_ch9.models.imagenet expect the stand-ins' hashes instead of the real files' ones."""
    weights = dataclasses.replace(imagenet.XCEPTION_WEIGHTS, md5=stand_ins.weights_md5)
    class_index = dataclasses.replace(imagenet.CLASS_INDEX, md5=md5(stand_ins.class_index))
    monkeypatch.setattr(imagenet, "XCEPTION_WEIGHTS", weights)
    monkeypatch.setattr(imagenet, "CLASS_INDEX", class_index)
    monkeypatch.setattr(imagenet, "IMAGENET_FILES", (weights, class_index))


def serve_stand_ins(server, stand_ins: StandIns) -> None:
    """Put the stand-ins on ``server`` under the real URLs."""
    server.add(imagenet.XCEPTION_WEIGHTS.url, stand_ins.weights_path.read_bytes())
    server.add(imagenet.CLASS_INDEX.url, stand_ins.class_index)
    server.add(imagenet.ELEPHANT.url, stand_ins.elephant)

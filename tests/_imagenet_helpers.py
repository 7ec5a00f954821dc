"""Stand-ins for Keras' ImageNet files, served under their real names by the loopback server.

The weights are a seeded ``Xception(weights=None)`` saved in the legacy HDF5
format Keras downloads (about 88 MB, the real architecture, random weights);
the class index has 1000 made-up names in the real JSON layout. Their md5
hashes replace the real ones in :mod:`cvlab.imagenet` for the test, so the
real hash check runs on them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from cvlab import imagenet


@dataclasses.dataclass(frozen=True)
class StandIns:
    weights: bytes
    class_index: bytes
    elephant: bytes
    probe: np.ndarray  # the stand-in model's output for probe_input
    probe_input: np.ndarray


@functools.cache
def make_stand_ins() -> StandIns:
    """The stand-ins, built once per test process (building Xception takes seconds)."""
    with tempfile.TemporaryDirectory() as workdir:
        return _build_stand_ins(Path(workdir))


def _build_stand_ins(workdir: Path) -> StandIns:
    import h5py  # noqa: PLC0415
    import keras  # noqa: PLC0415
    from keras.src.legacy.saving import legacy_h5_format  # noqa: PLC0415

    keras.utils.set_random_seed(0)
    model = keras.applications.Xception(weights=None)
    path = workdir / imagenet.XCEPTION_WEIGHTS.fname
    with h5py.File(path, "w") as file:  # the format of the file Keras downloads
        legacy_h5_format.save_weights_to_hdf5_group(file, model)
    probe_input = np.random.default_rng(1).uniform(-1, 1, (1, 299, 299, 3)).astype("float32")
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    index["386"] = ["n02504458", "African_elephant"]
    photo = io.BytesIO()
    Image.fromarray(np.full((64, 96, 3), 120, "uint8")).save(photo, "JPEG")
    return StandIns(
        weights=path.read_bytes(),
        class_index=json.dumps(index).encode(),
        elephant=photo.getvalue(),
        probe=np.asarray(model(probe_input, training=False)),
        probe_input=probe_input,
    )


def md5(payload: bytes) -> str:
    return hashlib.md5(payload, usedforsecurity=False).hexdigest()


def use_stand_in_hashes(monkeypatch, stand_ins: StandIns) -> None:
    """Make cvlab.imagenet expect the stand-ins' hashes instead of the real files' ones."""
    weights = dataclasses.replace(imagenet.XCEPTION_WEIGHTS, md5=md5(stand_ins.weights))
    class_index = dataclasses.replace(imagenet.CLASS_INDEX, md5=md5(stand_ins.class_index))
    monkeypatch.setattr(imagenet, "XCEPTION_WEIGHTS", weights)
    monkeypatch.setattr(imagenet, "CLASS_INDEX", class_index)
    monkeypatch.setattr(imagenet, "IMAGENET_FILES", (weights, class_index))


def serve_stand_ins(server, stand_ins: StandIns) -> None:
    """Put the stand-ins on ``server`` under the real URLs."""
    server.add(imagenet.XCEPTION_WEIGHTS.url, stand_ins.weights)
    server.add(imagenet.CLASS_INDEX.url, stand_ins.class_index)
    server.add(imagenet.ELEPHANT.url, stand_ins.elephant)

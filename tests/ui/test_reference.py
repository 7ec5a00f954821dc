"""cvlab_ch9.ui.reference: the reference column's provider (live, recorded gallery) and the gallery file itself."""

import numpy as np
import pytest

from cvlab_ch9.ui.reference import (
    NO_GALLERY_NOTE,
    PHOTO_NOTE,
    Gallery,
    LiveReference,
    RecordedReference,
    image_digest,
    make_reference,
    result_key,
    thumbnail,
)

RNG = np.random.default_rng(0)
PICTURE = RNG.integers(0, 255, (48, 64, 3), dtype=np.uint8)
HEATMAP = RNG.random((6, 8)).astype("float32")


def _gallery(path):
    digest = image_digest(PICTURE)
    gallery = Gallery(
        entries={
            result_key("grad_cam", model="convnet", model_file="abc", image=digest, layer="conv5"): HEATMAP,
            result_key("overlay", image=digest): PICTURE,
            result_key("table", model="convnet", model_file="abc"): ([("conv1", (None, 8, 8, 4), 112)], {"total": 112}, "text", 3),
        },
        images={digest: {"name": "pet.jpg", "shape": list(PICTURE.shape), "thumb": thumbnail(PICTURE)}},
        models={"convnet": "abc"},
    )
    gallery.save(path)
    return digest


def test_a_saved_gallery_loads_back_equal_without_pickle(tmp_path):
    path = tmp_path / "gallery.rec"
    digest = _gallery(path)
    loaded = Gallery.load(path)
    grad_cam = result_key("grad_cam", model="convnet", model_file="abc", image=digest, layer="conv5")
    np.testing.assert_array_equal(loaded.entries[grad_cam], HEATMAP)
    assert loaded.entries[grad_cam].dtype == np.float32
    np.testing.assert_array_equal(loaded.entries[result_key("overlay", image=digest)], PICTURE)  # stored as PNG, lossless
    table = loaded.entries[result_key("table", model="convnet", model_file="abc")]
    assert table == ([("conv1", (None, 8, 8, 4), 112)], {"total": 112}, "text", 3)
    assert loaded.models == {"convnet": "abc"}
    assert b"pickle" not in path.read_bytes()[:200] and path.read_bytes().startswith(b"CVLABREC\n")  # the one recording format


def test_an_example_decoded_slightly_differently_is_the_same_key(tmp_path):
    path = tmp_path / "gallery.rec"
    digest = _gallery(path)
    provider = RecordedReference(path)
    nudged = np.clip(PICTURE.astype("int16") + RNG.integers(-2, 3, PICTURE.shape), 0, 255).astype(np.uint8)
    assert image_digest(nudged) != digest
    assert provider.image_key(nudged) == digest
    other = RNG.integers(0, 255, PICTURE.shape, dtype=np.uint8)
    assert provider.image_key(other) == image_digest(other)


def test_what_was_not_recorded_gets_a_sentence_saying_why(tmp_path):
    path = tmp_path / "gallery.rec"
    digest = _gallery(path)
    provider = RecordedReference(path)
    never = lambda lab: pytest.fail("the recorded side never computes")  # noqa: E731
    found = provider.one("interpretation", result_key("grad_cam", model="convnet", model_file="abc", image=digest, layer="conv5"), never)
    assert found.note == "" and np.array_equal(found.value, HEATMAP)
    photo = provider.one("interpretation", result_key("grad_cam", model="convnet", model_file="abc", image="0" * 24), never)
    assert photo.value is None and photo.note == PHOTO_NOTE
    retrained = provider.one("interpretation", result_key("grad_cam", model="convnet", model_file="new", image=digest), never)
    assert retrained.value is None and "demo models as shipped (convnet)" in retrained.note
    other_layer = provider.one("interpretation", result_key("grad_cam", model="convnet", model_file="abc", image=digest, layer="conv2"),
                               never, settings="for each model's last convolution layer")
    assert other_layer.note.endswith("recorded for each model's last convolution layer.")
    several = provider.many("interpretation", [result_key("overlay", image=digest), result_key("overlay", image="1" * 24)], never)
    assert several.value[0] is not None and several.value[1] is None and several.note == PHOTO_NOTE


def test_a_missing_or_broken_gallery_is_one_sentence(tmp_path):
    missing = RecordedReference(tmp_path / "none.rec").one("interpretation", result_key("grad_cam"), None)
    assert missing.value is None and missing.note == NO_GALLERY_NOTE
    broken = tmp_path / "broken.rec"
    broken.write_bytes(b"not a recording")
    shown = RecordedReference(broken).one("interpretation", result_key("grad_cam"), None)
    assert shown.value is None and shown.note.startswith("The recorded reference broken.rec cannot be read")
    assert "python -m course kit" in shown.note
    _gallery(broken)
    raw = bytearray(broken.read_bytes())
    raw[-20] ^= 0xFF  # one flipped bit of the payload: the manifest's SHA-256 no longer matches
    broken.write_bytes(bytes(raw))
    shown = RecordedReference(broken).one("interpretation", result_key("grad_cam"), None)
    assert shown.value is None and "damaged" in shown.note


def test_make_reference_chooses_live_where_solutions_exist_and_refuses_nonsense(tmp_path, monkeypatch):
    from cvlab_ch9.grader import reference as grader_reference  # noqa: PLC0415 - the one auto/live/recorded rule

    assert isinstance(make_reference("auto"), LiveReference)  # this checkout has solutions/
    assert isinstance(make_reference("recorded", gallery=tmp_path / "gallery.rec"), RecordedReference)
    with pytest.raises(ValueError, match="use one of: auto, live, recorded"):
        make_reference("remote")
    monkeypatch.setattr(grader_reference, "solutions_available", lambda: False)  # a student kit
    assert isinstance(make_reference("auto", gallery=tmp_path / "gallery.rec"), RecordedReference)
    with pytest.raises(ValueError, match="needs solutions/"):
        make_reference("live")

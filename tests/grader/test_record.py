"""The reference side's recordings (grader expectations, UI gallery) match what solutions/ produces; their format is checked."""

import numpy as np
import pytest

from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.grader.expect import RecordedReference, expectations_of
from cvlab_ch9.grader.record import differences, drift, gallery_drift
from cvlab_ch9.grader.reference import (
    GALLERY,
    RecordingError,
    load_recording,
    read_recording,
    save_recording,
    write_recording,
)
from cvlab_ch9.impl import LAB_NAMES


@pytest.mark.slow
@pytest.mark.parametrize("lab", LAB_NAMES)
def test_the_recordings_match_solutions(lab):
    assert drift(lab) == [], f"grader/recordings/{lab}.rec is out of date: run python -m grader.record --lab {lab}"


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_every_visible_expectation_is_recorded_and_no_hidden_one(lab):
    recorded = read_recording(lab)
    visible = {e.name for e in expectations_of(lab)}
    hidden = {e.name for e in expectations_of(lab, include_hidden=True)} - visible
    assert set(recorded) == visible
    assert not hidden & set(recorded)
    assert any(c.lab == lab for c in all_checks(include_hidden=False))


def test_differences_are_found_within_a_tolerance():
    a = {"x": np.ones(3, "float32"), "n": 2, "t": ("a", 1.0)}
    assert differences(a, {"x": np.ones(3, "float32") + 1e-7, "n": 2, "t": ("a", 1.0)}) == []
    assert differences(a, {"x": np.ones(3, "float32") * 2, "n": 2, "t": ("a", 1.0)}) == [".x"]
    assert differences(a, {"x": np.ones(4, "float32"), "n": 3, "t": ("a",)}) == [".x (shape or dtype)", ".n", ".t (length)"]


def test_missing_or_damaged_recordings_say_what_to_do(tmp_path):
    with pytest.raises(RecordingError, match="reinstall the lab kit"):
        RecordedReference(tmp_path).get("segmentation", "encoder")
    (tmp_path / "segmentation.rec").write_bytes(b"\x00" * 20)
    with pytest.raises(RecordingError, match="damaged"):
        RecordedReference(tmp_path).get("segmentation", "encoder")
    write_recording("segmentation", {"other": 1}, tmp_path)
    with pytest.raises(RecordingError, match="older than the checks"):
        RecordedReference(tmp_path).get("segmentation", "encoder")


def _nudged(value):
    """``value`` with its first float array changed by 1 (a copy), and whether one was found."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
        return value + 1, True
    if isinstance(value, (list, tuple)):
        items, found = list(value), False
        for i, item in enumerate(items):
            if not found:
                items[i], found = _nudged(item)
        return type(value)(items), found
    if isinstance(value, dict):
        out, found = dict(value), False
        for key, item in value.items():
            if not found:
                out[key], found = _nudged(item)
        return out, found
    return value, False


@pytest.mark.slow
def test_a_changed_expectation_is_drift(tmp_path):
    """The drift check compares values, not only names: one changed array of a copy of the recordings is found."""
    recorded = read_recording("segmentation")
    name = next(n for n in recorded if _nudged(recorded[n])[1])
    write_recording("segmentation", {**recorded, name: _nudged(recorded[name])[0]}, tmp_path)
    assert drift("segmentation", tmp_path) == [name]


@pytest.mark.slow
def test_the_ui_gallery_drifts_when_a_result_changes(small_gallery, tmp_path):
    """The UI's gallery, recorded again from solutions/ with its own settings: only the changed result differs (about 25 s)."""
    recording = load_recording(small_gallery, GALLERY)
    assert recording.meta["settings"] == {"models": ["convnet"], "max_filters": 2}
    key = next(k for k in recording.values if _nudged(recording.values[k])[1])
    recording.values[key] = _nudged(recording.values[key])[0]
    changed = save_recording(tmp_path / "gallery.rec", recording)
    assert gallery_drift(changed) == [key]


def test_a_recording_of_another_format_or_book_is_refused_in_one_sentence(tmp_path):
    path = write_recording("segmentation", {"encoder": np.arange(3.0)}, tmp_path)
    raw = path.read_bytes()
    (tmp_path / "architecture.rec").write_bytes(raw)  # segmentation's values under another lab's name
    with pytest.raises(RecordingError, match="records 'segmentation', not 'architecture'"):
        read_recording("architecture", tmp_path)
    path.write_bytes(raw.replace(b'"format": 3', b'"format": 4', 1))
    with pytest.raises(RecordingError, match="format 4, this version reads format 3.*python -m grader.record"):
        read_recording("segmentation", tmp_path)


def test_the_grader_and_the_ui_choose_their_reference_by_one_rule(monkeypatch):
    from cvlab_ch9.grader import reference  # noqa: PLC0415 - patched below
    from cvlab_ch9.grader.judge import GraderError, reference_provider  # noqa: PLC0415
    from cvlab_ch9.ui.reference import make_reference  # noqa: PLC0415 - the UI's side of the same rule

    assert reference_provider("auto").kind == make_reference("auto").kind == "live"  # this checkout has solutions/
    monkeypatch.setattr(reference, "solutions_available", lambda: False)  # a student kit
    assert reference_provider("auto").kind == make_reference("auto").kind == "recorded"
    with pytest.raises(GraderError, match="needs solutions/"):
        reference_provider("live")
    with pytest.raises(ValueError, match="needs solutions/"):
        make_reference("live")

"""The recordings students grade against match what solutions/ produces, and their format is checked."""

import numpy as np
import pytest

from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.grader.expect import RecordedReference, RecordingError, expectations_of, read_recording, write_recording
from cvlab_ch9.grader.record import differences, drift
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

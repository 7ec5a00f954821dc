"""Loading an implementation, and locating a student's line in a traceback."""

import pytest

from cvlab.impl import ImplementationError, deepest_frame_in, load_lab, not_implemented_target


def _raising_module(directory):
    (directory / "segmentation.py").write_text("def f():\n    return g()\n\n\ndef g():\n    raise ValueError('boom')\n")
    return load_lab("segmentation", directory)


def test_deepest_frame_is_found_through_a_symlinked_folder(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    module = _raising_module(tmp_path / "link")
    with pytest.raises(ValueError) as info:
        module.f()
    frame = deepest_frame_in(info.value, real / "segmentation.py")
    assert frame is not None and frame.lineno == 6 and "raise ValueError" in frame.line
    assert deepest_frame_in(info.value, tmp_path / "other.py") is None
    assert deepest_frame_in(info.value, None) is None


@pytest.mark.parametrize(
    "message, expected",
    [("segmentation.mean_iou", ("segmentation", "mean_iou")), (" lab.f ", ("lab", "f")), ("todo later", None), ("", None), ("a.b.c", None)],
)
def test_not_implemented_target(message, expected):
    assert not_implemented_target(NotImplementedError(message)) == expected


def test_fresh_module_every_load_and_clear_errors(tmp_path):
    (tmp_path / "segmentation.py").write_text("VALUE = 1\n")
    first = load_lab("segmentation", tmp_path)
    (tmp_path / "segmentation.py").write_text("VALUE = 2\n")
    assert (first.VALUE, load_lab("segmentation", tmp_path).VALUE) == (1, 2)
    (tmp_path / "segmentation.py").write_text("def broken(:\n")
    with pytest.raises(ImplementationError, match="syntax error on line 1"):
        load_lab("segmentation", tmp_path)
    with pytest.raises(ImplementationError, match="does not exist"):
        load_lab("architecture", tmp_path)

"""Loading an implementation, and the messages about it that the grader, notebooks and UI share."""

from types import SimpleNamespace

import pytest

from cvlab_ch9.impl import (
    SOURCE_NAMES,
    ImplementationError,
    MissingFunction,
    deepest_frame_in,
    display_path,
    load_lab,
    named_source,
    not_implemented_message,
    not_implemented_target,
    resolve_source,
    student_function,
    student_location,
)
from cvlab_ch9.paths import LABS_DIR, REPO_ROOT, SOLUTIONS_DIR


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
    [
        ("segmentation.mean_iou", ("segmentation", "mean_iou")),
        (" lab.f ", ("lab", "f")),
        ("todo later", None),
        ("", None),
        ("a.b.c", None),
    ],
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


def test_named_sources_are_the_two_folders_and_nothing_else(tmp_path):
    assert SOURCE_NAMES == ("labs", "solutions")
    assert (resolve_source("labs"), resolve_source("solutions")) == (LABS_DIR, SOLUTIONS_DIR)
    assert named_source("labs") == "labs" and named_source("labs/") is None and named_source(tmp_path) is None
    assert resolve_source(tmp_path) == tmp_path.resolve()


def test_display_path_is_relative_inside_the_repository_only(tmp_path):
    assert display_path(REPO_ROOT / "labs" / "segmentation.py") == "labs/segmentation.py"
    assert display_path(tmp_path / "segmentation.py") == str(tmp_path.resolve() / "segmentation.py")


def test_student_location_names_the_file_line_and_code(tmp_path):
    module = _raising_module(tmp_path)
    with pytest.raises(ValueError) as info:
        module.f()
    path = tmp_path / "segmentation.py"
    assert student_location(info.value, path) == " (segmentation.py, line 6: raise ValueError('boom'))"
    assert student_location(info.value, path, markdown=True) == " (segmentation.py, line 6: `raise ValueError('boom')`)"
    assert student_location(info.value, tmp_path / "other.py") == ""


def test_not_implemented_message_says_where_and_what_next():
    assert not_implemented_message("f", "labs/x.py") == "Not implemented yet: write f() in labs/x.py."
    assert not_implemented_message("f", "its answer cell", "Run it.") == "Not implemented yet: write f() in its answer cell. Run it."


def test_missing_function_names_the_file_and_fails_like_a_check(tmp_path):
    (tmp_path / "segmentation.py").write_text("VALUE = 1\n")
    module = load_lab("segmentation", tmp_path)
    with pytest.raises(MissingFunction, match=r"segmentation.py has no function named mean_iou\(\); keep the name"):
        student_function(module, "mean_iou")
    assert issubclass(MissingFunction, AssertionError)
    with pytest.raises(MissingFunction, match="your implementation has no function named VALUE"):
        student_function(SimpleNamespace(VALUE=1), "VALUE")
    assert student_function(SimpleNamespace(f=len), "f") is len

"""The one leak check (cvlab_ch9.leaks) finds each way the answer key could reach a student: planted leaks, in
every kind of artifact it reads (a folder, a zip, a wheel, a wheel inside a zip, a recorded gallery)."""

import io
import zipfile

import pytest

from course.kit import KitError, _check
from cvlab_ch9.leaks import Leak, find_leaks, installed_leaks, instructor_only, solution_bodies
from cvlab_ch9.paths import SOLUTIONS_DIR

WHEEL = "cvlab_ch9-0.2.0-py3-none-any.whl"


def _copied_body():
    """The start of the reference strided_downsampling, reindented and commented (formatting must not hide it)."""
    text = (SOLUTIONS_DIR / "segmentation.py").read_text()
    start = text.index("    for f in filters:")
    return "\n".join("        " + line.strip() + "   # copied" for line in text[start:].splitlines()[:5])


def _zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_every_exercise_has_a_body_to_look_for():
    assert len(solution_bodies()) >= 15  # every exercise of the three labs
    assert solution_bodies(None) == {}


def test_a_reformatted_copy_of_a_reference_body_is_found(tmp_path):
    (tmp_path / "notes.txt").write_text("def mine(x, filters):\n" + _copied_body() + "\n")
    assert find_leaks(tmp_path) == [Leak("notes.txt", "segmentation.strided_downsampling")]
    assert find_leaks(tmp_path, solutions_dir=None) == []  # without the answer key only paths and markers are checked


def test_a_recording_holding_reference_code_is_a_leak(tmp_path):
    """Recordings are deflated: the check reads them inflated, texts (the UI's gallery) and array bytes (an expectation)."""
    import numpy as np  # noqa: PLC0415 - only this test needs it

    from cvlab_ch9.grader.reference import write_recording  # noqa: PLC0415 - imports numpy only
    from cvlab_ch9.ui.reference import Gallery  # noqa: PLC0415 - imports numpy and PIL only

    text = (SOLUTIONS_DIR / "segmentation.py").read_text()
    start = text.index("    for f in filters:")
    snippet = text[start:start + 400]
    Gallery(entries={"note": snippet}).save(tmp_path / "gallery.rec")
    body = solution_bodies()["segmentation.strided_downsampling"].encode()  # without its comments, as code can be stored
    write_recording("segmentation", {"bytes": np.frombuffer(body, dtype=np.uint8)}, tmp_path)
    leaks = find_leaks(tmp_path)
    assert Leak("gallery.rec", "segmentation.strided_downsampling") in leaks
    assert Leak("segmentation.rec", "segmentation.strided_downsampling") in leaks
    assert snippet.encode() not in (tmp_path / "gallery.rec").read_bytes()  # deflated: only an inflating check finds it


def test_solution_markers_are_found_only_as_lines(tmp_path):
    (tmp_path / "source.py").write_text("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n")
    (tmp_path / "mentions.py").write_text('MARKER = "### BEGIN SOLUTION"  # the generator looks for it\n')
    (tmp_path / "hidden.ipynb").write_text('{"cells": [{"source": ["### BEGIN HIDDEN TESTS\\n", "check()\\n"]}]}')
    assert find_leaks(tmp_path, solutions_dir=None) == [Leak("hidden.ipynb", "a solution or hidden-test block"),
                                                       Leak("source.py", "a solution or hidden-test block")]


@pytest.mark.parametrize("path", ["solutions/segmentation.py", "solutions", "cvlab_ch9/grader/hidden",
                                  "kit/course/source/x.ipynb", "cvlab_ch9/grader/hidden/a.py",
                                  "grader/batch/cli.py", "cvlab_ch9/grader/record.py", "cvlab_ch9/fastpaths.py",
                                  "cvlab_ch9/ui/gallery.py", "tests/test_x.py"])
def test_instructor_only_paths(path):
    assert instructor_only(path)


@pytest.mark.parametrize("path", ["cvlab_ch9/grader/checks/segmentation.py", "labs/segmentation.py", "cvlab_ch9/ui/reference.py",
                                  "notebooks/segmentation.ipynb", "cvlab_ch9/grader/recordings/segmentation.rec"])
def test_student_paths(path):
    assert not instructor_only(path)


def test_a_wheel_inside_a_kit_zip_is_read_member_by_member(tmp_path):
    wheel = _zip_bytes({"cvlab_ch9/__init__.py": "", "cvlab_ch9/grader/hidden/segmentation.py": "x = 1\n",
                        "cvlab_ch9/notes.md": "```\n" + _copied_body() + "\n```\n", "solutions/__init__.py": "",
                        "cvlab_ch9-0.2.0.dist-info/METADATA": "Name: cvlab-ch9\n"})
    (tmp_path / "kit.zip").write_bytes(_zip_bytes({f"cvlab-kit/{WHEEL}": wheel, "cvlab-kit/labs/segmentation.py": "pass\n"}))
    inner = f"kit.zip!cvlab-kit/{WHEEL}"
    assert find_leaks(tmp_path / "kit.zip") == [
        Leak(inner, "the top-level name 'solutions' (a student wheel installs only cvlab_ch9)"),
        Leak(f"{inner}!cvlab_ch9/grader/hidden/segmentation.py", "an instructor-only file"),
        Leak(f"{inner}!cvlab_ch9/notes.md", "segmentation.strided_downsampling"),
        Leak(f"{inner}!solutions/__init__.py", "an instructor-only file"),
    ]


def test_the_checkout_itself_would_leak_but_not_a_clean_wheel(tmp_path):
    # installed_leaks() reads the cvlab_ch9 it is imported from: here the checkout's, which holds the fast paths
    assert Leak("cvlab_ch9/fastpaths.py", "an instructor-only file") in installed_leaks()
    (tmp_path / WHEEL).write_bytes(_zip_bytes({"cvlab_ch9/__init__.py": "", "cvlab_ch9-0.2.0.dist-info/RECORD": ""}))
    assert find_leaks(tmp_path / WHEEL) == []


def test_a_kit_step_that_finds_a_leak_removes_what_it_wrote(tmp_path):
    kit = tmp_path / "cvlab-kit"
    (kit / "notebooks").mkdir(parents=True)
    (kit / "notebooks" / "notes.md").write_text(_copied_body())
    expected = r"The student kit would hold the answer key \(segmentation.strided_downsampling in notebooks/notes.md\)"
    with pytest.raises(KitError, match=expected):
        _check(kit, "The student kit", [kit])
    assert not kit.exists()

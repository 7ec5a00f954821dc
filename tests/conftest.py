"""Fixtures shared by every test package: lab folders made from solutions/ (never the student's labs/),
the ImageNet stand-ins, and the student wheel (built once per run)."""

import pytest

from tests.imagenet_stand_ins import build_stand_ins, small_stand_ins
from tests.labs import skeleton_labs, solution_labs


@pytest.fixture(scope="session")
def skeletons(tmp_path_factory):
    """A labs folder with the fresh skeletons: nothing implemented, whatever ``labs/`` holds."""
    return skeleton_labs(tmp_path_factory.mktemp("skeletons"))


@pytest.fixture(scope="session")
def finished_labs(tmp_path_factory):
    """A labs folder holding copies of the reference solutions."""
    return solution_labs(tmp_path_factory.mktemp("finished"))


@pytest.fixture(scope="session")
def imagenet_stand_ins(tmp_path_factory):
    """Keras' ImageNet files with a real-architecture Xception weights file (about 88 MB, random
    seeded weights), built once per test run into a temporary folder; for the tests that load it."""
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - TensorFlow only for the tests that need the model

    import_tensorflow()
    return build_stand_ins(tmp_path_factory.mktemp("imagenet-stand-ins"))


@pytest.fixture(scope="session")
def small_imagenet_stand_ins(tmp_path_factory):
    """Keras' ImageNet files with a weights file of a few bytes (not a model), for the download tests."""
    return small_stand_ins(tmp_path_factory.mktemp("imagenet-small-stand-ins"))


#: The UI gallery recorded into the tests' student wheel, kept small (a real build records every demo model and filter).
SMALL_GALLERY = {"models": ["convnet"], "max_filters": 2}


@pytest.fixture(scope="session")
def small_gallery(tmp_path_factory):
    """The UI gallery (``gallery.rec``), recorded once per test run by the one record command's gallery step (about 25 s)."""
    from course.kit import record_gallery  # noqa: PLC0415 - only the slow tests need it

    return record_gallery(tmp_path_factory.mktemp("gallery") / "gallery.rec", log=lambda _: None, **SMALL_GALLERY)


@pytest.fixture(scope="session")
def student_wheel(tmp_path_factory, small_gallery):
    """The student wheel, built once per test run by the kit's own steps (a small recorded UI gallery, then
    ``pip wheel`` of a copy of the checkout, which setup.py leak-checks); about 30 s."""
    from course.kit import build_student_wheel  # noqa: PLC0415 - only the slow packaging tests need it

    folder = tmp_path_factory.mktemp("student-wheel")
    return build_student_wheel(folder / "dist", small_gallery, log=lambda _: None)

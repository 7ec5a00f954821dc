"""Fixtures shared by every test package: lab folders made from solutions/ (never the student's labs/),
and the ImageNet stand-ins."""

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

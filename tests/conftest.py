"""Fixtures shared by every test package: lab folders made from solutions/, never the student's labs/."""

import pytest

from tests.labs import skeleton_labs, solution_labs


@pytest.fixture(scope="session")
def skeletons(tmp_path_factory):
    """A labs folder with the fresh skeletons: nothing implemented, whatever ``labs/`` holds."""
    return skeleton_labs(tmp_path_factory.mktemp("skeletons"))


@pytest.fixture(scope="session")
def finished_labs(tmp_path_factory):
    """A labs folder holding copies of the reference solutions."""
    return solution_labs(tmp_path_factory.mktemp("finished"))

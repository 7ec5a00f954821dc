"""pytest wiring: ``pytest grader --impl labs|solutions|DIR [--lab NAME]``.

Each registered check becomes one test item in ``grader/test_checks.py``.
"""

import pytest

from cvlab_ch9.impl import LAB_NAMES


def pytest_addoption(parser):
    group = parser.getgroup("cvlab grader")
    group.addoption("--impl", default="labs", help="implementation to grade: labs, solutions or a directory")
    group.addoption("--lab", default=None, choices=LAB_NAMES, help="grade only this lab")


@pytest.fixture(scope="session")
def impl_source(request):
    """The ``--impl`` value."""
    return request.config.getoption("--impl")

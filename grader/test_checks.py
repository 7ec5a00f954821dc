"""Every grader check as a pytest test: ``pytest grader --impl labs``."""

import functools

import pytest

from cvlab.impl import load_lab
from grader.core import PASSED, all_checks, run_check


@functools.cache
def _student(lab, source):
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    return load_lab(lab, source)


def pytest_generate_tests(metafunc):
    if "chk" in metafunc.fixturenames:
        lab = metafunc.config.getoption("--lab")
        checks = all_checks(lab=lab)
        metafunc.parametrize("chk", checks, ids=[c.id for c in checks])


def test_check(chk, impl_source):
    student = _student(chk.lab, impl_source)
    result = run_check(chk, student)
    if result.status != PASSED:
        pytest.fail(f"[{result.status}] {result.title}: {result.message}", pytrace=False)

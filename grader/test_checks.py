"""Every visible grader check as a pytest test: ``pytest grader --impl labs``.

The checks run in this process on the recorded expectations, exactly as a
student's kit has them (no solutions/ needed).
"""

import functools

import pytest

from cvlab_ch9.grader.core import PASSED, all_checks, run_check
from cvlab_ch9.grader.expect import Expected, RecordedReference
from cvlab_ch9.grader.harness.local import LocalImplementation
from cvlab_ch9.impl import display_path, load_lab


@functools.cache
def _student(lab, source):
    from cvlab_ch9.impl import lab_path  # noqa: PLC0415
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    return LocalImplementation(load_lab(lab, source), display_file=display_path(lab_path(lab, source)))


def pytest_generate_tests(metafunc):
    if "chk" in metafunc.fixturenames:
        lab = metafunc.config.getoption("--lab")
        checks = all_checks(lab=lab, include_hidden=False)
        metafunc.parametrize("chk", checks, ids=[c.id for c in checks])


def test_check(chk, impl_source):
    try:
        student = _student(chk.lab, impl_source)
    except Exception as exc:  # noqa: BLE001 - the student's module cannot load: report it as the check's failure
        pytest.fail(f"[error] {chk.title}: {exc}", pytrace=False)
    result = run_check(chk, student, Expected(RecordedReference(), chk.lab))
    if result.status != PASSED:
        pytest.fail(f"[{result.status}] {result.title}: {result.message}", pytrace=False)

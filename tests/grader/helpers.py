"""Helpers shared by the grader tests: mutated copies of a solution, check results."""

from pathlib import Path

from cvlab.impl import load_lab
from cvlab.paths import SOLUTIONS_DIR
from grader.core import NOT_IMPLEMENTED, PASSED, all_checks, run_check


def solution_variant(lab, directory, *replacements):
    """``solutions/<lab>.py`` with each ``(old, new)`` replaced once, written to ``directory`` and loaded.

    Fails the test when an ``old`` anchor is missing (the solution changed: update the test).
    """
    text = (SOLUTIONS_DIR / f"{lab}.py").read_text()
    for old, new in replacements:
        assert old in text, f"mutation anchor not found in solutions/{lab}.py: {old!r}"
        text = text.replace(old, new, 1)
    (Path(directory) / f"{lab}.py").write_text(text)
    return load_lab(lab, directory)


def check_results(lab, student, exercise=None):
    """``{"<exercise>.<name>": CheckResult}`` for the lab's checks (of one exercise), run in this process."""
    return {c.id.split(".", 1)[1]: run_check(c, student) for c in all_checks(lab=lab, exercise=exercise)}


def assert_reference_passes(lab):
    """Every check of ``lab`` passes on ``solutions/`` with full points."""
    results = check_results(lab, load_lab(lab, "solutions"))
    failed = {k: r.message for k, r in results.items() if r.status != PASSED}
    assert not failed, failed
    assert sum(r.score for r in results.values()) == sum(c.points for c in all_checks(lab=lab))


def skeleton_results(lab, skeletons):
    """Check results of the fresh skeleton in ``skeletons``, after asserting all are "not implemented" and score 0."""
    results = check_results(lab, load_lab(lab, skeletons))
    assert {r.status for r in results.values()} == {NOT_IMPLEMENTED}
    assert sum(r.score for r in results.values()) == 0
    return results

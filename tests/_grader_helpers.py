"""Helpers shared by the grader tests: mutated copies of a solution, check results."""

from pathlib import Path

from cvlab.impl import load_lab
from cvlab.paths import SOLUTIONS_DIR
from grader.core import all_checks, run_check


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

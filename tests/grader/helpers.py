"""Helpers shared by the grader tests: mutated copies of a solution, check results.

Checks run here in this process (a :class:`LocalImplementation` of a loaded
variant, expectations recorded as students get them) or, for
:func:`remote_results`, through one real sandbox holding many variants, as
the judge grades them.
"""

from pathlib import Path

from cvlab_ch9.generate import skeleton_for
from cvlab_ch9.grader.core import NOT_IMPLEMENTED, PASSED, all_checks, run_check
from cvlab_ch9.grader.expect import Expected, LiveReference, RecordedReference
from cvlab_ch9.grader.harness.local import LocalImplementation
from cvlab_ch9.grader.judge import Limits
from cvlab_ch9.grader.remote import RemoteImplementation
from cvlab_ch9.grader.sandbox import Sandbox
from cvlab_ch9.impl import load_lab
from cvlab_ch9.paths import SOLUTIONS_DIR

RECORDED = RecordedReference()
LIVE = LiveReference()


def solution_text(lab, *replacements):
    """``solutions/<lab>.py`` with each ``(old, new)`` replaced once.

    Fails the test when an ``old`` anchor is missing (the solution changed: update the test).
    """
    text = (SOLUTIONS_DIR / f"{lab}.py").read_text()
    for old, new in replacements:
        assert old in text, f"mutation anchor not found in solutions/{lab}.py: {old!r}"
        text = text.replace(old, new, 1)
    return text


def load_text(lab, directory, text):
    """Write ``text`` as ``directory/<lab>.py`` and load it as a fresh module."""
    (Path(directory) / f"{lab}.py").write_text(text)
    return load_lab(lab, directory)


def solution_variant(lab, directory, *replacements):
    """The solution with each ``(old, new)`` replaced once, written to ``directory`` and loaded."""
    return load_text(lab, directory, solution_text(lab, *replacements))


def skeleton(lab, directory):
    """The generated skeleton of ``lab`` (as labs/ holds it when untouched), written to ``directory`` and loaded."""
    return load_text(lab, directory, skeleton_for(SOLUTIONS_DIR / f"{lab}.py"))


def local(module, lab):
    """A module as the checks see student code run in this process."""
    return LocalImplementation(module, display_file=f"labs/{lab}.py")


def check_results(lab, student, exercise=None, reference=RECORDED, include_hidden=True, names=None):
    """``{"<exercise>.<name>": CheckResult}`` for the lab's checks (of one exercise, or only ``names``), in this process.

    ``student`` is a loaded module; ``reference`` a provider (recorded by default, as in the kit) for the
    visible checks; hidden checks read the live one (see :func:`expected_for`).
    """
    impl = local(student, lab)
    return {
        c.id.split(".", 1)[1]: run_check(c, impl, expected_for(c, reference))
        for c in all_checks(lab=lab, exercise=exercise, include_hidden=include_hidden)
        if names is None or c.id.split(".", 1)[1] in names
    }


def expected_for(chk, reference):
    """The expectations ``chk`` reads: ``reference``'s, or the live ones for a hidden check.

    Hidden checks run only on the instructor's side, where the reference is live; their expectations
    (``@expectation(..., hidden=True)``) are never recorded.
    """
    return Expected(LIVE if chk.hidden else reference, chk.lab)


def failures(results):
    """``{name: message}`` of the results that did not pass."""
    return {k: r.message for k, r in results.items() if r.status != PASSED}


def assert_reference_passes(lab, tmp_path):
    """Every check of ``lab`` passes on ``solutions/`` with full points, recorded and live."""
    module = load_lab(lab, "solutions")
    for reference in (RECORDED, LIVE):
        results = check_results(lab, module, reference=reference)
        assert not failures(results), (reference.kind, failures(results))
        assert sum(r.score for r in results.values()) == sum(c.points for c in all_checks(lab=lab))


def skeleton_results(lab, tmp_path):
    """Check results of the generated skeleton, after asserting all are "not implemented" and score 0."""
    results = check_results(lab, skeleton(lab, tmp_path))
    assert {r.status for r in results.values()} == {NOT_IMPLEMENTED}, failures(results)
    assert sum(r.score for r in results.values()) == 0
    return results


def remote_results(lab, variants, reference=RECORDED, include_hidden=True, timeout_s=120.0, exercises=None, names=None):
    """Grade several variants of ``lab`` through one real sandbox.

    Args:
        variants: ``{alias: module text}``.
        exercises: ``{alias: exercise}`` to run only that exercise's checks on a variant (all by default).
        names: ``{alias: "<exercise>.<name>" check names}`` to grade only those for that alias (default: all).

    Returns:
        ``{alias: {"<exercise>.<name>": CheckResult}}``.
    """
    import time  # noqa: PLC0415

    files = {f"{alias}.py": text for alias, text in variants.items()}
    sandbox = Sandbox(lab, files, {"kind": "modules", "files": {alias: f"{alias}.py" for alias in variants}},
                      Limits().memory_gb)
    try:
        info = sandbox.wait_ready(timeout_s)
        assert info["problems"] is not None and not any(info["problems"].values()), info
        out = {}
        for alias in variants:
            impl = RemoteImplementation(sandbox, f"labs/{lab}.py", [variants[alias]], variant=alias)
            out[alias] = {}
            exercise = (exercises or {}).get(alias)
            for chk in all_checks(lab=lab, exercise=exercise, include_hidden=include_hidden):
                if names is not None and alias in names and chk.id.split(".", 1)[1] not in names[alias]:
                    continue
                sandbox.deadline = time.monotonic() + timeout_s
                out[alias][chk.id.split(".", 1)[1]] = run_check(chk, impl, expected_for(chk, reference))
        return out
    finally:
        sandbox.stop()

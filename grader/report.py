"""Render grading results as a table, JSON or a Gradescope results.json.

The instructor's judge passes ``isolation`` (a
:class:`~cvlab_ch9.grader.isolation.Isolation`): every format then says which
kernel layers confined the sandbox, and, where they do not protect the
grade, the one sentence that says so. Student feedback runs pass none.
"""

import dataclasses
import json

from cvlab_ch9.grader.core import NOT_IMPLEMENTED, PASSED


def totals(results):
    """(score, max_score) summed over results."""
    return sum(r.score for r in results), sum(r.max_score for r in results)


def fmt_points(x):
    """Points as short text: 2.0 -> "2", 0.5 -> "0.5"."""
    return f"{x:g}"


def status_word(status):
    """The report's mark for a status: "PASS", "TODO" (not implemented) or "FAIL"."""
    return {PASSED: "PASS", NOT_IMPLEMENTED: "TODO"}.get(status, "FAIL")


def isolation_line(isolation):
    """The report's line about the sandbox's confinement: the warning sentence, or the layers that held."""
    if isolation.warning:
        return f"WARNING: {isolation.warning}"
    return f"Sandbox confined by the kernel: {', '.join(isolation.layers)}" + (f", user {isolation.user}" if isolation.user else "") + "."


def to_table(results, isolation=None):
    """A plain-text table: one row per check, hints indented below failures (and the isolation line)."""
    lines = []
    width = max((len(r.id) for r in results), default=10)
    for r in results:
        points = f"{fmt_points(r.score)}/{fmt_points(r.max_score)}"
        lines.append(f"{status_word(r.status)}  {r.id:<{width}}  {points:>7}  {r.title}")
        if r.message:
            lines.extend(f"        {line}" for line in r.message.splitlines())
    score, max_score = totals(results)
    lines.append(f"Total: {fmt_points(score)}/{fmt_points(max_score)}")
    if isolation is not None:
        lines.append(isolation_line(isolation))
    return "\n".join(lines)


def to_json(results, isolation=None):
    """JSON with totals, one object per check and (instructor's side) ``"isolation"``: layers, warning."""
    score, max_score = totals(results)
    document = {"score": score, "max_score": max_score, "results": [dataclasses.asdict(r) for r in results]}
    if isolation is not None:
        document["isolation"] = isolation.as_dict()
    return json.dumps(document, indent=2)


def to_gradescope(results, hidden=(), hidden_visibility="hidden", isolation=None):
    """A Gradescope autograder ``results.json`` document.

    Args:
        results: CheckResults.
        hidden: ids of hidden checks; their tests get ``"visibility": hidden_visibility``
            (Gradescope's "after_published" shows them once grades are published).
        isolation: the judge's isolation: the layers go into ``extra_data`` (instructors only),
            the warning sentence, if any, into ``output``.
    """
    score, _ = totals(results)
    tests = []
    for r in results:
        test = {
            "name": f"{r.id}: {r.title}",
            "score": r.score,
            "max_score": r.max_score,
            "status": "passed" if r.status == PASSED else "failed",
            "output": r.message,
        }
        if r.id in hidden:
            test["visibility"] = hidden_visibility
        tests.append(test)
    document = {"score": score, "tests": tests}
    if isolation is not None:
        document["extra_data"] = {"isolation": isolation.as_dict()}
        if isolation.warning:
            document["output"] = isolation.warning
    return json.dumps(document, indent=2)


FORMATS = {"table": to_table, "json": to_json, "gradescope": to_gradescope}

"""Render grading results as a table, JSON or a Gradescope results.json."""

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


def to_table(results):
    """A plain-text table: one row per check, hints indented below failures."""
    lines = []
    width = max((len(r.id) for r in results), default=10)
    for r in results:
        points = f"{fmt_points(r.score)}/{fmt_points(r.max_score)}"
        lines.append(f"{status_word(r.status)}  {r.id:<{width}}  {points:>7}  {r.title}")
        if r.message:
            lines.extend(f"        {line}" for line in r.message.splitlines())
    score, max_score = totals(results)
    lines.append(f"Total: {fmt_points(score)}/{fmt_points(max_score)}")
    return "\n".join(lines)


def to_json(results):
    """JSON with totals and one object per check."""
    score, max_score = totals(results)
    return json.dumps(
        {"score": score, "max_score": max_score, "results": [dataclasses.asdict(r) for r in results]},
        indent=2,
    )


def to_gradescope(results, hidden=(), hidden_visibility="hidden"):
    """A Gradescope autograder ``results.json`` document.

    Args:
        results: CheckResults.
        hidden: ids of hidden checks; their tests get ``"visibility": hidden_visibility``
            (Gradescope's "after_published" shows them once grades are published).
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
    return json.dumps({"score": score, "tests": tests}, indent=2)


FORMATS = {"table": to_table, "json": to_json, "gradescope": to_gradescope}

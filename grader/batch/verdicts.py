"""Verdicts on disk, and the one writer that records them.

A verdict is a JSON document: the student, the lab, the hash of the code that
was graded, the fingerprint of the grader that graded it, and one result per
check. :class:`VerdictStore` decides where each verdict lives and writes it
atomically (a reader never sees half a file). Recording is idempotent: a
verdict for the same student, lab, code hash and grader is written once, so
a task that Dask ran twice (its first worker died) or a re-run of an
interrupted batch never counts a submission twice.
"""

import dataclasses
import json
import os
from pathlib import Path

from cvlab_ch9.grader.core import CheckResult

#: Verdict file format version.
VERDICT_FORMAT = 1


def verdict_document(lab, student, code_hash, fingerprint, results):
    """The verdict (a dict) of one graded submission."""
    return {
        "format": VERDICT_FORMAT, "lab": lab, "student": student, "code_hash": code_hash, "grader": fingerprint,
        "score": sum(r.score for r in results), "max_score": sum(r.max_score for r in results),
        "results": [dataclasses.asdict(r) for r in results],
    }


def write_json(path, document):
    """Write ``document`` to ``path`` atomically (a ``.part`` file renamed over it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(document, indent=1), encoding="utf-8")
    os.replace(partial, path)


def read_verdict(path):
    """The verdict document at ``path``, or None when there is none (or it is unreadable or of another format)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != VERDICT_FORMAT:
        return None
    return document


def verdict_results(document):
    """The CheckResults of a verdict document."""
    return [CheckResult(**r) for r in document["results"]]


class VerdictStore:
    """The single writer of verdicts.

    Args:
        path_of: ``path_of(lab, student) -> Path`` of that verdict's file.
        replace: record every outcome, even one the store has already (a forced regrade;
            the engine still hands over each task's result once).
    """

    def __init__(self, path_of, replace=False):
        self.path_of = path_of
        self.replace = replace

    def read(self, lab, student):
        return read_verdict(self.path_of(lab, student))

    def is_current(self, lab, student, code_hash, fingerprint):
        """True when the recorded verdict was made from this code by this grader."""
        document = self.read(lab, student)
        return document is not None and (document.get("code_hash"), document.get("grader")) == (code_hash, fingerprint)

    def record(self, outcome):
        """Record a :class:`cvlab_ch9.grader.batch.tasks.Outcome`; False when the same verdict was already recorded."""
        if not self.replace and self.is_current(outcome.lab, outcome.student, outcome.code_hash, outcome.grader):
            return False
        document = verdict_document(outcome.lab, outcome.student, outcome.code_hash, outcome.grader, outcome.results)
        write_json(self.path_of(outcome.lab, outcome.student), document)
        return True

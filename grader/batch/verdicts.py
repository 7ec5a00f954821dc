"""Verdicts on disk, and the one writer that records them.

A verdict is a JSON document: the student, the lab, the hash of the code that
was graded, the fingerprint of the grader that graded it, one result per
check, and how the worker's kernel confined the sandbox (``"isolation"``:
:func:`~cvlab_ch9.grader.batch.confinement.worker_isolation`; inside the
sealed bytes, so it cannot be changed unnoticed either; absent in verdicts of
older versions, which read as not protected). :class:`VerdictStore` decides where each verdict lives and writes it
atomically (a reader never sees half a file). Recording is idempotent: a
verdict for the same student, lab, code hash and grader is written once, so
a task that Dask ran twice (its first worker died) or a re-run of an
interrupted batch never counts a submission twice.

Every verdict written is sealed in the writer's :class:`~cvlab_ch9.grader.batch.ledger.Ledger`,
and every read checks the seal: a verdict changed on disk since it was
written reads as absent (and is listed in :attr:`VerdictStore.changed`), so
it is graded again and never reaches a report or a gradebook.
"""

import dataclasses
import json
import os
from pathlib import Path

from cvlab_ch9.grader.batch.confinement import is_protected
from cvlab_ch9.grader.core import CheckResult

#: Verdict file format version (2: sealed in the writer's ledger).
VERDICT_FORMAT = 2


def verdict_document(lab, student, code_hash, fingerprint, results, isolation=None):
    """The verdict (a dict) of one graded submission (``isolation``: its worker's, or None when it did not say)."""
    return {
        "format": VERDICT_FORMAT, "lab": lab, "student": student, "code_hash": code_hash, "grader": fingerprint,
        "score": sum(r.score for r in results), "max_score": sum(r.max_score for r in results),
        "results": [dataclasses.asdict(r) for r in results], "isolation": isolation,
    }


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (a ``.part`` file renamed over it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.unlink(missing_ok=True)  # a link left there must not be written through
    partial.write_bytes(data)
    os.replace(partial, path)


def write_json(path, document):
    """Write ``document`` to ``path`` atomically as JSON; returns the bytes written."""
    data = json.dumps(document, indent=1).encode("utf-8")
    write_bytes(path, data)
    return data


def parse_verdict(data):
    """The verdict document in ``data`` (bytes), or None when it is unreadable or of another format."""
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError:
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
        ledger: the :class:`~cvlab_ch9.grader.batch.ledger.Ledger` of the data folder.
        replace: record every outcome, even one the store has already (a forced regrade;
            the engine still hands over each task's result once).

    Attributes:
        changed: ``"<student>/<lab>"`` of the verdicts found changed on disk since they were written.
    """

    def __init__(self, path_of, ledger, replace=False):
        self.path_of = path_of
        self.ledger = ledger
        self.replace = replace
        self.changed = set()

    def read(self, lab, student):
        """The verdict of ``student`` for ``lab`` as its writer wrote it, or None (none, unreadable or changed)."""
        try:
            data = Path(self.path_of(lab, student)).read_bytes()
        except OSError:
            return None
        if not self.ledger.verify(f"{lab}/{student}", data):
            self.changed.add(f"{student}/{lab}")
            return None
        return parse_verdict(data)

    def is_current(self, lab, student, code_hash, fingerprint, protected=False):
        """True when the recorded verdict was made from this code by this grader (and, with ``protected``,
        on a worker whose kernel confined the sandbox: ``--require-isolation`` regrades the others)."""
        document = self.read(lab, student)
        return (document is not None and (document.get("code_hash"), document.get("grader")) == (code_hash, fingerprint)
                and (not protected or is_protected(document.get("isolation"))))

    def record(self, outcome):
        """Record a :class:`cvlab_ch9.grader.batch.tasks.Outcome`; False when the same verdict was already recorded."""
        if not self.replace and self.is_current(outcome.lab, outcome.student, outcome.code_hash, outcome.grader,
                                                protected=is_protected(outcome.isolation)):
            return False
        self.write(verdict_document(outcome.lab, outcome.student, outcome.code_hash, outcome.grader, outcome.results,
                                    outcome.isolation))
        return True

    def write(self, document):
        """Write a verdict document (of :func:`verdict_document`) and seal it in the ledger."""
        lab, student = document["lab"], document["student"]
        data = write_json(self.path_of(lab, student), document)
        self.ledger.seal(f"{lab}/{student}", data)
        self.changed.discard(f"{student}/{lab}")

"""Grade catalogue entries in this process and judge the verdicts: caught, named, collateral, full marks.

:func:`grade_lab` is the only function here that knows the grader's
internals (check registry, reference provider, in-process implementation);
when the grader's entry points change, only it needs updating. Everything
else reads its plain :class:`Outcome` records.
"""

import dataclasses
import functools
import re
import time
from pathlib import Path

from cvlab_ch9.grader.core import PASSED, all_checks, run_check
from cvlab_ch9.grader.expect import Expected, LiveReference
from cvlab_ch9.grader.harness.local import LocalImplementation
from cvlab_ch9.impl import ImplementationError, load_lab
from cvlab_ch9.paths import SOLUTIONS_DIR
from tools.mistakes.catalogue import Mistake, module_text


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One check's verdict on a submission, as plain data."""

    check_id: str
    exercise: str
    passed: bool
    score: float
    max_score: float
    message: str


@functools.cache
def _live_reference():
    """One reference for the whole run, so its expectations are computed once (instructor's side: hidden checks too)."""
    return LiveReference()


def grade_lab(lab, directory, include_hidden=True):
    """ADAPTER: the grader's verdict on ``directory/<lab>.py``, check by check, graded in this process.

    The fast path of the pytest plugin and the tests: the submission runs
    as a :class:`LocalImplementation` against the live reference from
    ``solutions/``, hidden checks included, as the instructor's judge grades.

    Returns:
        list of :class:`Outcome` in report order.

    Raises:
        ImplementationError: the module cannot be loaded at all.
    """
    impl = LocalImplementation(load_lab(lab, directory), display_file=f"labs/{lab}.py")
    outcomes = []
    for chk in all_checks(lab=lab, include_hidden=include_hidden):
        result = run_check(chk, impl, Expected(_live_reference(), lab))
        outcomes.append(Outcome(chk.id, chk.exercise, result.status == PASSED, result.score, result.max_score, result.message))
    return outcomes


# -- verdicts ------------------------------------------------------------------------------


@dataclasses.dataclass
class EntryResult:
    """What the grader made of one catalogue entry.

    Attributes:
        outcomes: every check of the entry's lab.
        error: why the entry's module could not be graded at all ("" normally).
        edge: the contract edge value that exposes a mistake ("" for ordinary ones and variants).
    """

    id: str
    kind: str
    lab: str
    function: str
    names: tuple
    outcomes: list
    error: str = ""
    seconds: float = 0.0
    edge: str = ""

    def lost(self, exercise):
        """Points the exercise lost (float)."""
        return sum(o.max_score - o.score for o in self.outcomes if o.exercise == exercise)

    @property
    def caught(self):
        """The entry's own exercise lost points."""
        return self.lost(self.function) > 0

    @property
    def hints(self):
        """Messages of the entry's exercise's failing checks, in report order."""
        return [o.message for o in self.outcomes if o.exercise == self.function and not o.passed]

    @property
    def hint(self):
        """The first failing message of the entry's exercise (what the student reads first), or ""."""
        return self.hints[0] if self.hints else ""

    @property
    def named(self):
        """The first hint matches every required expression."""
        return bool(self.hint) and matches(self.names, self.hint)

    @property
    def named_anywhere(self):
        """Some failing check of the exercise matches every required expression."""
        return any(matches(self.names, hint) for hint in self.hints)

    @property
    def collateral(self):
        """``{other exercise: points lost}`` for the lab's other exercises that lost points."""
        exercises = dict.fromkeys(o.exercise for o in self.outcomes)
        return {e: self.lost(e) for e in exercises if e != self.function and self.lost(e) > 0}

    @property
    def full_marks(self):
        return not self.error and all(o.passed for o in self.outcomes)

    @property
    def failing(self):
        """``{check id: message}`` of every failing check."""
        return {o.check_id: o.message for o in self.outcomes if not o.passed}


def matches(expressions, text):
    """True when every regular expression (case-insensitive) is found in ``text``."""
    return all(re.search(expression, text, flags=re.IGNORECASE) for expression in expressions)


def write_labs(entry, directory):
    """A labs folder for ``entry``: the reference modules, the entry's lab replaced by its code; returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for path in SOLUTIONS_DIR.glob("*.py"):
        (directory / path.name).write_text(path.read_text())
    (directory / f"{entry.lab}.py").write_text(module_text(entry))
    return directory


def evaluate(entry, directory, include_hidden=True):
    """Grade ``entry`` (a Mistake or Variant) in a labs folder made under ``directory``; return its :class:`EntryResult`."""
    kind = "mistake" if isinstance(entry, Mistake) else "variant"
    names = entry.names if kind == "mistake" else ()
    start = time.perf_counter()
    labs = write_labs(entry, Path(directory) / entry.id)
    try:
        outcomes, error = grade_lab(entry.lab, labs, include_hidden), ""
    except ImplementationError as exc:
        outcomes, error = [], str(exc)
    edge = entry.edge if kind == "mistake" else ""
    return EntryResult(entry.id, kind, entry.lab, entry.function, names, outcomes, error, time.perf_counter() - start, edge)

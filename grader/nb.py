"""Run grader checks from a notebook (the nbgrader test cells call this).

The notebook's own functions are checked: pass ``globals()`` and the check
finds ``trimap_to_classes`` & co. by name, exactly as ``python -m grader``
finds them in ``labs/<lab>.py``. The same registered checks run, in the
notebook's kernel, against the recorded expectations (the student's copy
has no solutions/; where solutions/ exists, the instructor's, they are
computed from it). This is feedback for the student: the score that counts
is computed by the instructor's judge from the notebook's answer cells
(``python -m course grade``), never from what runs in the kernel.

nbgrader gives 0 points to a graded cell that wrote anything to stderr, and
TensorFlow logs there. So the check runs inside
:func:`cvlab_ch9.quiet.stderr_silenced`; the report goes to stdout; a failure
raises :class:`CheckFailed` (an AssertionError) whose message is the hint.

Example (a test cell)::

    from cvlab_ch9.grader.nb import check
    check("segmentation.trimap_to_classes.mapping", globals())
"""

import functools
import os
import sys
import sysconfig

from cvlab_ch9.grader.core import NOT_IMPLEMENTED, PASSED, all_checks, get_check, run_check
from cvlab_ch9.grader.expect import Expected
from cvlab_ch9.grader.harness.local import LocalImplementation
from cvlab_ch9.grader.report import fmt_points, status_word
from cvlab_ch9.impl import not_implemented_message

NOTEBOOK_FILE = "this notebook"
#: What a notebook user does about an exercise that is not written yet.
NOT_IMPLEMENTED_NEXT = (
    "It (or a function it calls) still raises NotImplementedError: replace that line with your code, "
    "run the cell, then run this check again."
)


class CheckFailed(AssertionError):
    """A check did not pass; the message says what to change."""


def notebook_message(result):
    """The result's hint, with "not implemented" phrased for a notebook."""
    if result.status == NOT_IMPLEMENTED:
        return not_implemented_message(result.exercise, "its answer cell", NOT_IMPLEMENTED_NEXT)
    return result.message


def run(check_id, namespace):
    """Run one check against the functions in ``namespace``; return its CheckResult.

    Args:
        check_id: ``"<lab>.<exercise>.<name>"`` of a registered check.
        namespace: a mapping of names to the student's objects, usually
            the notebook's ``globals()``.

    Stderr (fd 2 and ``sys.stderr``) is silenced while the check runs.
    """
    from cvlab_ch9.quiet import import_tensorflow, stderr_silenced  # noqa: PLC0415

    try:
        chk = get_check(check_id)
    except KeyError:
        raise CheckFailed(
            f"This notebook runs check {check_id!r}, which the grader does not have (any more). "
            "Ask for the current version of the notebook (instructors: `python -m course release`)."
        ) from None
    import_tensorflow()
    student = notebook_implementation(namespace)
    with stderr_silenced():
        return run_check(chk, student, Expected(_provider(), chk.lab))


@functools.cache
def _provider():
    from cvlab_ch9.grader.judge import reference_provider  # noqa: PLC0415

    return reference_provider("auto")


def _installed_roots():
    roots = {sys.prefix, sys.base_prefix, *(p for p in sysconfig.get_paths().values() if p)}
    project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return tuple(os.path.realpath(r) for r in roots | {project})


def is_cell_file(filename):
    """True for a traceback frame in a notebook cell (not in Python, its packages or the project)."""
    if filename.startswith("<"):
        return not filename.startswith("<frozen")
    real = os.path.realpath(filename)
    return not any(real == root or real.startswith(root + os.sep) for root in _installed_roots())


def notebook_implementation(namespace):
    """The notebook's functions (``globals()``) behind the checks' Implementation interface."""
    return LocalImplementation(
        {str(k): v for k, v in dict(namespace).items()}, display_file=NOTEBOOK_FILE, is_student_file=is_cell_file,
    )


def report_line(result, message):
    """One line per result (two with a hint): ``PASS 2/2 <title>``."""
    line = f"{status_word(result.status)}  {fmt_points(result.score)}/{fmt_points(result.max_score)}  {result.title}"
    return line + (f"\n      {message}" if message else "")


def check(check_id, namespace):
    """Run one check, print a short report; raise CheckFailed unless it passed.

    Returns None so that nbgrader never mistakes a return value for a
    partial score.
    """
    __tracebackhide__ = True  # IPython and pytest hide this frame
    result = run(check_id, namespace)
    message = notebook_message(result)
    print(report_line(result, message))
    if result.status != PASSED:
        raise CheckFailed(f"[{result.status}] {message}") from None


def check_exercise(lab, exercise, namespace):
    """Run every visible check of one exercise; print a report; raise if any failed."""
    __tracebackhide__ = True
    results = []
    for chk in all_checks(lab=lab, exercise=exercise, include_hidden=False):
        result = run(chk.id, namespace)
        results.append(result)
        print(report_line(result, notebook_message(result)))
    failed = [r for r in results if r.status != PASSED]
    if not results:
        raise CheckFailed(f"No checks exist for {lab}.{exercise}; check the names.")
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(results)} checks of {exercise}() did not pass (see above).")

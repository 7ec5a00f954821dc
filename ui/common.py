"""Shared plumbing for the UI's event functions.

* :func:`resolve_labs_dir` turns the "labs directory" textbox into a source
  for :func:`cvlab_ch9.impl.load_lab` (``"labs"``, ``"solutions"``, a path, or
  ``"notebook"``: the notebook attached by :func:`cvlab_ch9.ui.notebook.show_lab`, a
  :class:`cvlab_ch9.impl.NamespaceSource`).
* :func:`run_student` executes the student's module afresh (or reads the
  notebook's functions as they are now) and calls one of its functions;
  every failure becomes a friendly :class:`Outcome` message instead of an
  exception, so the reference side of a tab still renders.
* The reference side is :func:`cvlab_ch9.ui.reference.reference_side`.
"""

import contextlib
import dataclasses
import sys
from pathlib import Path

import gradio as gr

from cvlab_ch9.impl import (
    ImplementationError,
    MissingFunction,
    NamespaceSource,
    display_path,
    lab_files_text,
    load_lab,
    named_source,
    not_implemented_message,
    not_implemented_target,
    resolve_source,
    source_problem,
    student_function,
    student_location,
)
from cvlab_ch9.paths import work_dir

DEFAULT_LABS_DIR = "labs"
#: The "labs directory" text meaning the notebook that opened the UI (:func:`attach_notebook`).
NOTEBOOK = "notebook"
_attached = []


def user_error(message):
    """A ``gr.Error`` shown to the user as a toast that stays until closed (no traceback, no server error)."""
    return gr.Error(message, duration=None, print_exception=False)


def attach_notebook(source):
    """Make ``source`` (a NamespaceSource over a notebook's globals) what the labs directory ``notebook`` means."""
    _attached[:] = [source]


def attached_notebook():
    """The NamespaceSource attached by :func:`attach_notebook`, or None."""
    return _attached[0] if _attached else None


def resolve_labs_dir(text):
    """Source for ``load_lab`` from the "labs directory" textbox.

    Args:
        text: ``"labs"``, ``"solutions"`` (a trailing slash is fine), an
            absolute path, a path relative to the checkout (the working folder for an installed copy), or
            ``"notebook"`` (the attached notebook). Empty means ``labs``.
            A NamespaceSource is returned as it is.

    Returns:
        str | Path | NamespaceSource: ``"labs"``, ``"solutions"``, an
        existing directory or the attached notebook.

    Raises:
        gr.Error: the folder does not exist, is a file, cannot be read or
            holds none of the lab modules (see :func:`cvlab_ch9.impl.source_problem`),
            or ``notebook`` without an attached notebook.
    """
    if isinstance(text, NamespaceSource):
        return text
    text = ("" if text is None else str(text)).strip() or DEFAULT_LABS_DIR
    if text == NOTEBOOK:
        if attached_notebook() is None:
            raise user_error(
                "No notebook is attached: `notebook` means the notebook that opened this UI with show_lab(globals()); "
                "type labs or the path of a folder holding your lab modules."
            )
        return attached_notebook()
    name = named_source(text.rstrip("/\\"))
    if name:
        return name
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # "~nosuchuser"
        path = Path(text)
    if not path.is_absolute():
        path = work_dir() / path
    problem = source_problem(path, text if len(text) <= 80 else text[:79] + "…", what="labs directory")
    if problem:
        modules = "them" if lab_files_text() in problem else lab_files_text()
        raise user_error(
            f"{problem.rstrip('.')}; type labs (your code), solutions (the reference) or the path of a folder holding {modules}."
        )
    return path


def describe_source(source):
    """Short human name of a source, e.g. ``labs/``, ``/tmp/x/`` (see :func:`cvlab_ch9.impl.display_path`) or ``this notebook``."""
    if isinstance(source, NamespaceSource):
        return source.name
    return f"{display_path(resolve_source(source))}/"


def describe_lab(source, lab):
    """Where ``lab``'s code is, for messages: ``labs/segmentation.py`` or ``this notebook``."""
    if isinstance(source, NamespaceSource):
        return source.name
    return f"{describe_source(source)}{lab}.py"


@contextlib.contextmanager
def fresh_lab(lab, source):
    """Execute ``<source>/<lab>.py`` afresh (a notebook: its functions as they are now); drop it from ``sys.modules`` afterwards.

    Every click loads the current file (hot reload); removing the module
    afterwards lets it, and what it cached, be garbage-collected.
    """
    module = load_lab(lab, source)
    try:
        yield module
    finally:
        if sys.modules.get(module.__name__) is module:
            del sys.modules[module.__name__]


@dataclasses.dataclass
class Outcome:
    """Result of calling student code: ``value`` on success, else ``message``.

    ``kind`` is "ok", "not implemented", "missing", "import error" or "error".
    """

    value: object = None
    message: str = ""
    kind: str = "ok"

    @property
    def ok(self):
        return self.kind == "ok"

    def markdown(self, success=""):
        """Status line for a gr.Markdown: ``success`` when ok, else the message."""
        if self.ok:
            return success
        icon = "✎" if self.kind == "not implemented" else "⚠"
        return f"{icon} {self.message}"


#: What a UI user does about an exercise that is not written yet (where the reference column shows a result).
NOT_IMPLEMENTED_NEXT = "The reference result is shown on the right."


def notebook_missing_message(function, source):
    """The sentence for a function a notebook's kernel does not have: its answer cell was not run (or renamed)."""
    return (f"{source.name} has no {function}() in its kernel yet: run its answer cell (a restarted kernel has forgotten "
            "every cell run before), and keep the name the skeleton gives it.")


def outcome_from_exception(exc, lab, function, source, then=NOT_IMPLEMENTED_NEXT):
    """The Outcome (with a message saying what to do) for an exception from student code.

    ``then`` follows "Not implemented yet: write f() in …" (what the page shows meanwhile; "" where no
    reference result is shown).
    """
    if isinstance(exc, ImplementationError):
        return Outcome(message=str(exc), kind="import error")
    if isinstance(exc, NotImplementedError):
        # the skeleton raises NotImplementedError("<lab>.<function>")
        lab, function = not_implemented_target(exc) or (lab, function)
        where = source.where if isinstance(source, NamespaceSource) else describe_lab(source, lab)
        return Outcome(message=not_implemented_message(function, where, then), kind="not implemented")
    if isinstance(exc, MissingFunction):
        if isinstance(source, NamespaceSource):
            return Outcome(message=notebook_missing_message(function, source), kind="missing")
        return Outcome(message=str(exc), kind="missing")
    if isinstance(exc, StudentResultError):
        return Outcome(message=str(exc), kind="error")
    if isinstance(source, NamespaceSource):
        location = source.location(exc, markdown=True)
    else:
        location = student_location(exc, resolve_source(source) / f"{lab}.py", markdown=True)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return Outcome(
        message=f"Your {function}() raised {type(exc).__name__}" + (f": {detail}" if detail else "") + location,
        kind="error",
    )


def missing_function(module, function, lab, source):
    """An Outcome when ``module`` has no callable ``function``, else None."""
    try:
        student_function(module, function)
    except MissingFunction as exc:
        return outcome_from_exception(exc, lab, function, source)
    return None


def run_student(lab, source, function, call, then=NOT_IMPLEMENTED_NEXT):
    """Load the student's lab afresh and run ``call(module)``.

    Args:
        lab: lab module name, e.g. ``"interpretation"``.
        source: as returned by :func:`resolve_labs_dir`.
        function: the exercise being run, named in messages.
        call: ``call(module) -> value``; it uses the module's functions.
        then: what a not-implemented sentence ends with ("" where no reference result is shown).

    Returns:
        Outcome: ``value`` from ``call``, or a message saying what to do.
    """
    try:
        with fresh_lab(lab, source) as module:
            missing = missing_function(module, function, lab, source)
            if missing is not None:
                return missing
            return Outcome(value=call(module))
    except gr.Error:
        raise
    except Exception as exc:  # noqa: BLE001 - student code may raise anything: show it, keep serving
        return outcome_from_exception(exc, lab, function, source, then)


class StudentResultError(Exception):
    """Student code returned something the UI cannot show; the message says what."""


def expect_array(value, function, ndim=None, what="an array"):
    """``np.asarray(value)`` or StudentResultError when it is not ``ndim``-D numeric."""
    import numpy as np  # noqa: PLC0415 - numpy is cheap; keep the top light

    if value is None:
        raise StudentResultError(f"{function}() returned None; did you forget a `return`?")
    try:
        array = np.asarray(value)
    except Exception as exc:  # a tensor-like that cannot be converted
        raise StudentResultError(f"{function}() returned {type(value).__name__}, which is not {what}.") from exc
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise StudentResultError(f"{function}() returned {type(value).__name__} of {array.dtype}; expected {what}.")
    if ndim is not None and array.ndim != ndim:
        raise StudentResultError(f"{function}() returned shape {array.shape}; expected {what}.")
    return array


class student_module:  # noqa: N801 - used like a function in `with`
    """Context manager over :func:`fresh_lab` that never raises for student problems.

    ``with student_module(lab, source, ("f", "g")) as (module, failure):``
    gives ``(module, None)`` when the file imports and defines every named
    function, else ``(module or None, Outcome)`` with the message to show
    (``then``: see :func:`outcome_from_exception`).
    """

    def __init__(self, lab, source, functions, then=NOT_IMPLEMENTED_NEXT):
        self.lab, self.source, self.functions, self.then = lab, source, tuple(functions), then
        self._context = None

    def __enter__(self):
        try:
            self._context = fresh_lab(self.lab, self.source)
            module = self._context.__enter__()
        except Exception as exc:  # noqa: BLE001 - import problems become a message
            self._context = None
            return None, outcome_from_exception(exc, self.lab, self.functions[0], self.source, self.then)
        for function in self.functions:
            missing = missing_function(module, function, self.lab, self.source)
            if missing is not None:
                return module, missing
        return module, None

    def __exit__(self, *exc_info):
        if self._context is not None:
            return self._context.__exit__(*exc_info)
        return False

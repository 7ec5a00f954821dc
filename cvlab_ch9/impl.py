"""Load a lab implementation: the student's ``labs/``, the reference
``solutions/``, any directory holding the same module files, or a mapping
of names to functions (:class:`NamespaceSource`: a notebook's ``globals()``).

Every call executes the file afresh (or reads the mapping as it is then), so
an edited ``labs/*.py`` or a re-run notebook cell is picked up without
restarting the UI or the grader.

The messages about a student's implementation that the grader, the
notebooks and the UI all show are written here once: where a file is
(:func:`display_path`), which line of it raised (:func:`student_location`),
an exercise not written yet (:func:`not_implemented_message`) and a
function that is missing (:func:`student_function`).
"""

import functools
import importlib.util
import itertools
import os
import re
import sys
import traceback
import types
from pathlib import Path

from cvlab_ch9.paths import SOLUTIONS_DIR, labs_dir, work_dir

LAB_NAMES = ("segmentation", "architecture", "interpretation")
#: The sources with a name: the student's labs (the checkout's, or the working folder's in an installed copy)
#: and the reference (only in the instructor's checkout).
_NAMED_DIRS = {"labs": labs_dir, "solutions": lambda: SOLUTIONS_DIR}
SOURCE_NAMES = tuple(_NAMED_DIRS)
_counter = itertools.count()


class ImplementationError(Exception):
    """The implementation file is missing or cannot be imported."""


def named_source(source):
    """``source`` when it is one of :data:`SOURCE_NAMES` (``"labs"``, ``"solutions"``), else None."""
    return source if isinstance(source, str) and source in SOURCE_NAMES else None


def resolve_source(source="labs"):
    """Directory for ``source``: ``"labs"``, ``"solutions"`` or a path."""
    name = named_source(source)
    return _NAMED_DIRS[name]() if name else Path(source).expanduser().resolve()


def lab_path(lab, source="labs"):
    """Path of ``<lab>.py`` inside ``source`` (it may not exist)."""
    return resolve_source(source) / f"{lab}.py"


def lab_files_text():
    """``"segmentation.py, architecture.py and interpretation.py"``: the modules a labs folder holds."""
    files = [f"{lab}.py" for lab in LAB_NAMES]
    return f"{', '.join(files[:-1])} and {files[-1]}"


def source_problem(path, shown_as=None, what="folder"):
    """Why the folder ``path`` cannot be a source of lab modules, as a sentence; None when it can.

    Args:
        path: the folder (Path or str).
        shown_as: how the sentence quotes it (default: ``str(path)``).
        what: how the sentence calls it, e.g. ``"labs directory"``.

    Returns:
        None, or a sentence: it does not exist, is a file, cannot be read
        (permission denied for this process, as ``os.access`` says), or holds
        none of the lab modules.
    """
    path = Path(path)
    subject = f"The {what} {shown_as or str(path)!r}"
    unreadable = f"{subject} cannot be read (permission denied): make it readable (chmod u+rx) or use another folder."
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except PermissionError:  # a folder on the way may not be entered
        return unreadable
    except (OSError, ValueError):  # a NUL byte, a name too long for the file system
        return f"{subject} is not a folder path."
    if not exists:
        return f"{subject} does not exist."
    if not is_dir:
        if path.name in {f"{lab}.py" for lab in LAB_NAMES}:
            return f"{subject} is a file, not a folder: use the folder that holds it, {str(path.parent)!r}."
        return f"{subject} is a file, not a folder."
    if not os.access(path, os.R_OK | os.X_OK):
        return unreadable
    if not any((path / f"{lab}.py").is_file() for lab in LAB_NAMES):
        return f"{subject} holds none of the lab modules ({lab_files_text()})."
    return None


#: Attribute of a module made from a NamespaceSource: how messages name where it came from.
DISPLAY_ATTR = "__cvlab_display__"


class NamespaceSource:
    """A lab implementation held in a mapping of names to objects, e.g. a notebook's ``globals()``.

    The mapping is kept, not copied: :func:`load_lab` reads it as it is at
    that moment, so a function redefined since is the one used.

    Args:
        namespace: the mapping (usually the notebook's ``globals()``).
        name: how messages name it, e.g. ``"this notebook"``.
        where: where a not-implemented message says to write a function,
            e.g. ``"its answer cell in this notebook and run it"``.
        is_student_file: ``f(filename) -> bool`` for the traceback frames of
            the namespace's own code (notebook cells); default: none.
        frame_label: ``f(filename) -> str`` naming such a frame in messages
            (``"cell In[5]"``); default: the file's base name.
    """

    def __init__(self, namespace, name="your namespace", where=None, is_student_file=None, frame_label=None):
        self.namespace = namespace
        self.name = name
        self.where = where or name
        self.is_student_file = is_student_file or (lambda filename: False)
        self.frame_label = frame_label or (lambda filename: Path(filename).name)

    def snapshot(self, lab):
        """A new module holding the mapping's current names (dunder names left out); not put in ``sys.modules``."""
        module = types.ModuleType(f"_cvlab_namespace_{lab}_{next(_counter)}")
        items = list(dict(self.namespace).items())
        module.__dict__.update({k: v for k, v in items if isinstance(k, str) and not (k.startswith("__") and k.endswith("__"))})
        setattr(module, DISPLAY_ATTR, self.name)
        return module

    def location(self, exc, markdown=False):
        """``" (cell In[5], line 3: code)"`` for the deepest frame of ``exc`` in the namespace's code; "" when none."""
        frame = deepest_frame_where(exc, self.is_student_file)
        return "" if frame is None else _location_text(self.frame_label(frame.filename), frame, markdown)


def load_lab(lab, source="labs"):
    """Execute ``<source>/<lab>.py`` as a fresh module and return it.

    A :class:`NamespaceSource` gives a module holding its mapping's current
    names instead (nothing is executed).

    Raises:
        ImplementationError: the file is missing, has a syntax error or
            raises while being imported; the message says where and what
            to do.
    """
    if isinstance(source, NamespaceSource):
        return source.snapshot(lab)
    path = lab_path(lab, source)
    if not path.is_file():
        raise ImplementationError(
            f"{path} does not exist. Expected one module per lab ({', '.join(LAB_NAMES)}); "
            "copy the skeleton from labs/ if you deleted it."
        )
    if not os.access(path, os.R_OK):
        raise ImplementationError(f"{path} cannot be read (permission denied): make it readable (chmod u+r) and run again.")
    name = f"_cvlab_impl_{lab}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise ImplementationError(
            f"{path.name} has a syntax error on line {exc.lineno}: {exc.msg}. Fix it and run again."
        ) from exc
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ImplementationError(
            f"importing {path.name} raised {type(exc).__name__}: {exc}. "
            "Keep module-level code to imports and definitions."
        ) from exc
    return module


@functools.cache
def reference_lab(lab):
    """The reference module ``solutions/<lab>.py``, executed once per process.

    The one cache of the reference shared by the grader's checks, the UI and
    the training and demo-model code (its per-model caches live as long as
    the process).
    """
    return load_lab(lab, "solutions")


def display_path(path):
    """``path`` as messages show it: relative to the checkout (or the working folder of an installed copy), else absolute."""
    path, base = Path(path).resolve(), work_dir().resolve()
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def deepest_frame_where(exc, is_student_file):
    """The deepest traceback frame of ``exc`` whose file name satisfies ``is_student_file``, or None."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if is_student_file(frame.filename):
            return frame
    return None


def deepest_frame_in(exc, path):
    """The deepest traceback frame of ``exc`` inside the file ``path``, or None.

    Used to point at the line of a student's file that raised.
    """
    if not path:
        return None
    target = Path(path).resolve()
    return deepest_frame_where(exc, lambda filename: Path(filename).resolve() == target)


def _location_text(label, frame, markdown):
    code = f"`{frame.line}`" if markdown else frame.line
    return f" ({label}, line {frame.lineno}: {code})"


def student_location(exc, path, markdown=False):
    """``" (file.py, line N: code)"`` for the deepest frame of ``exc`` in ``path``; "" when there is none.

    Args:
        markdown: quote the code as Markdown (for the UI's status lines).
    """
    frame = deepest_frame_in(exc, path)
    return "" if frame is None else _location_text(Path(frame.filename).name, frame, markdown)


_TARGET_RE = re.compile(r"(\w+)\.(\w+)")


def not_implemented_target(exc):
    """``(lab, function)`` from the skeletons' ``NotImplementedError("<lab>.<function>")``, else None."""
    match = _TARGET_RE.fullmatch(str(exc).strip())
    return match.groups() if match else None


def not_implemented_message(function, where, then=""):
    """``"Not implemented yet: write f() in <where>."`` followed by ``then`` (what to do next), if any."""
    return f"Not implemented yet: write {function}() in {where}." + (f" {then}" if then else "")


class MissingFunction(AssertionError):
    """The implementation has no function of that name (an AssertionError, so a check fails with it)."""


def module_display(module):
    """Where ``module`` came from, for messages: its file (see :func:`display_path`), the name of
    the :class:`NamespaceSource` it was made from, or "your implementation"."""
    where = getattr(module, "__file__", None)
    return display_path(where) if where else getattr(module, DISPLAY_ATTR, None) or "your implementation"


def student_function(module, name):
    """``getattr(module, name)`` when it is callable.

    Raises:
        MissingFunction: there is no such function; the message names the
            file and says to keep the skeleton's name.
    """
    func = getattr(module, name, None)
    if func is None or not callable(func):
        raise MissingFunction(f"{module_display(module)} has no function named {name}(); keep the name from the skeleton.")
    return func

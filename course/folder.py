"""Where a course's working data lives: a folder the instructor names, never the code.

    python -m course --course DIR release|grade      # or CVLAB_COURSE_DIR=DIR

The default, in a checkout, is ``<checkout>/course_data/`` (ignored by git).
An installed copy has no default: the instructor names a folder of their
own. A folder inside the code's ``course/`` package or inside the Python
installation (site-packages) is refused with a sentence: data written there
would be lost with an upgrade, or shipped with the code.

The folder holds ``nbgrader_config.py`` (written by ``release`` from the
template ``course/nbgrader_config.py`` when missing), ``source/``,
``release/``, ``submitted/``, ``autograded/``, ``feedback/``, ``verdicts/``,
``exports/``, ``gradebook.db`` and ``.cvlab/`` (the key and ledger of the
verdicts, :mod:`cvlab_ch9.grader.batch.ledger`).
"""

import os
import shutil
import sysconfig
from pathlib import Path

from course.notebooks import COURSE_DIR
from cvlab_ch9.paths import REPO_ROOT, is_checkout

COURSE_ENV = "CVLAB_COURSE_DIR"
DEFAULT_NAME = "course_data"
CONFIG_NAME = "nbgrader_config.py"
#: What earlier versions wrote into the code's course/ folder.
OLD_DATA = ("gradebook.db", "submitted", "autograded", "feedback", "exports", "verdicts", "release")


class CourseError(RuntimeError):
    """A course step cannot run or failed; the message says what to do (and carries the end of nbgrader's log)."""


def default_course_dir():
    """``<checkout>/course_data``, or None in an installed copy."""
    return REPO_ROOT / DEFAULT_NAME if is_checkout() else None


def _inside(path, root):
    root = Path(root).resolve()
    return path == root or root in path.parents


def placement_problem(path):
    """None when ``path`` may hold course data, else the sentence that says why not and what to do."""
    path = Path(path).resolve()
    if _inside(path, COURSE_DIR):
        return (f"{path} is inside the course code ({COURSE_DIR}); keep the course's data in a folder of its own: "
                f"pass --course DIR (or set {COURSE_ENV}).")
    for key in ("purelib", "platlib"):
        library = sysconfig.get_paths().get(key)
        if library and _inside(path, library):
            return (f"{path} is inside the Python installation ({library}); keep the course's data in a folder of "
                    f"your own: pass --course DIR (or set {COURSE_ENV}).")
    return None


def course_folder(value=None):
    """The course folder: ``value``, else ``$CVLAB_COURSE_DIR``, else the checkout's ``course_data/`` (resolved).

    Raises:
        CourseError: none can be chosen (an installed copy), or the folder is inside the code or the installation.
    """
    chosen = value or os.environ.get(COURSE_ENV) or default_course_dir()
    if chosen is None:
        raise CourseError(f"Name the course folder with --course DIR (or set {COURSE_ENV}): an installed cvlab keeps no "
                          "course data of its own.")
    path = Path(chosen).expanduser().resolve()
    problem = placement_problem(path)
    if problem:
        raise CourseError(problem)
    return path


def old_data_hint(course_dir):
    """A sentence when an earlier version's data sits in the code's course/ folder and ``course_dir`` has none, else ''."""
    found = [name for name in OLD_DATA if (COURSE_DIR / name).exists()]
    if not found or (Path(course_dir) / "gradebook.db").exists():
        return ""
    names = " ".join(f"course/{name}" for name in found)
    return f" Course data of an earlier version is in {COURSE_DIR}: move it with `mv {names} {course_dir}/`."


def ensure_config(course_dir):
    """Write ``nbgrader_config.py`` into ``course_dir`` from the template when it has none; returns the folder."""
    course_dir = Path(course_dir)
    course_dir.mkdir(parents=True, exist_ok=True)
    config = course_dir / CONFIG_NAME
    if not config.is_file():
        shutil.copy2(COURSE_DIR / CONFIG_NAME, config)
    return course_dir

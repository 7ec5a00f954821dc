"""Create the checkout's ``.venv`` and install pyproject.toml's dependencies for a role into it, on any OS.

Roles (:data:`ROLES`) name the lists of pyproject.toml: ``student`` is
the default dependencies plus the ``cpu`` extra (TensorFlow); ``instructor``
adds the ``jupyter`` and ``instructor`` extras (nbgrader, Dask);
``dev`` adds the ``dev`` extra (the test suite). The checkout's code is
used in place: only the dependencies are installed, never the checkout
itself (``pip install .`` builds the student wheel, without the answer key).

:func:`setup` is idempotent: a second run only asks the environment's
Python whether every requirement is met (about a second) and runs pip only
when something is missing or outside its range. A TensorFlow requirement
counts as met by any TensorFlow distribution in range (``tensorflow`` where
the list names ``tensorflow-cpu``): installing a second one breaks both.
Uses only the standard library and parses on old Pythons (see
:mod:`cvlab_ch9.platforms`).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.platforms import PYTHONS, TENSORFLOW_DISTRIBUTIONS, platform_problem, python_problem

VENV_DIR = REPO_ROOT / ".venv"
PYPROJECT = REPO_ROOT / "pyproject.toml"
#: Role -> the extras of pyproject.toml installed with the default dependencies.
ROLES = {
    "student": ("cpu",),
    "instructor": ("cpu", "jupyter", "instructor"),
    "dev": ("cpu", "jupyter", "instructor", "dev"),
}

# Run by the environment's Python with the requirements as a JSON list: prints that Python's version and
# the requirements it does not meet (markers evaluated there) as JSON.
_UNMET = """
import json, sys
version = "%d.%d" % sys.version_info[:2]
if sys.version_info < (3, 11):
    print(json.dumps({"python": version, "unmet": []}))
    sys.exit()
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
TENSORFLOW = __TENSORFLOW__


def versions(name):
    names = TENSORFLOW if name in TENSORFLOW else (name,)
    found = []
    for candidate in names:
        try:
            found.append(metadata.version(candidate))
        except metadata.PackageNotFoundError:
            pass
    return found


unmet = []
for line in json.loads(sys.argv[1]):
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate():
        continue
    name = req.name.lower().replace("_", "-")
    if not any(req.specifier.contains(v, prereleases=True) for v in versions(name)):
        unmet.append(line)
print(json.dumps({"python": version, "unmet": unmet}))
""".replace("__TENSORFLOW__", repr(TENSORFLOW_DISTRIBUTIONS))


class SetupError(RuntimeError):
    """Setting up the environment failed; the message says what to do."""


def venv_python(venv_dir=VENV_DIR, windows=None):
    """The Python of a virtual environment: ``bin/python``, or ``Scripts\\python.exe`` on Windows.

    Args:
        windows: lay out for Windows; default: this OS.
    """
    windows = os.name == "nt" if windows is None else windows
    venv_dir = Path(venv_dir)
    return venv_dir / "Scripts" / "python.exe" if windows else venv_dir / "bin" / "python"


def requirements(pyproject=PYPROJECT, extras=()):
    """The ``[project] dependencies`` of ``pyproject`` and those of ``extras``, markers included, without repeats."""
    import tomllib  # noqa: PLC0415 - Python 3.11+; the version check runs first

    with open(pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += [line for line in project["optional-dependencies"][extra] if line not in lines]
    return lines


def role_requirements(role, pyproject=PYPROJECT):
    """The requirements of a role of :data:`ROLES` (``student``, ``instructor`` or ``dev``)."""
    return requirements(pyproject, ROLES[role])


def _run(command, failure):
    """Run ``command``; raise SetupError(``failure``) when it fails."""
    try:
        done = subprocess.run(command, check=False)
    except OSError as exc:
        raise SetupError(f"{failure} ({exc})") from exc
    if done.returncode != 0:
        raise SetupError(failure)
    return done


def create_venv(venv_dir, log=print):
    """Make ``venv_dir`` with this interpreter and upgrade its pip."""
    log(f"cvlab: creating {venv_dir} with Python {sys.version.split()[0]} ({sys.executable})")
    hint = " On Debian or Ubuntu install the venv module first: sudo apt install python3-venv." if sys.platform == "linux" else ""
    _run([sys.executable, "-m", "venv", str(venv_dir)], f"Python could not create {venv_dir}.{hint}")
    _run(
        [str(venv_python(venv_dir)), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        "Upgrading pip in the new environment failed (its message is above); check the internet connection and run the same command again.",
    )


def check_environment(python, reqs):
    """What ``python``'s environment lacks of the requirement lines ``reqs``.

    Returns:
        dict: ``python`` (its ``"X.Y"`` version) and ``unmet`` (the lines not
        installed or outside their range; empty for a Python older than 3.11).
    """
    done = subprocess.run([str(python), "-c", _UNMET, json.dumps(list(reqs))], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SetupError(f"{python} does not run ({last}); delete the .venv folder and run the same command again.")
    return json.loads(done.stdout)


def install(python, reqs, log=print):
    """``pip install`` ``reqs`` into the environment of ``python``."""
    log(f"cvlab: installing {len(reqs)} package(s) into {Path(python).parent.parent} (the first time takes a few minutes)")
    hint = ""
    if os.name == "nt":
        hint = (" If pip mentions long paths, enable Windows long path support "
                "(https://pip.pypa.io/warnings/enable-long-paths) or move the lab to a short folder such as C:\\cvlab.")
    _run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *reqs],
        "Installing the packages failed (pip's message is above); check the internet connection and run the same "
        f"command again: what is already installed is kept.{hint}",
    )


def setup(venv_dir=VENV_DIR, log=print, role="student"):
    """Make sure ``venv_dir`` exists and meets every requirement of ``role`` (:data:`ROLES`); return its Python.

    An existing environment is kept (whichever Python runs this); a new one
    is made with this interpreter.

    Raises:
        SetupError: this computer or Python cannot run cvlab, or creating or
            installing failed; the message is one sentence saying what to do.
    """
    reason = platform_problem()
    if reason is not None:
        raise SetupError(reason)
    venv_dir = Path(venv_dir)
    python = venv_python(venv_dir)
    if not python.exists():
        reason = python_problem()
        if reason is not None:
            raise SetupError(reason)
        create_venv(venv_dir, log)
    reqs = role_requirements(role)
    state = check_environment(python, reqs)
    version = state["python"]
    if version not in PYTHONS:
        raise SetupError(
            f"{venv_dir} was made with Python {version}, which cvlab does not support; delete that folder and run "
            f"the same command again with Python {' / '.join(PYTHONS)}."
        )
    if state["unmet"]:
        # the whole list (less a TensorFlow that another distribution already provides): pip then resolves
        # every range together, not only the missing ones
        tensorflow_met = not any(_name(line) in TENSORFLOW_DISTRIBUTIONS for line in state["unmet"])
        install(python, [line for line in reqs if not (tensorflow_met and _name(line) in TENSORFLOW_DISTRIBUTIONS)], log)
    return python


def _name(requirement):
    """The canonical distribution name at the start of a requirement line."""
    head = requirement.split(";")[0].strip()
    for stop in "<>=!~[ ":
        head = head.split(stop)[0]
    return head.lower().replace("_", "-")

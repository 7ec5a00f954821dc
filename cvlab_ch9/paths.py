"""Where the lab's files are: in the instructor's checkout, or in an installed copy (the student wheel).

Two layouts:

- **a checkout** (it has ``pyproject.toml`` beside this package): ``labs/``,
  ``solutions/`` and the generated data (``data/``) are folders of the
  checkout, whatever the working folder is;
- **an installed copy** (``pip install cvlab-ch9``, in ``site-packages``):
  the student's labs are the working folder's ``labs/`` (or a folder the
  student names), there is no ``solutions/``, and generated data goes to
  ``~/.cache/cvlab``.

What ships with the package (the demo models, the example images, the photo
textures) is package data, found with :mod:`importlib.resources`
(:func:`package_data`). ``$CVLAB_DATA_DIR`` overrides the data folder (read
when this module is imported). Standard library only: the launcher imports
this module before any environment exists.
"""

import importlib
import importlib.resources
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The checkout's root; for an installed copy, the ``site-packages`` folder holding the package.
REPO_ROOT = PACKAGE_DIR.parent
#: The checkout's labs/ (the generated skeletons; :func:`labs_dir` is the student's labs wherever they are).
LABS_DIR = REPO_ROOT / "labs"
SOLUTIONS_DIR = REPO_ROOT / "solutions"
DATA_ENV = "CVLAB_DATA_DIR"


class PackageDataError(RuntimeError):
    """Package data that is not a folder on disk (a zipped install); the message says what to do."""


def package_data(package, *parts):
    """The folder or file ``parts`` inside ``package`` (a dotted name), as a :class:`~pathlib.Path` on disk.

    Read through :func:`importlib.resources.files`, so it is the package's
    own data wherever the package is imported from (a checkout, a wheel
    installed by pip, an editable install).

    Raises:
        PackageDataError: the package is not unpacked on disk (imported from
            a zip file), where Keras and Pillow cannot open its files.
    """
    if not hasattr(importlib.resources, "files"):  # Python < 3.9: the launcher only says which Python to install
        return Path(importlib.import_module(package).__file__).parent.joinpath(*parts)
    resource = importlib.resources.files(package).joinpath(*parts)
    if isinstance(resource, Path):
        return resource
    raise PackageDataError(
        f"{package} is imported from {resource} inside an archive; install it with pip (unpacked) to use its data files."
    )


def is_checkout(root=REPO_ROOT):
    """True when ``root`` is a source checkout (it has ``pyproject.toml``), not ``site-packages``."""
    return (Path(root) / "pyproject.toml").is_file()


def work_dir(root=REPO_ROOT):
    """The folder relative paths mean: the checkout's root in a checkout, else the current working folder."""
    return Path(root) if is_checkout(root) else Path.cwd()


def labs_dir(root=REPO_ROOT):
    """The student's ``labs/``: the checkout's in a checkout, else ``labs/`` in the current working folder."""
    return work_dir(root) / "labs"


def data_dir(root=REPO_ROOT):
    """Folder for generated data: ``$CVLAB_DATA_DIR``, else ``<checkout>/data``, else ``~/.cache/cvlab``."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(root) / "data" if is_checkout(root) else Path.home() / ".cache" / "cvlab"


DATA_DIR = data_dir()
#: The shipped demo models and their metadata (package data of ``cvlab_ch9.models``).
MODELS_DIR = package_data("cvlab_ch9", "models", "shipped")
#: Models the user trains (``--data oxford``): generated data, never written into the package.
TRAINED_MODELS_DIR = DATA_DIR / "models"

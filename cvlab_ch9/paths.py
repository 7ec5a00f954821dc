"""Where the lab's files are: in a checkout, or in an installed copy (``pip install .``).

The package folders (``labs/``, ``solutions/``, ``models/``) sit side by side
in both cases: in the checkout, and in ``site-packages`` for an installed
copy. Data generated at run time goes to ``data/`` in a checkout; an
installed copy writes it to ``~/.cache/cvlab`` instead of ``site-packages``.
``$CVLAB_DATA_DIR`` overrides both (read when this module is imported).
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LABS_DIR = REPO_ROOT / "labs"
SOLUTIONS_DIR = REPO_ROOT / "solutions"
MODELS_DIR = REPO_ROOT / "models"
DATA_ENV = "CVLAB_DATA_DIR"


def is_checkout(root=REPO_ROOT):
    """True when ``root`` is a source checkout (it has ``pyproject.toml``), not ``site-packages``."""
    return (Path(root) / "pyproject.toml").is_file()


def data_dir(root=REPO_ROOT):
    """Folder for generated data: ``$CVLAB_DATA_DIR``, else ``<checkout>/data``, else ``~/.cache/cvlab``."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(root) / "data" if is_checkout(root) else Path.home() / ".cache" / "cvlab"


DATA_DIR = data_dir()

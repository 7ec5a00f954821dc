"""Lab folders the tests make for themselves, so the suite never depends on what ``labs/`` holds.

``labs/`` is the student's folder: whatever is written there, the tests use
fresh skeletons generated from ``solutions/`` (or copies of the solutions)
in temporary folders.
"""

import shutil
from pathlib import Path

from cvlab_ch9.generate import generate_labs
from cvlab_ch9.paths import SOLUTIONS_DIR


def skeleton_labs(directory):
    """Write fresh skeletons (every exercise raises NotImplementedError) into ``directory``; return it."""
    directory = Path(directory)
    generate_labs(SOLUTIONS_DIR, directory)
    return directory


def solution_labs(directory):
    """Copy the reference solutions into ``directory`` (a student who finished everything); return it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for path in SOLUTIONS_DIR.glob("*.py"):
        shutil.copy(path, directory / path.name)
    return directory

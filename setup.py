"""The student wheel's build steps (the metadata is in pyproject.toml).

``pip install .`` / ``pip wheel .`` of the instructor's checkout build the
**student** wheel: one import name, ``cvlab_ch9``, without the answer key.
Three steps make sure of it, and the build stops with one sentence when
any of them finds a problem:

- only the packages pyproject.toml lists are built, and
  :data:`cvlab_ch9.leaks.INSTRUCTOR_ONLY` modules are left out of them
  (the recorder ``grader/record.py``, the live reference's fast paths and
  gallery recorder);
- the lab skeletons are generated from ``solutions/`` into the package
  (``cvlab_ch9/skeletons/``: ``cvlab setup`` writes them into a student's
  ``labs/``);
- :func:`cvlab_ch9.leaks.check_artifact` reads everything the wheel will
  hold, against ``solutions/``.

There is no source distribution: the checkout holds the answer key, and a
source archive of it would hand it out. The instructor works in the
checkout itself (``./run.sh setup --instructor``), never in an installed copy.
"""

import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the checkout's cvlab_ch9 (standard library only at import) runs the checks

from cvlab_ch9.generate import skeleton_for, solution_files  # noqa: E402 - after the checkout is on the path
from cvlab_ch9.leaks import IMPORT_NAME, LeakError, check_artifact, instructor_only  # noqa: E402
from cvlab_ch9.paths import SOLUTIONS_DIR  # noqa: E402
from cvlab_ch9.workspace import SKELETONS  # noqa: E402


class StudentBuildPy(build_py):
    """build_py for the student wheel: no instructor-only module, the skeletons as data, then the leak check."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not instructor_only(f"{package.replace('.', '/')}/{m[1]}.py")]

    def run(self):
        if self.editable_mode:  # an editable install copies nothing: it points at the checkout
            super().run()
            return
        build_lib = Path(self.build_lib)
        if build_lib.exists():
            shutil.rmtree(build_lib)  # files of an older build must not reach this wheel
        super().run()
        self._write_skeletons(build_lib / IMPORT_NAME / SKELETONS)
        try:
            check_artifact(build_lib, "The student wheel")
        except LeakError as exc:
            raise SetupError(str(exc)) from exc

    @staticmethod
    def _write_skeletons(target):
        sources = solution_files(SOLUTIONS_DIR) if SOLUTIONS_DIR.is_dir() else []
        if not sources:
            raise SetupError(f"{SOLUTIONS_DIR} holds no lab modules to make the skeletons from; "
                             "build the wheel in the instructor's checkout.")
        target.mkdir(parents=True, exist_ok=True)
        for path in sources:
            (target / path.name).write_text(skeleton_for(path), encoding="utf-8")


class NoSourceDistribution(sdist):
    """A source archive of the checkout would hold the answer key: refused."""

    def run(self):
        raise SetupError("cvlab-ch9 has no source distribution: the checkout holds the answer key. Build the student "
                         "wheel with `python -m pip wheel --no-deps -w dist .` (or `python -m build --wheel`).")


setup(cmdclass={"build_py": StudentBuildPy, "sdist": NoSourceDistribution})

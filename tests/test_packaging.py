"""Packaging: the roles' dependency lists (pyproject.toml) and environment.yml agree, one TensorFlow per platform,
CI lints, tests and checks the platforms, the docs name the current wheel, and the student wheel (built once per
run, tests/conftest.py) installs only cvlab_ch9 without any part of the answer key; its build refuses a planted leak."""

import re
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from cvlab_ch9.generate import drift_cli, skeleton_for, solution_files
from cvlab_ch9.grader.reference import BOOKS
from cvlab_ch9.install import ROLES, role_requirements
from cvlab_ch9.leaks import find_leaks
from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.platforms import PLATFORMS, PYTHONS

TENSORFLOW = {"tensorflow", "tensorflow-cpu"}


def _normalize(requirement):
    """(canonical name, specifier, marker) of a requirement string."""
    req = Requirement(requirement)
    return req.name.lower().replace("_", "-"), str(req.specifier), str(req.marker or "")


def _pyproject():
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _pyproject_requirements():
    """Every role's requirements together (the dev role holds them all)."""
    return {_normalize(r) for r in role_requirements("dev")}


def _environment_lines():
    return (REPO_ROOT / "environment.yml").read_text(encoding="utf-8").splitlines()


def _environment_requirements():
    lines = _environment_lines()
    start = lines.index("  - pip:")
    entries = [line.strip()[2:].strip() for line in lines[start + 1 :] if line.strip().startswith("- ")]
    return {_normalize(entry.strip("\"'")) for entry in entries}


def test_environment_yml_matches_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_environment_yml_python_matches_requires_python():
    line = next(line.strip()[2:] for line in _environment_lines() if line.strip().startswith("- python"))
    assert SpecifierSet(line.removeprefix("python")) == SpecifierSet(_pyproject()["requires-python"])


def test_requires_python_is_the_tested_versions():
    allowed = SpecifierSet(_pyproject()["requires-python"])
    candidates = [f"3.{minor}" for minor in range(8, 16)]
    assert [v for v in candidates if v in allowed] == list(PYTHONS)


@pytest.mark.parametrize("target", [p for p in PLATFORMS if p.supported], ids=lambda p: p.name)
@pytest.mark.parametrize("python", PYTHONS)
def test_one_tensorflow_package_per_supported_platform(target, python):
    environment = target.marker_environment(python)
    chosen = [
        req.name for req in map(Requirement, _pyproject()["optional-dependencies"]["cpu"])
        if req.name in TENSORFLOW and req.marker.evaluate(environment)
    ]
    # tensorflow-cpu publishes wheels for Linux x86-64 and Windows x86-64 only
    expected = "tensorflow-cpu" if target.name in ("Linux x86-64", "Windows x86-64") else "tensorflow"
    assert chosen == [expected]


def test_the_student_set_holds_no_tensorflow_and_no_instructor_or_development_package():
    """A second TensorFlow beside an installed one breaks both: only the cpu extra brings it."""
    student = {Requirement(r).name.lower() for r in _pyproject()["dependencies"]}
    assert not student & TENSORFLOW
    assert not student & {"nbgrader", "dask", "playwright", "ruff", "pytest-timeout", "notebook", "jupyterlab"}
    assert set(ROLES) == {"student", "instructor", "dev"} and set(ROLES["dev"]) == set(_pyproject()["optional-dependencies"])


def test_installed_versions_satisfy_the_ranges():
    from importlib.metadata import version  # noqa: PLC0415

    for req in map(Requirement, role_requirements("dev")):
        if req.marker is not None and not req.marker.evaluate():
            continue  # a package for another platform
        installed = version(req.name)
        assert req.specifier.contains(installed, prereleases=True), (
            f"{req.name} {installed} is outside the tested range {req.specifier}"
        )


def test_ci_lints_runs_the_readme_test_command_and_checks_the_platforms():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./run.sh test" in readme and "./run.sh ui" in readme
    assert "ruff check" in ci and "./run.sh test" in ci and "scripts/check_platforms.py" in ci
    assert ci.index("ruff check") < ci.index("./run.sh test") < ci.index("scripts/check_platforms.py")


def test_readme_gives_the_windows_commands():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "py -m cvlab_ch9 ui" in readme and "py -m cvlab_ch9 test" in readme


def _markdown_files():
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def test_the_docs_name_the_wheel_of_this_version():
    version = _pyproject()["version"]
    named = {m for path in _markdown_files() for m in re.findall(r"cvlab_ch9-([0-9][^-]*)-py3-none-any\.whl", path.read_text())}
    assert named == {version}


def test_every_link_of_the_readme_and_the_docs_reaches_a_file():
    for path in _markdown_files():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if not target.startswith(("http://", "https://", "mailto:")):
                assert (path.parent / target).exists(), f"{path.relative_to(REPO_ROOT)} links to {target}, which does not exist"


def test_the_readme_is_short_and_starts_each_audience_with_its_commands():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 170
    headings = re.findall(r"^## (.+)$", readme, flags=re.MULTILINE)
    assert [h for h in headings if h.startswith(("For students", "For instructors", "Where it runs"))] == [
        "For students", "For instructors", "Where it runs"]
    students = readme.split("## For students")[1].split("\n## ")[0]
    assert "cvlab ui" in students and "cvlab grade" in students


def test_ruff_finds_nothing():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_drift_cli_exit_codes_and_messages(capsys):
    def run(argv, drifted):
        written = []
        code = drift_cli(argv, "python -m demo", "demo", lambda: drifted, lambda: written.append(1) or ["a"],
                         "up to date", lambda names: "stale: " + ", ".join(names))
        return code, capsys.readouterr().out, written

    assert run(["--check"], []) == (0, "up to date\n", [])
    assert run(["--check"], ["x.py", "y.py"]) == (1, "stale: x.py, y.py\n", [])
    assert run([], ["x.py"]) == (0, "wrote a\n", [1])


@pytest.mark.parametrize(
    "module", ["cvlab_ch9.generate", "course.notebooks", "cvlab_ch9.data", "cvlab_ch9.models", "cvlab_ch9.train_segmentation"],
)
def test_command_lines_start(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and f"python -m {module}" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow
def test_the_student_wheel_holds_only_cvlab_ch9_and_no_answer_key(student_wheel):
    """``pip wheel .`` (what ``pip install .`` builds) of the checkout: one import name, the package data, the skeletons."""
    names = set(zipfile.ZipFile(student_wheel).namelist())
    assert {n.split("/")[0] for n in names} == {"cvlab_ch9", student_wheel.name.split("-py3")[0] + ".dist-info"}
    for expected in ("cvlab_ch9/models/store.py", "cvlab_ch9/grader/checks/segmentation.py", "cvlab_ch9/grader/test_checks.py",
                     "cvlab_ch9/ui/examples/photo_grace_hopper.jpg", "cvlab_ch9/models/shipped/convnet.keras",
                     "cvlab_ch9/models/shipped/convnet.json", "cvlab_ch9/models/shipped/real_photos/chelsea.png",
                     "cvlab_ch9/data/photo_textures/grass.jpg", "cvlab_ch9/data/photo_textures/README.md",
                     "cvlab_ch9/grader/recordings/segmentation.rec", "cvlab_ch9/grader/harness/server.py",
                     "cvlab_ch9/grader/recordings/gallery.rec", "cvlab_ch9/leaks.py"):
        assert expected in names, expected
    for instructor_only in ("cvlab_ch9/grader/record.py", "cvlab_ch9/fastpaths.py", "cvlab_ch9/ui/gallery.py"):
        assert instructor_only not in names
    # the reference side's one set of recordings, in one format and one folder
    assert {n for n in names if n.endswith((".rec", ".npz"))} == {f"cvlab_ch9/grader/recordings/{book}.rec" for book in BOOKS}
    assert not [n for n in names if n.startswith(("cvlab_ch9/grader/hidden/", "cvlab_ch9/grader/batch/"))]
    with zipfile.ZipFile(student_wheel) as wheel:
        for solution in solution_files():
            assert wheel.read(f"cvlab_ch9/skeletons/{solution.name}").decode() == skeleton_for(solution)
        entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "cvlab = cvlab_ch9.__main__:main" in entry_points and "[pytest11]" in entry_points
    assert find_leaks(student_wheel) == []


@pytest.mark.slow
def test_the_wheel_build_refuses_to_finish_with_a_planted_leak(tmp_path):
    """A solution body copied into package data stops the build (setup.py's check), and no wheel is written."""
    from course.kit import KitError, build_student_wheel, copy_sources  # noqa: PLC0415

    source = copy_sources(tmp_path / "source")
    body = re.search(r"def strided_downsampling.*?### END SOLUTION", (source / "solutions" / "segmentation.py").read_text(), re.S)
    with (source / "ui" / "examples" / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("\n```python\n" + body.group(0) + "\n```\n")
    with pytest.raises(KitError, match=r"The student wheel would hold the answer key \(.*segmentation.strided_downsampling "
                                       r"in cvlab_ch9/ui/examples/README.md"):
        build_student_wheel(tmp_path / "dist", log=lambda _: None, source=source)
    assert not list((tmp_path / "dist").glob("*.whl"))


def test_there_is_no_source_distribution(tmp_path):
    """A source archive of the checkout would hold the answer key: the build backend refuses it."""
    from course.kit import copy_sources  # noqa: PLC0415

    source = copy_sources(tmp_path / "source")
    done = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
                           str(tmp_path / "dist")], cwd=source, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "no source distribution" in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def test_the_wheel_lists_every_package_of_cvlab_ch9_except_the_instructor_only_ones():
    """pyproject's explicit package list must follow new subpackages (else the student wheel silently lacks them)."""
    from cvlab_ch9.leaks import instructor_only  # noqa: PLC0415

    folders = {"cvlab_ch9": REPO_ROOT / "cvlab_ch9", "cvlab_ch9.grader": REPO_ROOT / "grader", "cvlab_ch9.ui": REPO_ROOT / "ui"}
    found = set()
    for name, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            dotted = ".".join([name, *init.parent.relative_to(folder).parts])
            if not instructor_only(dotted.replace(".", "/") + "/__init__.py"):
                found.add(dotted)
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    assert listed == found

"""Packaging: pyproject.toml and environment.yml install the same set for every supported platform,
CI lints, tests and checks the platforms, and an installed copy (a wheel, outside the checkout)
grades the reference at full marks."""

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from cvlab_ch9.generate import drift_cli
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
    return {_normalize(r) for r in _pyproject()["dependencies"]}


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
        req.name for req in map(Requirement, _pyproject()["dependencies"])
        if req.name in TENSORFLOW and req.marker.evaluate(environment)
    ]
    # tensorflow-cpu publishes wheels for Linux x86-64 and Windows x86-64 only
    expected = "tensorflow-cpu" if target.name in ("Linux x86-64", "Windows x86-64") else "tensorflow"
    assert chosen == [expected]


def test_installed_versions_satisfy_the_ranges():
    from importlib.metadata import version  # noqa: PLC0415

    for req in map(Requirement, _pyproject()["dependencies"]):
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


def _tracked_copy(target):
    """The files git tracks, copied to ``target``: setuptools builds in the source tree, and never in the checkout here."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, names.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _build_wheel(out_dir):
    source = _tracked_copy(out_dir / "source")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out_dir), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (wheel,) = out_dir.glob("cvlab-*.whl")
    return wheel


@pytest.mark.slow
def test_an_installed_copy_grades_the_reference_at_full_marks(tmp_path):
    """The wheel holds the package data, and ``python -m grader --labs solutions`` works from it, outside the checkout.

    One lab keeps the test short; the README's claim (all labs) is the same command without ``--lab``.
    """
    wheel = _build_wheel(tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("cvlab_ch9/models/store.py", "cvlab_ch9/grader/checks/segmentation.py",
                     "cvlab_ch9/ui/examples/photo_grace_hopper.jpg", "models/convnet.keras", "models/convnet.json",
                     "models/real_photos/chelsea.png", "cvlab_ch9/data/photo_textures/grass.jpg",
                     "cvlab_ch9/data/photo_textures/README.md", "course/narrative/segmentation.md",
                     "course/nbgrader_config.py", "course/source/segmentation/segmentation.ipynb",
                     "labs/segmentation.py", "solutions/interpretation.py", "cvlab_ch9/grader/recordings/segmentation.rec",
                     "cvlab_ch9/grader/harness/server.py", "cvlab_ch9/grader/hidden/segmentation.py"):
        assert expected in names, expected
    assert not [n for n in names if n.startswith(("tests/", "tools/", "bench/"))]
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), CVLAB_DATA_DIR=str(tmp_path / "data"))
    out = subprocess.run([sys.executable, "-m", "cvlab_ch9.grader", "--labs", "solutions", "--lab", "segmentation", "--format", "json"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["score"] == report["max_score"] > 0
    assert {r["id"].split(".")[0] for r in report["results"]} == {"segmentation"}
    where = subprocess.run([sys.executable, "-c", "import cvlab_ch9.grader; print(cvlab_ch9.__file__, cvlab_ch9.grader.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert str(REPO_ROOT) not in where and str(target) in where

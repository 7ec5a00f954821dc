"""pyproject.toml and environment.yml install the same package set; the entry points exist."""

import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from cvlab.paths import REPO_ROOT
from cvlab.platforms import PLATFORMS, PYTHONS

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


def test_ci_runs_the_readme_test_command_and_the_platform_check():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./run.sh test" in readme and "./run.sh ui" in readme
    assert "./run.sh test" in ci
    assert "scripts/check_platforms.py" in ci


def test_readme_gives_the_windows_commands():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "py -m cvlab ui" in readme and "py -m cvlab test" in readme


def test_generator_cli_reports_no_drift():
    out = subprocess.run([sys.executable, "-m", "cvlab.generate", "--check"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

"""pyproject.toml and environment.yml install the same package set; the entry points exist."""

import re
import subprocess
import sys
import tomllib

from cvlab.paths import REPO_ROOT


def _normalize(requirement):
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def _pyproject_requirements():
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        return {_normalize(r) for r in tomllib.load(f)["project"]["dependencies"]}


def _environment_requirements():
    lines = (REPO_ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("  - pip:")
    return {_normalize(line.strip()[2:]) for line in lines[start + 1 :] if line.strip().startswith("- ")}


def test_environment_yml_matches_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_environment_yml_pins_python_311():
    assert "  - python=3.11" in (REPO_ROOT / "environment.yml").read_text().splitlines()


def test_installed_versions_satisfy_the_ranges():
    from importlib.metadata import version  # noqa: PLC0415

    from packaging.specifiers import SpecifierSet  # noqa: PLC0415

    for name, spec in _pyproject_requirements():
        installed = version(name)
        assert installed in SpecifierSet(spec), f"{name} {installed} is outside the tested range {spec}"


def test_ci_runs_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "./run.sh test" in readme and "./run.sh ui" in readme
    assert "./run.sh test" in ci


def test_generator_cli_reports_no_drift():
    out = subprocess.run([sys.executable, "-m", "cvlab.generate", "--check"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

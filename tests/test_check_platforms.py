"""scripts/check_platforms.py without the network: commands, reports, verdicts, pip's marker redirection.

The check itself asks the package index and runs from .ci/run, not here.
"""

import importlib.util
import json
import subprocess
import sys

import pytest

from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.platforms import find_platform


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("check_platforms", REPO_ROOT / "scripts" / "check_platforms.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WINDOWS = find_platform("win32", "AMD64")
LINUX = find_platform("linux", "x86_64")
INTEL_MAC = find_platform("darwin", "x86_64")


def test_pip_command_names_the_target(check, tmp_path):
    command = check.pip_command(LINUX, "3.12", tmp_path / "r.txt", tmp_path / "report.json")
    assert json.loads(command[3])["sys_platform"] == "linux"
    assert command[command.index("--python-version") : command.index("--python-version") + 2] == ["--python-version", "3.12"]
    assert "--only-binary=:all:" in command and "--dry-run" in command and "--ignore-installed" in command
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms[0] == "manylinux_2_31_x86_64" and "manylinux2014_x86_64" in platforms
    assert "--no-deps" not in command
    assert "--no-deps" in check.pip_command(INTEL_MAC, "3.12", tmp_path / "r.txt", tmp_path / "report.json")


def test_uv_command_names_the_target(check, tmp_path):
    command = check.uv_command(["uv"], WINDOWS, "3.13", tmp_path / "r.txt", tmp_path / "pylock.x.toml")
    assert command[command.index("--python-platform") + 1] == "x86_64-pc-windows-msvc"
    assert command[command.index("--python-version") + 1] == "3.13"
    assert command[command.index("--only-binary") + 1] == ":all:"
    assert command[command.index("--python") + 1] == sys.executable
    assert "--no-deps" in check.uv_command(["uv"], INTEL_MAC, "3.13", tmp_path / "r", tmp_path / "o")


def test_tensorflow_probe_drops_the_marker(check):
    reqs = ["tensorflow-cpu>=2.18,<2.22; sys_platform == 'linux'", "tensorflow>=2.18,<2.22; sys_platform == 'darwin'", "keras>=3"]
    assert check.tensorflow_probe(reqs) == ["tensorflow>=2.18,<2.22"]


def test_read_pylock_finds_the_tensorflow_wheel(check, tmp_path):
    path = tmp_path / "pylock.toml"
    path.write_text(
        'lock-version = "1.0"\n'
        '[[packages]]\nname = "keras"\nversion = "3.9"\nwheels = [{ url = "https://x/keras-3.9-py3-none-any.whl" }]\n'
        '[[packages]]\nname = "tensorflow-cpu"\nversion = "2.21.0"\n'
        'wheels = [{ name = "tensorflow_cpu-2.21.0-cp312-cp312-win_amd64.whl", url = "https://x/y.whl" }]\n',
        encoding="utf-8",
    )
    assert check.read_pylock(path) == ("tensorflow_cpu-2.21.0-cp312-cp312-win_amd64.whl", 2)


def test_read_pip_report_finds_the_tensorflow_wheel(check, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"install": [
        {"metadata": {"name": "numpy"}, "download_info": {"url": "https://x/numpy-2.whl"}},
        {"metadata": {"name": "tensorflow"}, "download_info": {"url": "https://x/tensorflow-2.21.0-cp313-cp313-macosx_12_0_arm64.whl"}},
    ]}), encoding="utf-8")
    assert check.read_pip_report(path) == ("tensorflow-2.21.0-cp313-cp313-macosx_12_0_arm64.whl", 2)


def test_verdicts(check):
    assert check.verdict(LINUX, check.Outcome(True, "tf.whl")) == ("resolved", False)
    assert check.verdict(LINUX, check.Outcome(False, error="no")) == ("NOT RESOLVED", True)
    result, fails = check.verdict(INTEL_MAC, check.Outcome(False, error="no wheel"))
    assert "unsupported" in result and not fails
    result, fails = check.verdict(INTEL_MAC, check.Outcome(True, "tensorflow-2.30-cp313-cp313-macosx_13_0_x86_64.whl"))
    assert "exists now" in result and not fails


def test_short_error_prefers_pips_error_line(check):
    assert check.short_error("WARNING: x\nERROR: Could not find a version\nmore") == "ERROR: Could not find a version"
    assert check.short_error("error: No solution\n  cause: Because tf") == "error: No solution cause: Because tf"


@pytest.mark.parametrize(("target", "wanted"), [(WINDOWS, True), (LINUX, False)], ids=["windows", "linux"])
def test_pip_evaluates_markers_for_the_target(check, tmp_path, target, wanted):
    """The wrapper makes pip see the target's markers (pip alone would use this Linux interpreter's)."""
    reqfile = tmp_path / "requirements.txt"
    reqfile.write_text("cvlab-no-such-package; sys_platform == 'win32'\n", encoding="utf-8")
    command = check.pip_command(target, "3.12", reqfile, tmp_path / "report.json")
    command.insert(command.index("install") + 1, "--no-index")  # offline: nothing is looked up
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if wanted:
        assert done.returncode != 0 and "cvlab-no-such-package" in done.stderr
    else:
        assert done.returncode == 0, done.stderr

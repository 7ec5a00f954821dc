"""python -m cvlab_ch9 setup|ui|test|grade: the environment check, setup's decisions, the command line.

Nothing here creates a virtual environment or installs a package: a fake
.venv whose python is this interpreter stands in for a set-up one.
"""

import ast
import os
import sys

import pytest

from cvlab_ch9 import __main__ as launcher
from cvlab_ch9 import install


@pytest.fixture
def fake_venv(tmp_path):
    """A folder laid out like a venv whose python is this interpreter (which has every package)."""
    python = install.venv_python(tmp_path / ".venv")
    python.parent.mkdir(parents=True)
    if os.name == "nt":
        pytest.skip("the stand-in python is a shell script")
    # a script, not a symlink: a symlinked interpreter outside its venv loses the venv's packages
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    return tmp_path / ".venv"


def test_venv_python_is_bin_python_or_scripts_python_exe(tmp_path):
    assert install.venv_python(tmp_path, windows=False) == tmp_path / "bin" / "python"
    assert install.venv_python(tmp_path, windows=True) == tmp_path / "Scripts" / "python.exe"
    assert install.venv_python(tmp_path) == install.venv_python(tmp_path, windows=os.name == "nt")


def test_check_environment_lists_missing_and_out_of_range_packages(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[project]\n"
        'name = "x"\n'
        "dependencies = [\n"
        '  "pytest>=1",\n'
        '  "pytest<1",\n'
        '  "cvlab-no-such-package>=1",\n'
        "  \"numpy<1; sys_platform == 'no-such-platform'\",\n"
        "]\n",
        encoding="utf-8",
    )
    state = install.check_environment(sys.executable, pyproject)
    assert state["python"] == "{}.{}".format(*sys.version_info[:2])
    assert state["unmet"] == ["pytest<1", "cvlab-no-such-package>=1"]
    assert len(state["requirements"]) == 4


def test_this_environment_meets_pyproject():
    assert install.check_environment(sys.executable)["unmet"] == []


def test_setup_keeps_a_complete_environment_without_pip(fake_venv, monkeypatch):
    monkeypatch.setattr(install, "install", lambda *a, **k: pytest.fail("nothing should be installed"))
    monkeypatch.setattr(install, "create_venv", lambda *a, **k: pytest.fail("the venv exists"))
    assert install.setup(fake_venv, log=lambda _: None) == install.venv_python(fake_venv)


def test_setup_installs_the_whole_list_when_something_is_missing(fake_venv, monkeypatch):
    state = {"python": "3.12", "requirements": ["a>=1", "b>=2"], "unmet": ["b>=2"]}
    monkeypatch.setattr(install, "check_environment", lambda python: state)
    installed = []
    monkeypatch.setattr(install, "install", lambda python, reqs, log: installed.append(reqs))
    install.setup(fake_venv, log=lambda _: None)
    assert installed == [["a>=1", "b>=2"]]


def test_setup_creates_a_missing_venv_with_this_python(tmp_path, monkeypatch):
    created = []
    monkeypatch.setattr(install, "python_problem", lambda: None)
    monkeypatch.setattr(install, "create_venv", lambda venv_dir, log: created.append(venv_dir))
    monkeypatch.setattr(install, "check_environment", lambda python: {"python": "3.11", "requirements": [], "unmet": []})
    install.setup(tmp_path / ".venv", log=lambda _: None)
    assert created == [tmp_path / ".venv"]


def test_setup_stops_with_the_platform_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(install, "platform_problem", lambda: "cvlab cannot run here.")
    with pytest.raises(install.SetupError, match="cannot run here"):
        install.setup(tmp_path / ".venv")


def test_setup_stops_with_the_python_sentence_before_creating_a_venv(tmp_path, monkeypatch):
    monkeypatch.setattr(install, "python_problem", lambda: "cvlab needs Python 3.11, 3.12 or 3.13.")
    monkeypatch.setattr(install, "create_venv", lambda *a, **k: pytest.fail("no venv for an unsupported Python"))
    with pytest.raises(install.SetupError, match="needs Python"):
        install.setup(tmp_path / ".venv")


def test_setup_refuses_a_venv_made_with_an_unsupported_python(fake_venv, monkeypatch):
    monkeypatch.setattr(install, "check_environment", lambda python: {"python": "3.10", "requirements": [], "unmet": []})
    with pytest.raises(install.SetupError, match="made with Python 3.10.*delete that folder"):
        install.setup(fake_venv)


def test_a_broken_venv_python_says_to_delete_the_venv(tmp_path):
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    if os.name == "nt":
        pytest.skip("a shell script is not an executable on Windows")
    with pytest.raises(install.SetupError, match="delete the .venv folder"):
        install.check_environment(broken)


def test_main_runs_the_tool_in_the_venv_with_the_arguments(monkeypatch):
    calls = []
    monkeypatch.setattr(launcher, "setup", lambda: "/venv/python")
    monkeypatch.setattr(launcher, "run_tool", lambda python, args: calls.append((python, args)) or 7)
    assert launcher.main(["grade", "--lab", "segmentation", "--format", "json"]) == 7
    assert calls == [("/venv/python", ["-m", "cvlab_ch9.grader", "--lab", "segmentation", "--format", "json"])]
    assert launcher.main(["ui"]) == 7 and calls[-1] == ("/venv/python", ["-m", "cvlab_ch9.ui"])


def test_main_test_installs_the_browser_first(monkeypatch):
    order = []
    monkeypatch.setattr(launcher, "setup", lambda: order.append("setup") or "/venv/python")
    monkeypatch.setattr(launcher, "install_browser", lambda log: order.append("browser") or True)
    monkeypatch.setattr(launcher, "run_tool", lambda python, args: order.append(args) or 0)
    assert launcher.main(["test", "-k", "packaging", "-x"]) == 0
    assert order == ["setup", "browser", ["-m", "pytest", "-k", "packaging", "-x"]]


def test_main_prints_the_setup_sentence_and_exits_1(monkeypatch, capsys):
    def failing():
        raise install.SetupError("cvlab needs Python 3.11, 3.12 or 3.13.")

    monkeypatch.setattr(launcher, "setup", failing)
    assert launcher.main(["ui"]) == 1
    assert capsys.readouterr().err.strip() == "cvlab: cvlab needs Python 3.11, 3.12 or 3.13."


def test_run_tool_returns_the_exit_code():
    assert launcher.run_tool(sys.executable, ["-c", "import sys; sys.exit(3)"]) == 3


def test_no_browser_to_install_outside_linux(monkeypatch):
    monkeypatch.setattr(launcher.subprocess, "run", lambda *a, **k: pytest.fail("nothing to run"))
    messages = []
    assert launcher.install_browser(messages.append, platform="darwin") is True
    assert "skips" in messages[0]


def test_child_environment_is_utf8_on_windows_only(monkeypatch):
    monkeypatch.delenv("PYTHONUTF8", raising=False)
    assert "PYTHONUTF8" not in launcher.child_environment(windows=False)
    assert launcher.child_environment(windows=True)["PYTHONUTF8"] == "1"


@pytest.mark.parametrize("module", ["__main__.py", "install.py", "platforms.py", "paths.py", "__init__.py"])
def test_the_launcher_parses_on_python_3_8(module):
    """An old Python must get as far as saying which Python to install."""
    source = (install.REPO_ROOT / "cvlab_ch9" / module).read_text(encoding="utf-8")
    ast.parse(source, feature_version=(3, 8))

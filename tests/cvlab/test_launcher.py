"""cvlab / python -m cvlab_ch9 setup|ui|grade|test|course: the environment check, setup's decisions by role, the
command line in the checkout and in an installed copy.

Nothing here creates a virtual environment or installs a package: a fake
.venv whose python is this interpreter stands in for a set-up one.
"""

import ast
import os
import sys

import pytest

from cvlab_ch9 import __main__ as launcher
from cvlab_ch9 import install, workspace


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


def test_check_environment_lists_missing_and_out_of_range_packages():
    reqs = ["pytest>=1", "pytest<1", "cvlab-no-such-package>=1", "numpy<1; sys_platform == 'no-such-platform'"]
    state = install.check_environment(sys.executable, reqs)
    assert state["python"] == "{}.{}".format(*sys.version_info[:2])
    assert state["unmet"] == ["pytest<1", "cvlab-no-such-package>=1"]


def test_any_tensorflow_distribution_meets_a_tensorflow_requirement():
    """This run has one of tensorflow / tensorflow-cpu: both requirement names are met by it, a wrong range is not."""
    from importlib.metadata import version  # noqa: PLC0415

    installed = next(v for v in map(_version_or_none, ("tensorflow-cpu", "tensorflow")) if v)
    assert install.check_environment(sys.executable, [f"tensorflow>={installed}", f"tensorflow-cpu>={installed}"])["unmet"] == []
    assert install.check_environment(sys.executable, [f"tensorflow>{installed}"])["unmet"] == [f"tensorflow>{installed}"]
    assert version("keras")


def _version_or_none(name):
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def test_roles_add_extras_to_the_students_set():
    student, instructor, dev = (install.role_requirements(role) for role in ("student", "instructor", "dev"))
    assert set(student) < set(instructor) < set(dev)
    assert any(r.startswith("tensorflow-cpu") for r in student) and any(r.startswith("nbgrader") for r in instructor)
    assert not any(r.startswith("nbgrader") for r in student) and any(r.startswith("ruff") for r in dev)


def test_this_environment_meets_every_role():
    assert install.check_environment(sys.executable, install.role_requirements("dev"))["unmet"] == []


def test_setup_keeps_a_complete_environment_without_pip(fake_venv, monkeypatch):
    monkeypatch.setattr(install, "install", lambda *a, **k: pytest.fail("nothing should be installed"))
    monkeypatch.setattr(install, "create_venv", lambda *a, **k: pytest.fail("the venv exists"))
    assert install.setup(fake_venv, log=lambda _: None) == install.venv_python(fake_venv)


def test_setup_installs_the_roles_whole_list_when_something_is_missing(fake_venv, monkeypatch):
    monkeypatch.setattr(install, "role_requirements", lambda role: {"dev": ["a>=1", "b>=2"]}[role])
    monkeypatch.setattr(install, "check_environment", lambda python, reqs: {"python": "3.12", "unmet": ["b>=2"]})
    installed = []
    monkeypatch.setattr(install, "install", lambda python, reqs, log: installed.append(reqs))
    install.setup(fake_venv, log=lambda _: None, role="dev")
    assert installed == [["a>=1", "b>=2"]]


def test_setup_adds_no_second_tensorflow(fake_venv, monkeypatch):
    """tensorflow-cpu is met (by tensorflow) while something else is missing: pip is not asked for tensorflow-cpu."""
    reqs = ["a>=1", "tensorflow-cpu>=2.18,<2.22; sys_platform == 'linux'", "tensorflow>=2.18,<2.22; sys_platform == 'darwin'"]
    monkeypatch.setattr(install, "role_requirements", lambda role: reqs)
    monkeypatch.setattr(install, "check_environment", lambda python, reqs: {"python": "3.12", "unmet": ["a>=1"]})
    installed = []
    monkeypatch.setattr(install, "install", lambda python, reqs, log: installed.append(reqs))
    install.setup(fake_venv, log=lambda _: None)
    assert installed == [["a>=1"]]


def test_setup_creates_a_missing_venv_with_this_python(tmp_path, monkeypatch):
    created = []
    monkeypatch.setattr(install, "python_problem", lambda: None)
    monkeypatch.setattr(install, "create_venv", lambda venv_dir, log: created.append(venv_dir))
    monkeypatch.setattr(install, "check_environment", lambda python, reqs: {"python": "3.11", "unmet": []})
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
    monkeypatch.setattr(install, "check_environment", lambda python, reqs: {"python": "3.10", "unmet": []})
    with pytest.raises(install.SetupError, match="made with Python 3.10.*delete that folder"):
        install.setup(fake_venv)


def test_a_broken_venv_python_says_to_delete_the_venv(tmp_path):
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    if os.name == "nt":
        pytest.skip("a shell script is not an executable on Windows")
    with pytest.raises(install.SetupError, match="delete the .venv folder"):
        install.check_environment(broken, [])


def test_main_runs_the_tool_in_the_venv_of_its_role_with_the_arguments(monkeypatch):
    calls, roles = [], []
    monkeypatch.setattr(launcher, "setup", lambda role: roles.append(role) or "/venv/python")
    monkeypatch.setattr(launcher, "run_tool", lambda python, args: calls.append((python, args)) or 7)
    assert launcher.main(["grade", "--lab", "segmentation", "--format", "json"]) == 7
    assert calls == [("/venv/python", ["-m", "cvlab_ch9.grader", "--lab", "segmentation", "--format", "json"])]
    assert launcher.main(["ui"]) == 7 and calls[-1] == ("/venv/python", ["-m", "cvlab_ch9.ui"])
    assert launcher.main(["course", "kit", "--no-zip"]) == 7 and calls[-1] == ("/venv/python", ["-m", "course", "kit", "--no-zip"])
    assert launcher.main(["record", "--check"]) == 7 and calls[-1] == ("/venv/python", ["-m", "cvlab_ch9.grader.record", "--check"])
    assert launcher.main(["setup", "--instructor"]) == 0 and launcher.main(["setup"]) == 0
    assert roles == ["student", "student", "instructor", "student", "instructor", "student"]


def test_main_test_sets_up_for_development_and_installs_the_browser_first(monkeypatch):
    order = []
    monkeypatch.setattr(launcher, "setup", lambda role: order.append(role) or "/venv/python")
    monkeypatch.setattr(launcher, "install_browser", lambda log: order.append("browser") or True)
    monkeypatch.setattr(launcher, "run_tool", lambda python, args: order.append(args) or 0)
    assert launcher.main(["test", "-k", "packaging", "-x"]) == 0
    assert order == ["dev", "browser", ["-m", "pytest", "-n", "auto", "--dist", "loadfile", "-k", "packaging", "-x"]]


@pytest.mark.parametrize("chosen", [["-n", "0"], ["-n4"], ["--numprocesses=2"], ["--dist", "load"], ["-p", "no:xdist"]])
def test_the_suite_runs_its_files_on_every_core_unless_the_caller_chose(chosen):
    assert launcher.parallel_test_options(["-k", "x"]) == ["-n", "auto", "--dist", "loadfile"]
    assert launcher.parallel_test_options(chosen) == []


def test_main_prints_the_setup_sentence_and_exits_1(monkeypatch, capsys):
    def failing(role):
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


@pytest.mark.parametrize("module", ["__main__.py", "install.py", "platforms.py", "paths.py", "__init__.py", "workspace.py"])
def test_the_launcher_parses_on_python_3_8(module):
    """An old Python must get as far as saying which Python to install."""
    source = (install.REPO_ROOT / "cvlab_ch9" / module).read_text(encoding="utf-8")
    ast.parse(source, feature_version=(3, 8))


# -- an installed copy (the student package): no .venv, the working folder's labs/ ---------------------------------


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """The launcher as in an installed copy, in an empty working folder, with TensorFlow present."""
    monkeypatch.setattr(launcher, "is_checkout", lambda: False)
    monkeypatch.setattr(launcher, "setup", lambda role: pytest.fail("an installed copy makes no .venv"))
    monkeypatch.setattr(launcher, "tensorflow_problem", lambda: None)
    monkeypatch.setattr(launcher, "labs_dir", lambda: tmp_path / "labs")
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(launcher, "run_tool", lambda python, args, cwd: calls.append((python, args, cwd)) or 0)
    return calls


def test_installed_commands_run_with_this_python_in_the_working_folder(installed, tmp_path):
    (tmp_path / "labs").mkdir()
    assert launcher.main(["grade", "--lab", "segmentation"]) == 0
    assert launcher.main(["test", "--lab", "segmentation"]) == 0
    assert launcher.main(["ui", "--port", "7999"]) == 0
    assert installed == [
        (sys.executable, ["-m", "cvlab_ch9.grader", "--lab", "segmentation"], tmp_path),
        (sys.executable, ["-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "cvlab_ch9.grader", "--lab", "segmentation"], tmp_path),
        (sys.executable, ["-m", "cvlab_ch9.ui", "--port", "7999"], tmp_path),
    ]


def test_installed_grade_without_a_labs_folder_says_to_run_setup(installed, capsys):
    assert launcher.main(["grade"]) == 2
    assert "run `cvlab setup`" in capsys.readouterr().err and installed == []
    assert launcher.main(["grade", "--labs", "elsewhere"]) == 0  # a named folder: the grader says what is wrong with it


def test_installed_course_commands_are_the_instructors(installed, capsys):
    assert launcher.main(["course", "kit"]) == 2
    assert "instructor's checkout" in capsys.readouterr().err and installed == []
    assert launcher.main(["record"]) == 2  # the recordings are made from solutions/, which only the checkout has
    assert "instructor's checkout" in capsys.readouterr().err and installed == []


def test_installed_commands_stop_with_the_tensorflow_sentence(installed, monkeypatch, capsys):
    monkeypatch.setattr(launcher, "tensorflow_problem", lambda: "cvlab needs TensorFlow, which this Python does not have.")
    assert launcher.main(["ui"]) == 1 and installed == []
    assert capsys.readouterr().err.strip() == "cvlab: cvlab needs TensorFlow, which this Python does not have."


def test_installed_setup_writes_the_skeletons_and_check_writes_nothing(installed, monkeypatch, tmp_path, capsys):
    skeletons = tmp_path / "packaged"
    skeletons.mkdir()
    (skeletons / "segmentation.py").write_text("# skeleton\n")
    monkeypatch.setattr(workspace, "skeleton_files", lambda: sorted(skeletons.glob("*.py")))
    assert launcher.main(["setup", "--check"]) == 0 and not (tmp_path / "labs").exists()
    assert launcher.main(["setup"]) == 0
    assert (tmp_path / "labs" / "segmentation.py").read_text() == "# skeleton\n"
    (tmp_path / "labs" / "segmentation.py").write_text("# my work\n")
    assert launcher.main(["setup", "--labs", str(tmp_path / "mine")]) == 0
    assert launcher.main(["setup"]) == 0 and (tmp_path / "labs" / "segmentation.py").read_text() == "# my work\n"
    assert (tmp_path / "mine" / "segmentation.py").is_file()
    assert "none replaced" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is TerminateProcess on Windows: nothing to pass on")
def test_a_terminated_launcher_takes_its_tool_with_it(tmp_path):
    """`cvlab ui` stopped with SIGTERM (a test, a service manager) leaves no UI behind holding the port."""
    import signal  # noqa: PLC0415 - POSIX only
    import subprocess  # noqa: PLC0415
    import time  # noqa: PLC0415

    import psutil  # noqa: PLC0415

    started = tmp_path / "started"
    tool = f"import pathlib, time; pathlib.Path({str(started)!r}).write_text('1'); time.sleep(60)"
    script = ("import sys; from cvlab_ch9.__main__ import run_tool; "
              f"sys.exit(run_tool(sys.executable, ['-c', {tool!r}]))")
    launcher_process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    children = psutil.Process(launcher_process.pid).children()
    assert started.exists() and len(children) == 1
    launcher_process.send_signal(signal.SIGTERM)
    launcher_process.wait(timeout=20)
    _, alive = psutil.wait_procs(children, timeout=20)
    for process in alive:
        process.kill()
    assert not alive, "the tool outlived its launcher"

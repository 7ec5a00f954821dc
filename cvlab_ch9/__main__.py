"""``cvlab setup|ui|grade|test|course|record [args...]`` (also ``python -m cvlab_ch9 ...``): the lab's one entry point, on any OS.

Installed (the student package: ``pip install cvlab-ch9``, the kit's wheel or
a hub image), in the folder that holds (or will hold) ``labs/``::

    setup [--labs DIR]   check that TensorFlow is there (once), write the lab skeletons into labs/ (never over a file);
                         --check only checks (a hub image's build step)
    ui                   the lab UI on http://127.0.0.1:7860 (python -m cvlab_ch9.ui args...)
    grade                grade labs/ (python -m cvlab_ch9.grader args...: --labs DIR, --lab NAME, --format ...)
    test                 the same checks as pytest tests (python -m pytest --pyargs cvlab_ch9.grader args...)

In the instructor's checkout (``./run.sh`` calls it; Windows: ``py -m cvlab_ch9``),
each command first makes ``.venv`` hold its role's packages (:mod:`cvlab_ch9.install`)::

    setup [--instructor | --dev]   only that (default: the student's packages)
    ui | grade                     the student's packages, then the UI / the judge on labs/ (solutions/ as the reference)
    test                           the development packages, Debian's chromium on Linux, then the project's tests
    course                         the instructor's packages, then python -m course args... (kit, release, grade, gradescope)
    record                         the reference side's recordings from solutions/ (python -m cvlab_ch9.grader.record args...:
                                   --check, --book LAB|gallery)

Uses only the standard library until the environment exists, and parses on
old Pythons so that it can say which one to install.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from cvlab_ch9.install import SetupError, setup
from cvlab_ch9.paths import REPO_ROOT, is_checkout, labs_dir
from cvlab_ch9.platforms import problem, tensorflow_problem
from cvlab_ch9.workspace import WorkspaceError, write_skeletons

#: Command -> (the role whose packages it needs in a checkout, what it runs there).
COMMANDS = {
    "setup": ("student", None),
    "ui": ("student", ["-m", "cvlab_ch9.ui"]),
    "grade": ("student", ["-m", "cvlab_ch9.grader"]),
    "test": ("dev", ["-m", "pytest"]),
    "course": ("instructor", ["-m", "course"]),
    "record": ("student", ["-m", "cvlab_ch9.grader.record"]),
}
#: What the commands run in an installed copy (no course: it is the instructor's checkout's).
INSTALLED = {
    "ui": ["-m", "cvlab_ch9.ui"],
    "grade": ["-m", "cvlab_ch9.grader"],
    "test": ["-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "cvlab_ch9.grader"],
}
BROWSER_SCRIPT = REPO_ROOT / "scripts" / "install_browser.sh"
BROWSER_FAILED = "cvlab: chromium could not be installed; the browser test skips (and fails under CI=true)."
NOT_INSTALLED_COURSE = ("cvlab: the course commands (kit, release, grade, gradescope, record) are the instructor's and run in the "
                        "instructor's checkout (./run.sh course ..., ./run.sh record), not in the student package.")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cvlab", description="The chapter 9 lab: set up, run the UI, grade the labs, run the checks as tests.",
    )
    parser.add_argument("command", choices=list(COMMANDS))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed on to the UI / the grader / pytest / course")
    return parser


def setup_parser(checkout):
    parser = argparse.ArgumentParser(prog="cvlab setup")
    if checkout:
        roles = parser.add_mutually_exclusive_group()
        roles.add_argument("--instructor", action="store_true", help="also the instructor's packages (nbgrader, Dask)")
        roles.add_argument("--dev", action="store_true", help="also the development packages (the test suite)")
    else:
        parser.add_argument("--labs", default=None, help="the folder for the lab skeletons (default: labs in this folder)")
        parser.add_argument("--check", action="store_true", help="only check the installation; write nothing (an image's build step)")
    return parser


def install_browser(log=print, platform=None):
    """Linux: Debian's chromium for the browser test (scripts/install_browser.sh); elsewhere nothing.

    Args:
        platform: ``sys.platform`` (default: this one).

    Returns:
        bool: chromium is there (or the platform has none to install).
    """
    if not (platform or sys.platform).startswith("linux"):
        log("cvlab: the browser test drives Debian's chromium and skips on this system.")
        return True
    done = subprocess.run(["bash", str(BROWSER_SCRIPT)], check=False)
    if done.returncode != 0:
        log(BROWSER_FAILED)
    return done.returncode == 0


def child_environment(windows=None):
    """The environment for the tools run in .venv.

    On Windows, Python's default text encoding is the ANSI code page:
    ``PYTHONUTF8=1`` makes files and pipes UTF-8, as on Linux and macOS.

    Args:
        windows: for Windows; default: this OS.
    """
    env = dict(os.environ)
    if (os.name == "nt") if windows is None else windows:
        env.setdefault("PYTHONUTF8", "1")
    return env


def run_tool(python, args, cwd=REPO_ROOT):
    """Run ``python args...`` in ``cwd`` (default the checkout); its exit code.

    Ctrl-C reaches the child as well (same console): wait for it to finish
    its own shutdown, and stop it only on a second Ctrl-C. A SIGTERM (a
    service manager, a test, ``kill``) is passed on to the child, which would
    otherwise outlive this process and keep the UI's port.
    """
    process = subprocess.Popen([str(python), *args], cwd=cwd, env=child_environment())
    with _terminate_child_on_sigterm(process):
        try:
            return process.wait()
        except KeyboardInterrupt:
            try:
                return process.wait()
            except KeyboardInterrupt:
                process.kill()
                return process.wait()


@contextlib.contextmanager
def _terminate_child_on_sigterm(process):
    """While the block runs, SIGTERM to this process terminates ``process`` (main thread only: signal's rule)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: process.terminate())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(message):
    print(f"cvlab: {message}", file=sys.stderr)


def checkout_main(command, args):
    """A command in the instructor's checkout: its role's packages in .venv, then the tool there."""
    role, tool = COMMANDS[command]
    if command == "setup":
        options = setup_parser(checkout=True).parse_args(args)
        role = "dev" if options.dev else "instructor" if options.instructor else "student"
    try:
        python = setup(role=role)
    except SetupError as exc:
        _say(exc)
        return 1
    if command == "test":
        install_browser(_say)
        args = [*parallel_test_options(args), *args]
    if tool is None:
        print(f"cvlab: {python} is ready ({role} packages).")
        return 0
    return run_tool(python, [*tool, *args])


def parallel_test_options(args):
    """pytest-xdist options for the whole suite: one worker per core, each test file on one worker.

    Most slow tests wait on subprocesses (sandboxes, nbgrader kernels, Dask
    workers, chromium) and keep about one core busy, so two files at a time
    fill a two-core machine. Whole files, because their module fixtures (a
    graded class, a served app) are the expensive part and must not be built
    once per worker. Nothing when the caller chose (``-n``, ``-p no:xdist``).
    """
    chosen = any(a == "-n" or a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in args)
    return [] if chosen else ["-n", "auto", "--dist", "loadfile"]


def installed_main(command, args):
    """A command of the installed student package, in the working folder."""
    cwd = Path.cwd()
    if command in ("course", "record"):
        print(NOT_INSTALLED_COURSE, file=sys.stderr)
        return 2
    reason = problem() or tensorflow_problem()
    if command == "setup":
        options = setup_parser(checkout=False).parse_args(args)
        if not options.check:
            folder = Path(options.labs or labs_dir())
            try:
                written = write_skeletons(folder)
            except WorkspaceError as exc:
                _say(exc)
                return 1
            print(f"cvlab: {folder}: " + (f"wrote {', '.join(written)}" if written else "the lab files are there (none replaced)"))
        if reason:
            _say(reason)
            return 1
        print("cvlab: ready. Next: `cvlab ui` (the lab UI) and `cvlab grade --lab segmentation` (the checks).")
        return 0
    if reason:
        _say(reason)
        return 1
    if command == "grade" and not any(a.startswith("--labs") for a in args) and not labs_dir().is_dir():
        _say(f"there is no labs folder in {cwd}: run `cvlab setup` to write the lab skeletons into it, "
             "or name your folder with `cvlab grade --labs DIR`.")
        return 2
    return run_tool(sys.executable, [*INSTALLED[command], *args], cwd=cwd)


def main(argv=None):
    options = build_parser().parse_args(argv)
    if is_checkout():
        return checkout_main(options.command, options.args)
    return installed_main(options.command, options.args)


if __name__ == "__main__":
    sys.exit(main())

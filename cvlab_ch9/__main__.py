"""``python -m cvlab_ch9 setup|ui|test|grade [args...]``: the lab's one entry point, on any OS.

    setup   create .venv and install pyproject.toml's packages (idempotent, about a second when done)
    ui      setup, then the lab UI on http://127.0.0.1:7860 (python -m ui args...)
    test    setup, Debian's chromium on Linux, then the project's tests (python -m pytest args...)
    grade   setup, then grade labs/ (python -m grader args...)

``./run.sh`` (Linux, macOS) calls it; on Windows run ``py -m cvlab_ch9 ui`` in
the lab's folder. Uses only the standard library until the environment
exists, and parses on old Pythons so that it can say which one to install.
"""

import argparse
import os
import subprocess
import sys

from cvlab_ch9.install import SetupError, setup
from cvlab_ch9.paths import REPO_ROOT

COMMANDS = {"setup": None, "ui": ["-m", "cvlab_ch9.ui"], "test": ["-m", "pytest"], "grade": ["-m", "cvlab_ch9.grader"]}
BROWSER_SCRIPT = REPO_ROOT / "scripts" / "install_browser.sh"
BROWSER_FAILED = "cvlab: chromium could not be installed; the browser test skips (and fails under CI=true)."


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m cvlab_ch9", description="Set up the lab's environment and run the UI, the tests or the grader.",
    )
    parser.add_argument("command", choices=list(COMMANDS))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed on to python -m ui / pytest / grader")
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


def run_tool(python, args):
    """Run ``python args...`` in the repository; its exit code.

    Ctrl-C reaches the child as well (same console): wait for it to finish
    its own shutdown, and stop it only on a second Ctrl-C.
    """
    process = subprocess.Popen([str(python), *args], cwd=REPO_ROOT, env=child_environment())
    try:
        return process.wait()
    except KeyboardInterrupt:
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.kill()
            return process.wait()


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        python = setup()
    except SetupError as exc:
        print(f"cvlab: {exc}", file=sys.stderr)
        return 1
    if args.command == "test":
        install_browser(lambda message: print(message, file=sys.stderr))
    tool = COMMANDS[args.command]
    if tool is None:
        print(f"cvlab: {python} is ready.")
        return 0
    return run_tool(python, [*tool, *args.args])


if __name__ == "__main__":
    sys.exit(main())

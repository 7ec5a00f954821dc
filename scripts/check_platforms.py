"""Do pyproject.toml's dependencies (every role's, TensorFlow included) still resolve to wheels on every platform?

    python scripts/check_platforms.py [--resolver uv|pip] [--jobs N]

For each platform of ``cvlab_ch9/platforms.py`` and each Python version of
``PYTHONS``, a resolver is asked for wheels only (``--only-binary :all:``)
for that target, and one table is printed: platform x Python -> resolved or
not, with the TensorFlow wheel chosen. Exit code 1 when a supported
combination no longer resolves. For the unsupported platforms only
TensorFlow is looked up, to confirm it still has no wheel there (and to say
so when one appears).

Resolvers:

- ``uv`` (default): ``uv pip compile --python-platform TRIPLE --python-version V
  --only-binary :all: --format pylock.toml``; about 1.5 CPU seconds per
  combination. ``.ci/run`` installs uv into .venv.
- ``pip``: ``pip install --dry-run --ignore-installed --only-binary=:all:
  --platform TAG... --python-version V --report R``, the installer students
  use, but about 15-20 CPU seconds per combination (it parses every file
  link of every index page), too slow for CI on 2 cores. pip evaluates
  environment markers against the interpreter running it, not against
  ``--platform`` (pypa/pip#11664), so each pip runs with the target's marker
  values (``Platform.marker_environment``).

It talks to the package index, so it is not a unit test; ``.ci/run`` calls
it after the tests.
"""

import argparse
import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a script in scripts/: import cvlab from the checkout

from cvlab_ch9.install import role_requirements
from cvlab_ch9.platforms import MACOS, PLATFORMS, PYTHONS

TENSORFLOW = ("tensorflow", "tensorflow-cpu")
TIMEOUT_S = 900

# Runs pip with the marker environment given as the first argument (JSON).
_PIP_AS_TARGET = """
import json, runpy, sys
from pip._vendor.packaging import markers
target = json.loads(sys.argv.pop(1))
markers.default_environment = lambda: dict(target)
if markers.Marker("sys_platform == " + repr(target["sys_platform"])).evaluate() is not True:
    sys.exit("check_platforms: this pip evaluates markers in a way the check cannot redirect; use --resolver uv.")
sys.argv[0] = "pip"
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


@dataclasses.dataclass
class Outcome:
    """What the resolver said for one platform and Python version.

    Attributes:
        resolved: wheels were found for the whole set (for an unsupported
            platform: for TensorFlow).
        tensorflow: the TensorFlow wheel's file name, or "".
        packages: how many distributions the resolution holds.
        error: the resolver's message when it did not resolve.
        seconds: how long it took.
    """

    resolved: bool
    tensorflow: str = ""
    packages: int = 0
    error: str = ""
    seconds: float = 0.0


def _name(requirement):
    return re.match(r"\s*([A-Za-z0-9_.\-]+)", requirement).group(1).lower().replace("_", "-")


def tensorflow_probe(reqs):
    """The ``tensorflow`` requirement without its marker: is there any TensorFlow wheel at all?"""
    return [r.split(";")[0].strip() for r in reqs if _name(r) == "tensorflow"]


def find_uv():
    """The command that runs uv (``python -m uv`` when installed in this environment), or None."""
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    found = shutil.which("uv")
    return [found] if found else None


def uv_command(uv, target, python, reqfile, output):
    # --python: this interpreter runs uv's resolution for --python-version; without it uv searches
    # PATH for a matching Python (slow, and it is not needed)
    command = [*uv, "pip", "compile", "--no-config", "--quiet", "--no-header", "--python", sys.executable]
    command += ["--python-platform", target.uv_triple]
    command += ["--python-version", python, "--only-binary", ":all:", "--format", "pylock.toml", "-o", str(output)]
    if not target.supported:
        command.append("--no-deps")  # only TensorFlow is in question there: see tensorflow_probe
    return command + [str(reqfile)]


def pip_command(target, python, reqfile, report):
    """The pip command line (run by this interpreter) that resolves ``reqfile`` for ``target``."""
    env = json.dumps(target.marker_environment(python))
    command = [sys.executable, "-c", _PIP_AS_TARGET, env, "install", "--dry-run", "--ignore-installed"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in target.wheel_tags:
        command += ["--platform", tag]
    command += ["--report", str(report), "--quiet", "--no-input", "--disable-pip-version-check"]
    if not target.supported:
        command.append("--no-deps")
    return command + ["-r", str(reqfile)]


def read_pylock(path):
    """(TensorFlow wheel file name or "", number of packages) from uv's ``pylock.toml``."""
    with open(path, "rb") as f:
        packages = tomllib.load(f)["packages"]
    wheel = ""
    for package in packages:
        if package["name"] in TENSORFLOW and package.get("wheels"):
            first = package["wheels"][0]
            wheel = first.get("name") or first["url"].rsplit("/", 1)[-1]
    return wheel, len(packages)


def read_pip_report(path):
    """(TensorFlow wheel file name or "", number of distributions) from a pip ``--report`` file."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    wheel = ""
    for item in document["install"]:
        if item["metadata"]["name"].lower().replace("_", "-") in TENSORFLOW:
            wheel = item["download_info"]["url"].rsplit("/", 1)[-1]
    return wheel, len(document["install"])


def short_error(output):
    """The resolver's message on one line: pip's first ERROR line, else everything, squeezed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    text = errors[0] if errors else " ".join(lines) or "the resolver exited without a message"
    return re.sub(r"\s+", " ", text)


def resolve(resolver, target, python, reqs, uv=None):
    """Ask ``resolver`` (``"uv"`` or ``"pip"``) for wheels of ``reqs`` on ``target``; an :class:`Outcome`."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cvlab-platforms-") as tmp:
        reqfile = Path(tmp) / "requirements.txt"
        reqfile.write_text("\n".join(reqs) + "\n", encoding="utf-8")
        env = dict(os.environ)
        if resolver == "uv":
            output = Path(tmp) / "pylock.check.toml"
            command, reader = uv_command(uv, target, python, reqfile, output), read_pylock
            if target.sys_platform == "darwin":
                env["MACOSX_DEPLOYMENT_TARGET"] = "{}.{}".format(*MACOS)  # uv's oldest macOS for wheels
        else:
            output = Path(tmp) / "report.json"
            command, reader = pip_command(target, python, reqfile, output), read_pip_report
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, encoding="utf-8", errors="replace",
                timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, env=env,
            )
        except subprocess.TimeoutExpired:
            return Outcome(False, error=f"{resolver} did not finish within {TIMEOUT_S} s", seconds=time.perf_counter() - start)
        seconds = time.perf_counter() - start
        if done.returncode != 0 or not output.is_file():
            return Outcome(False, error=done.stderr + done.stdout, seconds=seconds)
        wheel, count = reader(output)
    return Outcome(bool(wheel) or target.supported, wheel, count, seconds=seconds)


def verdict(target, outcome):
    """The table's result column, and whether the check fails because of it."""
    if target.supported:
        return ("resolved" if outcome.resolved else "NOT RESOLVED"), not outcome.resolved
    if outcome.resolved:
        return "a TensorFlow wheel exists now: cvlab_ch9/platforms.py may list it as supported", False
    return "unsupported: no TensorFlow wheel (README)", False


def table(rows):
    header = ("platform", "Python", "result", "TensorFlow wheel (or the resolver's message)", "packages", "s")
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python scripts/check_platforms.py", description=__doc__.splitlines()[0])
    parser.add_argument("--resolver", choices=("uv", "pip"), default="uv", help="default uv (fast); pip is what students install with")
    parser.add_argument("--jobs", type=int, default=6, help="resolutions at once (default 6; mostly waiting for the index)")
    args = parser.parse_args(argv)

    uv = find_uv() if args.resolver == "uv" else None
    if args.resolver == "uv" and uv is None:
        print("check_platforms: uv is not installed; `python -m pip install uv`, or run with --resolver pip (slower).", file=sys.stderr)
        return 2
    start = time.perf_counter()
    reqs = role_requirements("dev")  # every role's packages: the student's with TensorFlow, the instructor's, development's
    probe = tensorflow_probe(reqs)
    jobs = [(target, python) for target in PLATFORMS for python in PYTHONS]

    def run(job):
        target, python = job
        return resolve(args.resolver, target, python, reqs if target.supported else probe, uv)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(run, jobs))

    rows, failed = [], []
    for (target, python), outcome in zip(jobs, outcomes):
        result, bad = verdict(target, outcome)
        if bad:
            failed.append((f"{target.name} / Python {python}", outcome.error))
        detail = outcome.tensorflow or short_error(outcome.error)
        rows.append((target.name, python, result, detail[:150], outcome.packages or "", f"{outcome.seconds:.0f}"))
    print(table(rows))
    print(f"\n{len(jobs)} combinations in {time.perf_counter() - start:.0f} s with {args.resolver}, {args.jobs} at once.")
    for name, error in failed:
        print(f"\n{name}:\n{error.strip()}", file=sys.stderr)
    if failed:
        print(f"\ncheck_platforms: the dependencies no longer resolve for {', '.join(n for n, _ in failed)}; adjust "
              "pyproject.toml's dependencies (and environment.yml) or cvlab_ch9/platforms.py.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

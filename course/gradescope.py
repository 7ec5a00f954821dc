"""The Gradescope autograder: ``python -m course gradescope`` builds ``autograder.zip``.

Gradescope unpacks the zip into ``/autograder/source`` of its Ubuntu image
and runs ``setup.sh`` once (as root) to build the image; for every
submission it runs ``run_autograder``, with the student's files in
``/autograder/submission`` and the results expected in
``/autograder/results/results.json``.

``run_autograder`` calls :func:`run`: it finds ``<lab>.py`` (or
``<lab>.ipynb``) files in the submission, grades them with the judge (the
code runs in a sandbox; the checks, the hidden checks and ``solutions/``
stay in the judge) and writes ``results.json`` itself, after the sandboxes
are gone, so nothing the submission prints or writes is taken as a result.
Hidden checks get ``"visibility": "after_published"``. ``setup.sh``
creates an unprivileged ``cvlab-sandbox`` user and the sandbox runs as that
user (``CVLAB_SANDBOX_USER``), with the answer key readable by root only.
"""

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from cvlab_ch9.impl import LAB_NAMES
from cvlab_ch9.paths import REPO_ROOT

DEFAULT_ZIP = REPO_ROOT / "dist" / "autograder.zip"
SANDBOX_USER = "cvlab-sandbox"
#: What the bundle holds of the project (the judge, the reference, hidden checks; no tests or dev tools).
BUNDLE_PACKAGES = ("cvlab_ch9", "grader", "solutions", "labs", "course")
BUNDLE_FILES = ("pyproject.toml",)
SKIP = ("__pycache__", ".ipynb_checkpoints", "release", "submitted", "autograded", "feedback", "exports",
        "verdicts", "gradebook.db",
        "gallery.rec")  # the UI's recorded reference (a checkout may hold one): the autograder has no UI

SETUP_SH = f"""\
#!/usr/bin/env bash
# Gradescope image setup (runs once, as root): Python >= 3.11, the project's packages, a sandbox user.
set -euo pipefail
cd /autograder/source
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip ca-certificates
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y -qq --no-install-recommends software-properties-common
    add-apt-repository -y ppa:deadsnakes/ppa
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python - <<'PY' > /tmp/cvlab-requirements.txt
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
extras = project["optional-dependencies"]
print("\\n".join(project["dependencies"] + extras["cpu"] + extras["instructor"]))  # the judge: TensorFlow, nbformat, Dask
PY
.venv/bin/python -m pip install --quiet -r /tmp/cvlab-requirements.txt
id -u {SANDBOX_USER} >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin {SANDBOX_USER}
# the answer key, the checks and the recordings: root only (the sandbox user cannot read them)
chmod -R go-rwx solutions grader course
chmod 755 . .venv
chmod +x run_autograder
"""

RUN_AUTOGRADER = f"""\
#!/usr/bin/env bash
# Gradescope runs this for every submission. The judge writes results/results.json.
set -u
ROOT=${{AUTOGRADER_ROOT:-/autograder}}
PYTHON=${{CVLAB_PYTHON:-$ROOT/source/.venv/bin/python}}
if [ "$(id -u)" -eq 0 ] && id -u {SANDBOX_USER} >/dev/null 2>&1; then
    export CVLAB_SANDBOX_USER=${{CVLAB_SANDBOX_USER:-{SANDBOX_USER}}}
fi
cd "$ROOT/source" || exit 1
exec "$PYTHON" -m course.gradescope run --submission "$ROOT/submission" --results "$ROOT/results/results.json"
"""


# -- inside Gradescope ---------------------------------------------------------------------


def find_submitted(submission_dir):
    """``{lab: path}`` of the lab files in a submission folder (any depth; .py preferred over .ipynb; links not entered)."""
    from cvlab_ch9.grader.batch.folders import find_lab_files  # noqa: PLC0415

    return find_lab_files(submission_dir)


def lab_code(lab, path, submission_dir):
    """The :class:`cvlab_ch9.grader.judge.LabCode` of one submitted file (a link in the submission: refused, one sentence)."""
    from cvlab_ch9.grader.batch.files import Refused  # noqa: PLC0415
    from cvlab_ch9.grader.judge import LabCode  # noqa: PLC0415

    if path.suffix == ".ipynb":
        from course.judging import notebook_code  # noqa: PLC0415

        try:
            return notebook_code(path, REPO_ROOT / "course" / "source" / lab / f"{lab}.ipynb", lab, root=submission_dir)
        except Refused as exc:
            return LabCode(lab, path.name, refusal=str(exc))
    from cvlab_ch9.grader.batch.folders import read_code  # noqa: PLC0415

    return read_code(lab, path, submission_dir)


def results_document(submission_dir):
    """The Gradescope results (a dict) for the files in ``submission_dir``."""
    from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415
    from cvlab_ch9.grader.isolation import isolation_status  # noqa: PLC0415
    from cvlab_ch9.grader.judge import grade_code  # noqa: PLC0415
    from cvlab_ch9.grader.report import to_gradescope  # noqa: PLC0415

    found = find_submitted(submission_dir)
    if not found:
        names = ", ".join(f"{lab}.py" for lab in LAB_NAMES)
        return {"score": 0, "output": f"No lab file found in your submission. Upload {names} (or the lab notebooks).",
                "tests": []}
    codes, unreadable = {}, []
    for lab, path in found.items():
        try:
            codes[lab] = lab_code(lab, path, submission_dir)
        except Exception as exc:  # noqa: BLE001 - a broken notebook file: graded as missing, with the reason
            unreadable.append(f"{path.name} could not be read ({type(exc).__name__}); resubmit it.")
    results = []
    for lab in found:
        if lab in codes:
            results.extend(grade_code({lab: codes[lab]}, lab=lab, reference="live", include_hidden=True,
                                      extra_deny=[Path(submission_dir).resolve().parent]))
    hidden = {c.id for c in all_checks() if c.hidden}
    document = json.loads(to_gradescope(results, hidden=hidden, hidden_visibility="after_published",
                                        isolation=isolation_status()))
    graded = ", ".join(f"{found[lab].name}" for lab in codes)
    notes = [f"Graded {graded or 'nothing'}.", *unreadable, document.get("output", "")]
    document["output"] = " ".join(note for note in notes if note)
    document["stdout_visibility"] = "hidden"
    return document


def run(submission_dir, results_path):
    """Grade the submission and write ``results.json`` (atomically, after grading)."""
    try:
        document = results_document(submission_dir)
    except Exception as exc:  # noqa: BLE001 - the grader itself failed: say so in the results, score 0
        document = {"score": 0, "tests": [],
                    "output": f"The autograder could not run ({type(exc).__name__}: {exc}). Tell your instructor."}
    results_path = Path(results_path)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    partial = results_path.with_name(results_path.name + ".part")
    partial.write_text(json.dumps(document, indent=2))
    os.replace(partial, results_path)
    return document


# -- building the bundle ---------------------------------------------------------------------


def _ignore(folder, names):
    return [n for n in names if n in SKIP]


def build_bundle(zip_path=DEFAULT_ZIP, log=print):
    """Write ``autograder.zip`` (setup.sh, run_autograder and the project's judge, reference and checks)."""
    zip_path = Path(zip_path).resolve()
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cvlab-gradescope-") as tmp:
        root = Path(tmp)
        for name in BUNDLE_PACKAGES:
            shutil.copytree(REPO_ROOT / name, root / name, ignore=_ignore)
        for name in BUNDLE_FILES:
            shutil.copy2(REPO_ROOT / name, root / name)
        (root / "setup.sh").write_text(SETUP_SH)
        (root / "run_autograder").write_text(RUN_AUTOGRADER)
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(str(path.relative_to(root)))
                    info.external_attr = (0o755 if path.name in ("setup.sh", "run_autograder") else 0o644) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
    log(f"gradescope: {zip_path} (upload it as the assignment's autograder; Ubuntu base image)")
    return zip_path


def main(argv=None):
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m course.gradescope", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write autograder.zip")
    build.add_argument("--out", default=str(DEFAULT_ZIP))
    grade = commands.add_parser("run", help="grade one submission (what run_autograder calls)")
    grade.add_argument("--submission", required=True)
    grade.add_argument("--results", required=True)
    args = parser.parse_args(argv)
    if args.command == "build":
        build_bundle(args.out)
    else:
        run(args.submission, args.results)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())

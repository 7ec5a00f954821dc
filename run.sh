#!/usr/bin/env bash
# Entry point of the instructor's checkout on Linux and macOS (Windows, in the checkout: py -m cvlab_ch9 ...).
# Each command first makes .venv hold the packages of its role (pyproject.toml), then runs in the checkout:
#   ./run.sh ui                   the student's packages, then the lab UI on http://127.0.0.1:7860
#   ./run.sh grade                the student's packages, then the judge on labs/ (python -m grader)
#   ./run.sh test                 every role's packages (and Debian's chromium for the browser test), then the test suite
#   ./run.sh course kit|release|grade|gradescope   the instructor's packages, then python -m course ...
#   ./run.sh record [--check] [--book LAB|gallery] the reference side's recordings from solutions/ (python -m grader.record)
#   ./run.sh setup [--instructor|--dev]            only set up .venv
# Students do not use this script: they install the student package (docs/students.md).
# The work is done by `python -m cvlab_ch9` (cvlab_ch9/__main__.py); this script only
# finds a Python for it: $PYTHON, else .venv's, else python3.11/3.12/3.13/python3.
set -euo pipefail
cd "$(dirname "$0")"
supported() { "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' >/dev/null 2>&1; }
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    for candidate in .venv/bin/python python3.11 python3.12 python3.13 python3; do
        if supported "$candidate"; then PYTHON=$candidate; break; fi
    done
fi
# none supported: python3 runs cvlab's setup, which says which Python to install
exec "${PYTHON:-python3}" -m cvlab_ch9 "$@"

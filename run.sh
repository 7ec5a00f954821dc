#!/usr/bin/env bash
# Entry point for students, instructors and CI on Linux and macOS
# (on Windows, in the lab's folder: py -m cvlab_ch9 ui|test|grade).
#   ./run.sh ui      set up .venv, then launch the lab UI on http://127.0.0.1:7860
#   ./run.sh test    set up (also Debian's chromium for the browser test), then run the project's test suite
#   ./run.sh grade   set up, then grade labs/ (python -m grader)
#   ./run.sh setup   only set up .venv
# The work is done by `python -m cvlab_ch9` (cvlab/__main__.py); this script only
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

#!/usr/bin/env bash
# Create .venv and install pyproject.toml's packages for a role (python -m cvlab_ch9 setup):
#   scripts/setup.sh                 the student's packages (what ./run.sh ui and ./run.sh grade need)
#   scripts/setup.sh --instructor    also Jupyter, nbgrader and Dask (python -m course ...)
#   scripts/setup.sh --dev           every role's packages (the test suite; what CI installs)
# Idempotent: a second run only checks that everything is installed (about a second).
exec "$(dirname "$0")/../run.sh" setup "$@"

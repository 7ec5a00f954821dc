#!/usr/bin/env bash
# Create .venv and install the packages listed in pyproject.toml (python -m cvlab_ch9 setup).
# Idempotent: a second run only checks that everything is installed (about a second).
exec "$(dirname "$0")/../run.sh" setup "$@"

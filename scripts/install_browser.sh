#!/usr/bin/env bash
# Install Debian's chromium for the UI's browser test (tests/ui/test_browser.py)
# and the README screenshots (python -m tools.screenshots). Playwright drives
# /usr/bin/chromium directly: never run `playwright install`.
# Idempotent: does nothing when /usr/bin/chromium is already there.
# Needs root (or sudo) and access to the Debian package mirrors.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install_browser.sh: run as root (apt-get needs it)" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium
/usr/bin/chromium --version

"""Serve the UI for tests, benchmarks and screenshots (development tools, not the app).

- :func:`running_ui`: ``python -m ui`` in a child process, waited on until it
  answers (the gradio_client tests and the UI benchmark);
- :func:`serve_in_background`: the app in this process, not blocking (the
  browser test and the screenshots).

Importing this module imports neither Gradio nor TensorFlow.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

from cvlab.paths import REPO_ROOT
from ui.config import HOST


class UIStartError(RuntimeError):
    """``python -m ui`` exited or did not answer in time; the message holds its output."""


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_ready(url, process, timeout_s):
    """Seconds until ``url`` answers HTTP 200.

    Raises:
        UIStartError: the process exited first, or ``timeout_s`` passed.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise UIStartError(f"python -m ui exited with code {process.returncode}:\n{output[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.25)  # not listening yet
    raise UIStartError(f"python -m ui did not answer on {url} within {timeout_s} s")


@contextlib.contextmanager
def running_ui(timeout_s=150, port=None):
    """``python -m ui --port N --share never`` in a child process.

    Yields:
        (url, seconds from launch to the first HTTP 200). The process is
        stopped when the block ends.
    """
    port = port or free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")  # UTF-8 pipe on Windows too
    env.pop("GRADIO_ANALYTICS_ENABLED", None)  # the launcher must set it itself
    process = subprocess.Popen(
        [sys.executable, "-m", "ui", "--port", str(port), "--share", "never"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        encoding="utf-8", errors="replace",
    )
    url = f"http://{HOST}:{port}/"
    try:
        yield url, wait_until_ready(url, process, timeout_s)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def serve_in_background(port=None):
    """Build and launch the app in this process without blocking.

    Returns:
        (app, url): call ``app.close()`` to stop the server.
    """
    from ui.app import build_app, launch  # noqa: PLC0415 - imports gradio

    app = build_app()
    port = port or free_port()
    launch(app, port=port, block=False, quiet=True)
    return app, f"http://{HOST}:{port}/"

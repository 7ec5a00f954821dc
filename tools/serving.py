"""Serve the UI for tests, benchmarks and screenshots (development tools, not the app).

- :func:`running_ui`: ``python -m ui`` in a child process, waited on until it
  answers (the gradio_client tests and the UI benchmark);
- :func:`serve_in_background`: the app in this process, not blocking (the
  browser test and the screenshots);
- :func:`jupyter_server`: Notebook 7 on a folder of notebooks, in a child
  process (the notebook browser test and the notebook screenshot).

Importing this module imports neither Gradio nor TensorFlow.
"""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.ui.config import HOST


class UIStartError(RuntimeError):
    """``python -m ui`` exited or did not answer in time; the message holds its output."""


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_ready(url, process, timeout_s, name="python -m ui"):
    """Seconds until ``url`` answers HTTP 200.

    Args:
        name: how the messages call the server process.

    Raises:
        UIStartError: the process exited first, or ``timeout_s`` passed.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise UIStartError(f"{name} exited with code {process.returncode}:\n{output[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.25)  # not listening yet
    raise UIStartError(f"{name} did not answer on {url} within {timeout_s} s")


@contextlib.contextmanager
def running_ui(timeout_s=150, port=None, cwd=REPO_ROOT, env=None, command=None):
    """``python -m ui --port N --share never`` in a child process.

    Args:
        cwd: the folder it runs in (a student kit, for example).
        env: its environment (default: this process's).
        command: what starts the UI, before ``--port`` (default: this Python's
            ``-m cvlab_ch9.ui``; an installed copy's ``cvlab ui``, for example).

    Yields:
        (url, seconds from launch to the first HTTP 200). The process is
        stopped when the block ends.
    """
    port = port or free_port()
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")  # UTF-8 pipe on Windows too
    env.pop("GRADIO_ANALYTICS_ENABLED", None)  # the launcher must set it itself
    process = subprocess.Popen(
        [*(command or [sys.executable, "-m", "cvlab_ch9.ui"]), "--port", str(port), "--share", "never"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
    from cvlab_ch9.ui.app import build_app, launch  # noqa: PLC0415 - imports gradio

    app = build_app()
    port = port or free_port()
    launch(app, port=port, block=False, quiet=True)
    return app, f"http://{HOST}:{port}/"


@contextlib.contextmanager
def jupyter_server(root_dir, env, timeout_s=120, python=sys.executable):
    """Notebook 7 (``python -m notebook``) on 127.0.0.1 serving ``root_dir``, with a random token.

    ``python`` runs it (default: this one; an installed copy's, for example).
    Its configuration and runtime folders are temporary ones inside
    ``root_dir``'s parent, so nothing of the user's Jupyter setup is read or
    written. Yields ``(base URL, token)``; the server and its kernels are
    killed when the block ends.
    """
    from cvlab_ch9.processes import kill_tree, start_group  # noqa: PLC0415 - psutil

    root_dir = Path(root_dir)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(env, JUPYTER_CONFIG_DIR=str(root_dir.parent / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(root_dir.parent / "jupyter-runtime"))
    command = [str(python), "-m", "notebook", "--no-browser", f"--ip={HOST}", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}", "--ServerApp.allow_root=True"]
    log = root_dir.parent / "jupyter.log"  # a file, not a pipe nobody reads (the server logs every kernel start)
    with log.open("w") as output:
        process = start_group(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://{HOST}:{port}"
    try:
        try:
            wait_until_ready(f"{base}/api/status?token={token}", process, timeout_s, name="the Jupyter server")
        except UIStartError as exc:
            raise UIStartError(f"{exc}\n{log.read_text()[-3000:]}") from exc
        yield base, token
    finally:
        kill_tree(process)

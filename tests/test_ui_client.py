"""The launched app (``python -m ui`` in a subprocess) driven through gradio_client."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest

gradio_client = pytest.importorskip("gradio_client")

from cvlab.paths import REPO_ROOT  # noqa: E402
from tests._ui_helpers import PHOTO  # noqa: E402

READY_TIMEOUT_S = 150


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(url, process, timeout_s):
    """Seconds until ``url`` answers 200; fails if the process dies or time runs out."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if process.poll() is not None:
            output = process.stdout.read()
            pytest.fail(f"python -m ui exited with {process.returncode}:\n{output[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"python -m ui did not answer on {url} within {timeout_s} s")


@pytest.fixture(scope="module")
def server():
    """``python -m ui --port N --share never`` running on 127.0.0.1; yields its URL."""
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("GRADIO_ANALYTICS_ENABLED", None)  # the launcher must set it itself
    process = subprocess.Popen(
        [sys.executable, "-m", "ui", "--port", str(port), "--share", "never"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        seconds = _wait_until_ready(url, process, READY_TIMEOUT_S)
        print(f"launch-to-ready: {seconds:.1f} s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def client(server):
    return gradio_client.Client(server, verbose=False)


def test_endpoints_are_named(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/segment", "/train", "/architecture", "/activations", "/filters", "/grad_cam", "/grade"} <= set(endpoints)


def test_grad_cam_endpoint(client):
    start = time.perf_counter()
    heat, overlay, status, ref_heat, ref_overlay, predictions, note = client.predict(
        "solutions", "mini_xception", gradio_client.handle_file(str(PHOTO)), "", "top predicted class", 0.4,
        api_name="/grad_cam",
    )
    print(f"grad_cam via API: {time.perf_counter() - start:.2f} s")
    for path in (heat, overlay, ref_heat, ref_overlay):
        assert os.path.getsize(path) > 1000
    assert "max difference from the reference: 0" in status
    assert len(predictions["confidences"]) >= 1


def test_architecture_endpoint_with_unfinished_labs(client):
    summary, status, table = client.predict(
        "labs", "Conv → BN → ReLU (conv_bn_relu)", 32, "32", 1, False, api_name="/architecture"
    )
    assert "Reference: **992** parameters" in summary
    assert "conv_bn_relu is not implemented yet" in status
    assert len(table["data"]) == 4
    assert table["data"][1][5].startswith("Conv2D (") and table["data"][1][1] == ""


def test_bad_input_is_a_message_not_a_crash(client):
    with pytest.raises(gradio_client.exceptions.AppError, match="No image yet"):
        client.predict("solutions", "convnet", None, "", "top predicted class", 0.4, api_name="/grad_cam")
    with pytest.raises(gradio_client.exceptions.AppError, match="does not exist"):
        client.predict("/no/such/dir", "Conv → BN → ReLU (conv_bn_relu)", 32, "32", 1, False, api_name="/architecture")
    # the server is still serving
    assert client.predict("solutions", "Conv → BN → ReLU (conv_bn_relu)", 32, "32", 1, False, api_name="/architecture")

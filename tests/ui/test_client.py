"""The launched app (``python -m ui`` in a subprocess) driven through gradio_client."""

import os
import time

import gradio_client
import pytest

from tests.ui.helpers import PHOTO, reference_difference
from tools.serving import UIStartError, running_ui

pytestmark = pytest.mark.slow
READY_TIMEOUT_S = 150


@pytest.fixture(scope="module")
def server():
    """``python -m ui --port N --share never`` running on 127.0.0.1; yields its URL."""
    try:
        with running_ui(READY_TIMEOUT_S) as (url, seconds):
            print(f"launch-to-ready: {seconds:.1f} s")
            yield url
    except UIStartError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def client(server):
    return gradio_client.Client(server, verbose=False)


def test_endpoints_are_named(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/segment", "/train", "/architecture", "/activations", "/filters", "/grad_cam", "/grade"} <= set(endpoints)
    assert {"/architecture_graph", "/layer_output", "/separable", "/separable_mini_xception", "/batchnorm", "/pipeline"} <= set(endpoints)


def test_graph_and_layer_output_endpoints(client, skeletons):
    settings = ("Conv → BN → ReLU (conv_bn_relu)", 32, "32", 1, False)
    student, reference, status, note, layers = client.predict(str(skeletons), *settings, api_name="/architecture_graph")
    assert student == "" and reference.count("data-layer=") == 4 and "Not implemented yet: write conv_bn_relu()" in status
    mine, caption, theirs, reference_caption = client.predict(
        "solutions", *settings, gradio_client.handle_file(str(PHOTO)), "#1 conv2d (Conv2D)", api_name="/layer_output"
    )
    assert os.path.getsize(mine) > 1000 and os.path.getsize(theirs) > 1000 and "32×32×32" in caption


def test_grad_cam_endpoint(client):
    start = time.perf_counter()
    student, status, reference, differences, predictions, note, ref_note = client.predict(
        "solutions", "mini_xception", gradio_client.handle_file(str(PHOTO)), "", [], 0.4, api_name="/grad_cam",
    )
    print(f"grad_cam via API: {time.perf_counter() - start:.2f} s")
    # both classes side by side: the overlays, then the heatmaps; one difference picture per class
    assert [item["caption"].split(" — ")[0] for item in student[:2]] == [item["caption"].split(" — ")[0] for item in reference[:2]]
    assert len(student) == len(reference) == 4 and len(differences) == 2
    for item in (*student, *reference, *differences):
        assert os.path.getsize(item["image"]) > 1000
    assert reference_difference(status) < 1e-5
    # the mini-Xception demo model has two classes: both are listed
    assert {c["label"] for c in predictions["confidences"]} == {"cat", "dog"}


def test_architecture_endpoint_with_unfinished_labs(client, skeletons):
    summary, status, table = client.predict(
        str(skeletons), "Conv → BN → ReLU (conv_bn_relu)", 32, "32", 1, False, api_name="/architecture"
    )
    assert "Reference: **992** parameters" in summary
    assert "Not implemented yet: write conv_bn_relu()" in status
    assert len(table["data"]) == 4
    assert table["data"][1][5].startswith("Conv2D (") and table["data"][1][1] == ""


def test_bad_input_is_a_message_not_a_crash(client):
    with pytest.raises(gradio_client.exceptions.AppError, match="No image yet"):
        client.predict("solutions", "convnet", None, "", [], 0.4, api_name="/grad_cam")
    with pytest.raises(gradio_client.exceptions.AppError, match="does not exist"):
        client.predict("/no/such/dir", "Conv → BN → ReLU (conv_bn_relu)", 32, "32", 1, False, api_name="/architecture")
    # the server is still serving: the reference architecture is summarized as before
    summary, status, table = client.predict(
        "solutions", "Conv → BN → ReLU (conv_bn_relu)", 32, "32", 1, False, api_name="/architecture"
    )
    assert "yours: **992**, reference: **992** (same)" in summary and "Built with solutions/architecture.py" in status
    assert len(table["data"]) == 4

"""Bad and unusual input through the real front door: the launched app (``python -m ui``) driven by gradio_client.

Every file of the corpus (tests/ui/upload_corpus.py) goes to every endpoint
that takes an image. A bad one must come back as the project's sentence
(naming the file, no temporary path) and the next good request must work;
an unusual one must work, upright. Then the other inputs a user can reach:
the labs directory, the numeric fields, and the layer and class pickers
with values of the other model (as after a model switch).
"""

import tempfile

import gradio_client
import pytest
from gradio_client import handle_file
from PIL import Image

from tests.labs import skeleton_labs
from tests.ui.helpers import PHOTO
from tests.ui.upload_corpus import BAD, GOOD, HEIGHT, WIDTH, assert_looks_like, quadrants, write_corpus
from tools.serving import UIStartError, running_ui

pytestmark = pytest.mark.slow

READY_TIMEOUT_S = 150
MODEL = "convnet"  # layers conv1 ... conv5; the app's default model is the mini-Xception
XCEPTION_LAYER = "separable_conv2d"
TOP = "top predicted class"
SCRATCH = "train from scratch (64x64, filters 16-32-64)"


@pytest.fixture(scope="module")
def client():
    try:
        with running_ui(READY_TIMEOUT_S) as (url, _seconds):
            yield gradio_client.Client(url, verbose=False)
    except UIStartError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def good_image(tmp_path_factory):
    """A small plain PNG for the good request after each bad one."""
    path = tmp_path_factory.mktemp("good") / "good.png"
    Image.fromarray(quadrants()).save(path)
    return str(path)


@pytest.fixture(scope="module")
def skeletons(tmp_path_factory):
    """Fresh skeletons: every endpoint answers fast (the reference side only) and never trains."""
    return str(skeleton_labs(tmp_path_factory.mktemp("skeletons")))


# one call per endpoint that takes an image: (client, labs directory, uploaded file) -> outputs
IMAGE_ENDPOINTS = {
    "segment": lambda c, labs, image: c.predict(labs, image, api_name="/segment"),
    "activations": lambda c, labs, image: c.predict(labs, MODEL, image, ["conv1"], 8, api_name="/activations"),
    "grad_cam": lambda c, labs, image: c.predict(labs, MODEL, image, "", [], 0.4, api_name="/grad_cam"),
}


def app_message(call):
    """The message of the AppError that ``call()`` must raise: the project's gr.Error sentence."""
    with pytest.raises(gradio_client.exceptions.AppError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.endswith("."), message
    return message


def check_works(endpoint, outputs):
    """The endpoint's answer to a good image: the reference side is there, the student side says what to write."""
    if endpoint == "segment":
        assert outputs[2]["image"] and "Not implemented yet: write" in outputs[1]
    elif endpoint == "activations":
        assert len(outputs[2]) == 1 and "Not implemented yet: write" in outputs[1]
    else:
        assert outputs[2] and "Not implemented yet: write" in outputs[1]


@pytest.mark.parametrize("endpoint", IMAGE_ENDPOINTS)
@pytest.mark.parametrize("case", BAD, ids=lambda c: c.id)
def test_bad_upload_gets_the_sentence_and_the_app_keeps_serving(client, corpus, skeletons, good_image, case, endpoint):
    call = IMAGE_ENDPOINTS[endpoint]
    message = app_message(lambda: call(client, skeletons, handle_file(str(corpus[case.id]))))
    assert case.message in message
    assert tempfile.gettempdir() not in message  # Gradio's upload folder is not shown
    check_works(endpoint, call(client, skeletons, handle_file(good_image)))


@pytest.mark.parametrize("endpoint", IMAGE_ENDPOINTS)
@pytest.mark.parametrize("case", GOOD, ids=lambda c: c.id)
def test_unusual_photo_works_upright(client, corpus, skeletons, case, endpoint):
    outputs = IMAGE_ENDPOINTS[endpoint](client, skeletons, handle_file(str(corpus[case.id])))
    check_works(endpoint, outputs)
    if endpoint == "segment":
        # the mask is drawn on the picture the model saw
        with Image.open(outputs[2]["image"]) as shown:
            assert_looks_like(shown.convert("RGB"), case.expected())
    elif endpoint == "grad_cam":
        with Image.open(outputs[2][0]["image"]) as overlay:  # the reference's overlay of the first class
            assert overlay.size == (WIDTH, HEIGHT)


# -- the other inputs ------------------------------------------------------------------------------


def architecture(client, labs="solutions", size=32, filters="32", classes=1):
    return client.predict(labs, "Conv → BN → ReLU (conv_bn_relu)", size, filters, classes, False, api_name="/architecture")


def test_labs_directory_problems_are_sentences(client, corpus, tmp_path):
    (tmp_path / "empty").mkdir()
    cases = {
        str(corpus["text-named-jpg"]): "is a file, not a folder",
        str(tmp_path / "empty"): "holds none of the lab modules (segmentation.py, architecture.py and interpretation.py)",
        str(tmp_path / "nope"): "does not exist",
        "solutions/architecture.py": "is a file, not a folder: use the folder that holds it",
    }
    for text, part in cases.items():
        assert part in app_message(lambda text=text: architecture(client, labs=text))
    assert "yours: **992**, reference: **992** (same)" in architecture(client)[0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("size", 5000, "Input size (pixels) must be a whole number from 16 to 299; got 5000."),
        ("size", "big", "Input size (pixels) must be a whole number from 16 to 299; got 'big'."),
        ("classes", None, "Classes must be a whole number from 1 to 1000; got nothing."),
        ("classes", -3, "Classes must be a whole number from 1 to 1000; got -3."),
        ("filters", "32, lots", "Block filters '32, lots' must be 1 to 8 whole numbers"),
    ],
)
def test_architecture_numbers_are_checked(client, field, value, message):
    assert message in app_message(lambda: architecture(client, **{field: value}))


def test_other_numeric_fields_are_checked(client, skeletons):
    photo = handle_file(str(PHOTO))
    calls = {
        "Filters must be a whole number from 1 to 16; got 500.": lambda: client.predict(
            "solutions", MODEL, "conv3", 500, 5, False, None, api_name="/filters"),
        "Gradient ascent steps must be a whole number from 5 to 60; got nothing.": lambda: client.predict(
            "solutions", MODEL, "conv3", 1, None, False, None, api_name="/filters"),
        "Heatmap weight (alpha) must be a number from 0.1 to 1; got 7.": lambda: client.predict(
            skeletons, MODEL, photo, "", [], 7, api_name="/grad_cam"),
        "Channels per row must be a whole number from 4 to 32; got 0.": lambda: client.predict(
            skeletons, MODEL, photo, [], 0, api_name="/activations"),
        "Epochs must be a whole number from 1 to 10; got 99.": lambda: client.predict(
            skeletons, SCRATCH, 99, 4, api_name="/train"),
        "Unknown training mode 'forever'": lambda: client.predict(
            skeletons, "forever", 1, 4, api_name="/train"),
    }
    for message, call in calls.items():
        assert message in app_message(call)


def test_pickers_with_the_other_models_values(client, skeletons):
    photo = handle_file(str(PHOTO))
    # a layer of the model that is not the default one works (Gradio's dropdown knew only the default's)
    student, _status, reference, _reference_note, patches, _words = client.predict(
        "solutions", MODEL, "conv3", 1, 5, True, None, api_name="/filters")
    assert student and reference and patches, "one filter's row on each side, and its patches"
    # a layer of the other model, as after a model switch: the sentence names this model's layers
    stale = {
        "/filters": (skeletons, MODEL, XCEPTION_LAYER, 1, 5, False, None),
        "/grad_cam": (skeletons, MODEL, photo, XCEPTION_LAYER, [], 0.4),
        "/activations": (skeletons, MODEL, photo, [XCEPTION_LAYER], 8),
    }
    for api_name, args in stale.items():
        message = app_message(lambda args=args, api_name=api_name: client.predict(*args, api_name=api_name))
        assert f"named '{XCEPTION_LAYER}'" in message and "conv1, " in message and message.endswith("conv5.")
    assert "Unknown class 'zebra' for this model; choose from: cat, dog" in app_message(
        lambda: client.predict(skeletons, MODEL, photo, "", ["zebra"], 0.4, api_name="/grad_cam"))
    assert "Unknown model 'resnet9000'; choose one of:" in app_message(
        lambda: client.predict(skeletons, "resnet9000", photo, "", [], 0.4, api_name="/grad_cam"))
    assert "Unknown lab 'chemistry'" in app_message(lambda: client.predict(skeletons, "chemistry", api_name="/grade"))

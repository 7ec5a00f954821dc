"""The UI's models: the ImageNet Xception downloaded on a click, the notes on what each model
was trained on, and models trained on Oxford-IIIT Pets picked up next to the shipped ones."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

gr = pytest.importorskip("gradio")

from cvlab import imagenet, models  # noqa: E402
from cvlab import train_segmentation as ts  # noqa: E402
from cvlab.download import MIRROR_ENV  # noqa: E402
from cvlab.paths import MODELS_DIR  # noqa: E402
from cvlab.quiet import import_tensorflow  # noqa: E402
from tests._http_server import LoopbackServer, refused_url  # noqa: E402
from tests._imagenet_helpers import make_stand_ins, serve_stand_ins, use_stand_in_hashes  # noqa: E402
from tests._ui_helpers import photo  # noqa: E402

import_tensorflow()

from ui import resources, tabs_interpretation  # noqa: E402

IMAGENET = resources.IMAGENET_XCEPTION


@pytest.fixture(scope="module")
def stand_ins():
    return make_stand_ins()


@pytest.fixture()
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    yield tmp_path / "keras"
    resources._load_imagenet.cache_clear()
    resources.model_info.cache_clear()
    tabs_interpretation.feature_extractor.cache_clear()


def test_not_cached_the_imagenet_choice_offers_a_download(empty_cache):
    assert IMAGENET in resources.model_choices()
    note, button = tabs_interpretation.model_status(IMAGENET)
    assert "not downloaded yet" in note and "click **Download**" in note and button["visible"] is True
    layers, filter_layer, gradcam_layer, classes = tabs_interpretation.model_changed(IMAGENET)
    assert layers["choices"] == [] and gradcam_layer["choices"] == []
    with pytest.raises(gr.Error, match="not downloaded yet: click Download"):
        tabs_interpretation.run_grad_cam("solutions", IMAGENET, photo(), "", tabs_interpretation.TOP_CLASS)


def test_clicking_download_fetches_it_and_then_it_works_like_a_demo_model(empty_cache, stand_ins, monkeypatch):
    use_stand_in_hashes(monkeypatch, stand_ins)
    fractions = []
    with LoopbackServer() as server:
        serve_stand_ins(server, stand_ins)
        monkeypatch.setenv(MIRROR_ENV, server.url)
        updates = tabs_interpretation.download_model(IMAGENET, lambda fraction, desc="": fractions.append((fraction, desc)))
    layers, filter_layer, gradcam_layer, classes, note, button = updates
    assert gradcam_layer["value"] == imagenet.LAST_CONV_LAYER and "block1_conv1" in layers["choices"]
    assert "African_elephant" in classes["choices"] and button["visible"] is False
    assert "Keras' Xception trained on ImageNet" in note
    assert fractions[-1][0] == 1.0 and "Downloading xception_weights" in fractions[0][1]
    *_, predictions, _note = tabs_interpretation.run_grad_cam("solutions", IMAGENET, photo(), "", tabs_interpretation.TOP_CLASS)
    assert len(predictions) == 5 and all(name.startswith("class_") or name == "African_elephant" for name in predictions)


def test_a_failed_download_says_how_and_the_demo_models_stay(empty_cache, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, refused_url())
    with pytest.raises(gr.Error) as caught:
        tabs_interpretation.download_model(IMAGENET)
    message = caught.value.message
    assert message.startswith("Could not connect to 127.0.0.1") and imagenet.XCEPTION_WEIGHTS.url in message
    assert "stays on the demo models" in message
    assert resources.needs_download(IMAGENET)
    assert tabs_interpretation.model_status(IMAGENET)[1]["visible"] is True
    assert tabs_interpretation.model_changed("convnet")[2]["value"] == "conv5"  # demo models unaffected


def test_demo_models_say_they_were_trained_on_cartoon_pets():
    for name in models.DEMO_MODELS:
        note = resources.model_note(name)
        assert "trained on synthetic cartoon pets" in note and "on real photos expect" in note
        assert "ImageNet Xception" in note and "--data oxford" in note
    note = resources.segmentation_note()
    assert "segmentation_demo.keras" in note and "cartoon pets" in note and "--data oxford" in note


def test_models_trained_on_oxford_are_listed_first_and_described(tmp_path, monkeypatch):
    for path in MODELS_DIR.glob("*"):
        shutil.copy(path, tmp_path / path.name)
    info = models.demo_model_info("convnet")
    info.update(name="convnet_oxford", architecture="convnet", file="convnet_oxford.keras",
                trained_on="Oxford-IIIT Pets photos (2400 training images)", data={"dataset": "Oxford-IIIT Pets"})
    shutil.copy(MODELS_DIR / "convnet.keras", tmp_path / "convnet_oxford.keras")
    models.write_info(info, tmp_path)
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    assert resources.model_choices() == ["convnet_oxford", *models.DEMO_MODELS, IMAGENET]
    note = resources.model_note("convnet_oxford")
    assert "trained on Oxford-IIIT Pets photos (2400 training images)" in note and "cartoon" not in note
    heat, *_ = tabs_interpretation.run_grad_cam("solutions", "convnet_oxford", photo(), "", tabs_interpretation.TOP_CLASS)
    assert heat is not None
    resources._load_demo.cache_clear()
    resources.model_info.cache_clear()


def test_a_segmentation_model_trained_on_oxford_replaces_the_demo(tmp_path, monkeypatch):
    oxford_path = tmp_path / "segmentation_oxford.keras"
    shutil.copy(ts.DEMO_MODEL_PATH, oxford_path)
    meta = ts.demo_segmentation_info()
    meta["trained_on"] = "Oxford-IIIT Pets photos (1920 training images from data/oxford-iiit-pet)"
    ts.metadata_path(oxford_path).write_text(__import__("json").dumps(meta))
    monkeypatch.setattr(ts, "OXFORD_MODEL_PATH", oxford_path)
    assert ts.segmentation_model_in_use() == oxford_path
    note = resources.segmentation_note()
    assert note.startswith("Model in use: **segmentation_oxford.keras**, trained on Oxford-IIIT Pets photos")
    assert "cartoon" not in note

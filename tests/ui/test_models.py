"""The UI's models: the ImageNet Xception downloaded on a click, the notes on what each model
was trained on, and models trained on Oxford-IIIT Pets picked up next to the shipped ones."""

import json
import shutil

import gradio as gr
import pytest

from cvlab_ch9 import models
from cvlab_ch9.download import MIRROR_ENV
from cvlab_ch9.models import imagenet, store
from cvlab_ch9.paths import MODELS_DIR
from cvlab_ch9.quiet import import_tensorflow
from cvlab_ch9.ui import classifiers, resources, tabs_gradcam
from tests.http_server import LoopbackServer, refused_url
from tests.imagenet_stand_ins import serve_stand_ins, use_stand_in_hashes
from tests.ui.helpers import photo

IMAGENET = resources.IMAGENET_XCEPTION
TOP = classifiers.TOP_CLASS
#: The files of the shipped models (what a fresh clone's models/ holds).
SHIPPED = [f"{name}{suffix}" for name in (*models.DEMO_MODELS, models.SEGMENTATION_DEMO) for suffix in (".keras", ".json")]


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


def _clear_caches():
    resources._load_imagenet.cache_clear()
    resources._load_demo.cache_clear()
    resources.model_info.cache_clear()
    classifiers.feature_extractor.cache_clear()


@pytest.fixture()
def empty_cache(tmp_path, monkeypatch):
    """An empty Keras cache: the ImageNet Xception is not downloaded."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    yield tmp_path / "keras"
    _clear_caches()


@pytest.fixture()
def models_dir(tmp_path, monkeypatch):
    """A models/ folder holding only the shipped models (whatever the checkout's models/ has besides)."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in SHIPPED:
        shutil.copy(MODELS_DIR / name, folder / name)
    monkeypatch.setattr(store, "MODELS_DIR", folder)
    monkeypatch.setattr(store, "TRAINED_MODELS_DIR", folder)  # models trained on photos are looked for there too
    _clear_caches()
    yield folder
    _clear_caches()


def test_not_cached_the_imagenet_choice_offers_a_download(empty_cache):
    assert IMAGENET in resources.model_choices()
    note, button = classifiers.model_status(IMAGENET)
    assert "not downloaded yet" in note and "click **Download**" in note and button["visible"] is True
    layers, filter_layer, gradcam_layer, classes = classifiers.model_changed(IMAGENET)
    assert layers["choices"] == [] and gradcam_layer["choices"] == [] and classes["choices"] == [TOP]
    with pytest.raises(gr.Error, match="not downloaded yet: click Download"):
        tabs_gradcam.run_grad_cam("solutions", IMAGENET, photo(), "", TOP)
    assert classifiers.model_status("convnet")[1]["visible"] is False


@pytest.mark.slow
def test_clicking_download_fetches_it_and_then_it_works_like_a_demo_model(empty_cache, imagenet_stand_ins, monkeypatch):
    use_stand_in_hashes(monkeypatch, imagenet_stand_ins)
    fractions = []
    with LoopbackServer() as server:
        serve_stand_ins(server, imagenet_stand_ins)
        monkeypatch.setenv(MIRROR_ENV, server.url)
        updates = classifiers.download_model(IMAGENET, lambda fraction, desc="": fractions.append((fraction, desc)))
    layers, filter_layer, gradcam_layer, classes, note, button = updates
    assert gradcam_layer["value"] == imagenet.LAST_CONV_LAYER and "block1_conv1" in layers["choices"]
    assert "African_elephant" in classes["choices"] and button["visible"] is False
    assert "Keras' Xception trained on ImageNet" in note
    assert fractions[-1][0] == 1.0 and "Downloading xception_weights" in fractions[0][1]
    student, _, _, differences, predictions, note, _ = tabs_gradcam.run_grad_cam("solutions", IMAGENET, photo(), "", TOP)
    assert len(predictions) == 5 and all(name.startswith("class_") or name == "African_elephant" for name in predictions)
    # the top 3 of the ImageNet Xception side by side, each beside the reference
    assert len(student) == 6 and len(differences) == 3
    assert [u["columns"] for u in tabs_gradcam.gallery_columns(IMAGENET, [])] == [3, 3, 4]
    assert note.count("%") == 3


def test_a_failed_download_says_how_and_the_demo_models_stay(empty_cache, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, refused_url())
    with pytest.raises(gr.Error) as caught:
        classifiers.download_model(IMAGENET)
    message = caught.value.message
    assert message.startswith("Could not connect to 127.0.0.1") and imagenet.XCEPTION_WEIGHTS.url in message
    assert "stays on the demo models" in message
    assert resources.needs_download(IMAGENET)
    assert classifiers.model_status(IMAGENET)[1]["visible"] is True
    assert classifiers.model_changed("convnet")[2]["value"] == "conv5"  # demo models unaffected


def test_demo_models_say_they_were_trained_on_cartoon_pets(models_dir):
    for name in models.DEMO_MODELS:
        note = resources.model_note(name)
        assert "trained on synthetic cartoon pets on photo backgrounds" in note and "on real photos expect" in note
        assert "ImageNet Xception" in note and "--data oxford" in note
    note = resources.segmentation_note()
    assert "segmentation_demo.keras" in note and "cartoon pets" in note and "--data oxford" in note


def test_models_trained_on_oxford_are_listed_first_and_described(models_dir):
    info = models.demo_model_info("convnet")
    info.update(name="convnet_oxford", architecture="convnet", file="convnet_oxford.keras",
                trained_on="Oxford-IIIT Pets photos (2400 training images)", data={"dataset": "Oxford-IIIT Pets"})
    shutil.copy(models_dir / "convnet.keras", models_dir / "convnet_oxford.keras")
    store.write_info(info, models_dir)
    assert resources.model_choices() == ["convnet_oxford", *models.DEMO_MODELS, IMAGENET]
    note = resources.model_note("convnet_oxford")
    assert "trained on Oxford-IIIT Pets photos (2400 training images)" in note and "cartoon" not in note
    student, *_ = tabs_gradcam.run_grad_cam("solutions", "convnet_oxford", photo(), "", TOP)
    assert len(student) == 4, "both classes: overlays and heatmaps"
    (models_dir / "convnet_oxford.json").unlink()  # a model without its metadata is not offered
    assert resources.model_choices() == [*models.DEMO_MODELS, IMAGENET]


def test_a_segmentation_model_trained_on_oxford_replaces_the_demo(models_dir):
    assert models.segmentation_model_in_use() == models.SEGMENTATION_DEMO
    shutil.copy(models_dir / "segmentation_demo.keras", models_dir / "segmentation_oxford.keras")
    meta = models.demo_segmentation_info()
    meta.update(name="segmentation_oxford", file="segmentation_oxford.keras", img_size=[32, 32],
                trained_on="Oxford-IIIT Pets photos (1920 training images from data/oxford-iiit-pet)")
    (models_dir / "segmentation_oxford.json").write_text(json.dumps(meta), encoding="utf-8")
    assert models.segmentation_model_in_use() == models.SEGMENTATION_OXFORD
    note = resources.segmentation_note()
    assert note.startswith("Model in use: **segmentation_oxford.keras**, trained on Oxford-IIIT Pets photos")
    assert "cartoon" not in note
    resources.segmentation_config.cache_clear()
    try:
        assert resources.segmentation_config()["img_size"] == (32, 32)  # the UI reads the model in use
    finally:
        resources.segmentation_config.cache_clear()

"""Demo models: the shipped files load and classify held-out synthetic pets,
the training command runs end to end, and the Grad-CAM pointing game scores
above chance (the ImageNet Xception: test_imagenet.py)."""

import io
import json
import zipfile

import numpy as np
import pytest

from cvlab_ch9 import models
from cvlab_ch9.models.__main__ import main as models_main
from cvlab_ch9.paths import MODELS_DIR
from cvlab_ch9.quiet import import_tensorflow

MAX_MODEL_BYTES = 5 * 1024 * 1024
HELD_OUT_N = 36  # 6 breeds x 6


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


@pytest.fixture(scope="module")
def held_out_root(tmp_path_factory):
    """Held-out synthetic pets (the shipped models never saw this seed)."""
    return tmp_path_factory.mktemp("held_out") / "pets"


@pytest.fixture(scope="module")
def shipped():
    """{name: (model, info)} for the shipped demo models."""
    return {name: (models.load_demo_model(name), models.demo_model_info(name)) for name in models.DEMO_MODELS}


def _saved_groups(path):
    """Top-level groups of the weights file inside a .keras archive."""
    import h5py  # noqa: PLC0415

    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
        return set(weights.keys())


# -- shipped files -----------------------------------------------------------------


@pytest.mark.parametrize("name", models.DEMO_MODELS)
def test_shipped_model_matches_its_metadata(shipped, name):
    model, info = shipped[name]
    assert (MODELS_DIR / info["file"]).stat().st_size < MAX_MODEL_BYTES
    assert "optimizer" not in _saved_groups(MODELS_DIR / info["file"])
    assert info["name"] == name
    assert tuple(model.inputs[0].shape) == (None, *info["input_shape"])
    assert info["input_shape"] == info["img_size"] + [3]
    assert info["class_names"] == ["cat", "dog"]
    assert tuple(model.outputs[0].shape) == (None, len(info["class_names"]))
    layer = model.get_layer(info["last_conv_layer_name"])
    assert len(layer.output.shape) == 4
    assert info["training_command"].startswith(f"python -m cvlab_ch9.models train --model {name}")
    assert info["params"] == model.count_params()
    for key in ("val_accuracy", "seed", "data"):
        assert key in info
    assert info["val_accuracy"] >= 0.8


@pytest.mark.parametrize("name", models.DEMO_MODELS)
def test_shipped_model_classifies_held_out_images(shipped, held_out_root, name):
    model, info = shipped[name]
    images, labels, _, class_names = models.held_out_arrays(info["img_size"], HELD_OUT_N, root=held_out_root)
    assert class_names == ("cat", "dog") and set(labels.tolist()) == {0, 1}
    probabilities = model.predict(images, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert models.accuracy(model, images, labels) >= 0.75  # chance is 0.5


@pytest.mark.parametrize("name", models.DEMO_MODELS)
def test_shipped_metadata_records_the_default_configuration(name):
    assert models.demo_model_info(name)["config"] == models.DEFAULT_CONFIGS[name].as_json()


def test_metadata_command_reproduces_the_default_config():
    for name in models.DEMO_MODELS:
        assert models.training_command(models.DEFAULT_CONFIGS[name]) == f"python -m cvlab_ch9.models train --model {name}"


# -- loading errors ----------------------------------------------------------------


def test_missing_model_says_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m cvlab_ch9.models train --model convnet"):
        models.load_demo_model("convnet", models_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m cvlab_ch9.models train --model mini_xception"):
        models.demo_model_info("mini_xception", models_dir=tmp_path)
    with pytest.raises(ValueError, match="mini_xception, convnet"):
        models.load_demo_model("resnet")


# -- training command --------------------------------------------------------------

TINY = {
    "convnet": models.ClassifierConfig(model="convnet", img_size=(32, 32), epochs=1, n_images=18, filters=(4, 8)),
    "mini_xception": models.ClassifierConfig(
        model="mini_xception", img_size=(32, 32), epochs=1, n_images=18, filters=(4, 8), augment=True
    ),
}


@pytest.mark.slow
def test_training_runs_end_to_end(tmp_path):
    name = "mini_xception"  # the convnet is trained by the CLI test below
    info = models.train_demo_model(TINY[name], out_dir=tmp_path, data_root=tmp_path / "data", verbose=0)
    assert json.loads((tmp_path / f"{name}.json").read_text()) == info
    assert info["n_train"] + info["n_val"] == 18 and 0.0 <= info["val_accuracy"] <= 1.0
    model = models.load_demo_model(name, models_dir=tmp_path)
    assert tuple(model.inputs[0].shape) == (None, 32, 32, 3)
    assert len(model.get_layer(info["last_conv_layer_name"]).output.shape) == 4
    assert "optimizer" not in _saved_groups(tmp_path / f"{name}.keras")  # small files


@pytest.mark.slow
def test_cli_trains_into_the_given_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(models.DEFAULT_CONFIGS, "convnet", TINY["convnet"])
    code = models_main(["train", "--model", "convnet", "--out", str(tmp_path), "--data-root", str(tmp_path / "d")])
    assert code == 0
    assert "convnet: val_accuracy" in capsys.readouterr().out
    model = models.load_demo_model("convnet", models_dir=tmp_path)
    info = models.demo_model_info("convnet", models_dir=tmp_path)
    assert info["last_conv_layer_name"] == "conv2" and info["n_train"] + info["n_val"] == 18
    assert [layer.name for layer in model.layers if layer.name.startswith("conv")] == ["conv1", "conv2"]


# -- Grad-CAM pointing game ------------------------------------------------------------


def test_pointing_game_counts_hits_inside_the_mask(monkeypatch):
    """The arg-max of the upsampled heatmap is tested against trimap values 1 and 3."""
    heatmap = np.zeros((4, 4), "float32")
    heatmap[0, 3] = 1.0  # top-right cell -> top-right region of an 8x8 image
    def fake_grad_cam(model, image, layer):
        return heatmap

    trimaps = np.full((3, 8, 8), 2, "uint8")
    trimaps[0, :3, 5:] = 1  # pet in the top-right corner: hit
    trimaps[1, :3, 5:] = 3  # contour there: hit
    trimaps[2, 5:, :3] = 1  # pet elsewhere: miss
    images = np.zeros((3, 8, 8, 3), "float32")
    assert models.pointing_game(None, images, trimaps, "any", grad_cam=fake_grad_cam) == pytest.approx(2 / 3)
    assert models.mask_area_fraction(trimaps) == pytest.approx(27 / 192)
    with pytest.raises(ValueError, match="same N, H and W"):
        models.pointing_game(None, images[:2], trimaps, "any", grad_cam=fake_grad_cam)


@pytest.mark.parametrize("name", models.DEMO_MODELS)
def test_grad_cam_points_at_the_pet(shipped, held_out_root, name):
    model, info = shipped[name]
    images, _, trimaps, _ = models.held_out_arrays(info["img_size"], HELD_OUT_N, root=held_out_root)
    chance = models.mask_area_fraction(trimaps)
    images, trimaps = images[::3], trimaps[::3]  # 12 images, 2 per breed (files are sorted by breed)
    rate = models.pointing_game(model, images, trimaps, info["last_conv_layer_name"])
    assert 0.1 < chance < 0.4
    assert rate >= chance + 0.3, (rate, chance)


@pytest.mark.parametrize("name", models.DEMO_MODELS)
def test_demo_models_are_deterministic_without_training_flag(shipped, name):
    """Called the book's way (no training=False), the loaded model gives the same
    output twice, and the same as the full model in inference mode."""
    model, info = shipped[name]
    assert not [layer.name for layer in model.layers if type(layer).__name__.startswith("Random")]
    full = models.load_demo_model(name, augmentation=True)
    assert any(type(layer).__name__.startswith("Random") for layer in full.layers)
    x = np.random.default_rng(0).uniform(0, 255, size=(2, *info["input_shape"])).astype("float32")
    first, second = np.asarray(model(x)), np.asarray(model(x))
    np.testing.assert_allclose(first, second, atol=1e-6)
    np.testing.assert_allclose(first, np.asarray(full(x, training=False)), atol=1e-5)
    # the same layer names, so Grad-CAM layers from the metadata still resolve
    assert {layer.name for layer in model.layers} <= {layer.name for layer in full.layers}

"""--data oxford: both training commands on a data set installed by the real download code."""

import json

import pytest

from cvlab_ch9 import figures, models
from cvlab_ch9 import train_segmentation as ts
from cvlab_ch9.data import find_samples, load_classification_arrays, oxford, select_samples, split_indices
from cvlab_ch9.models.__main__ import main as models_main
from cvlab_ch9.models.store import metadata_path
from cvlab_ch9.quiet import import_tensorflow
from tests.cvlab.oxford_archives import make_oxford_archives
from tests.http_server import LoopbackServer

N_IMAGES = 16


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Oxford-IIIT Pets stand-in installed by install_oxford_pets from a loopback server."""
    work = tmp_path_factory.mktemp("oxford-train")
    archives = make_oxford_archives(work, N_IMAGES, size=(40, 52))
    with LoopbackServer() as server:
        for archive in oxford.ARCHIVES:
            server.add(archive.url, archives[archive.name])
        oxford.install_oxford_pets(work / "oxford-iiit-pet", work / "downloads", server.url,
                                   progress_factory=None, log=lambda line: None)
    return work / "oxford-iiit-pet"


@pytest.fixture()
def default_root(installed, monkeypatch):
    """``--data oxford`` means the installed stand-in."""
    monkeypatch.setattr(oxford, "DEFAULT_ROOT", installed)
    return installed


@pytest.mark.slow
def test_segmentation_trains_on_the_downloaded_photos(default_root, tmp_path, capsys):
    import_tensorflow()
    output = tmp_path / "segmentation_oxford.keras"
    argv = ["--data", "oxford", "--img-size", "32", "32", "--filters", "4", "8", "--epochs", "1",
            "--batch-size", "4", "--output", str(output)]
    assert ts.main(argv) == 0
    assert "s per epoch" in capsys.readouterr().out
    meta = json.loads(metadata_path(output).read_text(encoding="utf-8"))
    assert meta["trained_on"] == f"Oxford-IIIT Pets photos ({round(N_IMAGES * 0.8)} training images)"
    assert meta["img_size"] == [32, 32] and meta["config"]["data"] == "oxford"
    assert meta["training_command"] == ("python -m cvlab_ch9.train_segmentation --data oxford --img-size 32 32 "
                                        "--filters 4 8 --epochs 1 --batch-size 4")


def test_the_oxford_configuration_is_the_default_for_data_oxford():
    args = ts.build_parser().parse_args(["--data", "oxford"])
    assert ts.config_from_args(args) == ts.OXFORD_CONFIG and ts.default_output(args) == ts.OXFORD_MODEL_PATH
    assert ts.OXFORD_CONFIG.command(ts.default_config("oxford")) == "python -m cvlab_ch9.train_segmentation --data oxford"
    args = ts.build_parser().parse_args(["--data", "somewhere", "--epochs", "3"])
    config = ts.config_from_args(args)
    assert config.data == "somewhere" and config.n_images == 0 and config.epochs == 3 and ts.default_output(args) is None
    assert config.command(ts.default_config("somewhere")) == "python -m cvlab_ch9.train_segmentation --data somewhere --epochs 3"
    assert ts.config_from_args(ts.build_parser().parse_args([])) == ts.SegmentationConfig()


def test_a_random_subset_of_the_photos_has_both_species(default_root):
    config = ts.SegmentationConfig(data="oxford", img_size=(32, 32), n_images=6, data_seed=0)
    images, labels = ts.load_dataset(config)
    assert images.shape == (6, 32, 32, 3) and labels.shape == (6, 32, 32)
    _, species, _ = load_classification_arrays(default_root, (16, 16), limit=6, seed=0)
    assert set(species.tolist()) == {0, 1}  # the first 6 by name would all be cats
    _, first, _ = load_classification_arrays(default_root, (16, 16), limit=6)
    assert set(first.tolist()) == {0}


def test_the_segmentation_figure_shows_a_photo_the_model_was_not_trained_on(default_root):
    config = ts.SegmentationConfig(data="oxford", n_images=10, data_seed=3)
    photo = figures.validation_photo({"config": config.as_json()})
    chosen = select_samples(find_samples(default_root), 10, seed=3)  # the run's photos, as load_dataset picks them
    train_idx, val_idx = split_indices(len(chosen), config.val_fraction, seed=config.split_seed)
    assert photo in {chosen[i].image_path for i in val_idx}
    assert photo not in {chosen[i].image_path for i in train_idx}


def test_data_oxford_before_the_download_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(oxford, "DEFAULT_ROOT", tmp_path / "missing")
    assert ts.main(["--data", "oxford"]) == 2
    assert "run `python -m cvlab_ch9.data download` first" in capsys.readouterr().out
    assert models_main(["train", "--data", "oxford"]) == 2
    assert "run `python -m cvlab_ch9.data download` first" in capsys.readouterr().err


@pytest.mark.slow
def test_the_classifier_trains_on_the_species_of_list_txt(default_root, tmp_path, monkeypatch, capsys):
    import_tensorflow()
    tiny = models.ClassifierConfig(model="convnet", img_size=(32, 32), epochs=1, filters=(4, 8))
    monkeypatch.setitem(models.DEFAULT_CONFIGS, "convnet", tiny)
    assert models_main(["train", "--model", "convnet", "--data", "oxford", "--out", str(tmp_path)]) == 0
    assert "convnet_oxford: val_accuracy" in capsys.readouterr().out
    info = models.demo_model_info("convnet_oxford", models_dir=tmp_path)
    assert info["architecture"] == "convnet" and info["data"]["dataset"] == "Oxford-IIIT Pets"
    assert info["trained_on"].startswith("Oxford-IIIT Pets photos") and info["n_train"] + info["n_val"] == N_IMAGES
    assert info["training_command"] == "python -m cvlab_ch9.models train --model convnet --data oxford"
    assert info["config"]["data"] == "oxford" and info["config"]["n_images"] == models.training.REAL_DATA_N_IMAGES
    model = models.load_demo_model("convnet_oxford", models_dir=tmp_path)
    assert tuple(model.inputs[0].shape) == (None, 32, 32, 3)
    assert models.available_models(tmp_path) == ["convnet_oxford", *models.DEMO_MODELS]

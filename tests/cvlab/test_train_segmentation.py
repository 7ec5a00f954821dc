"""The Lab 1 training command and the shipped segmentation demo model."""

import json

import numpy as np
import pytest

from cvlab_ch9 import train_segmentation as ts
from cvlab_ch9.data import generate_synthetic_pets, split_indices
from cvlab_ch9.models import demo_segmentation_info, load_demo_segmentation
from cvlab_ch9.models.store import metadata_path
from cvlab_ch9.quiet import import_tensorflow


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


@pytest.mark.slow
def test_training_runs_end_to_end_and_saves(tmp_path):
    data = generate_synthetic_pets(tmp_path / "pets", n_images=24, image_size=(48, 48), seed=3)
    config = ts.SegmentationConfig(img_size=(32, 32), filters=(4, 8), epochs=2, batch_size=8, n_images=24)
    output = tmp_path / "seg.keras"
    model, summary = ts.train(config, data_root=data, output=output, verbose=0)
    assert output.exists()
    meta = json.loads(metadata_path(output).read_text())
    assert meta["img_size"] == [32, 32] and meta["filters"] == [4, 8]
    assert summary["train_images"] + summary["val_images"] == 24
    assert 0.0 <= summary["val_mean_iou"] <= 1.0
    assert len(summary["history"]["loss"]) == 2
    assert model.outputs[0].shape[1:] == (32, 32, 3)


def test_training_the_students_model_uses_their_code(tmp_path):
    (tmp_path / "segmentation.py").write_text(
        "def build_segmentation_model(**kwargs):\n    raise NotImplementedError('segmentation.build_segmentation_model')\n"
    )
    with pytest.raises(NotImplementedError):
        ts.build_model(ts.SegmentationConfig(), source=tmp_path)


def test_configuration_style_matches_the_classifiers():
    defaults = ts.SegmentationConfig()
    assert demo_segmentation_info()["config"] == defaults.as_json()
    changed = ts.SegmentationConfig(img_size=(32, 48), filters=(4, 8), data_seed=5)
    assert changed.command(defaults) == "python -m cvlab_ch9.train_segmentation --img-size 32 48 --filters 4 8 --data-seed 5"
    assert ts.build_parser().parse_args(changed.command(defaults).split()[3:]).img_size == [32, 48]


def test_cli_rejects_sizes_the_encoder_cannot_halve(capsys):
    assert ts.main(["--img-size", "60", "60", "--filters", "8", "16", "32"]) == 2
    assert "divisible by 8" in capsys.readouterr().out


@pytest.mark.slow
def test_shipped_demo_model_segments_held_out_pets():
    model, meta = load_demo_segmentation()
    config = ts.SegmentationConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()})
    assert meta["training_command"] == config.command(ts.SegmentationConfig())
    images, labels = ts.load_dataset(config)
    _, val_idx = split_indices(len(images), config.val_fraction, seed=config.split_seed)
    val_idx = val_idx[:48]
    iou = ts.evaluate_mean_iou(model, images[val_idx], labels[val_idx])
    assert iou > 0.6, f"demo model mean IoU {iou:.3f}"
    assert abs(iou - meta["val_mean_iou"]) < 0.1  # the metadata reports what the model does
    # the pet class alone is found well above chance
    pred = model.predict(images[val_idx], verbose=0).argmax(-1)
    pet = labels[val_idx] == 0
    assert np.logical_and(pred == 0, pet).sum() / np.logical_or(pred == 0, pet).sum() > 0.7


def test_cli_reports_a_broken_dataset_in_one_sentence(tmp_path, capsys):
    data = generate_synthetic_pets(tmp_path / "pets", n_images=6, image_size=(32, 32), seed=1)
    next((data / "annotations" / "trimaps").glob("*.png")).unlink()
    assert ts.main(["--data", str(data), "--img-size", "32", "32", "--filters", "4", "8", "--epochs", "1"]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"Cannot train on {data}:") and "has no trimap" in out

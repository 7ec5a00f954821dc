"""The segmentation pipeline stage by stage and the training run to watch, called as event functions."""

import re

import numpy as np
import pytest

from cvlab_ch9.impl import reference_lab
from cvlab_ch9.quiet import import_tensorflow
from cvlab_ch9.ui import live_training, pipeline
from cvlab_ch9.ui.common import NOT_IMPLEMENTED_NEXT
from cvlab_ch9.ui.images import channel_grid
from tests.ui.helpers import PHOTO


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


@pytest.fixture()
def few_pets(tmp_path, monkeypatch):
    """Training data: 16 synthetic pets in a temporary folder."""
    monkeypatch.setattr(live_training, "DATA_ROOT", tmp_path / "pets")
    monkeypatch.setattr(live_training, "DATA_IMAGES", 16)


def _sides(model, stages):
    return [(int(model.layers[i].output.shape[1]), label) for i, label in stages]


def test_the_books_model_goes_200_100_50_25_and_back():
    model = reference_lab("segmentation").build_segmentation_model((200, 200))
    assert _sides(model, pipeline.stage_layers(model)) == [
        (200, "input"), (100, "encoder 1"), (50, "encoder 2"), (25, "encoder 3"),
        (50, "decoder 1"), (100, "decoder 2"), (200, "decoder 3"),
    ]


def test_the_max_pooling_variant_keeps_the_weights_and_pools_instead_of_striding():
    model = reference_lab("segmentation").build_segmentation_model((32, 32), filters=(4, 8))
    pooled = pipeline.maxpool_variant(model)
    kinds = [type(layer).__name__ for layer in pooled.layers]
    assert kinds.count("MaxPooling2D") == 2 and pooled.count_params() == model.count_params()
    assert all(tuple(layer.strides) == (1, 1) for layer in pooled.layers if type(layer).__name__ == "Conv2D")
    assert pooled.outputs[0].shape == model.outputs[0].shape


def test_the_pipeline_shows_each_stage_the_class_maps_and_a_visible_contour(skeletons):
    stages, status, reference, pooled, classes, _ = pipeline.run_pipeline("solutions", str(PHOTO), pooling=True)
    assert [caption.split(":")[0] for _, caption in stages] == [caption.split(":")[0] for _, caption in reference]
    assert stages[1][1].startswith("encoder 1: 32×32×16") and "demo weights" in status
    for (mine, _), (theirs, _) in zip(stages, reference):
        np.testing.assert_allclose(mine.astype(float), theirs.astype(float), atol=2)  # the reference code: the demo model
    assert [caption for _, caption in classes] == ["P(pet)", "P(background)", "P(contour)", "mask: pet blue, contour yellow"]
    assert pooled[-1][1] == "mask with MaxPooling2D" and len(pooled) == len(stages) + 1
    stages, status, reference, *_ = pipeline.run_pipeline(str(skeletons), str(PHOTO))
    assert stages == [] and "Not implemented yet: write build_segmentation_model()" in status and reference


def test_the_contour_class_is_drawn_solid():
    picture = np.full((8, 8, 3), 100, dtype="uint8")
    labels = np.array([[0, 2], [1, 1]])
    mask = pipeline.contour_mask(picture, labels)
    assert mask[0, 4].tolist() == pipeline.CONTOUR_RGB.astype(int).tolist()  # contour: solid yellow
    assert mask[4, 0].tolist() == [45, 45, 45]  # background: dimmed
    assert mask[0, 0, 2] > mask[0, 0, 0]  # pet: tinted blue


@pytest.mark.slow
def test_training_draws_curves_refreshes_the_mask_and_stop_keeps_the_weights(few_pets):
    calls = []
    run = live_training.train_segmentation("solutions", live_training.SCRATCH, 2, 4, progress=lambda *a, **k: calls.append(a))
    curves, validation, status, trained = next(run)
    run.close()  # what Stop does: the generator is cancelled between epochs
    assert curves.dtype == np.uint8 and curves.ndim == 3
    assert [caption for _, caption in validation][:3] == ["validation image", "true mask", "your model now"]
    assert "Epoch 1 of 2" in status and "validation mean IoU" in status and "Stop keeps the model" in status
    assert trained["config"]["img_size"] == (64, 64) and calls[-1][0] == pytest.approx(0.5)
    stages, status, *_ = pipeline.pipeline_event("solutions", str(PHOTO), False, True, trained)
    assert "the weights you trained" in status and len(stages) == 7


def test_training_unwritten_code_says_what_to_write_without_a_reference_that_is_not_there(skeletons, few_pets):
    steps = list(live_training.train_segmentation(str(skeletons), live_training.SCRATCH, 1, 4))
    assert len(steps) == 1 and steps[0][0] is None and steps[0][3] is None
    assert "Not implemented yet: write trimap_to_classes()" in steps[0][2]
    assert NOT_IMPLEMENTED_NEXT not in steps[0][2] and live_training.THEN in steps[0][2]


@pytest.mark.slow
def test_fine_tuning_starts_from_the_demo_weights(few_pets):
    [(_, _, status, trained)] = live_training.train_segmentation("solutions", live_training.FINE_TUNE, 1, 4)
    # small steps from the demo weights: still the demo model's quality (0.67 on its validation set), not a fresh start
    assert float(re.search(r"validation mean IoU ([0-9]+\.[0-9]+)", status).group(1)) > 0.45
    assert "fine-tune the demo model" in status and len(trained["weights"]) == 26


def test_a_stage_is_a_square_grid_of_its_first_channels_each_scaled_on_its_own():
    value = np.stack([np.full((5, 5), c, dtype="float32") + np.eye(5) * (c + 1) for c in range(10)], axis=-1)
    grid = channel_grid(value, 8, min_side=1)
    assert grid.shape == (3 * 6 - 1, 3 * 6 - 1) and grid.dtype == np.uint8  # 8 of 10 channels: 3 x 3, one cell empty
    tile = grid[6:11, 12:17]  # channel 5: its own min (5) to black, its own max (11) to white
    assert tile.min() == 0 and tile.max() == 255 and (np.diag(tile) == 255).all()
    assert (grid[12:, 12:] == 255).all() and (grid[5, :] == 255).all()  # the empty cell and the gutters
    assert channel_grid(np.zeros((4, 4, 3)), 8, min_side=1).shape == (9, 9)  # flat channels: black tiles, 2 x 2

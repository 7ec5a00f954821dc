"""The real-photo check (cvlab_ch9.models.real_photos): its scores, its masks, and the command on the shipped models."""

import numpy as np
import pytest
from PIL import Image

from cvlab_ch9 import imaging
from cvlab_ch9.models import real_photos
from cvlab_ch9.models.__main__ import main as models_main


def test_mass_inside_is_the_share_of_the_heatmap_in_the_mask():
    mask = np.zeros((4, 4), bool)
    mask[:2] = True
    assert real_photos.mass_inside(np.ones((4, 4)), mask) == pytest.approx(0.5)  # flat: the mask's area
    heatmap = np.zeros((4, 4))
    heatmap[0, 0], heatmap[3, 3] = 3.0, 1.0
    assert real_photos.mass_inside(heatmap, mask) == pytest.approx(0.75)
    assert np.isnan(real_photos.mass_inside(np.zeros((4, 4)), mask))


def test_iou():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    assert real_photos.iou(a, b) == pytest.approx(1 / 3)
    assert real_photos.iou(a, a) == 1.0
    assert real_photos.iou(~a & a, ~b & b) == 1.0  # both empty


def test_a_photo_whose_package_is_missing_is_skipped():
    absent = real_photos.Photo("nothing", "no_such_package_here", "x.png", "cat", "")
    wrong_file = real_photos.Photo("nothing", "numpy", "no/such/file.png", "cat", "")
    found, missing = real_photos.available_photos((absent, wrong_file))
    assert found == [] and missing == ["nothing", "nothing"]


@pytest.mark.parametrize("photo", real_photos.PHOTOS, ids=lambda p: p.name)
def test_every_mask_fits_its_photo(photo):
    mask = real_photos.load_mask(photo.name)
    assert 0.02 < mask.mean() < 0.95
    path = real_photos.photo_path(photo)
    if path is None:
        pytest.skip(f"{photo.package} is not installed here")
    assert imaging.read_image(path).shape[:2] == mask.shape


def test_segmentation_scores_of_a_model_that_says_pet_everywhere():
    mask = np.zeros((30, 40), bool)
    mask[5:20, 10:30] = True

    def all_pet(batch, training=False):
        scores = np.zeros(batch.shape[:3] + (3,), "float32")
        scores[..., 0] = 1.0
        return scores

    image = np.zeros((30, 40, 3), "uint8")
    scores = real_photos.segmentation_scores(all_pet, {"img_size": [8, 8]}, image, mask)
    assert scores == {"pet_iou": pytest.approx(mask.mean(), abs=1e-4), "background_iou": 0.0,
                      "mean_iou": pytest.approx(mask.mean() / 2, abs=1e-4)}


def test_the_command_scores_the_shipped_models_on_the_photos_installed_here(capsys):
    found, _ = real_photos.available_photos()
    assert found, "gradio (a dependency) ships the wild-cat photos"
    assert models_main(["real-photos"]) == 0
    table = capsys.readouterr().out
    for photo, _ in found:
        assert f"| {photo.name} |" in table
    assert "p_cat on photos without an animal" in table


def test_a_mask_of_the_wrong_size_is_refused(tmp_path):
    photo = real_photos.PHOTOS[1]  # gradio's, always installed with the UI
    if real_photos.photo_path(photo) is None:
        pytest.skip("gradio is not installed")
    Image.fromarray(np.zeros((10, 10), "uint8")).save(tmp_path / f"{photo.name}.png")
    with pytest.raises(ValueError, match="redraw the mask"):
        real_photos.evaluate_real_photos(masks_dir=tmp_path, photos=(photo,), controls=())

"""cvlab_ch9.data.pets and the command line: loading the Oxford-IIIT layout (synthetic or real), every bad folder in one sentence."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cvlab_ch9.data import (
    SPECIES_NAMES,
    DatasetError,
    PetSample,
    find_samples,
    load_classification_arrays,
    load_image,
    load_segmentation_arrays,
    load_trimap,
    split_indices,
)
from cvlab_ch9.data.__main__ import main as data_main
from tests.cvlab.pets import N_IMAGES, SIZE

# ----------------------------------------------------------------- loader: arrays, split


def test_load_segmentation_arrays(synthetic_root):
    images, trimaps = load_segmentation_arrays(synthetic_root, img_size=(40, 50), limit=5)
    assert images.shape == (5, 40, 50, 3) and images.dtype == np.uint8
    assert trimaps.shape == (5, 40, 50) and trimaps.dtype == np.uint8
    assert set(np.unique(trimaps)) <= {1, 2, 3}


def test_load_classification_arrays(synthetic_root):
    images, labels, names = load_classification_arrays(synthetic_root, img_size=(32, 32))
    assert names == SPECIES_NAMES == ("cat", "dog")
    assert images.shape == (N_IMAGES, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int32 and labels.shape == (N_IMAGES,)
    expected = [SPECIES_NAMES.index(s.species) for s in find_samples(synthetic_root)]
    np.testing.assert_array_equal(labels, expected)
    assert load_classification_arrays(synthetic_root, (32, 32), limit=0)[0].shape == (0, 32, 32, 3)


def test_pet_pixels_differ_from_background(synthetic_root):
    """The mask is aligned with the picture: pet and background colours differ."""
    images, trimaps = load_segmentation_arrays(synthetic_root, img_size=SIZE)
    gaps = [
        np.linalg.norm(img[tri == 1].mean(0) - img[tri == 2].mean(0))
        for img, tri in zip(images.astype(float), trimaps)
    ]
    assert np.median(gaps) > 30


def test_split_indices():
    train, val = split_indices(100)
    assert len(train) == 80 and len(val) == 20
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    again = split_indices(100)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(val, again[1])
    assert not np.array_equal(val, split_indices(100, seed=1)[1])
    assert [len(part) for part in split_indices(3, 0.1)] == [2, 1]
    assert [len(part) for part in split_indices(5, 0.0)] == [5, 0]
    with pytest.raises(ValueError):
        split_indices(10, 1.0)


def test_cli_generate_and_check(tmp_path, capsys):
    root = tmp_path / "cli"
    assert data_main(["generate", "--root", str(root), "--n", "6", "--size", "32", "48", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {root}") and "6 images" in out and "3 cat, 3 dog" in out
    assert data_main(["generate", "--root", str(root), "--n", "6", "--size", "32", "48", "--seed", "4"]) == 0
    assert capsys.readouterr().out.startswith(f"already up to date {root}")
    assert data_main(["check", "--root", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


# ----------------------------------------------------------- loader on a real-like folder


def _write_jpg(path: Path, size=(12, 10), colour=(120, 80, 40)) -> None:
    Image.new("RGB", size, colour).save(path, "JPEG")


def _write_trimap(path: Path, values=(1, 2, 3), shape=(10, 12)) -> None:
    trimap = np.full(shape, 2, np.uint8)
    trimap[2:8, 3:9] = values[0]
    trimap[2, 3:9] = values[2]
    Image.fromarray(trimap).save(path)


def _make_real_layout(root: Path, stems=("Abyssinian_1", "american_bulldog_12", "Egyptian_Mau_3", "yorkshire_terrier_7")) -> Path:
    """A mini Oxford-IIIT folder, including the junk the real archive ships with."""
    images = root / "images"
    trimaps = root / "annotations" / "trimaps"
    images.mkdir(parents=True)
    trimaps.mkdir(parents=True)
    for stem in stems:
        _write_jpg(images / f"{stem}.jpg")
        _write_trimap(trimaps / f"{stem}.png")
    (images / "._Abyssinian_1.jpg").write_bytes(b"\x00\x05\x16\x07 mac resource fork")
    (trimaps / "._Abyssinian_1.png").write_bytes(b"\x00\x05\x16\x07 mac resource fork")
    (images / ".DS_Store").write_bytes(b"junk")
    (images / "Abyssinian_101.mat").write_bytes(b"MATLAB 5.0 MAT-file")
    (root / "annotations" / "xmls").mkdir()
    (root / "annotations" / "README").write_text("Oxford-IIIT Pet Dataset")
    return root


def test_real_layout_without_list_txt(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    samples = find_samples(root)
    # sorted like the book's sorted(os.listdir(...)): case-sensitive, capitals first
    assert [s.name for s in samples] == ["Abyssinian_1", "Egyptian_Mau_3", "american_bulldog_12", "yorkshire_terrier_7"]
    assert [s.breed for s in samples] == ["Abyssinian", "Egyptian_Mau", "american_bulldog", "yorkshire_terrier"]
    assert [s.species for s in samples] == ["cat", "cat", "dog", "dog"]
    assert samples[0] == PetSample(
        root / "images" / "Abyssinian_1.jpg",
        root / "annotations" / "trimaps" / "Abyssinian_1.png",
        "Abyssinian",
        "cat",
    )
    images, trimaps = load_segmentation_arrays(root, img_size=(20, 24))
    assert images.shape == (4, 20, 24, 3) and trimaps.shape == (4, 20, 24)
    assert set(np.unique(trimaps)) == {1, 2, 3}


def test_real_layout_with_list_txt(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    (root / "annotations" / "list.txt").write_text(
        "#Image CLASS-ID SPECIES BREED ID\n"
        "#SPECIES: 1:Cat 2:Dog\n"
        "\n"
        "Abyssinian_1 1 1 1\n"
        "american_bulldog_12 2 2 1\n"
        "Egyptian_Mau_3 7 2 6\n"  # list.txt wins over the capitalization rule
        "not_present_9 3 2 2\n"  # listed but missing: ignored (as in the real list)
    )
    species = {s.name: s.species for s in find_samples(root)}
    assert species == {
        "Abyssinian_1": "cat",
        "american_bulldog_12": "dog",
        "Egyptian_Mau_3": "dog",
        "yorkshire_terrier_7": "dog",  # not listed: capitalization rule
    }
    labels = load_classification_arrays(root, img_size=(8, 8))[1]
    np.testing.assert_array_equal(labels, [0, 1, 1, 1])  # Abyssinian, Egyptian_Mau, american..., york...


def test_jpeg_and_png_images_and_odd_modes(tmp_path):
    root = _make_real_layout(tmp_path / "oxford", stems=("Bombay_1",))
    Image.new("L", (9, 7), 50).save(root / "images" / "Bombay_2.jpeg")
    Image.new("RGBA", (9, 7), (0, 0, 0, 0)).save(root / "images" / "pug_3.png")
    Image.new("CMYK", (9, 7), (0, 0, 0, 0)).save(root / "images" / "pug_4.jpg")
    for stem in ("Bombay_2", "pug_3", "pug_4"):
        _write_trimap(root / "annotations" / "trimaps" / f"{stem}.png", shape=(7, 9))
    samples = find_samples(root)
    assert [s.image_path.name for s in samples] == ["Bombay_1.jpg", "Bombay_2.jpeg", "pug_3.png", "pug_4.jpg"]
    images, _ = load_segmentation_arrays(root, img_size=(7, 9))
    assert images.shape == (4, 7, 9, 3)
    np.testing.assert_array_equal(images[2], 255)  # transparent PNG -> white


def test_load_image_and_trimap_sizes(tmp_path):
    _write_jpg(tmp_path / "a.jpg", size=(12, 10))
    _write_trimap(tmp_path / "a.png")
    assert load_image(tmp_path / "a.jpg").shape == (10, 12, 3)
    assert load_image(tmp_path / "a.jpg", (5, 6)).shape == (5, 6, 3)
    trimap = load_trimap(tmp_path / "a.png", (30, 36))
    assert trimap.shape == (30, 36) and set(np.unique(trimap)) == {1, 2, 3}


# ---------------------------------------------------------------------- loader errors


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError, match=r"does not exist\. Run `python -m cvlab_ch9.data generate`"):
        find_samples(tmp_path / "nowhere")


def test_missing_folders(tmp_path):
    with pytest.raises(DatasetError, match="has no images/ folder"):
        find_samples(tmp_path)
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError, match="has no annotations/trimaps/ folder"):
        find_samples(tmp_path)
    (tmp_path / "annotations" / "trimaps").mkdir(parents=True)
    with pytest.raises(DatasetError, match="images/ contains no .jpg, .jpeg or .png files"):
        find_samples(tmp_path)


def test_images_without_trimaps(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    for stem in ("beagle_3", "beagle_4", "pug_1", "pug_2"):
        _write_jpg(root / "images" / f"{stem}.jpg")
    with pytest.raises(DatasetError) as info:
        find_samples(root)
    assert str(info.value) == (
        "4 images have no trimap in annotations/trimaps (e.g. beagle_3.png, beagle_4.png, "
        "pug_1.png). Every images/NAME.jpg needs annotations/trimaps/NAME.png."
    )


def test_one_image_without_trimap_is_singular(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    (root / "annotations" / "trimaps" / "Abyssinian_1.png").unlink()
    with pytest.raises(DatasetError, match=r"^1 image has no trimap .*\(e\.g\. Abyssinian_1\.png\)"):
        find_samples(root)


def test_mismatched_names(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    trimaps = root / "annotations" / "trimaps"
    os.rename(trimaps / "Abyssinian_1.png", trimaps / "abyssinian_1.png")
    with pytest.raises(DatasetError, match=r"1 image has no trimap .*Abyssinian_1\.png"):
        find_samples(root)
    _write_trimap(trimaps / "Abyssinian_1.png")
    with pytest.raises(DatasetError, match=r"1 trimap has no image in images/ \(e\.g\. abyssinian_1\.png\)"):
        find_samples(root)


def test_unexpected_file_in_images(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    (root / "images" / "notes.txt").write_text("todo")
    with pytest.raises(DatasetError, match=r"images/notes\.txt is not a \.jpg / \.jpeg / \.png file\. Remove it"):
        find_samples(root)


def test_unexpected_file_in_trimaps(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    _write_jpg(root / "annotations" / "trimaps" / "Abyssinian_1.jpg")
    with pytest.raises(DatasetError, match=r"annotations/trimaps/Abyssinian_1\.jpg is not a \.png file"):
        find_samples(root)


def test_duplicate_stems(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    _write_jpg(root / "images" / "Abyssinian_1.jpeg")
    with pytest.raises(DatasetError, match="have the same name"):
        find_samples(root)


def test_trimap_with_value_4(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    _write_trimap(root / "annotations" / "trimaps" / "Abyssinian_1.png", values=(4, 2, 3))
    with pytest.raises(DatasetError) as info:
        load_segmentation_arrays(root, img_size=(8, 8))
    assert str(info.value) == (
        "annotations/trimaps/Abyssinian_1.png contains value(s) [4]; Oxford-IIIT trimaps "
        "use only 1 (pet), 2 (background), 3 (border)."
    )


def test_rgb_trimap_is_refused(tmp_path):
    Image.new("RGB", (4, 4), (1, 1, 1)).save(tmp_path / "x.png")
    with pytest.raises(DatasetError, match="single-channel PNG"):
        load_trimap(tmp_path / "x.png")


def test_non_image_file_named_jpg(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    (root / "images" / "Egyptian_Mau_3.jpg").write_text("<html>404 not found</html>")
    samples = find_samples(root)  # names are fine; the content is checked when loading
    assert len(samples) == 4
    with pytest.raises(DatasetError) as info:
        load_classification_arrays(root, img_size=(8, 8))
    message = str(info.value)
    assert message.startswith("images/Egyptian_Mau_3.jpg cannot be used")
    assert "is not a picture this lab can read" in message and "Replace or delete the file." in message


def test_malformed_list_txt(tmp_path):
    root = _make_real_layout(tmp_path / "oxford")
    (root / "annotations" / "list.txt").write_text("#comment\nAbyssinian_1 1 cat 1\n")
    with pytest.raises(DatasetError, match="list.txt line 2 is 'Abyssinian_1 1 cat 1'"):
        find_samples(root)


def test_dataset_error_is_a_value_error():
    assert issubclass(DatasetError, ValueError)

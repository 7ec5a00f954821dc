"""Tests for cvlab.data: the synthetic pets generator and the Oxford-IIIT loader."""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cvlab import data
from cvlab.data import (
    BREEDS,
    SPECIES_NAMES,
    DatasetError,
    PetSample,
    ensure_synthetic_pets,
    find_samples,
    generate_synthetic_pets,
    load_classification_arrays,
    load_image,
    load_segmentation_arrays,
    load_trimap,
    split_indices,
    trimap_from_mask,
)

N_IMAGES = 24
SIZE = (64, 64)


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    """A small synthetic set: 24 images of 64x64, seed 0 (shared, read-only)."""
    return generate_synthetic_pets(tmp_path_factory.mktemp("synth") / "pets", N_IMAGES, SIZE, seed=0)


def _file_bytes(root: Path) -> dict[str, bytes]:
    """Relative path -> content for every file under root."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------- synthetic generator


def test_generation_is_deterministic(synthetic_root, tmp_path):
    again = generate_synthetic_pets(tmp_path / "again", N_IMAGES, SIZE, seed=0)
    assert _file_bytes(again) == _file_bytes(synthetic_root)
    other = generate_synthetic_pets(tmp_path / "other", N_IMAGES, SIZE, seed=1)
    first, second = _file_bytes(synthetic_root), _file_bytes(other)
    assert first.keys() == second.keys()
    images = [k for k in first if k.startswith("images")]
    assert all(first[k] != second[k] for k in images)


def test_layout_and_counts(synthetic_root):
    images = sorted((synthetic_root / "images").iterdir())
    trimaps = sorted((synthetic_root / "annotations" / "trimaps").iterdir())
    assert len(images) == len(trimaps) == N_IMAGES
    assert all(p.suffix == ".jpg" for p in images)
    assert all(p.suffix == ".png" for p in trimaps)
    assert [p.stem for p in images] == [p.stem for p in trimaps]
    assert (synthetic_root / "annotations" / "list.txt").is_file()
    assert (synthetic_root / data.STAMP_NAME).is_file()
    with Image.open(images[0]) as first:
        assert first.format == "JPEG" and first.size == (SIZE[1], SIZE[0])


def test_names_follow_the_oxford_capitalization_rule(synthetic_root):
    for sample in find_samples(synthetic_root):
        breed, number = sample.name.rsplit("_", 1)
        assert breed in BREEDS and int(number) >= 1
        assert breed[0].isupper() == (BREEDS[breed] == "cat")


def test_breeds_and_species_are_balanced(synthetic_root):
    samples = find_samples(synthetic_root)
    assert Counter(s.breed for s in samples) == {b: N_IMAGES // len(BREEDS) for b in BREEDS}
    assert Counter(s.species for s in samples) == {"cat": N_IMAGES // 2, "dog": N_IMAGES // 2}


def test_list_txt_parses_and_agrees(synthetic_root):
    lines = (synthetic_root / "annotations" / "list.txt").read_text().splitlines()
    rows = [line.split() for line in lines if line and not line.startswith("#")]
    assert len(rows) == N_IMAGES
    stems = {p.stem for p in (synthetic_root / "images").iterdir()}
    for name, class_id, species, breed_id in rows:
        assert name in stems
        breed = name.rsplit("_", 1)[0]
        assert SPECIES_NAMES[int(species) - 1] == BREEDS[breed]
        assert 1 <= int(class_id) <= len(BREEDS) and int(breed_id) >= 1


def test_trimaps_use_exactly_values_1_2_3(synthetic_root):
    for sample in find_samples(synthetic_root):
        trimap = load_trimap(sample.trimap_path)
        assert trimap.shape == SIZE and trimap.dtype == np.uint8
        assert set(np.unique(trimap)) == {1, 2, 3}, sample.name
        # the band separates pet from background: 1 and 2 are never 4-neighbours
        for a, b in ((trimap[1:], trimap[:-1]), (trimap[:, 1:], trimap[:, :-1])):
            assert not np.any((a == 1) & (b == 2)) and not np.any((a == 2) & (b == 1))
        pet_fraction = np.mean(trimap != 2)
        assert 0.03 < pet_fraction < 0.7, sample.name


def test_band_straddles_the_exact_mask_boundary():
    rng = np.random.default_rng([5, 3])
    _, mask = data._render_pet_image(rng, "beagle", (96, 80))
    trimap = trimap_from_mask(mask, band_radius=1)
    padded = np.pad(mask, 1, mode="constant")
    neighbours = [padded[1:-1, 1:-1]] + [
        padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))
    ]
    stack = np.stack(neighbours)
    on_edge = stack.any(axis=0) & ~stack.all(axis=0)  # a pet and a non-pet pixel in the cross
    np.testing.assert_array_equal(trimap == 3, on_edge)
    assert np.all(mask[trimap == 1]) and not np.any(mask[trimap == 2])
    assert np.any((trimap == 3) & mask) and np.any((trimap == 3) & ~mask)  # straddles


def test_trimap_from_mask_on_a_square():
    mask = np.zeros((10, 10), bool)
    mask[3:7, 3:7] = True
    trimap = trimap_from_mask(mask)
    expected = np.full((10, 10), 2)
    expected[2:8, 2:8] = 3
    expected[4:6, 4:6] = 1
    expected[2, 2] = expected[2, 7] = expected[7, 2] = expected[7, 7] = 2  # disk corners
    np.testing.assert_array_equal(trimap, expected)
    assert trimap_from_mask(np.zeros((256, 256), bool)).max() == 2


def test_band_width_scales_with_image_size():
    mask = np.zeros((256, 256), bool)
    mask[64:192, 64:192] = True
    row = trimap_from_mask(mask)[128]
    assert np.count_nonzero(row == 3) == 2 * 4  # radius 2 -> 4 px on each edge


def test_non_square_images(tmp_path):
    root = generate_synthetic_pets(tmp_path / "wide", 6, (48, 96), seed=3)
    images, trimaps = load_segmentation_arrays(root, img_size=(48, 96))
    assert images.shape == (6, 48, 96, 3) and trimaps.shape == (6, 48, 96)
    assert set(np.unique(trimaps)) == {1, 2, 3}


def test_generate_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not an empty folder"):
        generate_synthetic_pets(tmp_path, 6, SIZE)
    with pytest.raises(DatasetError, match="at least 16x16"):
        generate_synthetic_pets(tmp_path / "tiny", 6, (8, 8))


# ----------------------------------------------------------------- ensure_synthetic_pets


def test_ensure_is_a_no_op_when_up_to_date(tmp_path):
    root = tmp_path / "pets"
    assert ensure_synthetic_pets(root, 6, (32, 32), seed=0) == root
    stamp = root / data.STAMP_NAME
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    start = time.perf_counter()
    ensure_synthetic_pets(root, 6, (32, 32), seed=0)
    assert time.perf_counter() - start < 0.05
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    assert stamp.is_file()


def test_ensure_regenerates_when_parameters_change(tmp_path):
    root = tmp_path / "pets"
    ensure_synthetic_pets(root, 6, (32, 32), seed=0)
    ensure_synthetic_pets(root, 12, (32, 32), seed=0)
    assert len(find_samples(root)) == 12
    ensure_synthetic_pets(root, 12, (40, 32), seed=0)
    assert load_trimap(find_samples(root)[0].trimap_path).shape == (40, 32)
    old = (root / "images" / "beagle_1.jpg").read_bytes()
    ensure_synthetic_pets(root, 12, (40, 32), seed=7)
    assert (root / "images" / "beagle_1.jpg").read_bytes() != old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pets"]  # no temp/old leftovers


def test_ensure_never_deletes_foreign_data(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "mine.jpg").write_bytes(b"precious")
    with pytest.raises(DatasetError, match="not a cvlab synthetic data set"):
        ensure_synthetic_pets(tmp_path, 6, (32, 32))
    assert (tmp_path / "images" / "mine.jpg").read_bytes() == b"precious"


def test_ensure_concurrent_callers(tmp_path):
    root = tmp_path / "pets"
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: ensure_synthetic_pets(root, 6, (32, 32), seed=2), range(3)))
    assert results == [root] * 3
    assert len(find_samples(root)) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pets"]


def test_ensure_default_root_is_under_data_dir():
    assert data.DEFAULT_SYNTHETIC_ROOT.parent == data.DATA_DIR


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
    assert data.main(["generate", "--root", str(root), "--n", "6", "--size", "32", "48", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {root}") and "6 images" in out and "3 cat, 3 dog" in out
    assert data.main(["generate", "--root", str(root), "--n", "6", "--size", "32", "48", "--seed", "4"]) == 0
    assert capsys.readouterr().out.startswith(f"already up to date {root}")
    assert data.main(["check", "--root", str(tmp_path / "missing")]) == 2
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
    with pytest.raises(DatasetError, match=r"does not exist\. Run `python -m cvlab.data generate`"):
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

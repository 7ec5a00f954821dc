"""cvlab_ch9.data.synthetic and cvlab_ch9.data.install: the seeded cartoon pets, their trimaps, writing a set safely."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cvlab_ch9 import data
from cvlab_ch9.data import (
    BREEDS,
    SPECIES_NAMES,
    DatasetError,
    ensure_synthetic_pets,
    find_samples,
    generate_synthetic_pets,
    install,
    load_segmentation_arrays,
    load_trimap,
    trimap_from_mask,
)
from cvlab_ch9.paths import DATA_DIR
from tests.cvlab.pets import N_IMAGES, SIZE


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
    _, mask = data.render_pet_image(rng, "beagle", (96, 80))
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


def test_ensure_is_a_no_op_when_up_to_date(tmp_path, monkeypatch):
    root = tmp_path / "pets"
    assert ensure_synthetic_pets(root, 6, (32, 32), seed=0) == root
    stamp = root / data.STAMP_NAME
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}

    def must_not_generate(*args, **kwargs):
        raise AssertionError("an up-to-date set was generated again")

    monkeypatch.setattr(install, "generate_synthetic_pets", must_not_generate)
    assert ensure_synthetic_pets(root, 6, (32, 32), seed=0) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    assert stamp.is_file()
    with pytest.raises(AssertionError, match="generated again"):  # other parameters do regenerate
        ensure_synthetic_pets(root, 7, (32, 32), seed=0)


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
    assert data.DEFAULT_SYNTHETIC_ROOT.parent == DATA_DIR


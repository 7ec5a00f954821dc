"""The renderer's photo textures (generator version 2): vendored, seeded, used, and optional."""

import json

import numpy as np
import pytest

from cvlab_ch9.data import install, realism, synthetic, textures
from cvlab_ch9.data.synthetic import BREEDS, render_pet_image
from cvlab_ch9.models.pointing_game import HELD_OUT_DATA_ROOT, held_out_root

SIZE = (48, 48)


def _render(seed, breed="Bengal", tex=None):
    return render_pet_image(np.random.default_rng([seed, 0]), breed, SIZE, tex)


def test_every_vendored_texture_is_there_and_has_a_licence_line():
    loaded = textures.load_textures()
    assert len(loaded) == len(textures.TEXTURE_FILES)
    assert all(t.ndim == 3 and t.shape[2] == 3 and min(t.shape[:2]) == 256 for t in loaded)
    readme = (textures.TEXTURES_DIR / "README.md").read_text(encoding="utf-8")
    for name, function in textures.TEXTURE_FILES.items():
        assert f"`{name}` | `data.{function}()`" in readme
    assert len(textures.textures_digest()) == 16


def test_rendering_with_textures_is_seeded_and_deterministic():
    for breed in BREEDS:
        image, mask = _render(3, breed)
        again, mask_again = _render(3, breed)
        assert np.array_equal(image, again) and np.array_equal(mask, mask_again)
    assert not np.array_equal(_render(3)[0], _render(4)[0])


def test_the_textures_are_used(monkeypatch):
    calls = []
    original = realism.photo_background

    def spy(rng, tex, size, unit):
        calls.append(len(tex))
        return original(rng, tex, size, unit)

    monkeypatch.setattr(realism, "photo_background", spy)
    images = [_render(seed)[0] for seed in range(40)]
    # PHOTO_BACKGROUND_SHARE (0.75) of the backgrounds come from the textures
    assert 20 <= len(calls) <= 38 and set(calls) == {len(textures.TEXTURE_FILES)}
    # and the pictures are not the procedural-only ones
    plain = [_render(seed, tex=())[0] for seed in range(40)]
    assert sum(not np.array_equal(a, b) for a, b in zip(images, plain, strict=True)) == 40


def test_a_texture_shows_in_the_background():
    stripes = np.zeros((256, 256, 3), np.float32)
    stripes[:, ::16] = 255.0  # thin vertical lines: a crop keeps them vertical
    rng = np.random.default_rng(0)
    background = realism.photo_background(rng, (stripes,), (64, 64), 64.0)
    columns = background.mean(axis=(0, 2))
    rows = background.mean(axis=(1, 2))
    assert columns.std() > 3 * rows.std()  # structure across columns, none down the rows


def test_without_the_texture_files_the_renderer_falls_back_to_procedural(tmp_path, monkeypatch):
    monkeypatch.setattr(textures, "TEXTURES_DIR", tmp_path / "gone")
    assert textures.load_textures() == () and textures.textures_digest() == ""
    image, mask = _render(5)
    assert np.array_equal(image, _render(5, tex=())[0]) and mask.any()
    root = install.generate_synthetic_pets(tmp_path / "pets", 6, (32, 32), seed=0)
    assert json.loads((root / install.STAMP_NAME).read_text())["textures"] == ""


def test_the_stamp_records_the_textures_so_a_set_from_other_textures_is_regenerated(tmp_path, monkeypatch):
    root = install.ensure_synthetic_pets(tmp_path / "pets", 6, (32, 32), seed=0)
    stamp = json.loads((root / install.STAMP_NAME).read_text())
    assert stamp["version"] == 2 and stamp["textures"] == textures.textures_digest()
    assert install.is_up_to_date(root, 6, (32, 32), 0)
    monkeypatch.setattr(textures, "TEXTURES_DIR", tmp_path / "gone")
    assert not install.is_up_to_date(root, 6, (32, 32), 0)


@pytest.mark.parametrize("seed", range(6))
def test_closeups_cut_the_pet_by_the_frame_and_keep_the_mask_exact(seed, monkeypatch):
    monkeypatch.setattr(synthetic, "CLOSEUP_SHARE", 1.0)
    image, mask = _render(seed)
    assert image.shape == SIZE + (3,) and mask.shape == SIZE
    assert 0.1 < mask.mean() < 1.0
    edges = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert edges.any()  # a close-up reaches the frame


def test_texture_crop_has_the_requested_size_for_any_aspect():
    texture = np.random.default_rng(0).uniform(0, 255, (100, 300, 3)).astype(np.float32)
    for size in [(32, 64), (64, 32), (50, 50)]:
        crop = realism.texture_crop(np.random.default_rng(1), texture, size)
        assert crop.shape == size + (3,) and crop.dtype == np.float32


def test_the_cartoon_style_ignores_the_textures_and_keeps_version_1s_stamp(tmp_path):
    cartoon = [render_pet_image(np.random.default_rng([seed, 0]), "pug", SIZE, tex, "cartoon")[0]
               for seed in range(3) for tex in (None, ())]
    assert all(np.array_equal(a, b) for a, b in zip(cartoon[::2], cartoon[1::2], strict=True))
    assert not np.array_equal(cartoon[0], _render(0, "pug")[0])  # the photo style draws something else
    root = install.generate_synthetic_pets(tmp_path / "pets", 6, (32, 32), seed=0, style="cartoon")
    stamp = json.loads((root / install.STAMP_NAME).read_text())
    # the stamp sets drawn before version 2 carry, so they are still up to date
    assert stamp == {"generator": "cvlab_ch9.data.generate_synthetic_pets", "version": 1, "n_images": 6,
                     "image_size": [32, 32], "seed": 0}
    assert install.is_up_to_date(root, 6, (32, 32), 0, "cartoon") and not install.is_up_to_date(root, 6, (32, 32), 0)


def test_an_unknown_style_is_refused(tmp_path):
    with pytest.raises(ValueError, match="photo, cartoon"):
        render_pet_image(np.random.default_rng(0), "pug", SIZE, style="watercolour")
    with pytest.raises(install.DatasetError, match="style must be one of photo, cartoon"):
        install.ensure_synthetic_pets(tmp_path / "pets", 6, (32, 32), style="watercolour")


def test_each_style_has_its_own_held_out_set():
    assert held_out_root("photo") == HELD_OUT_DATA_ROOT
    assert held_out_root("cartoon") != HELD_OUT_DATA_ROOT and held_out_root("cartoon").parent == HELD_OUT_DATA_ROOT.parent

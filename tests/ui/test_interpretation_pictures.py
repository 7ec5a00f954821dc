"""The pictures and words around the interpretation tabs' results (no TensorFlow): grids, differences, contracts, stats, the frame."""

import numpy as np
import pytest

from cvlab_ch9.ui import activation_stats, contracts, pictures
from cvlab_ch9.ui.notebook_frame import HEIGHT_MESSAGE, ID_MESSAGE, NOT_RUNNING, app_head, frame_html


def grid_of(activation, per_row):
    """A contract activation_grid (standardized channels, zero gutters), written independently of the solution."""
    h, w, c = activation.shape
    layout = pictures.GridLayout(h, w, c, per_row)
    canvas = np.zeros(layout.shape, "uint8")
    for k in range(c):
        channel = activation[..., k]
        tile = np.clip((channel - channel.mean()) / channel.std() * 64 + 128, 0, 255) if channel.std() > 0 else 0 * channel
        top, left = layout.origin(k)
        canvas[top : top + h, left : left + w] = tile.astype("uint8")
    return canvas, layout


# -- grids and tiles ------------------------------------------------------------------


def test_a_grid_layout_finds_every_channel_and_no_gutter():
    layout = pictures.GridLayout(h=3, w=4, channels=6, per_row=4)
    assert layout.shape == (7, 19) and layout.rows == 2
    assert layout.channel_at(0, 0) == 0 and layout.channel_at(2, 3) == 0
    assert layout.channel_at(0, 5) == 1 and layout.channel_at(4, 5) == 5
    assert layout.channel_at(3, 0) is None, "a gutter row"
    assert layout.channel_at(0, 4) is None, "a gutter column"
    assert layout.channel_at(4, 10) is None, "an empty slot after the last channel"
    assert layout.channel_at(-1, 0) is None and layout.channel_at(0, 40) is None


def test_a_tile_is_the_channel_the_grid_drew():
    activation = np.random.default_rng(0).normal(size=(5, 6, 7))
    canvas, layout = grid_of(activation, per_row=3)
    for k in range(7):
        tile = pictures.tile(canvas, layout, k)
        expected = np.clip((activation[..., k] - activation[..., k].mean()) / activation[..., k].std() * 64 + 128, 0, 255)
        np.testing.assert_array_equal(tile, expected.astype("uint8"))


def test_numbered_grid_scales_tiles_up_and_clicks_map_back_to_channels():
    canvas, layout = grid_of(np.random.default_rng(1).normal(size=(6, 6, 10)), per_row=4)
    picture, scale = pictures.numbered_grid(canvas, layout)
    assert scale == pictures.tile_scale(layout) and 6 * scale >= pictures.MIN_TILE
    assert picture.shape == (canvas.shape[0] * scale, canvas.shape[1] * scale, 3)
    plain = np.repeat(np.repeat(pictures.as_rgb(canvas), scale, axis=0), scale, axis=1)
    for k in range(layout.channels):  # each number is drawn in its tile's top-left corner; the rest is the canvas
        top, left = layout.origin(k)
        corner = (slice(top * scale, (top + 3) * scale), slice(left * scale, (left + 3) * scale))
        rest = (slice((top + 4) * scale, (top + 6) * scale), slice(left * scale, (left + 6) * scale))
        assert (picture[corner] != plain[corner]).any(), k
        np.testing.assert_array_equal(picture[rest], plain[rest])


def test_laid_over_keeps_the_photo_where_the_channel_fires_and_dims_it_elsewhere():
    photo = np.full((40, 60, 3), 200, "uint8")
    tile = np.zeros((4, 6), "uint8")
    tile[:, 3:] = 255
    seen = pictures.laid_over(photo, tile, floor=0.2)
    assert seen.shape == photo.shape
    assert seen[:, -5:].mean() == pytest.approx(200, abs=1) and seen[:, :5].mean() == pytest.approx(40, abs=1)
    assert pictures.laid_over(photo, np.full((4, 6), 77, "uint8"), floor=0.2).mean() == pytest.approx(40, abs=1)


def test_a_difference_picture_is_red_above_blue_below_white_at_zero_gray_for_nan():
    photo = np.full((20, 20, 3), 255, "uint8")
    difference = np.array([[0.5, -0.5], [0.0, np.nan]])
    picture = pictures.difference_picture(difference, photo)
    red, blue, white, gray = picture[2, 2], picture[2, 17], picture[17, 2], picture[17, 17]
    assert int(red[0]) > int(red[2]) + 40 and int(red[0]) > int(red[1]) + 40, red
    assert int(blue[2]) > int(blue[0]) + 40, blue
    assert white.min() > 230, white
    assert np.ptp(gray) == 0 and 150 < gray[0] < 170, gray
    # what the grader counts as equal stays white (the colour scale is at least MIN_DIFFERENCE_LIMIT); beyond, colour
    assert pictures.difference_picture(np.full((2, 2), 3e-8), photo).min() > 230
    small = pictures.difference_picture(np.full((2, 2), -5e-3), photo)[5, 5].astype(int)
    assert small[2] > small[0] + 40, small
    assert pictures.value_range(difference) == "-0.5 … 0.5" and pictures.value_range([np.nan]) == "no finite values"


def test_strips_and_stacks_line_pictures_up_under_their_labels():
    row = pictures.strip([np.zeros((10, 20), "uint8"), None, np.full((5, 5, 3), 255, "uint8")], ["a", "b", "c"], height=30)
    band = row.shape[0] - 30
    assert band > 0 and row.shape[1] == 60 + 30 + 30 + 2 * 6
    assert (row[band:, :60] == 0).all(), "scaled to the strip's height, aspect kept"
    table = pictures.stacked([row, row[:, :50]], gap=4, top=10)
    assert table.shape == (10 + 2 * row.shape[0] + 4, row.shape[1], 3)
    assert (table[:10] == 255).all() and pictures.stacked([]) is None
    assert pictures.under_label(np.zeros((3, 4), "uint8")).shape == (pictures.LABEL_BAND + 3, 4, 3)


# -- contracts ---------------------------------------------------------------------------


def test_a_heatmap_inside_its_contract_gets_no_words():
    assert contracts.heatmap_problems(np.linspace(0, 1, 12).reshape(3, 4)) == []
    assert contracts.heatmap_problems(np.zeros((3, 3))) == []


@pytest.mark.parametrize(
    ("heatmap", "words"),
    [
        (np.array([[-0.5, 1.0]]), "values below 0 (down to -0.5) in 1 of 2 places, drawn as 0: a heatmap keeps only the evidence"),
        (np.array([[0.2, 3.0]]), "values above 1 (up to 3), drawn as 1: divide the heatmap by its max"),
        (np.array([[np.nan, 1.0]]), "NaN in 1 of 2 values (drawn gray): divide by the max only when it is > 0"),
        (np.array([[np.inf, 1.0]]), "infinite values in 1 of 2 places"),
    ],
)
def test_a_heatmap_outside_its_contract_is_said_in_words(heatmap, words):
    problems = contracts.heatmap_problems(heatmap, "grad_cam")
    assert any(words in p for p in problems), problems
    assert all(p.startswith("grad_cam() returned") for p in problems)


def test_a_picture_outside_uint8_or_of_another_shape_is_said_in_words():
    assert contracts.picture_problems(np.zeros((3, 4), "uint8"), "activation_grid", (3, 4)) == []
    (shape,) = contracts.picture_problems(np.zeros((3, 5), "uint8"), "activation_grid", (3, 4), "grid")
    assert shape == "activation_grid() returned a grid of shape (3, 5); the contract gives (3, 4)."
    (floats,) = contracts.picture_problems(np.array([[-3.0, 300.0]]), "activation_grid")
    assert "float64 values from -3 to 300; the contract is uint8 0..255 (drawn clipped to 0..255)" in floats
    (cast,) = contracts.picture_problems(np.array([[0.0, 200.0]]), "deprocess_image")
    assert 'cast with .astype("uint8")' in cast
    np.testing.assert_array_equal(contracts.clipped_uint8([[np.nan, -4, 300, 7.9]]), [[0, 0, 255, 7]])


def test_status_lines_and_the_pointer_to_the_reference():
    assert contracts.with_problems("ok.", ["a.", "b."]) == "ok.  \n⚠ a.  \n⚠ b."
    assert contracts.with_problems("", ["a."]) == "⚠ a." and contracts.with_problems("ok.", []) == "ok."
    assert "on the right" in contracts.then_sentence(True) and contracts.then_sentence(False) == ""


# -- what the layers keep --------------------------------------------------------------------


def test_blank_channels_are_those_without_a_positive_value_or_constant():
    activation = np.zeros((4, 4, 4))
    activation[..., 1] = np.arange(16).reshape(4, 4)  # varies
    activation[..., 2] = -1.0  # no positive value
    activation[..., 3] = 2.0  # constant
    assert activation_stats.blank_share(activation) == pytest.approx(0.75)


def test_fine_detail_is_kept_by_a_copy_of_the_image_and_lost_by_a_coarse_summary():
    image = np.random.default_rng(3).uniform(0, 255, (48, 48, 3))
    detail = activation_stats.fine_detail(image)
    copy = image.mean(axis=-1, keepdims=True)  # a layer that still holds the picture
    coarse = image.reshape(6, 8, 6, 8, 3).mean(axis=(1, 3))  # 6x6 averages: the fine detail is gone
    assert activation_stats.detail_kept(copy, detail) > 0.95
    assert activation_stats.detail_kept(coarse, detail) < 0.2
    assert activation_stats.detail_kept(np.zeros((6, 6, 2)), detail) == 0.0


def test_layer_stats_and_their_plot():
    image = np.random.default_rng(4).uniform(0, 255, (32, 32, 3))
    activations = {"early": image, "late": np.maximum(image.reshape(4, 8, 4, 8, 3).mean(axis=(1, 3)) - 128, 0),
                   "broken": np.full((2, 2, 2), np.nan)}
    stats = activation_stats.layer_stats(activations, image)
    assert set(stats) == {"early", "late"}, "a layer with NaN is left out"
    assert stats["early"][1] > stats["late"][1]
    picture = activation_stats.stats_plot({"yours": stats, "reference": stats}, ["early", "late"], width=500, height=200)
    assert picture.shape == (200, 500, 3) and picture.dtype == np.uint8 and np.ptp(picture) > 0


# -- the notebook's frame -------------------------------------------------------------------


def test_the_frame_output_says_the_ui_is_not_running_until_its_script_finds_the_app():
    html = frame_html("http://127.0.0.1:7861/", "c0ffee", frame_id="cvlab-lab-test")
    assert 'id="cvlab-lab-test"' in html and 'data-address="http://127.0.0.1:7861/"' in html
    # without scripts (an untrusted or reopened notebook) the sentence is all there is: no frame in the HTML itself
    assert NOT_RUNNING in html and "<iframe" not in html
    assert 'fetch(s.address + "config"' in html and "createElement(\"iframe\")" in html
    assert f'"message": "{HEIGHT_MESSAGE}"' in html and '"height": null' in html
    # the frame is shown only to the app whose page posts this output's id (not whatever took the port since)
    assert '"app": "c0ffee"' in html and f'"idKey": "{ID_MESSAGE}"' in html
    assert '"height": 700' in frame_html("/user/a/proxy/7861/", "c0ffee", height=700)
    assert frame_html("/x/", "c0ffee") != frame_html("/x/", "c0ffee"), "every output has its own element id"
    head = app_head("c0ffee")
    assert f'{{{HEIGHT_MESSAGE}: height, {ID_MESSAGE}: "c0ffee"}}' in head and "window.parent === window" in head

"""Pictures the interpretation tabs draw around the student's results: numbered grids, tiles, differences, strips.

Pure numpy/Pillow functions; every picture is uint8 RGB (H, W, 3) unless
said otherwise. They never change what the student's code computed: they
enlarge it, cut it into tiles, label it or lay it over the photo.
"""

import dataclasses
import functools

import numpy as np

from cvlab_ch9.ui.images import nearest_resize

#: Smallest side of a channel tile in a numbered grid (room for its number).
MIN_TILE = 40
#: Difference maps saturate at the largest |difference|, but at least this: the grader's heatmap tolerance,
#: so what it counts as equal (float rounding, about 1e-7) stays white and what it would fail gets colour.
MIN_DIFFERENCE_LIMIT = 2e-3
LABEL_SIZE = 13
#: Blank band on top of a picture shown in a labelled gr.Image (the label covers the picture's top-left corner).
LABEL_BAND = 28
#: Height of the pictures in a strip (one row of a filter table).
STRIP_HEIGHT = 96


@functools.cache
def _font(size=LABEL_SIZE):
    from PIL import ImageFont  # noqa: PLC0415

    return ImageFont.load_default(size=size)


def as_rgb(picture):
    """uint8 (H, W, 3) from a uint8 (H, W) or (H, W, 3) picture."""
    picture = np.asarray(picture, dtype="uint8")
    return np.repeat(picture[..., None], 3, axis=-1) if picture.ndim == 2 else picture


@dataclasses.dataclass(frozen=True)
class GridLayout:
    """Where the channels of an ``activation_grid`` canvas are, by the contract.

    Channel k of an (h, w, c) activation sits at row ``k // per_row``,
    column ``k % per_row``, each tile (h, w) followed by a 1-pixel gutter.
    """

    h: int
    w: int
    channels: int
    per_row: int

    @property
    def rows(self):
        return -(-self.channels // self.per_row)

    @property
    def shape(self):
        """The canvas shape the contract promises: ((h+1)*rows-1, (w+1)*per_row-1)."""
        return ((self.h + 1) * self.rows - 1, (self.w + 1) * self.per_row - 1)

    def origin(self, k):
        """(top, left) pixel of channel ``k``'s tile in the canvas."""
        row, col = divmod(k, self.per_row)
        return row * (self.h + 1), col * (self.w + 1)

    def channel_at(self, y, x):
        """The channel whose tile holds canvas pixel (y, x), or None (a gutter, an empty slot, outside)."""
        row, dy = divmod(int(y), self.h + 1)
        col, dx = divmod(int(x), self.w + 1)
        k = row * self.per_row + col
        if dy == self.h or dx == self.w or col >= self.per_row or not 0 <= k < self.channels or y < 0 or x < 0:
            return None
        return k


def tile(canvas, layout, k):
    """Channel ``k``'s (h, w) tile cut from a grid canvas laid out as ``layout``."""
    top, left = layout.origin(k)
    return np.asarray(canvas)[top : top + layout.h, left : left + layout.w]


def tile_scale(layout, min_tile=MIN_TILE):
    """Whole-number upscale that makes every tile at least ``min_tile`` pixels on its short side (at most 16)."""
    return int(min(16, max(1, -(-min_tile // max(1, min(layout.h, layout.w))))))


def numbered_grid(canvas, layout, min_tile=MIN_TILE):
    """The grid canvas enlarged (nearest) so tiles are readable, each tile numbered in its corner.

    Args:
        canvas: uint8 (H, W) grid from activation_grid, shaped as ``layout.shape``.

    Returns:
        (uint8 (H', W', 3) picture, scale): canvas pixel (y, x) is picture
        pixel (y * scale, x * scale).
    """
    from PIL import Image, ImageDraw  # noqa: PLC0415

    scale = tile_scale(layout, min_tile)
    big = np.repeat(np.repeat(as_rgb(canvas), scale, axis=0), scale, axis=1)
    image = Image.fromarray(big)
    draw = ImageDraw.Draw(image)
    font = _font(max(9, min(LABEL_SIZE, layout.h * scale // 3)))
    for k in range(layout.channels):
        top, left = layout.origin(k)
        _label(draw, (left * scale + 1, top * scale + 1), str(k), font)
    return np.asarray(image), scale


def _label(draw, xy, text, font):
    """``text`` at ``xy`` in white on a dark box (readable on any picture)."""
    box = draw.textbbox(xy, text, font=font)
    draw.rectangle((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), fill=(20, 20, 20))
    draw.text(xy, text, fill=(255, 255, 255), font=font)


def enlarge(picture, size):
    """Nearest-neighbour enlargement of a uint8 (h, w[, 3]) picture to ``size`` = (H, W), as RGB."""
    return as_rgb(nearest_resize(picture, size))


def laid_over(photo, tile_picture, floor=0.2):
    """The photo seen through a channel: bright where the tile is brightest, dimmed to ``floor`` where it is darkest.

    Args:
        photo: uint8 (H, W, 3).
        tile_picture: uint8 (h, w) channel tile; stretched to 0..1 and resized bilinearly to (H, W).
        floor: brightness kept where the tile is darkest.

    Returns:
        uint8 (H, W, 3): ``photo * (floor + (1 - floor) * stretched tile)``; the photo dimmed evenly for a constant tile.
    """
    from PIL import Image  # noqa: PLC0415

    height, width = photo.shape[:2]
    mask = np.asarray(Image.fromarray(np.asarray(tile_picture, dtype="uint8")).resize((width, height), Image.BILINEAR))
    mask = mask.astype("float32")
    spread = float(mask.max() - mask.min())
    mask = (mask - mask.min()) / spread if spread > 0 else np.zeros_like(mask)
    weight = floor + (1 - floor) * mask[..., None]
    return np.clip(photo.astype("float32") * weight, 0, 255).astype("uint8")


def difference_picture(difference, photo, limit=None):
    """A signed (h, w) difference drawn over a faded photo: red where it is > 0, blue where < 0, white at 0.

    Args:
        difference: float (h, w), e.g. the student's heatmap minus the reference's (NaN drawn gray).
        photo: uint8 (H, W, 3); the picture has its size.
        limit: the |value| drawn at full colour (default: max |difference|, at least MIN_DIFFERENCE_LIMIT).

    Returns:
        uint8 (H, W, 3).
    """
    import matplotlib  # noqa: PLC0415

    difference = np.asarray(difference, dtype="float64")
    finite = np.isfinite(difference)
    if limit is None:
        limit = max(MIN_DIFFERENCE_LIMIT, float(np.abs(difference[finite]).max()) if finite.any() else 0.0)
    scaled = np.clip(np.where(finite, difference, 0.0) / limit, -1, 1)
    colours = matplotlib.colormaps["RdBu_r"]((scaled + 1) / 2)[..., :3] * 255
    colours[~finite] = 128
    colours = nearest_resize(colours, photo.shape[:2])
    gray = photo.astype("float32").mean(axis=-1, keepdims=True)
    return np.clip(0.75 * colours + 0.25 * gray, 0, 255).astype("uint8")


def value_range(array):
    """``"-0.52 … 1"`` of the finite values (3 significant digits), "no finite values" when there are none."""
    array = np.asarray(array, dtype="float64")
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return "no finite values"
    return f"{finite.min():.3g} … {finite.max():.3g}"


def strip(pictures, labels, height=STRIP_HEIGHT, gap=6, background=255):
    """Pictures side by side, each scaled (nearest) to ``height`` and labelled above.

    Args:
        pictures: uint8 (h, w) or (h, w, 3) pictures (None leaves an empty slot).
        labels: one string per picture.

    Returns:
        uint8 (height + label band, W, 3).
    """
    from PIL import Image, ImageDraw  # noqa: PLC0415

    font = _font()
    band = LABEL_SIZE + 6
    scaled = []
    for picture in pictures:
        if picture is None:
            scaled.append(None)
            continue
        picture = as_rgb(picture)
        width = max(1, round(picture.shape[1] * height / picture.shape[0]))
        scaled.append(enlarge(picture, (height, width)))
    widths = [height if p is None else p.shape[1] for p in scaled]
    canvas = Image.new("RGB", (sum(widths) + gap * (len(widths) - 1), height + band), (background,) * 3)
    draw = ImageDraw.Draw(canvas)
    left = 0
    for picture, width, label in zip(scaled, widths, labels):
        if picture is not None:
            canvas.paste(Image.fromarray(picture), (left, band))
        draw.text((left, 2), label, fill=(40, 40, 40), font=font)
        left += width + gap
    return np.asarray(canvas)


def under_label(picture, band=LABEL_BAND, background=255):
    """``picture`` (uint8) with a blank band on top, where a gr.Image draws its label."""
    picture = as_rgb(picture)
    return np.concatenate([np.full((band, *picture.shape[1:]), background, dtype="uint8"), picture])


def stacked(rows, gap=8, top=LABEL_BAND, background=255):
    """uint8 pictures (e.g. :func:`strip` rows) one under the other, left-aligned, padded to the widest, below a ``top`` band."""
    rows = [as_rgb(row) for row in rows]
    if not rows:
        return None
    width = max(row.shape[1] for row in rows)
    height = top + sum(row.shape[0] for row in rows) + gap * (len(rows) - 1)
    canvas = np.full((height, width, 3), background, dtype="uint8")
    for row in rows:
        canvas[top : top + row.shape[0], : row.shape[1]] = row
        top += row.shape[0] + gap
    return canvas

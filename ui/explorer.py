"""The Activations tab's explorer: one layer's numbered channels, one channel large and over the photo.

A click on "Show activations" computes every layer once; the explorer then
works on what it kept (:class:`Explored`, a ``gr.State`` value): a layer's
grid with numbered channels for each side, and a channel's tile enlarged
and laid over the photo. Nothing here runs student code again: the tiles
are cut from the grids each side's ``activation_grid`` drew.
"""

import dataclasses

import numpy as np

from cvlab_ch9.ui import pictures


@dataclasses.dataclass
class Side:
    """One column's results (yours or the reference's).

    Attributes:
        grids: {layer: uint8 (H, W) grid as drawn (clipped)}.
        layouts: {layer: GridLayout} where the grid's shape is the contract's (channels can be cut out).
        channel_ranges: {layer: float (c, 2) min and max per channel} (yours only: the raw activations).
        order: the layers in the order of the overview gallery.
    """

    grids: dict = dataclasses.field(default_factory=dict)
    layouts: dict = dataclasses.field(default_factory=dict)
    channel_ranges: dict = dataclasses.field(default_factory=dict)

    @property
    def order(self):
        return list(self.grids)


@dataclasses.dataclass
class Explored:
    """What one "Show activations" click computed, for the explorer's later clicks.

    Attributes:
        picture: uint8 (H, W, 3), the photo as shown.
        layers: every layer either side shows, in model order.
        student, reference: the two columns.
        stats: {"yours" | "reference": {layer: (blank share, fine detail kept)}}.
    """

    picture: np.ndarray
    layers: list
    student: Side
    reference: Side
    stats: dict


def side_from_grids(grids, shapes, per_row):
    """A :class:`Side` from {layer: uint8 grid} and {layer: (h, w, c) activation shape}.

    A grid whose shape is not the contract's for its activation keeps no
    layout: it is shown, but its channels cannot be cut out and numbered.
    """
    side = Side()
    for name, grid in grids.items():
        side.grids[name] = grid
        if name in shapes:
            h, w, c = shapes[name]
            layout = pictures.GridLayout(int(h), int(w), int(c), int(per_row))
            if tuple(np.shape(grid)) == layout.shape:
                side.layouts[name] = layout
    return side


def first_layer(explored):
    """The layer the explorer opens on: the first one shown."""
    return explored.layers[0] if explored is not None and explored.layers else None


def most_active_channel(side, layer):
    """The channel of ``layer`` with the largest maximum (yours), else 0."""
    ranges = side.channel_ranges.get(layer)
    return int(np.argmax(ranges[:, 1])) if ranges is not None and len(ranges) else 0


def numbered(side, layer):
    """Picture of ``side``'s grid of ``layer`` with numbered channels (None when that side has no grid)."""
    if layer not in side.grids:
        return None
    if layer not in side.layouts:
        return pictures.under_label(side.grids[layer])
    return pictures.under_label(pictures.numbered_grid(side.grids[layer], side.layouts[layer])[0])


def layer_text(explored, layer):
    """One markdown paragraph about ``layer``: its size and both sides' numbers."""
    parts = []
    for label, side in (("yours", explored.student), ("reference", explored.reference)):
        layout = side.layouts.get(layer)
        stats = explored.stats.get(label, {}).get(layer)
        if layout is None and layer not in side.grids:
            continue
        size = f"{layout.h}×{layout.w}×{layout.channels}" if layout else "grid of another shape than the contract's"
        numbers = f"; {100 * stats[0]:.0f}% blank channels, {100 * stats[1]:.0f}% of the fine detail kept" if stats else ""
        parts.append(f"{label}: {size}{numbers}")
    return f"**{layer}** — " + " · ".join(parts) + ". Click a channel (on either grid) to see it large and over the photo."


def clicked_channel(explored, layer, side_name, x, y):
    """The channel under pixel (x, y) of a numbered grid picture, or None (a gutter, a grid without layout)."""
    side = explored.student if side_name == "student" else explored.reference
    layout = side.layouts.get(layer)
    if layout is None:
        return None
    scale = pictures.tile_scale(layout)
    return layout.channel_at((y - pictures.LABEL_BAND) // scale, x // scale)


def channel_views(explored, layer, channel):
    """For each side: (channel tile enlarged to the photo's size, photo seen through the channel) or (None, None)."""
    views = []
    for side in (explored.student, explored.reference):
        layout = side.layouts.get(layer)
        if layout is None or not 0 <= channel < layout.channels:
            views.append((None, None))
            continue
        tile = pictures.tile(side.grids[layer], layout, channel)
        views.append((pictures.enlarge(tile, explored.picture.shape[:2]), pictures.laid_over(explored.picture, tile)))
    return views


def channel_text(explored, layer, channel):
    """One markdown line about ``channel`` of ``layer``: its raw value range (yours) and what the pictures show."""
    ranges = explored.student.channel_ranges.get(layer)
    values = ""
    if ranges is not None and 0 <= channel < len(ranges):
        low, high = ranges[channel]
        values = " — blank (no positive value)" if high <= 0 or high == low else f" — your values {low:.3g} … {high:.3g}"
    return (f"**{layer}, channel {channel}**{values}. Left: the channel's tile from the grid, enlarged; right: the photo "
            "seen through it (bright where the channel responds).")

"""Oxford-style trimaps (pet, background, a border band) from exact pet masks."""

from __future__ import annotations

import numpy as np

from cvlab_ch9.data.pets import TRIMAP_BACKGROUND, TRIMAP_BORDER, TRIMAP_PET


def _disk_offsets(radius: int) -> list[tuple[int, int]]:
    """(dy, dx) offsets of a discrete disk of the given radius."""
    return [
        (dy, dx)
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
        if dy * dy + dx * dx <= radius * radius
    ]


def _shift_or(mask: np.ndarray, offsets) -> np.ndarray:
    """Binary dilation of (H, W) bool ``mask`` by the given offsets (zero padding)."""
    height, width = mask.shape
    out = np.zeros_like(mask)
    for dy, dx in offsets:
        src = mask[max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
        out[max(0, dy) : height - max(0, -dy), max(0, dx) : width - max(0, -dx)] |= src
    return out


def trimap_from_mask(mask: np.ndarray, band_radius=None) -> np.ndarray:
    """Oxford-style trimap from an exact pet mask.

    Args:
        mask: (H, W) bool (or 0/nonzero) pet mask.
        band_radius: the border band covers pixels within this distance of the mask
            edge on both sides (so it straddles it, about 2 * radius wide); default
            ``max(1, round(min(H, W) / 128))`` (a 2-pixel band at 128x128).

    Returns:
        (H, W) uint8: 1 pet, 2 background, 3 border.
    """
    mask = np.asarray(mask).astype(bool)
    if band_radius is None:
        band_radius = max(1, round(min(mask.shape) / 128))
    offsets = _disk_offsets(int(band_radius))
    dilated = _shift_or(mask, offsets)
    eroded = ~_shift_or(~mask, offsets)
    trimap = np.full(mask.shape, TRIMAP_BACKGROUND, dtype=np.uint8)
    trimap[mask] = TRIMAP_PET
    trimap[dilated & ~eroded] = TRIMAP_BORDER
    return trimap

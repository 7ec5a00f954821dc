"""A small synthetic pets set shared by the data tests."""

from pathlib import Path

from cvlab_ch9.data import generate_synthetic_pets

N_IMAGES = 24
SIZE = (64, 64)


def make_synthetic_set(folder) -> Path:
    """24 images of 64x64, seed 0, in ``folder/pets``."""
    return generate_synthetic_pets(Path(folder) / "pets", N_IMAGES, SIZE, seed=0)

"""Pets data: the loader for the Oxford-IIIT Pets layout, and a synthetic set in that layout.

Layout (the real dataset and the synthetic one share it)::

    ROOT/images/<Breed>_<n>.jpg            cat breeds Capitalized, dog breeds lowercase
    ROOT/annotations/trimaps/<stem>.png    uint8 1 = pet, 2 = background, 3 = border
    ROOT/annotations/list.txt              optional: "Image CLASS-ID SPECIES BREED-ID"

Modules: :mod:`~cvlab_ch9.data.pets` (the loader), :mod:`~cvlab_ch9.data.synthetic`
(the pet renderer, in a "photo" and a "cartoon" style; :mod:`~cvlab_ch9.data.realism`
and :mod:`~cvlab_ch9.data.textures` serve the photo style), :mod:`~cvlab_ch9.data.trimaps`,
:mod:`~cvlab_ch9.data.install` (writing a set to disk, safely under concurrency), :mod:`~cvlab_ch9.data.oxford` (downloading and
installing the real Oxford-IIIT Pets); ``python -m cvlab_ch9.data`` is the
command line::

    python -m cvlab_ch9.data generate [--root DIR] [--n N] [--size H W] [--seed S] [--style photo|cartoon]
    python -m cvlab_ch9.data check [--root DIR|oxford]
    python -m cvlab_ch9.data download [--root DIR] [--mirror URL] [--keep-archives]
"""

from cvlab_ch9.data.install import (
    DEFAULT_SYNTHETIC_ROOT,
    STAMP_NAME,
    ensure_synthetic_pets,
    generate_synthetic_pets,
    is_up_to_date,
)
from cvlab_ch9.data.pets import (
    SPECIES_NAMES,
    TRIMAP_BACKGROUND,
    TRIMAP_BORDER,
    TRIMAP_PET,
    DatasetError,
    PetSample,
    find_samples,
    load_classification_arrays,
    load_image,
    load_segmentation_arrays,
    load_trimap,
    select_samples,
    split_indices,
)
from cvlab_ch9.data.synthetic import BREEDS, render_pet_image
from cvlab_ch9.data.trimaps import trimap_from_mask

__all__ = [
    "BREEDS",
    "DEFAULT_SYNTHETIC_ROOT",
    "SPECIES_NAMES",
    "STAMP_NAME",
    "TRIMAP_BACKGROUND",
    "TRIMAP_BORDER",
    "TRIMAP_PET",
    "DatasetError",
    "PetSample",
    "ensure_synthetic_pets",
    "find_samples",
    "generate_synthetic_pets",
    "is_up_to_date",
    "load_classification_arrays",
    "load_image",
    "load_segmentation_arrays",
    "load_trimap",
    "render_pet_image",
    "select_samples",
    "split_indices",
    "trimap_from_mask",
]

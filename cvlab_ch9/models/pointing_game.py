"""The Grad-CAM pointing game: does the heatmap's maximum fall on the pet?

``python -m cvlab_ch9.models pointing-game`` scores the shipped classifiers on a
held-out synthetic set (a data seed never used in training).
"""

import numpy as np
from PIL import Image

from cvlab_ch9.data import ensure_synthetic_pets, load_classification_arrays, load_segmentation_arrays
from cvlab_ch9.models.store import demo_model_info, load_demo_model
from cvlab_ch9.models.training import accuracy
from cvlab_ch9.paths import DATA_DIR

HELD_OUT_DATA_ROOT = DATA_DIR / "synthetic_pets_heldout"
#: data seed of the held-out set (the training set uses ClassifierConfig.data_seed)
HELD_OUT_SEED = 2024
PET_TRIMAP_VALUES = (1, 3)  # pet and its contour


def held_out_root(style="photo"):
    """Folder of the held-out set of a drawing style (one per style, so neither replaces the other)."""
    return HELD_OUT_DATA_ROOT if style == "photo" else HELD_OUT_DATA_ROOT.with_name(f"{HELD_OUT_DATA_ROOT.name}_{style}")


def held_out_arrays(img_size, n_images=60, root=None, seed=HELD_OUT_SEED, style="photo"):
    """A synthetic set never used in training (another data seed), drawn in ``style`` ("photo" or "cartoon").

    Returns:
        (images float32 (N, H, W, 3) 0..255, labels int32 (N,), trimaps uint8
        (N, H, W) raw 1/2/3 at the same size, class_names).
    """
    root = ensure_synthetic_pets(root=root or held_out_root(style), n_images=n_images, image_size=(128, 128), seed=seed,
                                 style=style)
    images, labels, class_names = load_classification_arrays(root, img_size=tuple(img_size))
    _, trimaps = load_segmentation_arrays(root, img_size=tuple(img_size))
    return images.astype("float32"), labels, trimaps, tuple(class_names)


def upsample_heatmap(heatmap, size):
    """Bilinear resize of a float (h, w) heatmap to (H, W) = size (float32)."""
    image = Image.fromarray(np.asarray(heatmap, dtype="float32"), mode="F")
    return np.asarray(image.resize((size[1], size[0]), Image.Resampling.BILINEAR))


def pet_mask(trimaps):
    """Boolean pet mask (trimap value 1 = pet or 3 = contour), same shape."""
    return np.isin(np.asarray(trimaps), PET_TRIMAP_VALUES)


def pointing_game(model, images, masks, last_conv_layer_name, grad_cam=None):
    """Fraction of images whose Grad-CAM maximum falls on the pet.

    For each image the Grad-CAM heatmap of the top predicted class (from
    ``cvlab_ch9.fastpaths.grad_cam``, the reference's traced twin) is upsampled bilinearly to the
    image size; a hit is when its arg-max pixel lies inside the pet mask.

    Args:
        model: a classifier taking float32 (N, H, W, 3) pixels.
        images: float32 or uint8 (N, H, W, 3).
        masks: raw trimaps (N, H, W) with 1 = pet, 2 = background, 3 = contour
            (pet = 1 or 3), or boolean pet masks.
        last_conv_layer_name: the layer whose output Grad-CAM uses.
        grad_cam: ``grad_cam(model, batch, layer) -> (h, w)`` heatmap (default:
            :func:`cvlab_ch9.fastpaths.grad_cam`, equal to the reference within tolerance).

    Returns:
        float in [0, 1]. Chance level is about :func:`mask_area_fraction`.
    """
    if grad_cam is None:
        from cvlab_ch9.fastpaths import grad_cam  # noqa: PLC0415 - imports TensorFlow
    images = np.asarray(images, dtype="float32")
    masks = np.asarray(masks)
    inside = masks if masks.dtype == bool else pet_mask(masks)
    if len(images) != len(inside) or images.shape[1:3] != inside.shape[1:3]:
        raise ValueError(f"images {images.shape} and masks {masks.shape} must have the same N, H and W.")
    hits = 0
    for image, mask in zip(images, inside, strict=True):
        heatmap = grad_cam(model, image[np.newaxis], last_conv_layer_name)
        full = upsample_heatmap(heatmap, mask.shape)
        y, x = np.unravel_index(int(np.argmax(full)), full.shape)
        hits += bool(mask[y, x])
    return hits / max(len(images), 1)


def mask_area_fraction(masks):
    """Mean fraction of pixels on the pet: the pointing game's chance level."""
    masks = np.asarray(masks)
    inside = masks if masks.dtype == bool else pet_mask(masks)
    return float(inside.mean())


def evaluate_pointing_game(name, n_images=60, layer=None, models_dir=None, style=None):
    """Pointing game of a shipped demo model on the held-out synthetic set.

    Args:
        style: the held-out pets' drawing style; default the one the model was
            trained on (its metadata's ``config.data_style``; "cartoon" for files
            that predate it).

    Returns:
        dict with ``model``, ``layer``, ``style``, ``rate``, ``chance``, ``accuracy`` and ``n_images``.
    """
    info = demo_model_info(name, models_dir)
    model = load_demo_model(name, models_dir)
    style = style or info.get("config", {}).get("data_style", "cartoon")
    images, labels, trimaps, _ = held_out_arrays(info["img_size"], n_images, style=style)
    layer = layer or info["last_conv_layer_name"]
    return {
        "model": name,
        "layer": layer,
        "style": style,
        "rate": round(pointing_game(model, images, trimaps, layer), 4),
        "chance": round(mask_area_fraction(trimaps), 4),
        "accuracy": round(accuracy(model, images, labels), 4),
        "n_images": len(images),
    }

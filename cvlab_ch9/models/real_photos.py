"""How the demo models do on the few real feline photos that installed packages ship.

``python -m cvlab_ch9.models real-photos`` runs the shipped classifiers and the
segmentation demo on each photo of :data:`PHOTOS` that is installed here and
compares them with a hand-drawn pet mask (``cvlab_ch9/models/shipped/real_photos/<name>.png``,
255 = animal). Only one photo is a pet (scikit-image's ``chelsea``, a cat);
the others are wild cats from Gradio's example images (a cheetah's face, a
lion and a lioness, a running cheetah), counted as "cat" because that is the
nearer of the two classes. There is no dog photo among them, so a model that
answers "cat" to everything would look perfect on ``p_cat``: read it with
the Grad-CAM and segmentation columns and with ``control_p_cat``, the mean
"cat" probability on photos without any animal (:data:`CONTROLS`: a
portrait, a tower, a cameraman, a motorcycle), and never as an accuracy.

Per photo (the model sees the whole photo resized to its input, as in the UI):

- ``p_cat``: the classifier's probability of "cat";
- ``cam_inside``: the share of the Grad-CAM heatmap (top class, upsampled
  bilinearly to the photo) that lies inside the mask; a flat heatmap scores
  ``area``, the mask's share of the photo;
- ``pet_iou`` / ``background_iou``: the segmentation demo's pet (pet or
  contour class) and background pixels (nearest-upsampled to the photo)
  against the mask, and ``mean_iou`` their mean; "all pet" scores ``area``,
  0 and ``area / 2``.
"""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from cvlab_ch9 import imaging
from cvlab_ch9.impl import reference_lab
from cvlab_ch9.models.pointing_game import upsample_heatmap
from cvlab_ch9.models.store import DEMO_MODELS, demo_model_info, load_demo_model, load_demo_segmentation
from cvlab_ch9.paths import MODELS_DIR

MASKS_DIR = MODELS_DIR / "real_photos"
#: Segmentation classes counted as the animal (pet and its contour), as cvlab_ch9.models.pointing_game.pet_mask does.
PET_CLASSES = (0, 2)


@dataclass(frozen=True)
class Photo:
    """A photo shipped inside an installed package.

    Attributes:
        name: also the mask's file name (``<name>.png`` in MASKS_DIR).
        package: the top-level package that ships it.
        path: the file inside that package.
        species: the correct class ("cat" for every felid).
        what: the photo in words.
    """

    name: str
    package: str
    path: str
    species: str
    what: str


PHOTOS = (
    Photo("chelsea", "skimage", "data/chelsea.png", "cat", "Chelsea the cat, close-up (scikit-image data.chelsea(), CC0)"),
    Photo("cheetah1", "gradio", "media_assets/images/cheetah1.jpg", "cat", "a cheetah's face (a wild cat; Gradio's example images)"),
    Photo("lion", "gradio", "media_assets/images/lion.jpg", "cat", "a lion and a lioness on a rock (wild cats; Gradio's example images)"),
    Photo("cheetah", "gradio", "media_assets/images/cheetah.jpg", "cat", "a running cheetah, small in the frame (Gradio's example images)"),
)

#: Photos without an animal (no mask): only the classifiers' "cat" probability is recorded, to show a bias.
CONTROLS = (
    Photo("grace_hopper", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "", "a portrait (matplotlib sample data)"),
    Photo("tower", "gradio", "media_assets/images/tower.jpg", "", "a tower (Gradio's example images)"),
    Photo("camera", "skimage", "data/camera.png", "", "a cameraman, gray (scikit-image data.camera())"),
    Photo("motorcycle", "skimage", "data/motorcycle_left.png", "", "a motorcycle (scikit-image data.stereo_motorcycle())"),
)


def photo_path(photo):
    """Path of ``photo`` in its installed package, or None when the package or the file is not here.

    ``importlib.util.find_spec`` locates a top-level package without importing it.
    """
    spec = importlib.util.find_spec(photo.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / photo.path
    return path if path.is_file() else None


def load_mask(name, masks_dir=None):
    """Hand-drawn mask of photo ``name``: bool (H, W) at the photo's size, True on the animal."""
    return np.asarray(Image.open(Path(masks_dir or MASKS_DIR) / f"{name}.png").convert("L")) > 127


def mass_inside(heatmap, mask):
    """Share of a non-negative heatmap's total inside ``mask`` (same shape); NaN for an all-zero heatmap."""
    heatmap = np.clip(np.asarray(heatmap, dtype="float64"), 0, None)
    total = heatmap.sum()
    return float(heatmap[mask].sum() / total) if total > 0 else float("nan")


def iou(predicted, mask):
    """Intersection over union of two bool arrays; 1.0 when both are empty."""
    union = np.logical_or(predicted, mask).sum()
    return float(np.logical_and(predicted, mask).sum() / union) if union else 1.0


def p_cat(model, info, image):
    """A demo classifier's "cat" probability for one uint8 (H, W, 3) photo, resized to its input as in the UI."""
    batch = imaging.prepare_for_model(image, tuple(info["img_size"]))[np.newaxis]
    probabilities = np.asarray(model(batch, training=False))[0]
    return float(probabilities[list(info["class_names"]).index("cat")])


def classifier_scores(model, info, image, mask, grad_cam=None):
    """``p_cat``, ``top`` (class name) and ``cam_inside`` of a demo classifier on one uint8 (H, W, 3) photo."""
    grad_cam = grad_cam or reference_lab("interpretation").grad_cam
    batch = imaging.prepare_for_model(image, tuple(info["img_size"]))[np.newaxis]
    probabilities = np.asarray(model(batch, training=False))[0]
    names = list(info["class_names"])
    heatmap = grad_cam(model, batch, info["last_conv_layer_name"])
    return {
        "p_cat": round(float(probabilities[names.index("cat")]), 4),
        "top": names[int(np.argmax(probabilities))],
        "cam_inside": round(mass_inside(upsample_heatmap(heatmap, mask.shape), mask), 4),
    }


def segmentation_scores(model, info, image, mask):
    """``pet_iou``, ``background_iou`` and ``mean_iou`` of the segmentation model on one uint8 (H, W, 3) photo."""
    batch = imaging.prepare_for_model(image, tuple(info["img_size"]))[np.newaxis]
    labels = np.asarray(model(batch, training=False))[0].argmax(axis=-1)
    full = imaging.resize_image(labels.astype("uint8"), mask.shape, method="nearest")
    pet = np.isin(full, PET_CLASSES)
    pet_iou, background_iou = iou(pet, mask), iou(~pet, ~mask)
    return {"pet_iou": round(pet_iou, 4), "background_iou": round(background_iou, 4),
            "mean_iou": round((pet_iou + background_iou) / 2, 4)}


def available_photos(photos=PHOTOS):
    """(photos found here as (Photo, path), names of those whose package or file is missing)."""
    found, missing = [], []
    for photo in photos:
        path = photo_path(photo)
        if path is None:
            missing.append(photo.name)
        else:
            found.append((photo, path))
    return found, missing


def evaluate_real_photos(models_dir=None, masks_dir=None, photos=PHOTOS, controls=CONTROLS):
    """Every shipped demo model on every photo of ``photos`` and ``controls`` installed here.

    Returns:
        dict: ``photos`` {name: {"what", "species", "area"}}, ``missing`` (names
        not installed here), and one entry per model (the DEMO_MODELS and
        ``segmentation_demo``): {photo name: scores}; a classifier's entry
        also has ``control_p_cat`` {control name: p_cat}.
    """
    found, missing = available_photos(photos)
    found_controls, missing_controls = available_photos(controls)
    missing += missing_controls
    images = {photo.name: imaging.read_image(path) for photo, path in found}
    masks = {photo.name: load_mask(photo.name, masks_dir) for photo, _ in found}
    for name, image in images.items():
        if image.shape[:2] != masks[name].shape:
            raise ValueError(f"the mask of {name} is {masks[name].shape[::-1]} but the photo {image.shape[1::-1]}; redraw the mask.")
    result = {
        "photos": {p.name: {"what": p.what, "species": p.species, "area": round(float(masks[p.name].mean()), 4)} for p, _ in found},
        "missing": missing,
    }
    for model_name in DEMO_MODELS:
        model, info = load_demo_model(model_name, models_dir), demo_model_info(model_name, models_dir)
        result[model_name] = {name: classifier_scores(model, info, images[name], masks[name]) for name in images}
        result[model_name]["control_p_cat"] = {
            photo.name: round(p_cat(model, info, imaging.read_image(path)), 4) for photo, path in found_controls
        }
    model, info = load_demo_segmentation(models_dir)
    result[info["name"]] = {name: segmentation_scores(model, info, images[name], masks[name]) for name in images}
    return result


def format_table(result):
    """The result of :func:`evaluate_real_photos` as a Markdown table (one row per photo)."""
    classifiers = [name for name in DEMO_MODELS if name in result]
    header = ["photo", "area"] + [f"{m} {k}" for m in classifiers for k in ("p_cat", "cam_inside")]
    header += ["segmentation pet_iou", "background_iou", "mean_iou"]
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    segmentation = next(v for k, v in result.items() if k.startswith("segmentation"))
    for name, photo in result["photos"].items():
        cells = [name, f"{photo['area']:.2f}"]
        cells += [f"{result[m][name][k]:.2f}" for m in classifiers for k in ("p_cat", "cam_inside")]
        cells += [f"{segmentation[name][k]:.2f}" for k in ("pet_iou", "background_iou", "mean_iou")]
        rows.append("| " + " | ".join(cells) + " |")
    for model in classifiers:
        controls = result[model]["control_p_cat"]
        if controls:
            rows.append(f"\n{model}: p_cat on photos without an animal: "
                        + ", ".join(f"{name} {value:.2f}" for name, value in controls.items())
                        + f" (mean {np.mean(list(controls.values())):.2f})")
    if result["missing"]:
        rows.append(f"\nNot installed here (skipped): {', '.join(result['missing'])}.")
    return "\n".join(rows)

"""The chapter's figures from the book's real data and models, drawn with your lab code.

Usage (after ``python -m cvlab_ch9.models download imagenet`` and, for the
segmentation, ``python -m cvlab_ch9.data download`` + ``python -m
cvlab_ch9.train_segmentation --data oxford``)::

    python -m cvlab_ch9.figures gradcam      [--labs labs] [--image PATH] [--out figures]
    python -m cvlab_ch9.figures filters      [--labs labs] [--layer block3_sepconv1] [--n 64] [--out figures]
    python -m cvlab_ch9.figures segmentation [--labs labs] [--image PATH] [--out figures]

``--labs`` picks whose functions draw the figure (``labs`` by default,
``solutions`` for the reference). Each command writes PNG files into
``--out`` and prints what it wrote. Nothing here downloads: missing files
are reported with the command that fetches them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from cvlab_ch9 import models
from cvlab_ch9.data import DatasetError, find_samples, load_image, select_samples, split_indices
from cvlab_ch9.data.oxford import DATA_KEYWORD, resolve_data_root
from cvlab_ch9.impl import load_lab
from cvlab_ch9.models import imagenet

DEFAULT_OUT = Path("figures")


def _save(array, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)
    return path


def _elephant_or_image(image):
    """The photo to explain: ``image`` or the cached book's elephant (ImageNetError says how to get it)."""
    if image:
        return Path(image)
    path = imagenet.cache_path(imagenet.ELEPHANT)
    if not path.is_file():
        raise imagenet.ImageNetError(
            f"The book's elephant photo is not in {path}: run `python -m cvlab_ch9.models download imagenet`, "
            f"or {imagenet.manual_steps(imagenet.ELEPHANT)}."
        )
    return path


def gradcam_figure(labs="labs", image=None, out=DEFAULT_OUT):
    """Figure 9.20: Grad-CAM of the top ImageNet class on the elephant photo, with your grad_cam + overlay_heatmap.

    Returns:
        (paths written, top-3 [(class name, probability)]).
    """
    lab = load_lab("interpretation", labs)
    model = imagenet.load_imagenet_xception()
    photo = load_image(_elephant_or_image(image))
    batch = load_image(_elephant_or_image(image), imagenet.INPUT_SIZE)[np.newaxis].astype("float32") / 127.5 - 1.0
    top = imagenet.decode_predictions(np.asarray(model(batch, training=False)), top=3)[0]
    heatmap = np.asarray(lab.grad_cam(model, batch, imagenet.LAST_CONV_LAYER), dtype="float32")
    overlay = lab.overlay_heatmap(photo, heatmap)
    heat_image = np.uint8(255 * np.clip(heatmap, 0, 1))
    paths = [_save(np.kron(heat_image, np.ones((16, 16), dtype=np.uint8)), Path(out) / "gradcam_heatmap.png"),
             _save(overlay, Path(out) / "gradcam_overlay.png")]
    return paths, top


def _feature_extractor(layer_name):
    """Xception without its top (any input size, as in the book) with the cached ImageNet weights, up to ``layer_name``."""
    import keras  # noqa: PLC0415

    full = imagenet.load_imagenet_xception()
    base = keras.applications.Xception(weights=None, include_top=False)
    # same layers in the same order up to the top; some are unnamed (conv2d_7, add_3, ...), so pair them by position
    weighted = [layer for layer in full.layers if layer.weights]
    for layer, source in zip([layer for layer in base.layers if layer.weights], weighted, strict=False):
        layer.set_weights(source.get_weights())
    return keras.Model(base.inputs, base.get_layer(layer_name).output)


def filters_figure(labs="labs", layer="block3_sepconv1", n=64, out=DEFAULT_OUT, progress=None):
    """Figure 9.18: the patterns of the first ``n`` filters of ``layer`` (200x200, 30 steps, 8 per row, 5-pixel margins)."""
    lab = load_lab("interpretation", labs)
    extractor = _feature_extractor(layer)
    patterns = []
    for index in range(n):
        pattern = lab.generate_filter_pattern(extractor, index, iterations=30, learning_rate=10.0, img_size=(200, 200))
        patterns.append(np.asarray(lab.deprocess_image(pattern), dtype=np.uint8))
        if progress:
            progress(index + 1, n)
    per_row, margin = 8, 5
    rows = -(-n // per_row)
    size = patterns[0].shape[0]
    grid = np.zeros((rows * (size + margin) - margin, per_row * (size + margin) - margin, 3), dtype=np.uint8)
    for index, pattern in enumerate(patterns):
        row, col = divmod(index, per_row)
        grid[row * (size + margin): row * (size + margin) + size, col * (size + margin): col * (size + margin) + size] = pattern
    return [_save(grid, Path(out) / f"filters_{layer}.png")]


def validation_photo(meta):
    """A photo of the validation split of the run that trained the segmentation model ``meta`` describes:
    the same seeded choice of photos and split (Oxford-IIIT Pets' whole set for a model trained on synthetic pets)."""
    config = meta.get("config", {})
    data = config.get("data") or ""
    samples = find_samples(resolve_data_root(data or DATA_KEYWORD))
    if data:
        samples = select_samples(samples, config.get("n_images") or None, config.get("data_seed", 0))
    _, val_idx = split_indices(len(samples), config.get("val_fraction", 0.2), seed=config.get("split_seed", 1337))
    return samples[int(val_idx[min(4, len(val_idx) - 1)]) if len(val_idx) else 0].image_path


def segmentation_figure(labs="labs", image=None, out=DEFAULT_OUT):
    """Figure 9.6: a validation photo and the mask predicted by the segmentation model in use
    (``models/segmentation_oxford.keras`` once trained), loaded into your build_segmentation_model."""
    trained, meta = models.load_demo_segmentation(name=models.segmentation_model_in_use())
    size = tuple(meta["img_size"])
    lab = load_lab("segmentation", labs)
    model = lab.build_segmentation_model(img_size=size, num_classes=3, filters=tuple(meta["filters"]))
    model.set_weights(trained.get_weights())
    photo = load_image(image or validation_photo(meta), size)
    mask = np.asarray(model(photo[np.newaxis].astype("float32"), training=False))[0].argmax(-1)
    return [_save(photo, Path(out) / "segmentation_input.png"),
            _save(np.uint8(mask * 127), Path(out) / "segmentation_mask.png")]  # the book's mask * 127


def main(argv=None) -> int:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m cvlab_ch9.figures", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("gradcam", "filters", "segmentation"):
        sub = commands.add_parser(name)
        sub.add_argument("--labs", default="labs", help="whose code draws the figure: labs (default), solutions or a folder")
        sub.add_argument("--out", type=Path, default=DEFAULT_OUT)
        if name != "filters":
            sub.add_argument("--image", type=Path, default=None)
    commands.choices["filters"].add_argument("--layer", default="block3_sepconv1")
    commands.choices["filters"].add_argument("--n", type=int, default=64, help="number of filters (default 64, as in the book)")
    args = parser.parse_args(argv)
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    try:
        if args.command == "gradcam":
            paths, top = gradcam_figure(args.labs, args.image, args.out)
            print("top classes: " + ", ".join(f"{name} {p:.3f}" for name, p in top))
        elif args.command == "filters":
            paths = filters_figure(args.labs, args.layer, args.n, args.out,
                                   lambda done, total: print(f"filter {done}/{total}", file=sys.stderr))
        else:
            paths = segmentation_figure(args.labs, args.image, args.out)
    except (imagenet.ImageNetError, DatasetError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())

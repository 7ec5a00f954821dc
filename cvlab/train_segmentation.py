"""Train the Lab 1 segmentation model on the synthetic pets (or a real
Oxford-IIIT Pets folder) on the CPU, with a progress bar.

Usage::

    python -m cvlab.train_segmentation                     # the demo model, reference code
    python -m cvlab.train_segmentation --labs labs         # your own build_segmentation_model
    python -m cvlab.train_segmentation --data oxford       # real photos (after python -m cvlab.data download),
                                                           # the laptop configuration OXFORD_CONFIG
    python -m cvlab.train_segmentation --data ~/oxford-iiit-pet --img-size 200 200 \
        --filters 64 128 256 --epochs 50                   # the book's configuration

The demo configuration is small (64x64 images, filters 16/32/64) because a
2-core CPU trains the book's 200x200 model at about 3 images/s. ``--data
oxford`` defaults to OXFORD_CONFIG (96x96, filters 16/32/64, 2,400 photos,
20 epochs) and saves ``models/segmentation_oxford.keras``, which the UI then
uses instead of the demo model.
"""

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from cvlab.data import DatasetError, ensure_synthetic_pets, load_segmentation_arrays, split_indices
from cvlab.impl import load_lab, reference_lab
from cvlab.oxford import DATA_KEYWORD, is_installed, resolve_data_root
from cvlab.paths import DATA_DIR, MODELS_DIR

DEMO_MODEL_PATH = MODELS_DIR / "segmentation_demo.keras"
#: Where ``--data oxford`` saves (the UI uses it instead of the demo model when present).
OXFORD_MODEL_PATH = MODELS_DIR / "segmentation_oxford.keras"
NUM_CLASSES = 3
#: Synthetic set used for training (separate from the default set so sizes never clash).
TRAIN_DATA_ROOT = DATA_DIR / "synthetic_pets_segmentation"


@dataclasses.dataclass(frozen=True)
class SegmentationConfig:
    """Hyper-parameters of a training run (the defaults make the shipped demo model).

    ``n_images``: synthetic images to generate; with a data folder, at most this
    many images (a seeded random choice), 0 = all of them.
    """

    img_size: tuple = (64, 64)
    filters: tuple = (16, 32, 64)
    epochs: int = 40
    batch_size: int = 16
    learning_rate: float = 2e-3
    n_images: int = 800
    val_fraction: float = 0.2
    seed: int = 0


def metadata_path(model_path):
    """The JSON file written beside a model: ``x.keras`` -> ``x.json``."""
    return Path(model_path).with_suffix(".json")


def load_dataset(config, data_root=None, limit=None):
    """Images and class labels for training.

    Returns:
        (images float32 (N,H,W,3) in 0..255, labels uint8 (N,H,W) in {0,1,2}).
    """
    seed = None
    if data_root is None:
        root = ensure_synthetic_pets(TRAIN_DATA_ROOT, n_images=config.n_images, image_size=(128, 128), seed=config.seed)
    else:
        root, seed = data_root, config.seed
        limit = limit or config.n_images or None
    images, trimaps = load_segmentation_arrays(root, img_size=tuple(config.img_size), limit=limit, seed=seed)
    reference = reference_lab("segmentation")
    return images.astype("float32"), reference.trimap_to_classes(trimaps)


def build_model(config, source="solutions"):
    """Compiled segmentation model from ``source``'s build_segmentation_model."""
    import keras  # noqa: PLC0415

    impl = load_lab("segmentation", source)
    model = impl.build_segmentation_model(img_size=tuple(config.img_size), num_classes=NUM_CLASSES, filters=tuple(config.filters))
    model.compile(
        optimizer=keras.optimizers.RMSprop(config.learning_rate),
        loss="sparse_categorical_crossentropy",
    )
    return model


def evaluate_mean_iou(model, images, labels, batch_size=32):
    """Mean IoU (reference implementation) of ``model`` on (images, labels)."""
    reference = reference_lab("segmentation")
    scores = model.predict(images, batch_size=batch_size, verbose=0)
    return reference.mean_iou(labels, scores, NUM_CLASSES)


def train(config=None, source="solutions", data_root=None, output=DEMO_MODEL_PATH, callbacks=None, verbose=1):
    """Train, report validation mean IoU, save the model and its metadata.

    Args:
        config: SegmentationConfig (defaults: the demo model).
        source: whose build_segmentation_model to train ("solutions", "labs" or a dir).
        data_root: an Oxford-IIIT Pets folder; None uses the synthetic set.
        output: where to save the ``.keras`` file (None: don't save).
        callbacks: extra keras callbacks (the UI passes a progress callback).
        verbose: keras fit verbosity (1 = progress bar).

    Returns:
        dict with ``val_mean_iou``, ``baseline_mean_iou`` (always predicting
        background), ``train_images``, ``val_images``, ``seconds``, ``history``.
    """
    import keras  # noqa: PLC0415

    config = config or SegmentationConfig()
    keras.utils.set_random_seed(config.seed)
    images, labels = load_dataset(config, data_root)
    train_idx, val_idx = split_indices(len(images), config.val_fraction, seed=1337)
    model = build_model(config, source)
    start = time.perf_counter()
    history = model.fit(
        images[train_idx], labels[train_idx],
        validation_data=(images[val_idx], labels[val_idx]),
        epochs=config.epochs, batch_size=config.batch_size,
        callbacks=list(callbacks or ()), verbose=verbose,
    )
    seconds = time.perf_counter() - start
    reference = reference_lab("segmentation")
    summary = {
        "val_mean_iou": evaluate_mean_iou(model, images[val_idx], labels[val_idx]),
        "baseline_mean_iou": reference.mean_iou(labels[val_idx], np.ones_like(labels[val_idx]), NUM_CLASSES),
        "train_images": int(len(train_idx)),
        "val_images": int(len(val_idx)),
        "seconds": round(seconds, 1),
        "seconds_per_epoch": round(seconds / max(config.epochs, 1), 1),
        "history": {k: [round(float(v), 4) for v in vals] for k, vals in history.history.items()},
    }
    if output is not None:
        save(model, config, summary, output, data_root)
    return model, summary


def save(model, config, summary, output, data_root=None):
    """Write ``output`` (.keras) and its JSON metadata."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save(output)
    meta = {
        "img_size": list(config.img_size),
        "filters": list(config.filters),
        "num_classes": NUM_CLASSES,
        "class_names": ["pet", "background", "contour"],
        "config": dataclasses.asdict(config),
        "data": str(data_root) if data_root else "synthetic pets (cvlab.data.ensure_synthetic_pets)",
        "trained_on": trained_on(data_root, summary["train_images"]),
        "val_mean_iou": round(summary["val_mean_iou"], 4),
        "baseline_mean_iou": round(summary["baseline_mean_iou"], 4),
        "train_seconds": summary["seconds"],
        "seconds_per_epoch": summary["seconds_per_epoch"],
        "command": "python -m cvlab.train_segmentation" + (" --data oxford" if data_root else ""),
    }
    metadata_path(output).write_text(json.dumps(meta, indent=2) + "\n")


def trained_on(data_root, n_train):
    """What a model was trained on, in words (shown by the UI)."""
    if data_root is None:
        return f"synthetic cartoon pets (cvlab.data, {n_train} training images)"
    return f"Oxford-IIIT Pets photos ({n_train} training images from {data_root})"


#: The ``--data oxford`` configuration, sized for a laptop CPU: 96x96 inputs, the
#: demo's filters and a third of the photos (2,400: 1,920 train / 480 validation).
#: Measured on 2 shared cores (load 6-8): 25 images/s at 96x96 with filters
#: 16/32/64, against 5.7 at 128x128 with 32/64/128; the book's 200x200 model with
#: 64/128/256 trains at about 3 images/s on 2 cores.
OXFORD_CONFIG = SegmentationConfig(img_size=(96, 96), filters=(16, 32, 64), epochs=20, batch_size=32,
                                   learning_rate=1e-3, n_images=2400)


def _demo_missing(path):
    return FileNotFoundError(
        f"{path} is missing. Train the demo model with `python -m cvlab.train_segmentation` (a few minutes on a CPU)."
    )


def segmentation_model_in_use():
    """The model file the UI uses: OXFORD_MODEL_PATH once trained (with its metadata), else DEMO_MODEL_PATH."""
    if OXFORD_MODEL_PATH.is_file() and metadata_path(OXFORD_MODEL_PATH).is_file():
        return OXFORD_MODEL_PATH
    return DEMO_MODEL_PATH


def demo_segmentation_info(path=None):
    """Metadata of a segmentation model (default the shipped demo, ``models/segmentation_demo.json``) as a dict.

    Keys include ``img_size`` [h, w], ``filters``, ``num_classes``, ``class_names``,
    ``config``, ``val_mean_iou`` and (newer files) ``trained_on``.
    FileNotFoundError says how to train it.
    """
    path = metadata_path(path or DEMO_MODEL_PATH)
    if not path.is_file():
        raise _demo_missing(path)
    return json.loads(path.read_text())


def load_demo_segmentation(path=None):
    """(uncompiled keras.Model, metadata dict) of a segmentation model (default the shipped demo);
    FileNotFoundError says how to train it.

    The model maps float32 (batch, h, w, 3) pixels in 0..255 to (batch, h, w, 3)
    softmax probabilities over pet, background, contour.
    """
    path = Path(path or DEMO_MODEL_PATH)
    meta = demo_segmentation_info(path)
    if not path.is_file():
        raise _demo_missing(path)
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    import keras  # noqa: PLC0415

    return keras.models.load_model(path, compile=False), meta


def build_parser():
    p = argparse.ArgumentParser(prog="python -m cvlab.train_segmentation", description=__doc__.splitlines()[0])
    p.add_argument("--labs", default="solutions", help="whose build_segmentation_model: solutions (default), labs or a directory")
    p.add_argument("--data", help="'oxford' (after `python -m cvlab.data download`) or an Oxford-IIIT Pets folder "
                   "(images/, annotations/trimaps/); default: synthetic pets")
    # None = the default of the configuration (SegmentationConfig, or OXFORD_CONFIG with --data oxford)
    p.add_argument("--img-size", type=int, nargs=2, default=None, metavar=("H", "W"))
    p.add_argument("--filters", type=int, nargs="+", default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--n-images", type=int, default=None, help="synthetic images to generate; with --data: at most this many (0 = all)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--output", type=Path, default=None,
                   help=f"where to save (default for the reference: {DEMO_MODEL_PATH.name}, or {OXFORD_MODEL_PATH.name} with --data oxford)")
    return p


def config_from_args(args):
    """SegmentationConfig from the command line: the defaults (OXFORD_CONFIG for ``--data oxford``,
    all images of any other folder) with the options given."""
    base = OXFORD_CONFIG if args.data == DATA_KEYWORD else SegmentationConfig()
    if args.data not in (None, DATA_KEYWORD):
        base = dataclasses.replace(base, n_images=0)
    given = {"img_size": args.img_size and tuple(args.img_size), "filters": args.filters and tuple(args.filters),
             "epochs": args.epochs, "batch_size": args.batch_size, "n_images": args.n_images, "seed": args.seed}
    return dataclasses.replace(base, **{k: v for k, v in given.items() if v is not None})


def default_output(args):
    """The reference's model file: the demo model, or OXFORD_MODEL_PATH with ``--data oxford``; else None."""
    if args.labs != "solutions":
        return None
    return {None: DEMO_MODEL_PATH, DATA_KEYWORD: OXFORD_MODEL_PATH}.get(args.data)


def main(argv=None):
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    size = tuple(config.img_size)
    factor = 2 ** len(config.filters)
    if size[0] % factor or size[1] % factor:
        print(f"--img-size must be divisible by {factor} (2 per encoder stage); got {size}.")
        return 2
    data_root = resolve_data_root(args.data)
    if args.data == DATA_KEYWORD and not is_installed(data_root):
        print(f"Oxford-IIIT Pets is not in {data_root}: run `python -m cvlab.data download` first (about 810 MB).")
        return 2
    import_tensorflow()
    output = args.output or default_output(args)
    try:
        _, summary = train(config, source=args.labs, data_root=data_root, output=output)
    except DatasetError as exc:
        print(f"Cannot train on {data_root}: {exc}")
        return 2
    print(
        f"validation mean IoU {summary['val_mean_iou']:.3f} on {summary['val_images']} images "
        f"(always-background baseline {summary['baseline_mean_iou']:.3f}); "
        f"trained on {summary['train_images']} images in {summary['seconds']:.0f} s "
        f"({summary['seconds_per_epoch']:.0f} s per epoch)"
        + (f"; saved {output}" if output else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

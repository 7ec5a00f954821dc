"""Train the Lab 1 segmentation model on the synthetic pets (or a real
Oxford-IIIT Pets folder) on the CPU, with a progress bar.

Usage::

    python -m cvlab_ch9.train_segmentation                     # the demo model, reference code
    python -m cvlab_ch9.train_segmentation --labs labs         # your own build_segmentation_model
    python -m cvlab_ch9.train_segmentation --data oxford       # real photos (after python -m cvlab_ch9.data download),
                                                           # the laptop configuration OXFORD_CONFIG
    python -m cvlab_ch9.train_segmentation --data ~/oxford-iiit-pet --img-size 200 200 \
        --filters 64 128 256 --epochs 50                   # the book's configuration

The demo configuration is small (64x64 images, filters 16/32/64) because a
2-core CPU trains the book's 200x200 model at about 3 images/s. ``--data
oxford`` defaults to OXFORD_CONFIG (96x96, filters 16/32/64, 2,400 photos,
20 epochs) and saves ``models/segmentation_oxford.keras``, which the UI then
uses instead of the demo model.
"""

import argparse
import dataclasses
import platform
import sys
import time
from pathlib import Path

import numpy as np

from cvlab_ch9.data import DatasetError, ensure_synthetic_pets, load_segmentation_arrays, split_indices
from cvlab_ch9.data.oxford import DATA_KEYWORD, is_installed, resolve_data_root
from cvlab_ch9.impl import load_lab, reference_lab
from cvlab_ch9.models.config import TrainingConfig
from cvlab_ch9.models.store import SEGMENTATION_DEMO, SEGMENTATION_OXFORD, demo_model_path, write_info
from cvlab_ch9.paths import DATA_DIR

DEMO_MODEL_PATH = demo_model_path(SEGMENTATION_DEMO)
#: Where ``--data oxford`` saves (the UI uses it instead of the demo model when present).
OXFORD_MODEL_PATH = demo_model_path(SEGMENTATION_OXFORD)
NUM_CLASSES = 3
CLASS_NAMES = ("pet", "background", "contour")
#: Synthetic set used for training (separate from the default set so sizes never clash).
TRAIN_DATA_ROOT = DATA_DIR / "synthetic_pets_segmentation"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegmentationConfig(TrainingConfig):
    """A segmentation training run (see :class:`TrainingConfig`); the defaults make the shipped demo model.

    Attributes:
        filters: the encoder's stage filters (the decoder mirrors them).
    """

    OPTIONS = (
        ("img_size", "--img-size"),
        ("filters", "--filters"),
        ("epochs", "--epochs"),
        ("batch_size", "--batch-size"),
        ("n_images", "--n-images"),
        ("data_seed", "--data-seed"),
        ("seed", "--seed"),
    )

    img_size: tuple = (64, 64)
    filters: tuple = (16, 32, 64)
    epochs: int = 40
    batch_size: int = 16
    learning_rate: float = 2e-3
    n_images: int = 800
    # the demo model stays on the cartoon pets: trained on the photo style it
    # did no better on real photos (models/README.md, "Real photos")
    data_style: str = "cartoon"

    def program(self):
        return "python -m cvlab_ch9.train_segmentation"


#: The ``--data oxford`` configuration, sized for a laptop CPU: 96x96 inputs, the
#: demo's filters and a third of the photos (2,400: 1,920 train / 480 validation).
#: Measured on 2 shared cores (load 6-8): 25 images/s at 96x96 with filters
#: 16/32/64, against 5.7 at 128x128 with 32/64/128; the book's 200x200 model with
#: 64/128/256 trains at about 3 images/s on 2 cores.
OXFORD_CONFIG = SegmentationConfig(data=DATA_KEYWORD, img_size=(96, 96), filters=(16, 32, 64), epochs=20, batch_size=32,
                                   learning_rate=1e-3, n_images=2400)


def load_dataset(config, data_root=None, limit=None):
    """Images and class labels for training.

    Args:
        config: its ``data`` (or ``data_root``, which wins) names an Oxford-IIIT
            Pets folder; "" uses the synthetic set of ``n_images`` images.
        limit: load at most this many images (default: ``n_images`` of a real folder).

    Returns:
        (images float32 (N,H,W,3) in 0..255, labels uint8 (N,H,W) in {0,1,2}).
    """
    root = data_root if data_root is not None else resolve_data_root(config.data or None)
    seed = None
    if root is None:
        root = ensure_synthetic_pets(
            TRAIN_DATA_ROOT, n_images=config.n_images, image_size=tuple(config.data_image_size), seed=config.data_seed,
            style=config.data_style,
        )
    else:  # real photos: at most n_images of them (0 = all), a choice seeded by data_seed
        seed = config.data_seed
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
    """Train, measure validation mean IoU, save the model and its metadata.

    Args:
        config: SegmentationConfig (defaults: the demo model); ``config.data``
            picks the data ("" = the synthetic set, "oxford", or a folder).
        source: whose build_segmentation_model to train ("solutions", "labs" or a dir).
        data_root: an Oxford-IIIT Pets folder instead of ``config.data``'s
            (the metadata then records it as the configuration's ``data``).
        output: where to save the ``.keras`` file (None: don't save).
        callbacks: extra keras callbacks (the UI passes a progress callback).
        verbose: keras fit verbosity (1 = progress bar).

    Returns:
        (model, summary): the trained keras.Model and a dict with
        ``val_mean_iou``, ``baseline_mean_iou`` (always predicting
        background), ``train_images``, ``val_images``, ``seconds``,
        ``seconds_per_epoch`` and ``history``.
    """
    import keras  # noqa: PLC0415

    config = config or SegmentationConfig()
    if data_root is not None and not config.data:
        config = dataclasses.replace(config, data=str(data_root))  # so the recorded command reproduces the run
    data_root = data_root if data_root is not None else resolve_data_root(config.data or None)
    keras.utils.set_random_seed(config.seed)
    images, labels = load_dataset(config, data_root)
    train_idx, val_idx = split_indices(len(images), config.val_fraction, seed=config.split_seed)
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
    """Write ``output`` (.keras) and its JSON metadata (``output`` with ``.json``)."""
    import keras  # noqa: PLC0415

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save(output)
    meta = {
        "name": output.stem,
        "file": output.name,
        "img_size": list(config.img_size),
        "filters": list(config.filters),
        "num_classes": NUM_CLASSES,
        "class_names": list(CLASS_NAMES),
        "config": config.as_json(),
        "data": str(data_root) if data_root else f"synthetic pets (cvlab_ch9.data.ensure_synthetic_pets, style {config.data_style})",
        "trained_on": config.trained_on(summary["train_images"]),
        "val_mean_iou": round(summary["val_mean_iou"], 4),
        "baseline_mean_iou": round(summary["baseline_mean_iou"], 4),
        "train_seconds": summary["seconds"],
        "seconds_per_epoch": summary["seconds_per_epoch"],
        "training_command": config.command(default_config(config.data)),
        "keras_version": keras.__version__,
        "python": platform.python_version(),
    }
    write_info(meta, output.parent)


def default_config(data=None):
    """The configuration ``python -m cvlab_ch9.train_segmentation [--data DATA]`` starts from: the demo
    model's, OXFORD_CONFIG for ``--data oxford``, all the images of any other folder."""
    if not data:
        return SegmentationConfig()
    if data == DATA_KEYWORD:
        return OXFORD_CONFIG
    return SegmentationConfig(data=str(data), n_images=0)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m cvlab_ch9.train_segmentation", description=__doc__.splitlines()[0])
    p.add_argument("--labs", default="solutions", help="whose build_segmentation_model: solutions (default), labs or a directory")
    p.add_argument("--data", help="'oxford' (after `python -m cvlab_ch9.data download`) or an Oxford-IIIT Pets folder "
                   "(images/, annotations/trimaps/); default: synthetic pets")
    # None = the default of the configuration (see default_config: the demo's, or OXFORD_CONFIG with --data oxford)
    p.add_argument("--img-size", type=int, nargs=2, default=None, metavar=("H", "W"))
    p.add_argument("--filters", type=int, nargs="+", default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--n-images", type=int, default=None, help="synthetic images to generate; with --data: at most this many (0 = all)")
    p.add_argument("--data-seed", type=int, default=None, help="seed of the synthetic images, or of the choice of photos with --data")
    p.add_argument("--seed", type=int, default=None, help="seed of the weights and the shuffling")
    p.add_argument("--output", type=Path, default=None,
                   help=f"where to save (default for the reference: {DEMO_MODEL_PATH.name}, "
                   f"or {OXFORD_MODEL_PATH.name} with --data oxford)")
    return p


def config_from_args(args):
    """SegmentationConfig from the command line: :func:`default_config` for ``--data`` with the options given."""
    given = {"img_size": args.img_size and tuple(args.img_size), "filters": args.filters and tuple(args.filters),
             "epochs": args.epochs, "batch_size": args.batch_size, "n_images": args.n_images,
             "data_seed": args.data_seed, "seed": args.seed}
    return dataclasses.replace(default_config(args.data), **{k: v for k, v in given.items() if v is not None})


def default_output(args):
    """The reference's model file: the demo model, or OXFORD_MODEL_PATH with ``--data oxford``; else None."""
    if args.labs != "solutions":
        return None
    return {None: DEMO_MODEL_PATH, DATA_KEYWORD: OXFORD_MODEL_PATH}.get(args.data)


def main(argv=None):
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    size = tuple(config.img_size)
    factor = 2 ** len(config.filters)
    if size[0] % factor or size[1] % factor:
        print(f"--img-size must be divisible by {factor} (2 per encoder stage); got {size}.")
        return 2
    data_root = resolve_data_root(config.data or None)
    if config.data == DATA_KEYWORD and not is_installed(data_root):
        print(f"Oxford-IIIT Pets is not in {data_root}: run `python -m cvlab_ch9.data download` first (about 810 MB).")
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

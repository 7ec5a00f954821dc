"""``python -m cvlab_ch9.models train|pointing-game|info|download``: the demo classifiers' command line.

    python -m cvlab_ch9.models train [--model mini_xception|convnet|all] [--epochs N] [--n-images N] [--data oxford]
    python -m cvlab_ch9.models pointing-game [--model ...] [--n-images N] [--layer NAME] [--style photo|cartoon] [--save]
    python -m cvlab_ch9.models real-photos [--save]    # the real photos installed packages ship (cvlab_ch9.models.real_photos)
    python -m cvlab_ch9.models info
    python -m cvlab_ch9.models download imagenet [--mirror URL]   # Keras' ImageNet Xception (cvlab_ch9.models.imagenet)
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from cvlab_ch9.data import DatasetError
from cvlab_ch9.data.oxford import DATA_KEYWORD, is_installed, resolve_data_root
from cvlab_ch9.data.synthetic import STYLES
from cvlab_ch9.download import DEFAULT_TIMEOUT, MIRROR_ENV
from cvlab_ch9.models.imagenet import download_command
from cvlab_ch9.models.pointing_game import evaluate_pointing_game
from cvlab_ch9.models.real_photos import evaluate_real_photos, format_table
from cvlab_ch9.models.store import DEMO_MODELS, REAL_DATA_SUFFIX, default_models_dir, demo_model_info, read_info, write_info
from cvlab_ch9.models.training import default_config, train_demo_model


def _selected(model_arg):
    return DEMO_MODELS if model_arg == "all" else (model_arg,)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m cvlab_ch9.models", description="cvlab demo models")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train demo models into the shipped models' folder (reproducible, seeded)")
    train.add_argument("--model", choices=DEMO_MODELS + ("all",), default="all")
    train.add_argument("--epochs", type=int, default=None, help="override the default number of epochs")
    train.add_argument("--n-images", type=int, default=None, help="override the training set size")
    train.add_argument("--out", type=Path, default=None,
                       help="where to save (default: cvlab_ch9/models/shipped; with --data, the trained models' folder)")
    train.add_argument("--data-root", type=Path, default=None, help="synthetic training data folder (default data/synthetic_pets_cls)")
    train.add_argument("--data", default="", help="'oxford' (after `python -m cvlab_ch9.data download`) or an Oxford-IIIT Pets "
                       f"folder: train on the photos, saved as <model>{REAL_DATA_SUFFIX}.keras")
    game = commands.add_parser("pointing-game", help="Grad-CAM pointing game on held-out synthetic images")
    game.add_argument("--model", choices=DEMO_MODELS + ("all",), default="all")
    game.add_argument("--n-images", type=int, default=60)
    game.add_argument("--layer", default=None, help="layer for Grad-CAM (default: the metadata's)")
    game.add_argument("--style", choices=STYLES, default=None,
                      help="the held-out pets' drawing style (default: the one the model was trained on)")
    game.add_argument("--save", action="store_true", help="record the result in the model's metadata")
    photos = commands.add_parser("real-photos", help="the demo models on the real feline photos installed packages ship")
    photos.add_argument("--save", action="store_true", help="record the scores in the models' metadata")
    commands.add_parser("info", help="print the shipped models' metadata")
    fetch = commands.add_parser("download", help="download the book's ImageNet Xception into Keras' cache")
    fetch.add_argument("what", choices=("imagenet",))
    fetch.add_argument("--mirror", default=None, help=f"fetch https://HOST/PATH from MIRROR/HOST/PATH (default ${MIRROR_ENV})")
    fetch.add_argument("--timeout", type=float, default=None, help=f"seconds without data before giving up (default {DEFAULT_TIMEOUT:g})")
    return parser


def config_from_args(name, args):
    """The ClassifierConfig of ``name`` for ``--data`` (default_config) with the command line's --epochs and --n-images."""
    overrides = {k: v for k, v in (("epochs", args.epochs), ("n_images", args.n_images)) if v is not None}
    return dataclasses.replace(default_config(name, args.data or ""), **overrides)


def _check_real_data(data):
    """FileNotFoundError saying to download first when ``--data oxford`` is not installed."""
    if data == DATA_KEYWORD and not is_installed(resolve_data_root(data)):
        raise FileNotFoundError(
            f"Oxford-IIIT Pets is not in {resolve_data_root(data)}: run `python -m cvlab_ch9.data download` first (about 810 MB)."
        )


def _train(args):
    _check_real_data(args.data)
    for name in _selected(args.model):
        config = config_from_args(name, args)
        info = train_demo_model(config, out_dir=args.out, data_root=args.data_root)
        saved = Path(args.out or default_models_dir(info["name"])) / info["file"]
        print(f"{info['name']}: val_accuracy {info['val_accuracy']:.3f} ({info['n_val']} images), "
              f"{info['params']:,} parameters, {info['train_seconds']:.0f} s -> {saved}")


def _pointing_game(args):
    for name in _selected(args.model):
        result = evaluate_pointing_game(name, args.n_images, args.layer, style=args.style)
        print(f"{name}: Grad-CAM max on the pet in {result['rate']:.1%} of {result['n_images']} held-out {result['style']} images "
              f"(layer {result['layer']}; chance {result['chance']:.1%}; accuracy {result['accuracy']:.1%})")
        if args.save:
            info = demo_model_info(name)
            info["pointing_game"] = result
            write_info(info)


def _real_photos(args):
    result = evaluate_real_photos()
    if not result["photos"]:
        raise FileNotFoundError("None of the real photos is installed here: `pip install scikit-image` brings Chelsea the cat "
                                "(Gradio, which the UI needs, brings the others).")
    print(format_table(result))
    if args.save:
        for name in [n for n in result if n not in ("photos", "missing")]:
            info = read_info(name)
            info["real_photos"] = {"scores": result[name], "photos": result["photos"],
                                   "command": "python -m cvlab_ch9.models real-photos --save"}
            write_info(info)


def main(argv=None):
    """Command line entry point (see the module docstring)."""
    args = build_parser().parse_args(argv)
    if args.command == "download":
        return download_command(args.mirror, args.timeout)
    try:
        if args.command == "train":
            _train(args)
        elif args.command == "pointing-game":
            _pointing_game(args)
        elif args.command == "real-photos":
            _real_photos(args)
        else:
            for name in DEMO_MODELS:
                print(json.dumps(demo_model_info(name), indent=2))
    except (FileNotFoundError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

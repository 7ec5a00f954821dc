"""``python -m cvlab.models train|pointing-game|info``: the demo classifiers' command line.

    python -m cvlab.models train [--model mini_xception|convnet|all] [--epochs N] [--n-images N]
    python -m cvlab.models pointing-game [--model ...] [--n-images N] [--layer NAME] [--save]
    python -m cvlab.models info
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from cvlab.models.pointing_game import evaluate_pointing_game
from cvlab.models.store import DEMO_MODELS, demo_model_info, write_info
from cvlab.models.training import DEFAULT_CONFIGS, train_demo_model
from cvlab.paths import MODELS_DIR


def _selected(model_arg):
    return DEMO_MODELS if model_arg == "all" else (model_arg,)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m cvlab.models", description="cvlab demo models")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train demo models into models/ (reproducible, seeded)")
    train.add_argument("--model", choices=DEMO_MODELS + ("all",), default="all")
    train.add_argument("--epochs", type=int, default=None, help="override the default number of epochs")
    train.add_argument("--n-images", type=int, default=None, help="override the training set size")
    train.add_argument("--out", type=Path, default=MODELS_DIR)
    train.add_argument("--data-root", type=Path, default=None, help="training data folder (default data/synthetic_pets_cls)")
    game = commands.add_parser("pointing-game", help="Grad-CAM pointing game on held-out synthetic images")
    game.add_argument("--model", choices=DEMO_MODELS + ("all",), default="all")
    game.add_argument("--n-images", type=int, default=60)
    game.add_argument("--layer", default=None, help="layer for Grad-CAM (default: the metadata's)")
    game.add_argument("--save", action="store_true", help="record the result in the model's metadata")
    commands.add_parser("info", help="print the shipped models' metadata")
    return parser


def _train(args):
    for name in _selected(args.model):
        overrides = {k: v for k, v in (("epochs", args.epochs), ("n_images", args.n_images)) if v is not None}
        config = dataclasses.replace(DEFAULT_CONFIGS[name], **overrides)
        info = train_demo_model(config, out_dir=args.out, data_root=args.data_root)
        print(f"{name}: val_accuracy {info['val_accuracy']:.3f} ({info['n_val']} images), "
              f"{info['params']:,} parameters, {info['train_seconds']:.0f} s -> {args.out / info['file']}")


def _pointing_game(args):
    for name in _selected(args.model):
        result = evaluate_pointing_game(name, args.n_images, args.layer)
        print(f"{name}: Grad-CAM max on the pet in {result['rate']:.1%} of {result['n_images']} held-out images "
              f"(layer {result['layer']}; chance {result['chance']:.1%}; accuracy {result['accuracy']:.1%})")
        if args.save:
            info = demo_model_info(name)
            info["pointing_game"] = result
            write_info(info)


def main(argv=None):
    """Command line entry point (see the module docstring)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            _train(args)
        elif args.command == "pointing-game":
            _pointing_game(args)
        else:
            for name in DEMO_MODELS:
                print(json.dumps(demo_model_info(name), indent=2))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

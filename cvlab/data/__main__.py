"""``python -m cvlab.data generate|check``: create or validate a pets data set.

    python -m cvlab.data generate [--root DIR] [--n N] [--size H W] [--seed S]
    python -m cvlab.data check [--root DIR]
"""

import argparse
import sys
from pathlib import Path

from cvlab.data.install import DEFAULT_SYNTHETIC_ROOT, ensure_synthetic_pets, is_up_to_date
from cvlab.data.pets import SPECIES_NAMES, DatasetError, PetSample, find_samples


def _count_species(samples: list[PetSample]) -> str:
    """'120 cat, 120 dog'."""
    return ", ".join(f"{sum(s.species == name for s in samples)} {name}" for name in SPECIES_NAMES)


def main(argv=None) -> int:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m cvlab.data", description="cvlab pets data")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="create the synthetic pets set (no-op if up to date)")
    generate.add_argument("--root", type=Path, default=DEFAULT_SYNTHETIC_ROOT)
    generate.add_argument("--n", type=int, default=240, help="number of images (default 240)")
    generate.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=(128, 128))
    generate.add_argument("--seed", type=int, default=0)
    check = commands.add_parser("check", help="validate a pets folder and print counts")
    check.add_argument("--root", type=Path, default=DEFAULT_SYNTHETIC_ROOT)
    args = parser.parse_args(argv)
    action = "checked"
    try:
        if args.command == "generate":
            up_to_date = is_up_to_date(args.root, args.n, args.size, args.seed)
            ensure_synthetic_pets(args.root, args.n, args.size, args.seed)
            action = "already up to date" if up_to_date else "wrote"
        samples = find_samples(args.root)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    breeds = sorted({s.breed for s in samples}, key=str.lower)
    print(f"{action} {args.root}: {len(samples)} images with trimaps "
          f"({_count_species(samples)}), {len(breeds)} breeds: {', '.join(breeds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m cvlab_ch9.data generate|check|download``: create, validate or download a pets data set.

    python -m cvlab_ch9.data generate [--root DIR] [--n N] [--size H W] [--seed S] [--style photo|cartoon]
    python -m cvlab_ch9.data check [--root DIR|oxford]
    python -m cvlab_ch9.data download [--root DIR] [--mirror URL] [--keep-archives]   # Oxford-IIIT Pets (cvlab_ch9.data.oxford)
"""

import argparse
import sys
from pathlib import Path

from cvlab_ch9 import download
from cvlab_ch9.data import oxford
from cvlab_ch9.data.install import DEFAULT_STYLE, DEFAULT_SYNTHETIC_ROOT, ensure_synthetic_pets, is_up_to_date
from cvlab_ch9.data.pets import SPECIES_NAMES, DatasetError, PetSample, find_samples
from cvlab_ch9.data.synthetic import STYLES


def _count_species(samples: list[PetSample]) -> str:
    """'120 cat, 120 dog'."""
    return ", ".join(f"{sum(s.species == name for s in samples)} {name}" for name in SPECIES_NAMES)


def main(argv=None) -> int:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m cvlab_ch9.data", description="cvlab pets data")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="create the synthetic pets set (no-op if up to date)")
    generate.add_argument("--root", type=Path, default=DEFAULT_SYNTHETIC_ROOT)
    generate.add_argument("--n", type=int, default=240, help="number of images (default 240)")
    generate.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=(128, 128))
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--style", choices=STYLES, default=DEFAULT_STYLE,
                          help="photo (default: photo backgrounds, close-ups) or cartoon (the flat pets of generator version 1)")
    check = commands.add_parser("check", help="validate a pets folder and print counts")
    check.add_argument("--root", default=DEFAULT_SYNTHETIC_ROOT, help="a folder, or 'oxford' for the downloaded set")
    _add_download_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "download":
        return oxford.install_command(args)
    if args.command == "check":
        args.root = oxford.resolve_data_root(args.root)
    action = "checked"
    try:
        if args.command == "generate":
            up_to_date = is_up_to_date(args.root, args.n, args.size, args.seed, args.style)
            ensure_synthetic_pets(args.root, args.n, args.size, args.seed, args.style)
            action = "already up to date" if up_to_date else "wrote"
        samples = find_samples(args.root)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    breeds = sorted({s.breed for s in samples}, key=str.lower)
    print(f"{action} {args.root}: {len(samples)} images with trimaps "
          f"({_count_species(samples)}), {len(breeds)} breeds: {', '.join(breeds)}")
    return 0


def _add_download_parser(commands) -> None:
    """The ``download`` sub-command (Oxford-IIIT Pets from the book's URLs, see cvlab_ch9.data.oxford)."""
    sub = commands.add_parser("download", help="download Oxford-IIIT Pets (about 810 MB) and install it for --data oxford")
    sub.add_argument("--root", type=Path, default=oxford.DEFAULT_ROOT, help=f"where to install (default {oxford.DEFAULT_ROOT})")
    sub.add_argument("--downloads", type=Path, default=oxford.DOWNLOADS_DIR, help="folder for the archives (default %(default)s)")
    sub.add_argument("--mirror", default=None, help=f"fetch https://HOST/PATH from MIRROR/HOST/PATH (default ${download.MIRROR_ENV})")
    sub.add_argument("--timeout", type=float, default=None,
                     help=f"seconds without data before giving up (default {download.DEFAULT_TIMEOUT:g})")
    sub.add_argument("--keep-archives", action="store_true", help="keep the .tar.gz files after installing")


if __name__ == "__main__":
    sys.exit(main())

"""``python -m bench [--quick] [--sections gradcam,filters,grader,ui]``: measure side by side, print tables.

Every ratio in a table is measured in the same run on the same machine.
``--quick`` uses tiny sizes so that it finishes in about a minute (it is
what the test runs); the numbers worth quoting come from a full run.
"""

import argparse
import os
import platform
import sys
import time

SECTIONS = ("gradcam", "filters", "grader", "ui")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repetitions (a smoke run)")
    parser.add_argument(
        "--sections", default=None,
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all; --quick: all but ui)",
    )
    parser.add_argument("--filters", type=int, default=None, metavar="N", help="filters in the filter-pattern grid (default 64)")
    return parser


def _machine():
    from cvlab.processes import load_average  # noqa: PLC0415

    load = load_average()
    return f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at start, Python {platform.python_version()}"


def main(argv=None):
    args = build_parser().parse_args(argv)
    chosen = args.sections.split(",") if args.sections else [s for s in SECTIONS if not (args.quick and s == "ui")]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        print(f"python -m bench: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}.", file=sys.stderr)
        return 2
    from cvlab.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    from bench import sections  # noqa: PLC0415

    print(f"cvlab benchmarks ({'quick' if args.quick else 'full'}): {_machine()}")
    for name in chosen:
        start = time.perf_counter()
        print()
        kwargs = {"count": args.filters} if name == "filters" else {}
        print(getattr(sections, name)(args.quick, **kwargs))
        print(f"({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

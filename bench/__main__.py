"""``python -m bench [--quick] [--sections ...] [--onednn on|off]``: measure side by side, print tables.

Every ratio in a table is measured in the same run on the same machine.
``--quick`` uses tiny sizes so that it finishes in a few minutes (it is
what the test runs); the numbers worth quoting come from a full run.
"""

import argparse
import os
import platform
import sys
import time

SECTIONS = ("gradcam", "filters", "roofline", "tfconfig", "grader", "ui", "architecture", "clicks", "patterns")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repetitions (a smoke run)")
    parser.add_argument(
        "--sections", default=None,
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all; --quick: all but ui)",
    )
    parser.add_argument("--filters", type=int, default=None, metavar="N", help="filters in the filter-pattern grid (default 64)")
    parser.add_argument("--rounds", type=int, default=None, metavar="R", help="interleaved rounds of filters and tfconfig (default 2)")
    parser.add_argument(
        "--grader-baseline", default=None, metavar="COMMIT",
        help="also time the grader of this commit (extracted with git archive), in the same run",
    )
    parser.add_argument(
        "--onednn", choices=("on", "off"), default="on",
        help="TF_ENABLE_ONEDNN_OPTS of this process, so of every in-process section (default on: as the UI and stock "
        "TensorFlow run; cvlab_ch9.quiet turns it off for the grader and notebooks); tfconfig compares both",
    )
    return parser


def _machine():
    from cvlab_ch9.processes import load_average  # noqa: PLC0415

    load = load_average()
    return f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at start, Python {platform.python_version()}"


def _section(name):
    """The function that measures section ``name`` (imported late: the modules import TensorFlow)."""
    from bench import architecture, clicks, interp, sections, tfconfig  # noqa: PLC0415

    return {
        "gradcam": interp.gradcam, "filters": interp.filters, "roofline": interp.roofline,
        "tfconfig": tfconfig.tfconfig, "grader": sections.grader, "ui": sections.ui, "architecture": architecture.architecture,
        "clicks": clicks.clicks, "patterns": clicks.patterns,
    }[name]


def main(argv=None):
    args = build_parser().parse_args(argv)
    chosen = args.sections.split(",") if args.sections else [s for s in SECTIONS if not (args.quick and s == "ui")]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        print(f"python -m bench: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}.", file=sys.stderr)
        return 2
    # read when TensorFlow is imported: set before
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if args.onednn == "on" else "0"
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    print(f"cvlab benchmarks ({'quick' if args.quick else 'full'}, oneDNN {args.onednn}): {_machine()}")
    for name in chosen:
        start = time.perf_counter()
        print()
        kwargs = {}
        if name in ("filters", "tfconfig", "grader"):
            kwargs["rounds"] = args.rounds
        if name == "filters":
            kwargs["count"] = args.filters
        if name == "grader":
            kwargs["baseline"] = args.grader_baseline
        print(_section(name)(args.quick, **kwargs))
        print(f"({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

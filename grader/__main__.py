"""``python -m grader``: grade a labs directory and print a report.

Exit code 0 even when checks fail; non-zero only when the grader itself
cannot run (bad arguments, unknown lab).
"""

import argparse
import sys

from cvlab.impl import LAB_NAMES
from grader.core import labs_with_checks
from grader.report import FORMATS
from grader.runner import grade


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m grader", description="Grade the chapter 9 labs.")
    parser.add_argument("--labs", default="labs", help="directory with the lab modules, or 'labs' / 'solutions' (default: labs)")
    parser.add_argument("--lab", choices=LAB_NAMES, help="grade only this lab")
    parser.add_argument("--format", choices=sorted(FORMATS), default="table")
    parser.add_argument("--no-isolation", action="store_true", help="run checks in this process (no timeouts)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.lab is not None and args.lab not in labs_with_checks():
        print(f"No checks exist yet for lab {args.lab!r}.", file=sys.stderr)
        return 2
    results = grade(source=args.labs, lab=args.lab, isolate=not args.no_isolation)
    print(FORMATS[args.format](results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

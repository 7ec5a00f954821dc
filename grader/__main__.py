"""``python -m grader``: grade a labs directory and print a report.

``python -m grader batch SUBMISSIONS_DIR --out DIR`` grades a whole class
(:mod:`cvlab_ch9.grader.batch.cli`; instructor tooling, not in the student kit).

Exit code 0 even when checks fail; 2 for bad arguments (e.g. a ``--labs``
directory that does not exist), 1 when the grader itself cannot run.
Student code never writes to stdout: the report is the only output there.
"""

import argparse
import sys

from cvlab_ch9.grader.budget import LimitError, add_limit_arguments, limits_from_arguments
from cvlab_ch9.grader.core import labs_with_checks
from cvlab_ch9.grader.isolation import isolation_status
from cvlab_ch9.grader.judge import GraderError, grade
from cvlab_ch9.grader.reference import solutions_available
from cvlab_ch9.grader.report import FORMATS
from cvlab_ch9.impl import LAB_NAMES, resolve_source


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m grader", description="Grade the chapter 9 labs.")
    parser.add_argument("--labs", default="labs", help="directory with the lab modules, or 'labs' / 'solutions' (default: labs)")
    parser.add_argument("--lab", choices=LAB_NAMES, help="grade only this lab")
    parser.add_argument("--format", choices=sorted(FORMATS), default="table")
    parser.add_argument(
        "--reference", choices=("auto", "live", "recorded"), default="auto",
        help="what results are compared with: solutions/ (live, the instructor's side), the recordings "
        "(what the student kit has), or auto: live where solutions/ exists (default)",
    )
    parser.add_argument("--no-hidden", action="store_true", help="skip the hidden checks (as students see it)")
    add_limit_arguments(parser)
    parser.add_argument(
        "--require-isolation", action="store_true",
        help="refuse to grade where the kernel cannot confine student code (Landlock, namespaces, seccomp; "
        "see docs/grading-security.md)",
    )
    return parser


def _live(reference):
    """Whether ``--reference`` means the instructor's live judge (whose reports say how the sandbox was confined)."""
    return reference == "live" or (reference == "auto" and solutions_available())


def _usage_error(message):
    print(f"python -m grader: {message}", file=sys.stderr)
    return 2


def batch_main(argv):
    """``python -m grader batch ...``, where the instructor's batch engine is installed."""
    try:
        from cvlab_ch9.grader.batch.cli import main as batch  # noqa: PLC0415 - Dask loads only for a batch
    except ModuleNotFoundError as exc:
        if exc.name not in ("cvlab_ch9.grader.batch", "cvlab_ch9.grader.batch.cli"):
            raise
        return _usage_error("batch grading is for instructors and is not part of the student kit; "
                            "grade your own labs with `python -m grader --labs labs`.")
    return batch(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["batch"]:
        return batch_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.lab is not None and args.lab not in labs_with_checks():
        return _usage_error(f"no checks exist yet for lab {args.lab!r}.")
    directory = resolve_source(args.labs)
    if not directory.is_dir():
        return _usage_error(f"the labs directory {directory} does not exist; pass --labs with the folder holding your lab files.")
    try:
        limits = limits_from_arguments(args)
    except LimitError as exc:
        return _usage_error(str(exc))
    try:
        results = grade(
            source=args.labs, lab=args.lab, reference=args.reference, include_hidden=False if args.no_hidden else None,
            limits=limits,
        )
    except GraderError as exc:
        print(f"python -m grader: {exc}", file=sys.stderr)
        return 1
    isolation = isolation_status() if _live(args.reference) else None  # student feedback: no sentence
    print(FORMATS[args.format](results, isolation=isolation))
    return 0


if __name__ == "__main__":
    sys.exit(main())

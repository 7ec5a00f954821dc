"""``python -m course``: release the labs and grade submissions with nbgrader.

    python -m course release [--lab NAME]
    python -m course grade [--workers N | --scheduler tcp://HOST:PORT] [--lab NAME] [--check-timeout S] [--force]
    python -m course notebooks [--check]
    python -m course kit [--out DIR] [--no-zip]
    python -m course gradescope [--out autograder.zip]

``--course-dir DIR`` (before the command) works on another course folder
holding an ``nbgrader_config.py``; the default is this package's folder.
"""

import argparse
import sys

from course.pipeline import COURSE_DIR, DEFAULT_CHECK_TIMEOUT_S, CourseError, grade, release


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m course", description="nbgrader course of the chapter 9 labs.")
    parser.add_argument("--course-dir", default=str(COURSE_DIR), help="course folder (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="regenerate source notebooks and run nbgrader generate_assignment")
    rel.add_argument("--lab", action="append", help="only this lab (repeatable)")
    grd = commands.add_parser("grade", help="judge submitted/, record grades, generate feedback, export CSV + Gradescope JSON")
    grd.add_argument("--lab", action="append", help="only this lab (repeatable)")
    grd.add_argument("--workers", type=int, default=None, help="Dask worker processes on this machine (default: one per core)")
    grd.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help="judge on an existing Dask cluster")
    grd.add_argument(
        "--check-timeout", type=float, default=DEFAULT_CHECK_TIMEOUT_S,
        help="seconds one check (or one cell while loading) may take before it is stopped (default: %(default)s)",
    )
    grd.add_argument("--force", action="store_true", help="judge again even submissions that did not change")
    nbs = commands.add_parser("notebooks", help="only regenerate course/source/ from solutions/")
    nbs.add_argument("--check", action="store_true", help="exit 1 when course/source/ has drifted")
    kit = commands.add_parser("kit", help="write the student kit (no solutions, no hidden checks) as a folder and a zip")
    kit.add_argument("--out", default=None, help="kit folder (default: dist/cvlab-kit)")
    kit.add_argument("--no-zip", action="store_true", help="only the folder")
    gsc = commands.add_parser("gradescope", help="write the Gradescope autograder.zip")
    gsc.add_argument("--out", default=None, help="zip file (default: dist/autograder.zip)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "notebooks":
        from course.notebooks import main as notebooks_main  # noqa: PLC0415

        return notebooks_main(["--check"] if args.check else [])
    if args.command == "kit":
        from course.kit import DEFAULT_OUT, KitError, build_kit  # noqa: PLC0415

        try:
            build_kit(args.out or DEFAULT_OUT, make_zip=not args.no_zip)
        except (KitError, CourseError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "gradescope":
        from course.gradescope import DEFAULT_ZIP, build_bundle  # noqa: PLC0415

        build_bundle(args.out or DEFAULT_ZIP)
        return 0
    try:
        if args.command == "release":
            release(args.course_dir, labs=args.lab)
        else:
            if args.workers is not None and args.workers < 1:
                print("--workers must be at least 1.", file=sys.stderr)
                return 2
            grade(args.course_dir, labs=args.lab, workers=args.workers, check_timeout_s=args.check_timeout, force=args.force,
                  scheduler=args.scheduler)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

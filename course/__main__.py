"""``python -m course``: release the labs and grade submissions with nbgrader.

    python -m course release [--lab NAME]
    python -m course grade [--workers N] [--lab NAME] [--student-timeout S]
    python -m course notebooks [--check]

``--course-dir DIR`` (before the command) works on another course folder
holding an ``nbgrader_config.py``; the default is this package's folder.
"""

import argparse
import sys

from course.pipeline import COURSE_DIR, DEFAULT_STUDENT_TIMEOUT_S, CourseError, grade, release


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m course", description="nbgrader course of the chapter 9 labs.")
    parser.add_argument("--course-dir", default=str(COURSE_DIR), help="course folder (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="regenerate source notebooks and run nbgrader generate_assignment")
    rel.add_argument("--lab", action="append", help="only this lab (repeatable)")
    grd = commands.add_parser("grade", help="autograde submitted/, generate feedback, export CSV + Gradescope JSON")
    grd.add_argument("--lab", action="append", help="only this lab (repeatable)")
    grd.add_argument("--workers", type=int, default=1, help="parallel autograde processes (default: 1)")
    grd.add_argument(
        "--student-timeout", type=float, default=DEFAULT_STUDENT_TIMEOUT_S,
        help="seconds one submission may take before it is stopped (default: %(default)s)",
    )
    nbs = commands.add_parser("notebooks", help="only regenerate course/source/ from solutions/")
    nbs.add_argument("--check", action="store_true", help="exit 1 when course/source/ has drifted")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "notebooks":
        from course.notebooks import main as notebooks_main  # noqa: PLC0415

        return notebooks_main(["--check"] if args.check else [])
    try:
        if args.command == "release":
            release(args.course_dir, labs=args.lab)
        else:
            if args.workers < 1:
                print("--workers must be at least 1.", file=sys.stderr)
                return 2
            grade(args.course_dir, labs=args.lab, workers=args.workers, student_timeout_s=args.student_timeout)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

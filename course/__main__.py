"""``python -m course``: release the labs and grade submissions with nbgrader.

    python -m course [--course DIR] release [--lab NAME]
    python -m course [--course DIR] grade [--workers N | --scheduler tls://HOST:PORT --tls DIR] [--lab NAME]
                                          [--check-timeout S] [--load-timeout S] [--budget S] [--cpu-budget S]
                                          [--restarts N] [--task-timeout S] [--force]
    python -m course notebooks [--check]
    python -m course kit [--out DIR] [--no-zip]
    python -m course gradescope [--out autograder.zip]

``--course DIR`` (before the command; also ``$CVLAB_COURSE_DIR``) is the
folder holding the course's data (gradebook, submissions, verdicts, feedback,
exports); in a checkout it defaults to ``course_data/`` beside the code
(:mod:`course.folder`). ``release`` gives a new folder its ``nbgrader_config.py``.
"""

import argparse
import sys

from course.folder import COURSE_ENV, DEFAULT_NAME, CourseError, course_folder
from course.pipeline import DEFAULT_CHECK_TIMEOUT_S, grade, release


def build_parser():
    from cvlab_ch9.grader.batch.cli import add_cluster_arguments  # noqa: PLC0415 - Dask options, for `grade` only
    from cvlab_ch9.grader.budget import add_limit_arguments  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m course", description="nbgrader course of the chapter 9 labs.")
    parser.add_argument("--course", "--course-dir", dest="course_dir", default=None, metavar="DIR",
                        help=f"course folder for the course's data (default: ${COURSE_ENV}, else {DEFAULT_NAME}/ in the checkout)")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="regenerate source notebooks and run nbgrader generate_assignment")
    rel.add_argument("--lab", action="append", help="only this lab (repeatable)")
    grd = commands.add_parser("grade", help="judge submitted/, record grades, generate feedback, export CSV + Gradescope JSON")
    grd.add_argument("--lab", action="append", help="only this lab (repeatable)")
    grd.add_argument("--force", action="store_true", help="judge again even submissions that did not change")
    add_cluster_arguments(grd)
    add_limit_arguments(grd, timeout_flags=("--check-timeout", "--timeout"), timeout_default=DEFAULT_CHECK_TIMEOUT_S)
    nbs = commands.add_parser("notebooks", help="only regenerate course/source/ from solutions/")
    nbs.add_argument("--check", action="store_true", help="exit 1 when course/source/ has drifted")
    kit = commands.add_parser("kit", help="write the student kit (no solutions, no hidden checks) as a folder and a zip")
    kit.add_argument("--out", default=None, help="kit folder (default: dist/cvlab-kit)")
    kit.add_argument("--no-zip", action="store_true", help="only the folder")
    gsc = commands.add_parser("gradescope", help="write the Gradescope autograder.zip")
    gsc.add_argument("--out", default=None, help="zip file (default: dist/autograder.zip)")
    return parser


def _grade(args):
    from cvlab_ch9.grader.batch.cli import cluster_problem  # noqa: PLC0415
    from cvlab_ch9.grader.budget import LimitError, limits_from_arguments  # noqa: PLC0415

    problem = cluster_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        limits = limits_from_arguments(args, timeout_default=DEFAULT_CHECK_TIMEOUT_S)
    except LimitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    grade(args.course_dir, labs=args.lab, workers=args.workers, force=args.force, scheduler=args.scheduler,
          limits=limits, tls_dir=args.tls, insecure=args.insecure_scheduler, task_timeout_s=args.task_timeout,
          connect_timeout_s=args.connect_timeout)
    return 0


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
        course_folder(args.course_dir)  # a sentence before anything starts when the folder cannot hold course data
        if args.command == "release":
            release(args.course_dir, labs=args.lab)
            return 0
        return _grade(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m grader batch SUBMISSIONS_DIR --out DIR``: grade a class's ``.py`` submissions on Dask.

    python -m grader batch SUBMISSIONS_DIR --out DIR [--lab NAME] [--workers N | --scheduler tcp://HOST:PORT]
                           [--timeout S] [--memory-limit GB] [--force] [--connect-timeout S]

One folder per student in SUBMISSIONS_DIR; see :mod:`cvlab_ch9.grader.batch.folders`
for what is written to DIR. A re-run grades only what changed (or was not
graded yet). Exit code 0 when every submission was graded, 1 when some
could not be (listed) or the run stopped early, 2 for bad arguments.
"""

import argparse
import sys
from pathlib import Path

from cvlab_ch9.grader.batch.engine import CONNECT_TIMEOUT_S, BatchError, run_batch
from cvlab_ch9.grader.batch.folders import OutputFolder, collect
from cvlab_ch9.grader.judge import GraderError, Limits
from cvlab_ch9.impl import LAB_NAMES


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m grader batch", description=__doc__.splitlines()[0])
    parser.add_argument("submissions", help="folder with one folder of <lab>.py files per student")
    parser.add_argument("--out", required=True, help="folder for the verdicts, results.json files and grades.csv")
    parser.add_argument("--lab", action="append", choices=LAB_NAMES, help="grade only this lab (repeatable; default: every lab submitted)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes on this machine (default: one per core)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help="grade on an existing Dask cluster")
    parser.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT_S, metavar="SECONDS",
                        help="how long to wait for the scheduler and its first worker (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="wall-clock limit for every check")
    parser.add_argument("--memory-limit", type=float, default=None, metavar="GB", help="memory one sandbox may use")
    parser.add_argument("--force", action="store_true", help="grade again even what is recorded with the same code")
    return parser


def _error(message, code=1):
    print(f"python -m grader batch: {message}", file=sys.stderr)
    return code


def main(argv=None):
    args = build_parser().parse_args(argv)
    submissions = Path(args.submissions)
    if not submissions.is_dir():
        return _error(f"{submissions} is not a folder; pass the folder that holds one folder per student.", 2)
    if args.workers is not None and args.workers < 1:
        return _error("--workers must be at least 1.", 2)
    try:
        limits = Limits.resolve(args.timeout, args.memory_limit)
    except GraderError as exc:
        return _error(str(exc), 2)
    tasks, labs, problems = collect(submissions, args.lab, limits)
    if not tasks and not problems:
        names = ", ".join(f"{lab}.py" for lab in LAB_NAMES)
        return _error(f"no lab files ({names}) found in the student folders of {submissions}.", 2)
    out = OutputFolder(args.out, labs, replace=args.force)
    pending = tasks if args.force else out.pending(tasks)
    skipped = len(tasks) - len(pending)
    if skipped:
        print(f"{skipped} submission(s) already graded with the same code: not graded again", file=sys.stderr)
    try:
        run = run_batch(pending, out.record, workers=args.workers, scheduler=args.scheduler,
                        connect_timeout_s=args.connect_timeout)
    except BatchError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return _error("interrupted before the grading started; nothing new was recorded.", 130)
    csv_path = out.write_totals()
    failed = {**problems, **run.failed}
    for name, reason in sorted(failed.items()):
        print(f"not graded: {name}: {reason}", file=sys.stderr)
    print(f"graded {run.graded} of {len(pending)} ({run.recorded} recorded, {run.duplicates} already recorded), "
          f"{skipped} unchanged, {len(failed)} not graded; totals in {csv_path}")
    if run.graded:
        print(f"{run.per_minute:.1f} submissions per minute with {run.workers} worker(s), "
              f"{run.cpu_per_submission:.1f} CPU s per submission")
    if run.interrupted:
        return _error(f"stopped early: {run.interrupted}; what was graded is recorded: run the same command again "
                      "to grade the rest.")
    return 1 if failed else 0

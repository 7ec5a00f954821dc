"""``python -m grader batch SUBMISSIONS_DIR --out DIR``: grade a class's ``.py`` submissions on Dask.

    python -m grader batch SUBMISSIONS_DIR --out DIR [--lab NAME] [--workers N | --scheduler tls://HOST:PORT --tls DIR]
                           [--timeout S] [--load-timeout S] [--budget S] [--cpu-budget S] [--restarts N]
                           [--memory-limit GB] [--task-timeout S] [--force] [--connect-timeout S]
    python -m grader batch certs DIR     # TLS files for a cluster, and the commands that use them

One folder per student in SUBMISSIONS_DIR; see :mod:`cvlab_ch9.grader.batch.folders`
for what is written to DIR. A re-run grades only what changed (or was not
graded yet, or whose verdict changed on disk since it was written). Exit
code 0 when every submission was graded, 1 when some could not be (listed),
the run stopped early or ``--require-isolation`` refused, 2 for bad arguments.

Confinement (:mod:`cvlab_ch9.grader.batch.confinement`): the summary says in
one sentence how many submissions were graded without kernel confinement, and
on which workers. ``--require-isolation`` refuses up front: on this machine
when it runs the workers (no ``--scheduler``), and on every worker of the
cluster before the judges warm up.
"""

import argparse
import os
import sys
from pathlib import Path

from cvlab_ch9.grader.batch.cluster import CONNECT_TIMEOUT_S, TLS_ENV, BatchError, scheduler_problem
from cvlab_ch9.grader.batch.engine import run_batch
from cvlab_ch9.grader.batch.folders import OutputFolder, collect
from cvlab_ch9.grader.budget import LimitError, add_limit_arguments, limits_from_arguments
from cvlab_ch9.grader.judge import GraderError, check_isolation
from cvlab_ch9.impl import LAB_NAMES

#: Most names listed in one sentence.
MAX_LISTED = 10


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m grader batch", description=__doc__.splitlines()[0],
                                     epilog="python -m grader batch certs DIR writes the TLS files of a grading cluster.")
    parser.add_argument("submissions", help="folder with one folder of <lab>.py files per student")
    parser.add_argument("--out", required=True, help="folder for the verdicts, results.json files and grades.csv")
    parser.add_argument("--lab", action="append", choices=LAB_NAMES, help="grade only this lab (repeatable; default: every lab submitted)")
    parser.add_argument("--force", action="store_true", help="grade again even what is recorded with the same code")
    add_cluster_arguments(parser)
    add_limit_arguments(parser)
    return parser


def add_cluster_arguments(parser):
    """``--workers``, ``--scheduler``, ``--tls``, ``--insecure-scheduler``, ``--connect-timeout``, ``--task-timeout``."""
    group = parser.add_argument_group("grading cluster (Dask)")
    group.add_argument("--workers", type=int, default=None, help="worker processes on this machine (default: one per core)")
    group.add_argument("--scheduler", default=None, metavar="tls://HOST:PORT", help="grade on an existing Dask cluster")
    group.add_argument("--tls", default=None, metavar="DIR",
                       help=f"the folder `python -m grader batch certs` wrote (ca.pem, client.pem, client-key.pem; default: ${TLS_ENV})")
    group.add_argument("--insecure-scheduler", action="store_true",
                       help="accept a plain tcp:// scheduler (anyone who reaches it can change grades)")
    group.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT_S, metavar="SECONDS",
                       help="how long to wait for the scheduler and its first worker (default: %(default)s)")
    group.add_argument("--task-timeout", type=float, default=None, metavar="SECONDS",
                       help="longest one submission's task may run before it is stopped (default: --budget + 300 s)")
    group.add_argument("--require-isolation", action="store_true",
                       help="refuse to grade, before anything is graded, where this machine's or a worker's kernel "
                       "cannot confine student code (a worker joining later without it refuses its tasks: they are "
                       "reported as not graded)")
    return group


def cluster_problem(args):
    """A sentence for unusable cluster options (a plain tcp:// scheduler among them), else None."""
    if args.workers is not None and args.workers < 1:
        return "--workers must be at least 1."
    if args.task_timeout is not None and args.task_timeout <= 0:
        return "--task-timeout must be a positive number of seconds."
    if args.scheduler:
        return scheduler_problem(args.scheduler, args.tls or os.environ.get(TLS_ENV) or None, args.insecure_scheduler)
    return None


def local_isolation_problem(args, limits):
    """The ``--require-isolation`` refusal when this machine runs the workers (no ``--scheduler``) and cannot
    confine student code, else None (a remote cluster's workers are asked when the run connects)."""
    if args.scheduler or not limits.require_isolation:
        return None
    try:
        check_isolation(limits)
    except GraderError as exc:
        return str(exc)
    return None


def listed(names):
    """``"a, b and 3 more"``: at most :data:`MAX_LISTED` names."""
    names = sorted(names)
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def _error(message, code=1):
    print(f"python -m grader batch: {message}", file=sys.stderr)
    return code


def _overlap(a, b):
    a, b = Path(a).resolve(), Path(b).resolve()
    return a == b or a in b.parents or b in a.parents


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["certs"]:
        from cvlab_ch9.grader.batch.certs import main as certs_main  # noqa: PLC0415 - cryptography loads only here

        return certs_main(argv[1:])
    args = build_parser().parse_args(argv)
    submissions = Path(args.submissions)
    if not submissions.is_dir():
        return _error(f"{submissions} is not a folder; pass the folder that holds one folder per student.", 2)
    if _overlap(submissions, args.out):
        return _error("--out must be outside the submissions folder (and not hold it): students must not reach the grades.", 2)
    problem = cluster_problem(args)
    if problem:
        return _error(problem, 2)
    try:
        limits = limits_from_arguments(args)
    except LimitError as exc:
        return _error(str(exc), 2)
    refusal = local_isolation_problem(args, limits)
    if refusal:
        return _error(refusal)
    tasks, labs, problems = collect(submissions, args.lab, limits, deny=(Path(args.out).resolve(),))
    if not tasks and not problems:
        names = ", ".join(f"{lab}.py" for lab in LAB_NAMES)
        return _error(f"no lab files ({names}) found in the student folders of {submissions}.", 2)
    out = OutputFolder(args.out, labs, replace=args.force)
    pending = tasks if args.force else out.pending(tasks)
    skipped = len(tasks) - len(pending)
    if skipped:
        print(f"{skipped} submission(s) already graded with the same code: not graded again", file=sys.stderr)
    if out.store.changed:
        print(f"{len(out.store.changed)} verdict(s) changed on disk since they were written, graded again: "
              f"{listed(out.store.changed)}", file=sys.stderr)
    try:
        run = run_batch(pending, out.record, workers=args.workers, scheduler=args.scheduler,
                        connect_timeout_s=args.connect_timeout, tls_dir=args.tls, insecure=args.insecure_scheduler,
                        task_timeout_s=args.task_timeout)
    except BatchError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return _error("interrupted before the grading started; nothing new was recorded.", 130)
    csv_path = out.write_reports()
    failed = {**problems, **run.failed}
    for name, reason in sorted(failed.items()):
        print(f"not graded: {name}: {reason}", file=sys.stderr)
    print(f"graded {run.graded} of {len(pending)} ({run.recorded} recorded, {run.duplicates} already recorded), "
          f"{skipped} unchanged, {len(failed)} not graded; totals in {csv_path}")
    if run.isolation_warning:
        print(run.isolation_warning)
    if run.graded:
        print(f"{run.per_minute:.1f} submissions per minute with {run.workers} worker(s), "
              f"{run.cpu_per_submission:.1f} CPU s per submission")
    if run.interrupted:
        return _error(f"stopped early: {run.interrupted}; what was graded is recorded: run the same command again "
                      "to grade the rest.")
    return 1 if failed else 0

"""Measure grading throughput on a throw-away course, and size a cluster from it.

    python -m course.benchmark [--lab segmentation] [--students 8] [--workers 1 2] [--record 100] [--no-baseline]
                               [--tls-cost]

Releases ``--lab`` into a temporary course and submits ``--students``
notebooks (three in four the solution, one in four with ``mean_iou`` left
as released). Then, in one run:

1. *serial*: the judge grades every submission in this process, one after
   the other, without Dask (the grades every other run must equal);
2. ``python -m course grade``'s pipeline (:func:`course.pipeline.autograde`:
   judging on a Dask LocalCluster, then nbgrader's record phase) on a fresh
   copy of the course for each ``--workers`` value;
3. *record*: nbgrader's record phase alone (one writer into the sqlite
   gradebook) for ``--record`` copies of a judged submission: its records per
   second, the limit of one gradebook;
4. *baseline*: plain ``nbgrader autograde``, which executes each notebook in a
   Jupyter kernel (how the course graded before the judge);
5. with ``--tls-cost``: the batch on a LocalCluster with TLS client
   certificates (what every run uses) and over plain TCP, alternating: Dask's
   time per task without grading, and judging throughput and CPU s per submission.

For each it prints submissions per minute and CPU seconds per submission
(this process and every child: workers, sandboxes, kernels, nbgrader; on a
shared machine the wall-clock rate depends on the load, the CPU cost much
less), the record phase's records per second (sqlite, one writer), and a
sizing table: workers to grade 300, 3,000 and 30,000 notebooks in an hour.
Nothing in the repository is touched.
"""

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course.folder import ensure_config
from course.notebooks import answer_sources, grade_id
from course.pipeline import autograde, release, run_nbgrader
from cvlab_ch9.processes import load_average

#: Class sizes of the sizing table (notebooks to grade within one hour).
SIZES = (300, 3_000, 30_000)
#: The answer cell left as released in the partial submissions.
PARTIAL_CELL = "answer_mean_iou"


def cpu_s():
    """CPU seconds of this process and its finished children (POSIX; Windows counts this process only)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def submission(course_dir, lab, partial=False):
    """The release notebook of ``lab`` with the answer cells taken from the source (all, or all but one)."""
    source = nbformat.read(str(Path(course_dir) / "source" / lab / f"{lab}.ipynb"), as_version=4)
    notebook = nbformat.read(str(Path(course_dir) / "release" / lab / f"{lab}.ipynb"), as_version=4)
    answers = answer_sources(source)
    for cell in notebook.cells:
        if grade_id(cell) in answers and not (partial and grade_id(cell) == PARTIAL_CELL):
            cell.source = answers[grade_id(cell)]
    return notebook


def prepare(root, lab, students):
    """A released course in ``root`` with ``students`` submissions of ``lab``."""
    ensure_config(root)
    release(root, labs=[lab], log=lambda _: None)
    notebooks = {False: submission(root, lab), True: submission(root, lab, partial=True)}
    for index in range(students):
        folder = root / "submitted" / f"student{index:03d}" / lab
        folder.mkdir(parents=True)
        nbformat.write(notebooks[index % 4 == 3], str(folder / f"{lab}.ipynb"))
    return root


def serial_grades(course_dir, lab):
    """``({student: [(check, status, score)]}, seconds, CPU s)``: the judge in this process, no Dask."""
    from course.pipeline import judge_tasks, submissions  # noqa: PLC0415
    from cvlab_ch9.grader.batch.tasks import grade_serially  # noqa: PLC0415
    from cvlab_ch9.grader.budget import Limits  # noqa: PLC0415

    tasks, _, _, _ = judge_tasks(Path(course_dir), {lab: submissions(course_dir, lab)}, Limits.resolve(default_timeout_s=120.0))
    cpu, start = cpu_s(), time.perf_counter()
    grades = {t.student: [(r.id, r.status, r.score) for r in grade_serially(t)] for t in tasks}
    return grades, time.perf_counter() - start, cpu_s() - cpu


def verdict_grades(course_dir, lab):
    from course.judging import verdict_store  # noqa: PLC0415
    from course.pipeline import submissions  # noqa: PLC0415

    store, found = verdict_store(course_dir), {}
    for student in submissions(course_dir, lab):
        document = store.read(lab, student)
        found[student] = None if document is None else [(r["id"], r["status"], r["score"]) for r in document["results"]]
    return found


def measure_record(judged_course, tmp, lab, copies):
    """``(records, seconds)`` of one record phase for ``copies`` students (copies of a judged submission)."""
    from course.judging import verdict_store  # noqa: PLC0415
    from course.pipeline import submissions  # noqa: PLC0415
    from course.record import record_lab  # noqa: PLC0415

    course = shutil.copytree(judged_course, Path(tmp) / "record", ignore=shutil.ignore_patterns("autograded", "feedback"))
    first = submissions(course, lab)[0]
    store = verdict_store(course)
    verdict = store.read(lab, first)
    students = [f"copy{i:05d}" for i in range(copies)]
    for student in students:
        shutil.copytree(course / "submitted" / first / lab, course / "submitted" / student / lab)
        store.write({**verdict, "student": student})
    start = time.perf_counter()
    failed = record_lab(course, lab, students, log=lambda _: None)
    return copies - len(failed), time.perf_counter() - start


def workers_needed(notebooks, per_worker_per_minute, hours=1.0):
    return math.ceil(notebooks / (per_worker_per_minute * 60 * hours))


class _Quiet:
    """A progress object that draws nothing (the benchmark prints its own lines)."""

    def update(self, failed=False):
        pass

    def close(self):
        pass


def measure_pipeline(base, tmp, lab, workers):
    course = shutil.copytree(base, Path(tmp) / f"workers{workers}")
    cpu, start = cpu_s(), time.perf_counter()
    run = autograde(course, [lab], workers=workers, log=lambda _: None, progress=_Quiet())
    return run, time.perf_counter() - start, cpu_s() - cpu, verdict_grades(course, lab)


def echo_outcome(task):
    """A worker's verdict of the real size without grading: what the TLS measurement sends back per task."""
    from cvlab_ch9.grader.batch.tasks import Outcome  # noqa: PLC0415
    from cvlab_ch9.grader.core import CheckResult, all_checks  # noqa: PLC0415
    from cvlab_ch9.grader.judge import grader_fingerprint  # noqa: PLC0415

    results = [CheckResult(c.id, c.lab, c.exercise, c.title, "passed", c.points, c.points, "") for c in all_checks(lab=task.lab)]
    return Outcome(task.student, task.lab, task.code_hash, grader_fingerprint(task.lab), results, 0.0, 0.0, "bench")


def measure_tls(base, lab, workers, messages=400, rounds=2):
    """What TLS costs the batch, TLS and plain TCP alternating on the same machine in the same run.

    Two measurements per round and protocol: ``messages`` tasks that return a verdict of the real size
    without grading (Dask's own cost per task: submit, run, result), and the course's submissions judged for
    real (throughput and CPU s per submission, workers and sandboxes included).
    """
    import dataclasses  # noqa: PLC0415

    from course.pipeline import judge_tasks, submissions  # noqa: PLC0415
    from cvlab_ch9.grader.batch.engine import run_batch  # noqa: PLC0415
    from cvlab_ch9.grader.budget import Limits  # noqa: PLC0415

    tasks = judge_tasks(Path(base), {lab: submissions(base, lab)}, Limits.resolve(default_timeout_s=120.0))[0]
    echoes = [dataclasses.replace(tasks[i % len(tasks)], student=f"s{i:05d}") for i in range(messages)]
    found = {True: [], False: []}
    for _ in range(rounds):
        for tls in (True, False):
            echo = run_batch(echoes, lambda outcome: True, workers=workers, progress=_Quiet(), grade=echo_outcome,
                             warm=False, local_tls=tls)
            judged = run_batch(tasks, lambda outcome: True, workers=workers, progress=_Quiet(), local_tls=tls)
            found[tls].append((1000 * echo.graded_seconds / max(echo.graded, 1), echo.warm_seconds,
                               judged.per_minute, judged.cpu_per_submission))
    for tls, label in ((True, "TLS (client certificates)"), (False, "plain TCP")):
        rows = found[tls]
        print(f"{label}, {workers} workers: " + "; ".join(
            f"{ms:.1f} ms per task without grading (cluster start {start:.1f} s), judging {rate:.2f} per minute, "
            f"{cpu:.1f} CPU s per submission" for ms, start, rate, cpu in rows), flush=True)
    mean = {tls: [sum(column) / len(column) for column in zip(*rows)] for tls, rows in found.items()}
    print(f"TLS / TCP: {mean[True][0] / mean[False][0]:.2f}x time per task without grading, "
          f"{mean[True][2] / mean[False][2]:.2f}x judging throughput, "
          f"{mean[True][3] / mean[False][3]:.2f}x CPU s per submission", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="segmentation")
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--record", type=int, default=100, help="students in the record-phase measurement (0: skip)")
    parser.add_argument("--no-baseline", action="store_true", help="skip plain `nbgrader autograde` (kernels)")
    parser.add_argument("--tls-cost", action="store_true",
                        help="also measure the batch with TLS and with plain TCP, alternating (the cost of TLS)")
    args = parser.parse_args(argv)
    n = args.students
    print(f"{n} {args.lab} notebooks ({n - n // 4} solutions, {n // 4} partial) on {os.cpu_count()} CPUs, "
          f"load average {load_average():.1f} before", flush=True)
    with tempfile.TemporaryDirectory(prefix="cvlab-bench-") as tmp:
        base = prepare(Path(tmp) / "base", args.lab, n)
        expected, seconds, cpu = serial_grades(base, args.lab)
        print(f"serial judge, this process, no Dask: {60 * n / seconds:.2f} per minute; {cpu / n:.1f} CPU s per submission",
              flush=True)
        rates, judged_course = {}, None
        for workers in args.workers:
            run, wall, cpu, grades = measure_pipeline(base, tmp, args.lab, workers)
            judged_course = Path(tmp) / f"workers{workers}"
            batch = run.batch
            rates[workers] = batch.per_minute
            same = "grades identical to serial" if grades == expected else f"GRADES DIFFER from serial: {grades}"
            print(
                f"{workers} worker(s): judging {batch.per_minute:.2f} per minute once warm "
                f"({batch.cpu_per_submission:.1f} CPU s per submission in the workers and sandboxes); "
                f"whole pipeline {60 * n / wall:.2f} per minute, {cpu / n:.1f} CPU s per submission incl. "
                f"cluster start {batch.warm_seconds:.0f} s and recording ({run.recorded} in {run.record_seconds:.1f} s = "
                f"{run.records_per_second:.1f} records/s); {same}; load average {load_average():.1f}",
                flush=True,
            )
        if 1 in rates and 2 in rates and rates[1] > 0:
            print(f"2 workers / 1 worker throughput: {rates[2] / rates[1]:.2f}x", flush=True)
        if args.record and judged_course is not None:
            records, seconds = measure_record(judged_course, tmp, args.lab, args.record)
            print(f"record phase alone (nbgrader autograde without execution, one sqlite writer): {records} records in "
                  f"{seconds:.1f} s = {records / seconds:.1f} records/s", flush=True)
        if args.tls_cost:
            measure_tls(base, args.lab, max(args.workers))
        if not args.no_baseline:
            course = shutil.copytree(base, Path(tmp) / "baseline")
            cpu, start = cpu_s(), time.perf_counter()
            run_nbgrader(course, "autograde", args.lab)
            seconds = time.perf_counter() - start
            print(f"baseline, plain serial nbgrader autograde (a kernel per notebook): {60 * n / seconds:.2f} per minute; "
                  f"{(cpu_s() - cpu) / n:.1f} CPU s per submission", flush=True)
    most = max(rates, default=None)  # the most workers measured: their contention included
    per_worker = rates[most] / most if most else 0.0
    if per_worker > 0:
        print(f"sizing at {per_worker:.2f} notebooks per minute per worker (one core each), within one hour:")
        for size in SIZES:
            print(f"  {size:>6} notebooks: {workers_needed(size, per_worker)} workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())

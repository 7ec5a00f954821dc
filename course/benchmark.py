"""Measure autograding throughput on a throw-away course.

    python -m course.benchmark [--lab segmentation] [--students 4] [--workers 1 2]

Releases ``--lab`` into a temporary course, submits the solution notebook
for ``--students`` students, then autogrades copies of that course with
each ``--workers`` value (``python -m course grade``'s two-phase pipeline)
and once with plain serial ``nbgrader autograde`` for comparison. Prints
submissions per minute, and the CPU seconds the child processes (nbgrader,
kernels) used per submission: on a shared machine the wall-clock rate
depends on the load, the CPU cost does not. Nothing in the repository is
touched.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course.notebooks import answer_sources, grade_id
from course.pipeline import CONFIG_NAME, COURSE_DIR, autograde, release, run_nbgrader
from cvlab.processes import load_average


def solution_submission(course_dir, lab):
    """The release notebook of ``lab`` with every answer cell taken from the source notebook."""
    source = nbformat.read(str(Path(course_dir) / "source" / lab / f"{lab}.ipynb"), as_version=4)
    notebook = nbformat.read(str(Path(course_dir) / "release" / lab / f"{lab}.ipynb"), as_version=4)
    answers = answer_sources(source)
    for cell in notebook.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return notebook


def _children_cpu_s():
    """CPU seconds of the finished child processes (POSIX; Windows does not count them: None)."""
    if os.name == "nt":
        return None
    times = os.times()
    return times.children_user + times.children_system


def _line(label, count, seconds, cpu_before):
    cpu_after = _children_cpu_s()
    cpu = "CPU s not measured on Windows" if cpu_before is None else f"{(cpu_after - cpu_before) / count:.1f} CPU s per submission"
    return (f"{label}: {count} submissions in {seconds:.1f} s = {60 * count / seconds:.2f} per minute; "
            f"{cpu}; load average {load_average():.1f} on {os.cpu_count()} CPUs")


def prepare(root, lab, students):
    """A released course in ``root`` with ``students`` solution submissions of ``lab``."""
    root.mkdir(parents=True)
    shutil.copy2(COURSE_DIR / CONFIG_NAME, root / CONFIG_NAME)
    release(root, labs=[lab], log=lambda _: None)
    notebook = solution_submission(root, lab)
    for index in range(students):
        folder = root / "submitted" / f"student{index:03d}" / lab
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{lab}.ipynb"))
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="segmentation")
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-serial", action="store_true", help="skip the plain `nbgrader autograde` baseline")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cvlab-bench-") as tmp:
        base = prepare(Path(tmp) / "base", args.lab, args.students)
        for workers in args.workers:
            course = shutil.copytree(base, Path(tmp) / f"workers{workers}")
            cpu = _children_cpu_s()
            run = autograde(course, [args.lab], workers=workers, log=lambda _: None)
            label = f"{workers} worker(s)" + (f" ({len(run.failed)} failed)" if run.failed else "")
            print(_line(label, run.count, run.seconds, cpu), flush=True)
        if not args.no_serial:
            course = shutil.copytree(base, Path(tmp) / "serial")
            cpu, start = _children_cpu_s(), time.perf_counter()
            run_nbgrader(course, "autograde", args.lab)
            seconds = time.perf_counter() - start
            print(_line("plain serial nbgrader autograde", args.students, seconds, cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main())

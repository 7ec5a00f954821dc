"""The batch engine's parts that need no cluster: finding submissions, the one writer, the progress bar,
the command's sentences. Fast (no TensorFlow, no sandbox); the cluster runs are in test_batch.py."""

import io
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cvlab_ch9.grader.batch.cli import main as batch_main
from cvlab_ch9.grader.batch.folders import OutputFolder, collect, find_lab_files
from cvlab_ch9.grader.batch.progress import Progress, duration_text, progress_line
from cvlab_ch9.grader.batch.tasks import Outcome
from cvlab_ch9.grader.core import CheckResult, all_checks
from cvlab_ch9.grader.judge import LabCode, grader_fingerprint
from cvlab_ch9.paths import REPO_ROOT

LAB = "segmentation"


def results(score_each):
    return [CheckResult(c.id, c.lab, c.exercise, c.title, "passed" if score_each else "failed",
                        c.points if score_each else 0.0, c.points, "") for c in all_checks(lab=LAB)]


def outcome(student, code_hash="abc", full=True, grader=None):
    return Outcome(student, LAB, code_hash, grader or grader_fingerprint(LAB), results(full), 1.0, 2.0, "host:1")


def test_progress_line_says_done_total_rate_and_time_left():
    assert progress_line(3, 12, 60.0, width=12) == "[###---------] 3/12 graded, 3.0/min, 3 min 00 s left"
    assert progress_line(0, 5, 1.0, width=5) == "[-----] 0/5 graded, 0.0/min, estimating the time left"
    assert progress_line(5, 5, 125.0, failed=1, width=5) == "[#####] 5/5 graded, 1 not graded, 2.4/min, done in 2 min 05 s"
    assert (duration_text(42), duration_text(7322)) == ("42 s", "2 h 02 min")


def test_progress_in_a_log_writes_a_line_per_interval_and_the_last():
    stream, now = io.StringIO(), [0.0]
    bar = Progress(4, stream=stream, interval_s=10.0, clock=lambda: now[0])
    for t in (1.0, 2.0, 15.0, 16.0):
        now[0] = t
        bar.update()
    assert [line.split("]")[1].split(",")[0] for line in stream.getvalue().splitlines()] == [" 1/4 graded", " 3/4 graded", " 4/4 graded"]


def test_the_writer_records_each_verdict_once_and_rewrites_changed_code(tmp_path):
    out = OutputFolder(tmp_path / "out", [LAB])
    assert out.record(outcome("ann")) is True
    assert out.record(outcome("ann")) is False, "the same student, lab, code and grader: already recorded"
    assert out.record(outcome("ann", code_hash="changed", full=False)) is True
    assert out.record(outcome("ann", code_hash="changed", full=False, grader="other")) is True
    document = out.store.read(LAB, "ann")
    assert (document["code_hash"], document["score"]) == ("changed", 0)
    assert out.totals_csv().splitlines() == [f"student,{LAB},total,max_total", f"ann,0,0,{document['max_score']:g}"]
    assert list((tmp_path / "out" / "ann").iterdir()) and not list((tmp_path / "out").rglob("*.part"))
    assert OutputFolder(tmp_path / "out", [LAB], replace=True).record(outcome("ann", code_hash="changed")) is True, "--force"


def test_the_grader_fingerprint_covers_the_checks_the_reference_and_the_judge():
    from cvlab_ch9.grader.judge import SHARED_GRADING_CODE  # noqa: PLC0415

    assert "harness/*.py" in SHARED_GRADING_CODE and "judge.py" in SHARED_GRADING_CODE
    assert len({grader_fingerprint(lab) for lab in ("segmentation", "architecture", "interpretation")}) == 3


def test_collect_finds_nested_files_grades_missing_labs_and_explains_notebooks(tmp_path):
    subs = tmp_path / "subs"
    (subs / "ann" / "submission").mkdir(parents=True)
    (subs / "ann" / "submission" / f"{LAB}.py").write_text("x = 1\n")
    (subs / "ann" / ".git").mkdir()
    (subs / "ann" / ".git" / "architecture.py").write_text("hidden folder\n")
    (subs / "ben").mkdir()
    (subs / "ben" / f"{LAB}.ipynb").write_text("{}")
    (subs / "cat").mkdir()
    (subs / ".cache").mkdir()
    assert set(find_lab_files(subs / "ann")) == {LAB}
    tasks, labs, problems = collect(subs)
    assert labs == [LAB]
    assert [(t.student, t.code.text) for t in tasks] == [("ann", "x = 1\n"), ("cat", None)]
    assert tasks[0].code_hash == LabCode(LAB, "x.py", "x = 1\n").content_hash() != tasks[1].code_hash
    assert str(subs.resolve()) in tasks[0].deny, "a sandbox may not read the other submissions"
    assert "is a notebook" in problems[f"ben/{LAB}"]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_scheduler_that_does_not_answer_is_one_sentence(tmp_path, capsys):
    (tmp_path / "subs" / "ann").mkdir(parents=True)
    (tmp_path / "subs" / "ann" / f"{LAB}.py").write_text("x = 1\n")
    address = f"tcp://127.0.0.1:{_free_port()}"
    code = batch_main([str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--scheduler", address, "--connect-timeout", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [
        f"python -m grader batch: No Dask scheduler answered at {address} within 1 s: start one there "
        f"(`dask scheduler`, then `dask worker {address}` on each grading machine), or leave out --scheduler "
        "to grade on this machine."
    ]
    assert not (tmp_path / "out").exists(), "nothing written"


def test_bad_arguments_exit_2_with_a_sentence(tmp_path, capsys):
    assert batch_main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "empty" / "ann").mkdir(parents=True)
    assert batch_main([str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no lab files" in capsys.readouterr().err


def test_in_the_student_kit_batch_grading_says_it_is_for_instructors(tmp_path):
    """The student package leaves grader/batch out (cvlab_ch9.leaks.INSTRUCTOR_ONLY); the command then says so in one sentence."""
    from cvlab_ch9.leaks import instructor_only  # noqa: PLC0415 - the student wheel's exclusion rule

    assert instructor_only("cvlab_ch9/grader/batch/cli.py")

    def student_files(root, name):
        def ignore(folder, names):
            inside = Path(name, Path(folder).relative_to(root)).as_posix()
            return [n for n in names if n == "__pycache__" or instructor_only(f"{inside}/{n}")]
        return ignore

    # laid out as the wheel installs it: cvlab_ch9/ with grader/ inside
    shutil.copytree(REPO_ROOT / "cvlab_ch9", tmp_path / "cvlab_ch9", ignore=student_files(REPO_ROOT / "cvlab_ch9", "cvlab_ch9"))
    shutil.copytree(REPO_ROOT / "grader", tmp_path / "cvlab_ch9" / "grader", ignore=student_files(REPO_ROOT / "grader", "cvlab_ch9/grader"))
    assert not (tmp_path / "cvlab_ch9" / "grader" / "batch").exists()
    process = subprocess.run([sys.executable, "-m", "cvlab_ch9.grader", "batch", "subs", "--out", "out"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        "python -m grader: batch grading is for instructors and is not part of the student kit; "
        "grade your own labs with `python -m grader --labs labs`."
    ]


@pytest.mark.parametrize("kind", ["module", "cells"])
def test_the_content_hash_follows_the_code_not_the_file(kind):
    def code(text):
        if kind == "module":
            return LabCode(LAB, "a.py", text)
        return LabCode(LAB, "a.ipynb", cells=({"name": "answer", "source": text},))

    assert code("x = 1\n").content_hash() == code("x = 1\n").content_hash() != code("x = 2\n").content_hash()

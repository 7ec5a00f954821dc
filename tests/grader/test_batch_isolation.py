"""What `grader batch` and `course grade` say and do about each worker's confinement, also where a kernel offers none.

A worker without confinement is simulated with ``CVLAB_CONFINE=off`` (in this
process: the worker side runs here) or with the isolation dict an outcome
carries. Fast: no cluster, no TensorFlow, no sandbox (one real cluster run is
in test_batch.py).
"""

import csv
import io
import json
from types import SimpleNamespace

import pytest

from course import __main__ as course_cli
from course.judging import verdict_store
from course.pipeline import autograde, gradescope_results
from cvlab_ch9.grader import judge
from cvlab_ch9.grader.batch import cli as batch_cli
from cvlab_ch9.grader.batch import engine, tasks
from cvlab_ch9.grader.batch.cluster import BatchError
from cvlab_ch9.grader.batch.confinement import WorkerRefused, worker_isolation
from cvlab_ch9.grader.batch.folders import OutputFolder
from cvlab_ch9.grader.batch.progress import Progress
from cvlab_ch9.grader.batch.tasks import GradeTask, Outcome, outcome_problem
from cvlab_ch9.grader.batch.verdicts import verdict_document
from cvlab_ch9.grader.budget import Limits
from cvlab_ch9.grader.core import CheckResult, all_checks
from cvlab_ch9.grader.isolation import CONFINE_ENV
from cvlab_ch9.grader.judge import LabCode, grader_fingerprint

LAB = "segmentation"
SENTENCE = "not protected against a hostile submission"
REFUSAL = "--require-isolation: refusing to grade"
PROTECTED = {"protected": True, "layers": ["namespaces", "landlock", "seccomp"], "missing": [], "warning": None,
             "worker": "good:1"}
CODE = LabCode(LAB, f"{LAB}.py", "x = 1\n")


@pytest.fixture
def unconfined(monkeypatch):
    """This process (the worker side) as on a kernel without confinement; its isolation dict."""
    monkeypatch.setenv(CONFINE_ENV, "off")
    return worker_isolation()


def results(full=True):
    return [CheckResult(c.id, c.lab, c.exercise, c.title, "passed" if full else "failed", c.points if full else 0.0,
                        c.points, "") for c in all_checks(lab=LAB)]


def task(student="ann", require=False):
    return GradeTask(student, LAB, CODE, CODE.content_hash(), Limits(require_isolation=require))


def outcome(student="ann", isolation=None):
    return Outcome(student, LAB, CODE.content_hash(), grader_fingerprint(LAB), results(), 1.0, 2.0,
                   (isolation or {}).get("worker", "host:1"), isolation)


def check_points():
    return [(c.id, c.points) for c in all_checks(lab=LAB, include_hidden=True)]


def test_each_outcome_carries_its_workers_confinement_and_a_refusing_worker_runs_nothing(unconfined, monkeypatch):
    assert unconfined["protected"] is False and unconfined["layers"] == [] and SENTENCE in unconfined["warning"]
    monkeypatch.setattr(tasks, "warm_judge", lambda labs: pytest.fail("a refusing worker must not warm up"))
    with pytest.raises(WorkerRefused, match=f"^the worker {unconfined['worker']} refused to grade it: {REFUSAL}"):
        tasks.grade_task(task(require=True))
    monkeypatch.setattr(tasks, "warm_judge", lambda labs: SimpleNamespace(reference_for=lambda t: "live"))
    monkeypatch.setattr(judge, "grade_code", lambda *args, **kwargs: results())
    graded = tasks.grade_task(task())
    assert graded.isolation == unconfined and graded.worker == unconfined["worker"]


def test_with_require_isolation_an_outcome_that_was_not_confined_is_refused():
    fingerprint = grader_fingerprint(LAB)
    for isolation in (None, {"protected": False, "worker": "bad:2"}):
        problem = outcome_problem(task(require=True), outcome(isolation=isolation), fingerprint, check_points())
        assert problem.startswith("the worker ") and "did not confine the student's code (--require-isolation)" in problem
    assert outcome_problem(task(require=True), outcome(isolation=PROTECTED), fingerprint, check_points()) is None
    assert outcome_problem(task(), outcome(isolation=None), fingerprint, check_points()) is None, "without the flag: recorded"


def test_the_verdict_seals_the_isolation_and_results_json_carries_its_sentence(unconfined, tmp_path):
    out = OutputFolder(tmp_path / "out", [LAB])
    assert out.record(outcome("ann", unconfined)) and out.record(outcome("bob", PROTECTED))
    assert out.store.read(LAB, "ann")["isolation"] == unconfined
    ann = json.loads((tmp_path / "out" / "ann" / "results.json").read_text())
    assert ann["output"].startswith(f"Graded {LAB}.py. This grade is {SENTENCE}")
    assert ann["extra_data"]["isolation"]["protected"] is False
    assert ann["extra_data"]["isolation"]["labs"] == {LAB: {"protected": False, "worker": unconfined["worker"]}}
    bob = json.loads((tmp_path / "out" / "bob" / "results.json").read_text())
    assert bob["output"] == f"Graded {LAB}.py." and bob["extra_data"]["isolation"]["layers"] == PROTECTED["layers"]
    out.write_reports()
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))
    assert rows[0] == ["student", LAB, "total", "max_total"] and all(len(r) == 4 for r in rows), "no new column"
    verdict = tmp_path / "out" / "ann" / f"{LAB}.json"
    verdict.write_text(verdict.read_text().replace('"protected": false', '"protected": true'))
    assert out.store.read(LAB, "ann") is None, "the isolation is sealed with the verdict"


def test_require_isolation_grades_again_what_was_graded_unprotected(unconfined, tmp_path):
    out = OutputFolder(tmp_path / "out", [LAB])
    out.record(outcome("ann", unconfined))
    out.record(outcome("bob", PROTECTED))
    assert [t.student for t in out.pending([task("ann"), task("bob")])] == []
    assert [t.student for t in out.pending([task("ann", True), task("bob", True)])] == ["ann"]
    assert out.record(outcome("ann", PROTECTED)), "a confined grading replaces an unconfined verdict of the same code"
    assert not out.record(outcome("ann", unconfined)), "and is not replaced by an unconfined one"


class _Future:
    def __init__(self, value=None, error=None):
        self.status = "error" if error else "finished"
        self.value, self.error = value, error

    def result(self):
        return self.value

    def exception(self):
        return self.error

    def release(self):
        pass


def test_the_engine_counts_unconfined_outcomes_per_worker_and_reports_refusing_workers(unconfined):
    run, recorded = engine.BatchRun(total=4), []
    expected = {LAB: (grader_fingerprint(LAB), check_points())}
    progress = Progress(4, stream=io.StringIO())
    other = {**unconfined, "worker": "far:7"}
    for student, isolation in (("ann", unconfined), ("bob", PROTECTED), ("cid", other)):
        assert engine._take(_Future(outcome(student, isolation)), task(student), expected, recorded.append, run, progress)
    refused = WorkerRefused(f"the worker far:7 refused to grade it: {REFUSAL}, because ...")
    assert engine._take(_Future(error=refused), task("dan", True), expected, recorded.append, run, progress)
    assert len(recorded) == 3 and run.failed == {f"dan/{LAB}": str(refused)}
    assert run.unprotected == {unconfined["worker"]: (1, unconfined), "far:7": (1, other)}
    warning = run.isolation_warning
    assert warning.startswith(f"WARNING: 2 of 3 submission(s) graded in this run are {SENTENCE} (graded on worker(s) far:7, ")
    assert "the kernel there leaves the student's code free in" in warning and warning.count(". ") == 0
    assert warning.endswith("and pass --require-isolation to refuse otherwise.")
    assert engine.BatchRun(total=1, recorded=1).isolation_warning is None


def test_the_workers_are_asked_before_anything_is_graded(unconfined):
    client = SimpleNamespace(run=lambda function: {"tls://a:1": PROTECTED, "tls://b:2": function()})
    with pytest.raises(BatchError) as refused:
        engine.check_workers(client)
    message = str(refused.value)
    assert message.startswith(f"{REFUSAL}, because 1 of 2 Dask worker(s) ({unconfined['worker']}) cannot confine")
    assert "CVLAB_CONFINE=off" in message and message.endswith("then run the same command again.")
    assert engine.check_workers(SimpleNamespace(run=lambda function: {"tls://a:1": PROTECTED}))


def _class(tmp_path):
    (tmp_path / "subs" / "ann").mkdir(parents=True, exist_ok=True)
    (tmp_path / "subs" / "ann" / f"{LAB}.py").write_text("x = 1\n")
    return [str(tmp_path / "subs"), "--out", str(tmp_path / "out")]


def test_batch_refuses_up_front_on_this_machine_and_leaves_a_cluster_to_its_workers(unconfined, tmp_path, monkeypatch,
                                                                                     capsys):
    started = []
    monkeypatch.setattr(batch_cli, "run_batch", lambda pending, record, **kwargs: started.append(kwargs) or engine.BatchRun(0))
    assert batch_cli.main([*_class(tmp_path), "--require-isolation"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"python -m grader batch: {REFUSAL}") and err.count("\n") == 1
    assert not started and not (tmp_path / "out").exists(), "nothing started, nothing written"
    tls = tmp_path / "tls"
    assert batch_cli.main([*_class(tmp_path), "--require-isolation", "--scheduler", "tls://h:1", "--tls", str(tls)]) == 0
    assert len(started) == 1, "a remote cluster's workers are asked when the run connects"


def test_the_batch_summary_says_once_how_many_were_graded_unprotected_and_where(unconfined, tmp_path, monkeypatch,
                                                                               capsys):
    def fake_run(pending, record, **kwargs):
        run = engine.BatchRun(total=len(pending), recorded=len(pending))
        for item in pending:
            record(outcome(item.student, unconfined))
            run.count_isolation(outcome(item.student, unconfined))
        return run

    monkeypatch.setattr(batch_cli, "run_batch", fake_run)
    assert batch_cli.main(_class(tmp_path)) == 0
    out = capsys.readouterr().out
    assert out.count(SENTENCE) == 1
    assert f"WARNING: 1 of 1 submission(s) graded in this run are {SENTENCE} (graded on worker(s) {unconfined['worker']})" in out
    assert SENTENCE in json.loads((tmp_path / "out" / "ann" / "results.json").read_text())["output"]


def test_course_grade_refuses_up_front_and_its_exports_carry_the_sentence(unconfined, tmp_path, monkeypatch, capsys):
    course = tmp_path / "course"
    course.mkdir()
    (course / "gradebook.db").write_text("")
    monkeypatch.setattr(engine, "run_batch", lambda *args, **kwargs: pytest.fail("refused before any grading"))
    assert course_cli.main(["--course", str(course), "grade", "--require-isolation"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {REFUSAL}") and err.count("\n") == 1
    verdict_store(course).write(verdict_document(LAB, "ann", "abc", grader_fingerprint(LAB), results(), unconfined))
    document = gradescope_results(course, LAB, "ann")
    assert document["output"].startswith(f"This grade is {SENTENCE}") and document["extra_data"]["isolation"]["labs"]


def test_course_grade_logs_the_unprotected_sentence_once(unconfined, tmp_path, monkeypatch):
    run = engine.BatchRun(total=1, recorded=1)
    run.count_isolation(outcome("ann", unconfined))
    monkeypatch.setattr(engine, "run_batch", lambda *args, **kwargs: run)
    lines = []
    autograde(tmp_path / "course", labs=[LAB], log=lines.append)
    assert [line for line in lines if SENTENCE in line] == [run.isolation_warning]


def test_a_task_refused_by_a_worker_goes_to_another_confined_worker_once():
    submitted, completed = [], SimpleNamespace(add=lambda future: None)
    client = SimpleNamespace(
        scheduler_info=lambda: {"workers": {"tls://a:1": {}, "tls://b:2": {}}},
        submit=lambda *args, **kwargs: submitted.append(kwargs) or SimpleNamespace(key=kwargs["key"]))
    first = task()
    elsewhere = engine._Elsewhere(client, tasks.grade_task, {"tls://a:1": {**PROTECTED, "worker": "a:1"},
                                                             "tls://b:2": {**PROTECTED, "worker": "b:2"}},
                                  completed, [], {first.key: first})
    assert not elsewhere(first.key, RuntimeError("the sandbox did not start")), "only a refusal goes elsewhere"
    assert elsewhere(first.key, WorkerRefused("refused", "a:1"))
    assert [(s["key"], s["workers"], s["allow_other_workers"]) for s in submitted] == [
        (first.key + engine.ELSEWHERE, ["tls://b:2"], False)]
    assert not elsewhere(first.key + engine.ELSEWHERE, WorkerRefused("refused", "b:2")), "once; then not graded"
    assert not elsewhere(task("bob").key, WorkerRefused("refused", "b:2")), "no confined worker left"

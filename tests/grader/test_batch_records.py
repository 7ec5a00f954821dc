"""What the batch reads and writes, tried as a student who has read the grader: links, forged ids, verdicts
changed on disk, a worker's forged result, the cluster's certificates. Fast: no TensorFlow, no sandbox, no cluster
(the cluster runs are in test_batch.py)."""

import csv
import io
import json
import os
import stat

import pytest

from cvlab_ch9.grader.batch.certs import main as certs_main
from cvlab_ch9.grader.batch.certs import role_files, write_certificates
from cvlab_ch9.grader.batch.files import Refused, read_inside, walk_files
from cvlab_ch9.grader.batch.folders import OutputFolder, collect, find_lab_files
from cvlab_ch9.grader.batch.ids import id_problem, is_hidden
from cvlab_ch9.grader.batch.tasks import GradeTask, Outcome, outcome_problem
from cvlab_ch9.grader.core import CheckResult, all_checks
from cvlab_ch9.grader.judge import LabCode, grader_fingerprint
from cvlab_ch9.paths import SOLUTIONS_DIR

LAB = "segmentation"
LINK_SENTENCE = f"{LAB}.py in your submission is a link, which the grader does not follow: upload the file itself."


def results(full):
    return [CheckResult(c.id, c.lab, c.exercise, c.title, "passed" if full else "failed",
                        c.points if full else 0.0, c.points, "") for c in all_checks(lab=LAB)]


def outcome(student, full=True, code_hash="abc"):
    return Outcome(student, LAB, code_hash, grader_fingerprint(LAB), results(full), 1.0, 2.0, "host:1")


# -- ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "a.lee", "s_123", "jo-anne", "ann@uni.edu", "x+y", "_tmp", "A" * 64])
def test_usable_ids(name):
    assert id_problem(name) is None


@pytest.mark.parametrize("name", ["eve,22,22", "nl\nx", "..\\..\\x", "..", ".hidden", "-rf", "=1+1", "@SUM(A1)", "a b",
                                  "semi;colon", 'quo"te', "A" * 65, "", "\u00e9l\u00e8ve"])
def test_refused_ids_get_one_sentence_without_a_newline(name):
    problem = id_problem(name)
    assert problem and "\n" not in problem and "rename the folder" in problem
    assert repr(name if len(name) <= 80 else name[:80] + "...") in problem


def test_hidden_tool_folders_are_skipped_but_dot_tricks_are_not():
    assert is_hidden(".git") and is_hidden(".ipynb_checkpoints")
    assert not is_hidden("..\\..\\x") and not is_hidden("..") and not is_hidden(". x")


# -- reading without links --------------------------------------------------------------------


def test_links_are_refused_and_linked_folders_not_entered(tmp_path):
    root = tmp_path / "ann"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "architecture.py").write_text("x = 1\n")
    (root / f"{LAB}.py").symlink_to(SOLUTIONS_DIR / f"{LAB}.py")
    (root / "answers").symlink_to(SOLUTIONS_DIR, target_is_directory=True)
    (root / ".git").mkdir()
    (root / ".git" / "interpretation.py").write_text("hidden\n")
    assert [str(p) for p in walk_files(root)] == [f"{LAB}.py", "sub/architecture.py"]
    assert set(find_lab_files(root)) == {LAB, "architecture"}, "the linked folder's solutions are not found"
    with pytest.raises(Refused, match="is a link, which the grader does not follow"):
        read_inside(root, root / f"{LAB}.py")
    with pytest.raises(Refused, match="is a link"):  # a link on the way, not only at the end
        read_inside(root, root / "answers" / f"{LAB}.py")
    assert read_inside(root, root / "sub" / "architecture.py") == b"x = 1\n"
    with pytest.raises(FileNotFoundError):
        read_inside(root, root / "missing.py")
    with pytest.raises(Refused, match="not inside the submission folder"):
        read_inside(root, tmp_path / "elsewhere.py")


def test_fifos_and_huge_files_are_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo.py")
    with pytest.raises(Refused, match="not a regular file"):
        read_inside(tmp_path, tmp_path / "fifo.py")
    (tmp_path / "big.py").write_bytes(b"#" * 2048)
    with pytest.raises(Refused, match="larger than"):
        read_inside(tmp_path, tmp_path / "big.py", limit=1024)


def test_collect_refuses_linked_files_and_folders_and_forged_ids_by_name(tmp_path):
    subs = tmp_path / "subs"
    for name in ("ann", "eve,22,22", "nl\nx"):
        (subs / name).mkdir(parents=True)
        (subs / name / f"{LAB}.py").write_text("x = 1\n")
    (subs / "bob").mkdir()
    (subs / "bob" / f"{LAB}.py").symlink_to(SOLUTIONS_DIR / f"{LAB}.py")
    (subs / "cat").symlink_to(subs / "ann", target_is_directory=True)
    tasks, labs, problems = collect(subs, [LAB], deny=(tmp_path / "out",))
    assert [t.student for t in tasks] == ["ann", "bob"]
    bob = tasks[1].code
    assert bob.problem() == ("error", LINK_SENTENCE) and bob.text is None
    assert bob.content_hash() != LabCode(LAB, f"{LAB}.py").content_hash(), "a link is not the same as a missing file"
    assert set(problems) == {"cat", "'eve,22,22'", "'nl\\nx'"}
    assert "is a link" in problems["cat"] and "not a usable student id" in problems["'nl\\nx'"]
    assert str(tmp_path / "out") in tasks[0].deny, "no sandbox may read the output folder"


# -- verdicts out of reach --------------------------------------------------------------------


def test_a_verdict_changed_on_disk_reads_as_never_graded(tmp_path):
    out = OutputFolder(tmp_path / "out", [LAB])
    assert out.record(outcome("ann")) and out.record(outcome("bob", full=False))
    key = tmp_path / "out" / ".cvlab" / "verdict.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "verdict.key" not in (tmp_path / "out" / "ann" / f"{LAB}.json").read_text()
    tasks = [GradeTask(name, LAB, None, "abc") for name in ("ann", "bob")]
    assert out.pending(tasks) == []
    ann, bob = (tmp_path / "out" / name / f"{LAB}.json" for name in ("ann", "bob"))
    bob.write_bytes(ann.read_bytes().replace(b'"ann"', b'"bob"'))  # bob copies ann's verdict
    document = json.loads(ann.read_text())
    document["results"][0]["message"] = "edited"
    ann.write_text(json.dumps(document, indent=1))
    again = OutputFolder(tmp_path / "out", [LAB])
    assert [t.student for t in again.pending(tasks)] == ["ann", "bob"]
    assert again.store.changed == {f"ann/{LAB}", f"bob/{LAB}"}
    assert again.totals_csv().splitlines() == [f"student,{LAB},total,max_total"], "no report uses a changed verdict"
    assert again.record(outcome("ann")) and again.store.read(LAB, "ann")["score"] == 22
    assert again.store.changed == {f"bob/{LAB}"}
    key.unlink()
    assert OutputFolder(tmp_path / "out", [LAB]).store.read(LAB, "ann") is None, "without the key nothing verifies"


def test_reports_are_rewritten_from_the_verdicts_never_read_back(tmp_path):
    out = OutputFolder(tmp_path / "out", [LAB])
    out.record(outcome("ann"))
    out.record(outcome("bob", full=False))
    first = out.write_reports()
    honest = {p: p.read_bytes() for p in [first, *sorted((tmp_path / "out").glob("*/results.json"))]}
    for path in honest:
        path.write_text("forged")
    (tmp_path / "out" / "eve,22").mkdir()  # a folder no valid id names: not a student of the report
    OutputFolder(tmp_path / "out", [LAB]).write_reports()
    assert {p: p.read_bytes() for p in honest} == honest
    rows = list(csv.reader(io.StringIO(first.read_text())))
    assert rows == [["student", LAB, "total", "max_total"], ["ann", "22", "22", "22"], ["bob", "0", "0", "22"]]


# -- a result is accepted on the judge's evidence -------------------------------------------------


def test_a_worker_result_that_does_not_match_its_task_is_refused():
    task = GradeTask("ann", LAB, LabCode(LAB, f"{LAB}.py", "x = 1\n"), "abc")
    fingerprint, checks = grader_fingerprint(LAB), [(c.id, c.points) for c in all_checks(lab=LAB)]
    assert outcome_problem(task, outcome("ann"), fingerprint, checks) is None
    forged = [
        ("not a verdict", {"score": 22}),
        ("for eve/segmentation", outcome("eve")),
        ("(code abcd), not for the submission it was sent", outcome("ann", code_hash="abcd")),
        ("other checks or another reference", Outcome("ann", LAB, "abc", "other", results(True), 1.0, 1.0, "h:1")),
        ("exactly the lab's checks", Outcome("ann", LAB, "abc", fingerprint, results(True)[:-1], 1.0, 1.0, "h:1")),
    ]
    inflated = results(False)
    inflated[0].score = inflated[0].max_score  # points without a pass
    too_many = results(True)
    too_many[1].score = 100.0
    forged += [("points with status 'failed'", Outcome("ann", LAB, "abc", fingerprint, inflated, 1, 1, "h:1")),
               ("100.0 of", Outcome("ann", LAB, "abc", fingerprint, too_many, 1, 1, "h:1"))]
    for words, value in forged:
        problem = outcome_problem(task, value, fingerprint, checks)
        assert problem and words in problem, (words, problem)


# -- the cluster's certificates -----------------------------------------------------------------


def test_certs_writes_a_ca_and_one_certificate_per_role_and_prints_the_commands(tmp_path, capsys):
    from distributed import Security  # noqa: PLC0415 - Dask loads only for this test

    folder = tmp_path / "tls"
    assert certs_main([str(folder)]) == 0
    printed = capsys.readouterr().out
    assert f"dask scheduler --protocol tls --port 8786 --no-dashboard --tls-ca-file {folder / 'ca.pem'}" in printed
    assert f"--scheduler tls://SCHEDULER:8786 --tls {folder}" in printed
    for role in ("ca", "scheduler", "worker", "client"):
        cert, key = role_files(folder, role)
        assert stat.S_IMODE(key.stat().st_mode) == 0o600 and cert.read_text().startswith("-----BEGIN CERTIFICATE")
    for role in ("scheduler", "worker", "client"):  # each pair loads into an SSL context with the CA
        cert, key = map(str, role_files(folder, role))
        security = Security(tls_ca_file=str(folder / "ca.pem"), require_encryption=True,
                            **{f"tls_{role}_cert": cert, f"tls_{role}_key": key})
        assert security.get_connection_args(role)["ssl_context"] is not None
    assert certs_main([str(folder)]) == 1, "an existing CA is never replaced"
    assert "already holds a CA" in capsys.readouterr().err
    with pytest.raises(Exception, match="already holds a CA"):
        write_certificates(folder)

"""The course's data and records without running nbgrader: where the data lives, which submitted folders are
students, what nbgrader is given to record, and the quoted CSV export. Fast (no TensorFlow)."""

import csv
import io
import sysconfig
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course.csv_export import COLUMNS, CsvExport
from course.folder import COURSE_ENV, DEFAULT_NAME, CourseError, course_folder, ensure_config, placement_problem
from course.notebooks import COURSE_DIR, SOURCE_DIR
from course.pipeline import submitted_students
from course.record import restore_metadata
from cvlab_ch9.paths import REPO_ROOT

LAB = "segmentation"


def test_course_data_defaults_to_course_data_in_the_checkout_and_follows_the_option_and_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(COURSE_ENV, raising=False)
    assert course_folder() == (REPO_ROOT / DEFAULT_NAME).resolve()
    monkeypatch.setenv(COURSE_ENV, str(tmp_path / "env"))
    assert course_folder() == (tmp_path / "env").resolve()
    assert course_folder(tmp_path / "option") == (tmp_path / "option").resolve(), "the option wins"
    ensure_config(tmp_path / "option")
    assert (tmp_path / "option" / "nbgrader_config.py").read_text() == (COURSE_DIR / "nbgrader_config.py").read_text()


@pytest.mark.parametrize("inside", [COURSE_DIR, COURSE_DIR / "submitted", sysconfig.get_paths()["purelib"]])
def test_course_data_is_never_kept_in_the_code_or_the_python_installation(inside):
    problem = placement_problem(inside)
    assert problem and "pass --course DIR" in problem
    with pytest.raises(CourseError, match="keep the course's data in a folder"):
        course_folder(inside)


def test_the_command_refuses_a_course_folder_inside_the_code_with_a_sentence(capsys):
    from course.__main__ import main  # noqa: PLC0415 - the command under test

    assert main(["--course", str(COURSE_DIR), "grade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is inside the course code" in err and len(err.strip().splitlines()) == 1


def test_submitted_folders_with_forged_names_or_links_are_refused_by_name(tmp_path):
    submitted = tmp_path / "submitted"
    for name in ("alice", "eve,22,22", "nl\nx", "..\\..\\x"):
        (submitted / name / LAB).mkdir(parents=True)
    (submitted / ".ipynb_checkpoints" / LAB).mkdir(parents=True)
    (submitted / "bob").symlink_to(submitted / "alice", target_is_directory=True)
    (submitted / "carl").mkdir()
    (submitted / "carl" / LAB).symlink_to(submitted / "alice" / LAB, target_is_directory=True)
    students, refused = submitted_students(tmp_path, LAB)
    assert students == ["alice"]
    assert set(refused) == {f"bob/{LAB}", f"carl/{LAB}", f"'eve,22,22'/{LAB}", f"'nl\\nx'/{LAB}", f"'..\\\\..\\\\x'/{LAB}"}
    assert all("\n" not in reason for reason in refused.values())


def _cell(grade_id, source, **flags):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "grade": False, "solution": False,
                                 "locked": False, **flags}
    return cell


def test_the_record_copy_takes_every_nbgrader_metadata_from_the_source():
    source = nbformat.read(str(SOURCE_DIR / LAB / f"{LAB}.ipynb"), as_version=4)
    trusted = {c.metadata["nbgrader"]["grade_id"]: c for c in source.cells if "nbgrader" in c.metadata}
    answer = next(gid for gid, c in trusted.items() if c.metadata["nbgrader"].get("solution"))
    test = next(gid for gid, c in trusted.items() if c.metadata["nbgrader"].get("grade") and gid.startswith("check_"))
    student = new_notebook(cells=[
        _cell(answer, "def f():\n    return 1\n", solution=True, schema_version=99),  # a schema nbgrader rejects
        _cell(answer, "# a copy of the answer cell", solution=True),  # a duplicated id
        _cell(test, "print('all good')", grade=True, points=50.0, locked=True),  # more points
        _cell("made_up", "x = 1", grade=True, points=10.0),  # an id the source lacks
        new_code_cell("y = 2"),
    ], metadata={"kernelspec": {"name": "evil", "display_name": "evil", "language": "python"}})
    restored = restore_metadata(student, source)
    assert restored.cells[0].metadata["nbgrader"] == trusted[answer].metadata["nbgrader"]
    assert restored.cells[0].source == "def f():\n    return 1\n", "the student's code stays"
    assert "nbgrader" not in restored.cells[1].metadata and "nbgrader" not in restored.cells[3].metadata
    assert restored.cells[2].metadata["nbgrader"] == trusted[test].metadata["nbgrader"]
    assert restored.metadata["kernelspec"] == source.metadata["kernelspec"]


class _Gradebook:
    """What the exporter reads of nbgrader's Gradebook: assignments, students, submissions."""

    assignments = [SimpleNamespace(name=LAB, duedate=None, max_score=22.0)]
    students = [SimpleNamespace(id="ann", first_name="Ann, Jr.", last_name='O"Neil', email="ann@uni.edu"),
                SimpleNamespace(id="bob", first_name="Bob\n2", last_name=None, email=None)]

    def find_submission(self, assignment, student):
        from nbgrader.api import MissingEntry  # noqa: PLC0415 - nbgrader's own "no submission"

        if student != "ann":
            raise MissingEntry()
        return SimpleNamespace(timestamp="2026-11-25 12:00:00", score=20.0, late_submission_penalty=2.0)


def test_the_csv_export_quotes_what_nbgrader_would_not(tmp_path):
    CsvExport(to=str(tmp_path / "grades.csv")).export(_Gradebook())
    rows = list(csv.reader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert rows[0] == list(COLUMNS) and len(rows) == 3 and all(len(r) == len(COLUMNS) for r in rows)
    ann, bob = (dict(zip(COLUMNS, row)) for row in rows[1:])
    assert (ann["first_name"], ann["last_name"], ann["raw_score"], ann["score"]) == ("Ann, Jr.", 'O"Neil', "20.0", "18.0")
    assert (bob["first_name"], bob["last_name"], bob["score"], bob["timestamp"]) == ("Bob\n2", "", "0.0", "")
    assert not (tmp_path / "grades.csv.part").exists()


def test_one_student_nbgrader_cannot_record_never_stops_the_others(monkeypatch, tmp_path):
    """nbgrader aborts a lab's run at one bad submission; each one not recorded is then tried alone."""
    from course import record  # noqa: PLC0415 - the module whose nbgrader call is replaced

    calls = []

    def autograde(course_dir, lab, students):
        calls.append(list(students))
        if "bad" in students:  # nbgrader stops at the bad one: the students after it are not recorded either
            failing = students[students.index("bad"):]
            log = "[AutogradeApp | ERROR] There was an error processing assignment\n[AutogradeApp | ERROR] ValueError: bad cell\n"
            return dict.fromkeys(failing, log)
        return {}

    monkeypatch.setattr(record, "_autograde", autograde)
    failed = record.record_lab(tmp_path, LAB, ["ann", "bad", "cat", "dan"], log=lambda _: None)
    assert calls == [["ann", "bad", "cat", "dan"], ["bad"], ["cat"], ["dan"]]
    assert failed == {f"bad/{LAB}": "nbgrader could not record it (ValueError: bad cell)"}

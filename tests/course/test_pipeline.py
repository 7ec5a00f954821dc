"""The real nbgrader pipeline on a temporary course (no mocks).

One module-scoped course is released once and graded once with 2 judge
processes; a copy is autograded by plain serial ``nbgrader autograde``
(which executes the notebooks in a kernel) as the reference. Students (lab 1
unless noted):

- alice: the solution, for every lab with checks -> full marks, no stderr;
- bob:   the untouched release -> 0, "not implemented" feedback;
- carol: two exercises right, one wrong, the rest not implemented;
- dave:  one exercise right, test cells edited/deleted and points raised;
- erin:  an endless loop in one answer cell (skipped after the check timeout,
         the rest is graded), and a model that only works for square images
         (fails the hidden check only);
- mallory: the untouched release plus cells a cheater adds (replace the
         in-notebook check helper, write into the gradebook, forge a test
         cell's output, copy another student's answers) -> 0;
- oscar: one exercise right plus the same cheats -> exactly that exercise;
         both also cheat in native code (tests/grader/native_cheats.py:
         TensorFlow reads alice's notebook and the answer key; a detached
         process waits to rewrite the gradebook after grading);
- zoe:   a file that is not a notebook -> reported, the batch goes on;
- meta:  one exercise right, the answer cell's nbgrader metadata edited (a schema
         version nbgrader rejects, made-up points, a duplicated id) -> judged and recorded;
- linker: the submitted notebook is a link to the source notebook (which holds the
         answers) -> 0 with one sentence, recorded;
- folders named ``eve,22,22`` and ``nl<newline>x`` holding the solution -> refused by
  name; everyone after them is still graded and recorded.

A re-run notices a verdict changed on disk (and a score changed in the
gradebook) since it was written, judges or records it again, and nothing else.
"""

import csv
import html
import io
import json
import re
import shutil
import time
from types import SimpleNamespace

import nbformat
import pytest

from course.notebooks import RAISES_TAG, SHOW_LAB_ID, check_cell_ids, notebook_labs
from course.notebooks import answer_sources as answers
from course.pipeline import grade, release, run_nbgrader, submissions
from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.paths import SOLUTIONS_DIR
from tests.course.helpers import (
    cell_scores,
    cells_by_id,
    copy_course,
    grade_id,
    make_course,
    read_notebook,
    submission,
    substitute,
    write_submission,
)
from tests.grader import native_cheats

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]
CHECK_TIMEOUT_S = 15

LAB = "segmentation"
STUDENTS = ("alice", "bob", "carol", "dave", "erin", "linker", "mallory", "meta", "oscar")
REFUSED = ("eve,22,22", "nl\nx")


def _points(lab, exercises=None, hidden=None):
    return sum(
        c.points for c in all_checks(lab=lab)
        if (exercises is None or c.exercise in exercises) and (hidden is None or c.hidden == hidden)
    )


def _lab1_submissions(release_nb, solution, course_root):
    """{student: notebook} for the lab 1 cases."""
    stub = {gid: cells_by_id(release_nb)[gid].source for gid in solution}
    carol = dict(stub)
    carol["answer_trimap_to_classes"] = solution["answer_trimap_to_classes"]
    carol["answer_strided_downsampling"] = solution["answer_strided_downsampling"]
    carol["answer_build_segmentation_model"] = solution["answer_build_segmentation_model"]  # needs the decoder: stub
    carol["answer_mean_iou"] = substitute(  # pixel accuracy instead of IoU: wrong
        solution["answer_mean_iou"], "def mean_iou(y_true, y_pred, num_classes):",
        "def mean_iou(y_true, y_pred, num_classes):\n"
        "    return float(np.mean(np.asarray(y_true).reshape(-1) == np.asarray(y_pred).reshape(-1)))\n\n\n"
        "def _unused(y_true, y_pred, num_classes):",
    )
    erin = dict(solution)
    erin["answer_trimap_to_classes"] = "while True:\n    pass\n\n" + solution["answer_trimap_to_classes"]
    erin["answer_build_segmentation_model"] = substitute(
        solution["answer_build_segmentation_model"],
        "keras.Input(shape=tuple(img_size) + (3,))", "keras.Input(shape=(img_size[0], img_size[0], 3))",
    )
    dave_nb = submission(release_nb, {"answer_trimap_to_classes": solution["answer_trimap_to_classes"]})
    for cell in list(dave_nb.cells):
        gid = grade_id(cell) or ""
        if gid.startswith("check_mean_iou"):
            cell.source = "print('all good')"
            cell.metadata["nbgrader"]["points"] = 50.0
        if gid == "check_strided_downsampling_encoder_shapes":
            dave_nb.cells.remove(cell)
    mallory = _with_cheats(release_nb, course_root)
    oscar = _with_cheats(submission(release_nb, {"answer_trimap_to_classes": solution["answer_trimap_to_classes"]}),
                         course_root)
    meta = submission(release_nb, {"answer_trimap_to_classes": solution["answer_trimap_to_classes"]})
    for cell in list(meta.cells):
        if grade_id(cell) == "answer_trimap_to_classes":
            cell.metadata["nbgrader"].update(schema_version=99, points=50.0, grade=True)
            meta.cells.insert(meta.cells.index(cell) + 1, nbformat.from_dict(cell))  # the same id twice
    return {
        "meta": meta,
        "mallory": mallory,
        "oscar": oscar,
        "alice": submission(release_nb, solution),
        "bob": release_nb,
        "carol": submission(release_nb, carol),
        "dave": dave_nb,
        "erin": submission(release_nb, erin),
    }


CHEAT_CELLS = (
    "import cvlab_ch9.grader.nb as g\ng.check = lambda *a, **k: None\n",
    "import glob\nfor path in glob.glob('../../**/gradebook.db', recursive=True):\n    open(path, 'wb').write(b'')\n",
    "import sys, json\nprint(json.dumps({'score': 22}))\nsys.modules['cvlab_ch9.grader.core'] = None\n",
)


COPY_ANSWERS = """\
import json
for path in {paths!r}:
    try:
        for cell in json.load(open(path))["cells"]:
            if cell["cell_type"] == "code" and "def " in "".join(cell["source"]):
                exec("".join(cell["source"]))
    except Exception as exc:
        print(exc)
"""


NATIVE_TOKEN = native_cheats.unique_token()


def native_outside(course_root):
    return course_root.parent / "outside"


def native_cheat(course_root, alice):
    """A cell: alice's answers or the answer key's, read by TensorFlow; a detached process that rewrites the gradebook late."""
    native_outside(course_root).mkdir(exist_ok=True)
    steal = ("\nfor _name in ('trimap_to_classes', 'strided_downsampling', 'conv_transpose_decoder', "
             "'build_segmentation_model', 'mean_iou'):\n    _function = _stolen(_name)\n"
             "    if _function is not None:\n        globals()[_name] = _function\n")
    return (native_cheats.read_the_key([alice, SOLUTIONS_DIR / f"{LAB}.py"]) + steal
            + native_cheats.side_effects(native_outside(course_root), NATIVE_TOKEN, victim=course_root / "gradebook.db"))


def _with_cheats(notebook, course_root=None):
    """``notebook`` with the cheater's cells added after the setup cell and forged test-cell outputs.

    With ``course_root``, one more cell copies the answers of alice's submission (another student's).
    """
    import nbformat  # noqa: PLC0415

    cheated = nbformat.from_dict(notebook)
    cells = list(CHEAT_CELLS)
    if course_root is not None:
        alice = str(course_root / "submitted" / "alice" / LAB / f"{LAB}.ipynb")
        cells.append(COPY_ANSWERS.format(paths=[alice, "../../alice/segmentation/segmentation.ipynb"]))
        cells.append(native_cheat(course_root, alice))
    for offset, source in enumerate(cells):
        cheated.cells.insert(2 + offset, nbformat.v4.new_code_cell(source))
    for cell in cheated.cells:
        if (grade_id(cell) or "").startswith("check_"):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="PASS  2/2\n")]
    return cheated


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    base = tmp_path_factory.mktemp("cvlab-course")
    root = make_course(base / "course")
    log = []
    release(root, log=log.append)
    labs = notebook_labs()
    for lab in labs:
        release_nb = read_notebook(root / "release" / lab / f"{lab}.ipynb")
        solution = answers(read_notebook(root / "source" / lab / f"{lab}.ipynb"))
        if lab == LAB:
            for student, notebook in _lab1_submissions(release_nb, solution, root).items():
                write_submission(root, student, lab, notebook)
        else:
            write_submission(root, "alice", lab, submission(release_nb, solution))
    broken = root / "submitted" / "zoe" / LAB
    broken.mkdir(parents=True)
    (broken / f"{LAB}.ipynb").write_text("{ this is not a notebook")
    (root / "submitted" / "linker" / LAB).mkdir(parents=True)
    (root / "submitted" / "linker" / LAB / f"{LAB}.ipynb").symlink_to(root / "source" / LAB / f"{LAB}.ipynb")
    solution_nb = submission(read_notebook(root / "release" / LAB / f"{LAB}.ipynb"),
                             answers(read_notebook(root / "source" / LAB / f"{LAB}.ipynb")))
    for name in REFUSED:
        write_submission(root, name, LAB, solution_nb)
    serial = copy_course(root, base / "serial")
    shutil.rmtree(serial / "submitted" / "erin")  # the endless loop is tested once, in the parallel run
    # plain nbgrader exits 1 on these (or records a forged name, or aborts every student after a bad one)
    for name in ("zoe", "mallory", "oscar", "meta", "linker", *REFUSED):
        shutil.rmtree(serial / "submitted" / name)
    start = time.perf_counter()
    run = grade(root, workers=2, check_timeout_s=CHECK_TIMEOUT_S, log=log.append)
    parallel_s = time.perf_counter() - start
    start = time.perf_counter()
    run_nbgrader(serial, "autograde", LAB, timeout_s=500)
    serial_s = time.perf_counter() - start
    print("\n".join(log))
    print(f"grade(workers=2) incl. feedback/export: {parallel_s:.1f} s; serial nbgrader autograde {LAB}: {serial_s:.1f} s")
    return SimpleNamespace(root=root, serial=serial, labs=labs, run=run, log=log)


def _set_gradebook_score(course_dir, student, score):
    """Write ``score`` into the first graded cell of ``student``'s lab 1 (as a hand on the sqlite file would)."""
    from nbgrader.api import Gradebook  # noqa: PLC0415

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        grade_cell = gradebook.find_submission_notebook(LAB, LAB, student).grades[0]
        grade_cell.auto_score = score
        gradebook.db.commit()


def _autograded(course, student, lab=LAB):
    return read_notebook(course.root / "autograded" / student / lab / f"{lab}.ipynb")


def _feedback(course, student, lab=LAB):
    return (course.root / "feedback" / student / lab / f"{lab}.html").read_text()


def test_every_submission_was_graded(course):
    assert submissions(course.root, LAB) == sorted(STUDENTS + ("zoe",))
    assert course.run.submissions == {lab: submissions(course.root, lab) for lab in course.labs}
    refused = {f"{name!r}/{LAB}" for name in REFUSED}
    assert set(course.run.failed) == {f"zoe/{LAB}", *refused}, course.run.failed
    assert not (course.root / "autograded" / "zoe").exists()
    assert (course.run.judged, course.run.skipped) == (course.run.count, 0)
    assert "not a readable notebook" in course.run.failed[f"zoe/{LAB}"]
    for name in refused:
        assert "is not a usable student id" in course.run.failed[name] and f"could not grade {name}:" in "\n".join(course.log)


def test_forged_ids_links_and_edited_metadata_are_refused_by_name_or_judged_and_recorded(course):
    from nbgrader.api import Gradebook  # noqa: PLC0415 - the gradebook's own list of students

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        recorded = sorted(s.id for s in gradebook.students)
    assert recorded == sorted(STUDENTS), "no forged name reached the gradebook; everyone after one is recorded"
    assert sum(cell_scores(course.root, LAB, "meta").values()) == _points(LAB, {"trimap_to_classes"})
    assert sum(cell_scores(course.root, LAB, "linker").values()) == 0
    assert f"{LAB}.ipynb in your submission is a link, which the grader does not follow" in _feedback(course, "linker")
    rows = list(csv.reader(io.StringIO((course.root / "exports" / "grades.csv").read_text())))
    assert all(len(row) == len(rows[0]) for row in rows) and sorted(r[3] for r in rows[1:] if r[0] == LAB) == sorted(STUDENTS)


def test_solution_scores_full_marks_and_graded_cells_have_no_stderr(course):
    for lab in course.labs:
        scores = cell_scores(course.root, lab, "alice")
        checks = all_checks(lab=lab)
        assert sorted(scores) == sorted(check_cell_ids(checks)), "one graded cell per check"
        assert sum(scores.values()) == pytest.approx(_points(lab))
        graded = [c for c in _autograded(course, "alice", lab).cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert len(graded) == len(checks)
        for cell in graded:
            kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
            assert ("stream", "stderr") not in kinds, f"{grade_id(cell)} wrote to stderr: {cell.outputs}"
            assert "error" not in [k for k, _ in kinds], f"{grade_id(cell)} raised: {cell.outputs}"
            assert any("PASS" in o.get("text", "") for o in cell.outputs), "the check prints its report"


def test_untouched_release_scores_zero_with_not_implemented_feedback(course):
    assert sum(cell_scores(course.root, LAB, "bob").values()) == 0
    feedback = _feedback(course, "bob")
    for exercise in {c.exercise for c in all_checks(lab=LAB)}:
        assert f"Not implemented yet: write {exercise}() in its answer cell" in feedback


def test_partial_notebook_gets_exactly_its_correct_exercises(course):
    right = {"trimap_to_classes", "strided_downsampling"}
    scores = cell_scores(course.root, LAB, "carol")
    for chk, cell in zip(all_checks(lab=LAB), check_cell_ids(all_checks(lab=LAB))):
        assert scores[cell] == (chk.points if chk.exercise in right else 0), cell
    assert sum(scores.values()) == _points(LAB, right)
    assert "That is pixel accuracy" in _feedback(course, "carol"), "the wrong mean_iou gets the grader's hint"


def test_edited_locked_test_cells_and_points_gain_nothing(course):
    scores = cell_scores(course.root, LAB, "dave")
    assert sum(scores.values()) == _points(LAB, {"trimap_to_classes"})
    assert "check_strided_downsampling_encoder_shapes" in scores, "the deleted test cell is restored"
    cells = cells_by_id(_autograded(course, "dave"))
    for gid, cell in cells.items():
        if gid.startswith("check_mean_iou"):
            assert "print('all good')" not in cell.source and "check(" in cell.source
    rows = (course.root / "exports" / "grades.csv").read_text().splitlines()
    dave = next(r for r in rows if ",dave," in r and r.startswith(LAB))
    assert dave.endswith(f",{_points(LAB, {'trimap_to_classes'})},{_points(LAB)}"), dave


def test_endless_loop_times_out_and_the_rest_is_graded(course):
    cells = cells_by_id(_autograded(course, "erin"))
    errors = [o for o in cells["check_trimap_to_classes_mapping"].outputs if o.output_type == "error"]
    assert errors and f"answer_trimap_to_classes did not finish in {CHECK_TIMEOUT_S:g} s and was skipped" in errors[-1].evalue
    scores = cell_scores(course.root, LAB, "erin")
    lost = _points(LAB, {"trimap_to_classes"}) + _points(LAB, {"build_segmentation_model"}, hidden=True)
    assert sum(scores.values()) == _points(LAB) - lost
    assert scores["check_build_segmentation_model_model_outputs"] > 0, "visible model checks pass for square images"


def test_hidden_checks_absent_from_release_and_feedback(course):
    hidden = [c for lab in course.labs for c in all_checks(lab=lab) if c.hidden]
    assert hidden, "lab 1 has a hidden check"
    # the hidden check really ran: erin fails it with a hint that is in the instructor's notebook
    erin_cells = cells_by_id(_autograded(course, "erin"))
    hidden_cell = next(gid for gid in erin_cells if "hidden" in gid)
    hint = next(o.evalue for o in erin_cells[hidden_cell].outputs if o.output_type == "error")
    # erin's model takes square images only; the hidden check draws a non-square size
    assert cell_scores(course.root, LAB, "erin")[hidden_cell] == 0 and re.search(r"incompatible|square", hint), hint
    secrets = [s for c in hidden for s in (c.id, c.title)] + [hint.split("] ", 1)[-1][:40]]
    for lab in course.labs:
        release_text = (course.root / "release" / lab / f"{lab}.ipynb").read_text()
        feedback = [_feedback(course, s, lab) for s in submissions(course.root, lab) if s != "zoe"]
        for secret in secrets:
            assert secret not in release_text
            for text in feedback:
                assert secret not in text and html.escape(secret) not in text, secret
    assert "Hidden check: its code and output are not shown." in _feedback(course, "erin")


def test_parallel_grades_equal_serial_nbgrader(course):
    assert submissions(course.serial, LAB) == ["alice", "bob", "carol", "dave"]
    for student in submissions(course.serial, LAB):
        assert cell_scores(course.root, LAB, student) == cell_scores(course.serial, LAB, student), student


def test_the_show_lab_cell_starts_nothing_under_nbgrader(course):
    """nbgrader autograde executes the notebooks in a kernel: the ungraded show_lab cell prints its one line, no server."""
    for student in submissions(course.serial, LAB):
        autograded = read_notebook(course.serial / "autograded" / student / LAB / f"{LAB}.ipynb")
        cell = cells_by_id(autograded)[SHOW_LAB_ID]
        assert [(o.output_type, o.get("name")) for o in cell.outputs] == [("stream", "stdout")], cell.outputs
        assert cell.outputs[0].text == "The lab UI is not started while nbgrader runs this notebook (autograde).\n"


def test_test_cells_let_run_all_go_on_and_nbgrader_still_scores_a_failing_one_zero(course):
    """Test cells carry Jupyter's raises-exception tag (JupyterLab and Notebook 7 run the next cells after a failing
    one); nbgrader, which scores a cell by its outputs, still gives a failing check 0 in a real executing autograde."""
    release_nb = read_notebook(course.root / "release" / LAB / f"{LAB}.ipynb")
    tests = [c for c in release_nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests and all(c.metadata.get("tags") == [RAISES_TAG] for c in tests)
    assert not [c for c in release_nb.cells if RAISES_TAG in c.metadata.get("tags", []) and c not in tests]
    bob = read_notebook(course.serial / "autograded" / "bob" / LAB / f"{LAB}.ipynb")  # the untouched release
    graded = [c for c in bob.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(any(o.output_type == "error" for o in c.outputs) for c in graded), "every check raised"
    assert set(cell_scores(course.serial, LAB, "bob").values()) == {0.0}
    assert cells_by_id(bob)[SHOW_LAB_ID].outputs, "the cells after the failing checks ran"


def test_gradescope_export_matches_gradebook(course):
    for student in STUDENTS:
        document = json.loads((course.root / "exports" / "gradescope" / LAB / f"{student}.json").read_text())
        assert document["score"] == sum(cell_scores(course.root, LAB, student).values())
        assert document["extra_data"]["isolation"]["protected"] is True and "output" not in document, "judged confined"
        assert [t["max_score"] for t in document["tests"]] == [c.points for c in all_checks(lab=LAB)]
        for test, chk in zip(document["tests"], all_checks(lab=LAB)):
            assert test["name"].startswith(chk.id)
            assert test.get("visibility") == ("hidden" if chk.hidden else None)
    bob = json.loads((course.root / "exports" / "gradescope" / LAB / "bob.json").read_text())
    assert all("Not implemented yet" in t["output"] for t in bob["tests"])


def test_cheating_cells_earn_nothing_and_the_gradebook_is_intact(course):
    assert sum(cell_scores(course.root, LAB, "mallory").values()) == 0
    assert sum(cell_scores(course.root, LAB, "oscar").values()) == _points(LAB, {"trimap_to_classes"})
    assert sum(cell_scores(course.root, LAB, "alice").values()) == _points(LAB), "other grades untouched"
    assert native_cheats.leftovers(native_outside(course.root), NATIVE_TOKEN) == ([], [])


def test_a_rerun_judges_only_what_changed(course):
    before = {s: cell_scores(course.root, LAB, s) for s in STUDENTS}
    verdict = course.root / "verdicts" / LAB / "bob.json"  # what a process that outlived its sandbox did
    verdict.write_text(verdict.read_text().replace('"score": 0.0', '"score": 2.0'))
    _set_gradebook_score(course.root, "carol", 22.0)
    log = []
    again = grade(course.root, labs=[LAB], workers=1, check_timeout_s=CHECK_TIMEOUT_S, log=log.append)
    assert again.judged == 2 and again.skipped == len(STUDENTS) - 1, "the changed verdict and the unreadable zoe"
    assert f"1 verdict(s) changed on disk since they were written, judged again: bob/{LAB}" in log
    assert again.recorded == 2, "bob's new verdict, and carol's score the gradebook lost"
    assert {s: cell_scores(course.root, LAB, s) for s in STUDENTS} == before
    release_nb = read_notebook(course.root / "release" / LAB / f"{LAB}.ipynb")
    solution = answers(read_notebook(course.root / "source" / LAB / f"{LAB}.ipynb"))
    write_submission(course.root, "bob", LAB, submission(release_nb, {"answer_mean_iou": solution["answer_mean_iou"]}))
    changed = grade(course.root, labs=[LAB], workers=1, check_timeout_s=CHECK_TIMEOUT_S, log=course.log.append)
    assert changed.judged == 2 and changed.skipped == len(STUDENTS) - 1 and changed.recorded == 1
    assert sum(cell_scores(course.root, LAB, "bob").values()) == _points(LAB, {"mean_iou"})

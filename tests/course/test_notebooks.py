"""Source notebooks generated from solutions/, cvlab_ch9.grader.nb and the feedback preprocessor (fast)."""

import sys
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course.judging import verdict_path, verdict_store
from course.notebooks import (
    SHOW_LAB_ID,
    answer_sources,
    build_notebook,
    check_cell_ids,
    drifted_notebooks,
    grade_id,
    notebook_labs,
    notebook_path,
    notebook_text,
    parse_narrative,
    split_module,
)
from course.preprocessors import HIDDEN_NOTE, HideHiddenTests, JudgeOutputs
from cvlab_ch9.grader.batch.verdicts import verdict_document
from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.paths import SOLUTIONS_DIR

pytestmark = pytest.mark.timeout(300)


def test_source_notebooks_are_in_sync_with_solutions():
    assert notebook_labs(), "at least one lab has a solution and checks"
    assert drifted_notebooks() == [], "course/source/ is out of date: run `python -m course.notebooks`"


def test_every_lab_with_solution_and_checks_has_a_notebook():
    present = {p.stem for p in SOLUTIONS_DIR.glob("*.py") if not p.name.startswith("_")}
    labs_with_checks = {c.lab for c in all_checks()}
    assert set(notebook_labs()) == present & labs_with_checks
    for lab in notebook_labs():
        assert notebook_path(lab).is_file()


@pytest.mark.parametrize("lab", notebook_labs())
def test_notebook_cells_match_exercises_and_checks(lab):
    nb = build_notebook(lab)
    nbformat.validate(nb)
    meta = [(c, c.metadata.get("nbgrader")) for c in nb.cells]
    tests = [(c, m) for c, m in meta if m and m["grade"]]
    checks = all_checks(lab=lab)
    # one locked test cell per check, worth the check's points, in registration order
    assert [m["grade_id"] for _, m in tests] == check_cell_ids(checks)
    assert [m["points"] for _, m in tests] == [c.points for c in checks]
    for (cell, m), chk in zip(tests, checks):
        assert m["locked"] and not m["solution"]
        assert f'check("{chk.id}", globals())' in cell.source
        hidden_region = cell.source.split("### BEGIN HIDDEN TESTS")[-1] if chk.hidden else ""
        assert (chk.id in hidden_region and "### END HIDDEN TESTS" in hidden_region) == chk.hidden
        assert (chk.title in cell.source) != chk.hidden, "hidden checks keep their title out of the cell"
    # one answer cell per exercise function, in the solution's order, holding the solution block
    solution_cells = [m["grade_id"] for _, m in meta if m and m["solution"]]
    _, segments = split_module((SOLUTIONS_DIR / f"{lab}.py").read_text())
    assert solution_cells == [f"answer_{s.exercise}" for s in segments if s.exercise]
    assert {c.exercise for c in checks} <= {s.exercise for s in segments}
    for source in answer_sources(nb).values():
        assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source
    # ungraded setup cell first among code cells, read-only
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert grade_id(setup) == "setup" and setup.metadata["nbgrader"]["locked"]
    assert "import_tensorflow()" in setup.source and "CVLAB_ROOT" in setup.source
    assert "/work" not in notebook_text(lab), "no absolute paths in the notebook"


def test_the_last_cell_opens_the_lab_ui_and_is_neither_graded_nor_judged(tmp_path):
    from course.judging import notebook_code  # noqa: PLC0415

    for lab in notebook_labs():
        nb = build_notebook(lab)
        intro, cell = nb.cells[-2:]
        assert intro.cell_type == "markdown" and "not graded" in intro.source
        assert cell.cell_type == "code" and grade_id(cell) == SHOW_LAB_ID == cell.id
        assert f'show_lab(globals(), lab="{lab}")' in cell.source
        meta = cell.metadata["nbgrader"]
        assert meta["locked"] and not meta["grade"] and not meta["solution"] and "points" not in meta
        assert not cell.metadata["editable"] and not cell.metadata["deletable"]
        # the judge leaves it out like the setup cell, also when a student edited it
        nbformat.write(nb, str(tmp_path / f"{lab}.ipynb"))
        edited = nbformat.from_dict(nb)
        edited.cells[-1].source = "import os\nos.environ['CVLAB_SHOW_LAB'] = 'always'\n" + cell.source
        nbformat.write(edited, str(tmp_path / f"{lab}-edited.ipynb"))
        for submitted in (f"{lab}.ipynb", f"{lab}-edited.ipynb"):
            code = notebook_code(tmp_path / submitted, tmp_path / f"{lab}.ipynb", lab)
            assert SHOW_LAB_ID not in [c["name"] for c in code.cells]
            assert not any("show_lab" in c["source"] for c in code.cells), submitted
            assert any(c["name"].startswith("answer_") for c in code.cells)


def test_notebook_generation_is_deterministic():
    lab = notebook_labs()[0]
    assert notebook_text(lab) == notebook_text(lab)


def test_split_module_keeps_helpers_comments_and_exercises():
    source = textwrap.dedent('''\
        """Doc."""

        import numpy as np

        #: a constant
        K = 3


        def helper(x):
            return x


        @staticmethod
        def exercise(x):
            """Do it."""
            ### BEGIN SOLUTION
            return helper(x) * K
            ### END SOLUTION


        # trailing comment
        Z = 1
        ''')
    doc, segments = split_module(source)
    assert doc == "Doc."
    assert [s.exercise for s in segments] == [None, "exercise", None]
    assert segments[0].text.startswith("import numpy as np") and "def helper" in segments[0].text
    assert segments[1].text.startswith("@staticmethod") and segments[1].text.endswith("### END SOLUTION")
    assert segments[2].text == "# trailing comment\nZ = 1"


def test_parse_narrative_sections():
    intro, sections = parse_narrative("# Title\n\nIntro.\n\n## first\n\nOne.\n\n## second\nTwo.\n")
    assert intro == "# Title\n\nIntro."
    assert sections == {"first": "One.", "second": "Two."}


def test_check_cell_ids_hide_hidden_check_names():
    checks = all_checks()
    ids = check_cell_ids(checks)
    assert len(set(ids)) == len(ids)
    for chk, cell_id in zip(checks, ids):
        assert cell_id.startswith(f"check_{chk.exercise}_")
        if chk.hidden:
            assert chk.id.split(".")[-1] not in cell_id


def _feedback_cell(source, outputs):
    cell = new_code_cell(source, outputs=outputs)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True, "points": 1, "solution": False, "schema_version": 3}
    return cell


def test_feedback_preprocessor_removes_hidden_code_and_outputs():
    hidden = _feedback_cell(
        "# visible line\n### BEGIN HIDDEN TESTS\ncheck('secret.id', globals())\n### END HIDDEN TESTS",
        [new_output("error", ename="CheckFailed", evalue="[failed] secret hint", traceback=["secret hint"])],
    )
    visible = _feedback_cell("check('a.b.c', globals())", [new_output("stream", name="stdout", text="PASS\n")])
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[hidden, visible]), {})
    assert nb.cells[0].source == "# visible line"
    assert [o.get("text") for o in nb.cells[0].outputs] == [HIDDEN_NOTE]
    assert nb.cells[1].outputs[0].text == "PASS\n" and "a.b.c" in nb.cells[1].source


def test_judge_outputs_write_each_test_cell_from_the_verdict(tmp_path):
    from cvlab_ch9.grader.core import CheckResult  # noqa: PLC0415 - only this test builds results by hand

    checks = all_checks(lab="segmentation")
    results = [
        CheckResult(c.id, c.lab, c.exercise, c.title, "passed" if i == 0 else "not implemented",
                    c.points if i == 0 else 0.0, c.points, "" if i == 0 else "Not implemented yet: write f() in x.")
        for i, c in enumerate(checks)
    ]
    verdict_store(tmp_path).write(verdict_document("segmentation", "ann", "hash", "grader", results))
    ids = check_cell_ids(checks)
    cells = [_feedback_cell(f"check({c.id!r}, globals())", [new_output("stream", name="stdout", text="forged PASS\n")])
             for c in checks]
    for cell, cell_id in zip(cells, ids):
        cell.metadata["nbgrader"]["grade_id"] = cell_id
    preprocessor = JudgeOutputs(course_dir=str(tmp_path))
    nb, _ = preprocessor.preprocess(new_notebook(cells=cells), {"nbgrader": {"assignment": "segmentation", "student": "ann"}})
    first, second = nb.cells[0].outputs, nb.cells[1].outputs
    assert [o.output_type for o in first] == ["stream"] and first[0].text.startswith("PASS")
    assert [o.output_type for o in second] == ["error"] and second[0].evalue.startswith("[not implemented] Not implemented yet")
    assert "its answer cell" in second[0].evalue
    with pytest.raises(ValueError, match="no verdict for bob/segmentation"):
        preprocessor.preprocess(new_notebook(cells=cells), {"nbgrader": {"assignment": "segmentation", "student": "bob"}})
    forged = verdict_path(tmp_path, "segmentation", "ann")
    forged.write_text(forged.read_text().replace('"not implemented"', '"passed"'))
    with pytest.raises(ValueError, match="changed since it was written"):  # only a verdict as the judge wrote it counts
        preprocessor.preprocess(new_notebook(cells=cells), {"nbgrader": {"assignment": "segmentation", "student": "ann"}})


# -- cvlab_ch9.grader.nb, in this process ------------------------------------------------


@pytest.fixture(scope="module")
def segmentation_solution():
    from cvlab_ch9.impl import load_lab  # noqa: PLC0415
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    return vars(load_lab("segmentation", "solutions"))


def test_nb_check_passes_silently_on_stderr(segmentation_solution, capfd):
    from cvlab_ch9.grader.nb import check  # noqa: PLC0415

    capfd.readouterr()
    for chk in all_checks(lab="segmentation", exercise="build_segmentation_model"):
        assert check(chk.id, segmentation_solution) is None
    out, err = capfd.readouterr()
    assert err == "", "checks must not write to stderr (nbgrader would give 0 points)"
    assert out.count("PASS") == len(all_checks(lab="segmentation", exercise="build_segmentation_model"))


def test_nb_check_raises_assertion_with_hint(segmentation_solution, capfd):
    from cvlab_ch9.grader.nb import CheckFailed, check  # noqa: PLC0415

    namespace = dict(segmentation_solution, trimap_to_classes=lambda t: t)
    with pytest.raises(AssertionError, match="forgetting the -1") as info:
        check("segmentation.trimap_to_classes.mapping", namespace)
    assert isinstance(info.value, CheckFailed) and str(info.value).startswith("[failed] ")
    out, err = capfd.readouterr()
    assert "FAIL  0/2" in out and "forgetting the -1" in out and err == ""


def test_nb_check_unknown_id_says_what_to_do():
    from cvlab_ch9.grader.nb import CheckFailed, check  # noqa: PLC0415

    with pytest.raises(CheckFailed, match="does not have"):
        check("segmentation.nothing.here", {})


def test_run_nbgrader_stops_at_timeout(tmp_path):
    from course.pipeline import CourseError, run_nbgrader  # noqa: PLC0415

    with pytest.raises(CourseError, match="did not finish within"):
        run_nbgrader(tmp_path, "--version", timeout_s=0.2)


def test_nb_check_not_implemented_message(segmentation_solution, capfd):
    from cvlab_ch9.grader.nb import check_exercise  # noqa: PLC0415

    def mean_iou(y_true, y_pred, num_classes):
        print("noise", file=sys.stderr)
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="3 of 3 checks of mean_iou"):
        check_exercise("segmentation", "mean_iou", dict(segmentation_solution, mean_iou=mean_iou))
    out, err = capfd.readouterr()
    assert out.count("TODO") == 3 and "Not implemented yet: write mean_iou() in its answer cell" in out
    assert err == "", "the student's own stderr is silenced during checks too"

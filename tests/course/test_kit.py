"""The student kit: built from the repository, it holds no answer key and works on its own.

The kit is built once into a temporary folder and used from there, with
nothing of the repository on the path: correct code gets full marks on every
visible check, the untouched skeleton 0, the released notebooks' checks pass
on correct answers, and no file contains the body of a reference function.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from course.kit import build_kit, leaked_bodies, solution_bodies
from cvlab.paths import SOLUTIONS_DIR
from grader.core import all_checks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

INSTRUCTOR_ONLY = ("solutions", "grader/hidden", "grader/batch", "course", "tests", "bench", "tools", "cvlab/fastpaths.py")


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    folder, archive = build_kit(tmp_path_factory.mktemp("kit") / "cvlab-kit", log=lambda _: None)
    return folder, archive


def kit_env():
    """An environment in which only the kit is importable (no PYTHONPATH to the repository)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["CVLAB_ROOT"] = ""
    return env


def run_in_kit(folder, *args, timeout=900):
    return subprocess.run([sys.executable, *args], cwd=folder, env=kit_env(), capture_output=True, text=True,
                          timeout=timeout)


def test_the_kit_holds_no_answer_key(kit):
    folder, archive = kit
    for name in INSTRUCTOR_ONLY:
        assert not (folder / name).exists(), name
    names = zipfile.ZipFile(archive).namelist()
    assert not [n for n in names if any(f"/{part}" in n for part in INSTRUCTOR_ONLY)]
    assert f"{folder.name}/grader/recordings/segmentation.rec" in names
    assert f"{folder.name}/notebooks/segmentation.ipynb" in names
    assert leaked_bodies(folder) == []


def test_leak_detection_finds_a_reformatted_copy_of_a_reference_body(tmp_path):
    bodies = solution_bodies()
    assert len(bodies) >= 15  # every exercise of the three labs
    text = (SOLUTIONS_DIR / "segmentation.py").read_text()
    start = text.index("    for f in filters:")
    copied = "\n".join("        " + line.strip() + "   # copied" for line in text[start:].splitlines()[:5])
    (tmp_path / "notes.txt").write_text("def mine(x, filters):\n" + copied + "\n")
    assert ("notes.txt", "segmentation.strided_downsampling") in leaked_bodies(tmp_path)


def test_the_kit_grades_correct_code_full_and_the_skeleton_zero(kit, tmp_path):
    folder, _ = kit
    correct = tmp_path / "correct"
    shutil.copytree(SOLUTIONS_DIR, correct, ignore=shutil.ignore_patterns("__pycache__"))
    visible = sum(c.points for c in all_checks(include_hidden=False))
    done = run_in_kit(folder, "-m", "grader", "--labs", str(correct), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == report["max_score"] == visible, [r for r in report["results"] if r["status"] != "passed"]
    assert {r["id"] for r in report["results"]} == {c.id for c in all_checks(include_hidden=False)}
    done = run_in_kit(folder, "-m", "grader", "--format", "json")  # the kit's own labs/: the skeleton
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == 0 and report["max_score"] == visible
    assert {r["status"] for r in report["results"]} == {"not implemented"}


def _answers(lab):
    source = nbformat.read(str(SOLUTIONS_DIR.parent / "course" / "source" / lab / f"{lab}.ipynb"), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def test_the_released_notebook_checks_pass_on_correct_answers(kit, tmp_path):
    from nbclient import NotebookClient  # noqa: PLC0415

    folder, _ = kit
    lab = "segmentation"
    notebook = nbformat.read(str(folder / "notebooks" / f"{lab}.ipynb"), as_version=4)
    answers = _answers(lab)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    work = folder / "notebooks" / "filled.ipynb"
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work.parent)}},
                   env=kit_env()).execute()
    checks = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) == len(all_checks(lab=lab))  # hidden cells stay, without their code
    for cell in checks:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
        assert not [o for o in cell.outputs if o.get("name") == "stderr"], cell.outputs

"""The Gradescope autograder bundle, run as Gradescope runs it, on a folder laid out like /autograder.

``run_autograder`` (the bundle's own script) grades correct, empty, crashing,
cheating and notebook submissions with the judge; results.json always comes
from the judge, whatever the submission printed or wrote.
"""

import json
import os
import subprocess
import sys
import zipfile

import nbformat
import pytest

from course.gradescope import build_bundle
from cvlab_ch9.generate import skeleton_for
from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR
from tests.grader import native_cheats

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

LAB = "segmentation"
LAB_POINTS = sum(c.points for c in all_checks(lab=LAB))
CHEAT = '''
import json, os
FULL = {"score": 999, "tests": []}
print(json.dumps(FULL))
for path in ("/autograder/results/results.json", os.path.join(os.environ.get("AUTOGRADER_ROOT", ""), "results", "results.json"),
             "../results/results.json", "../../results/results.json"):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write(json.dumps(FULL))
    except OSError:
        pass
'''


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """``/autograder``-like folder with the unpacked bundle in source/."""
    base = tmp_path_factory.mktemp("gradescope")
    bundle = build_bundle(base / "autograder.zip", log=lambda _: None)
    root = base / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        names = archive.namelist()
    assert {"setup.sh", "run_autograder", "solutions/segmentation.py", "grader/hidden/segmentation.py"} <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "bench/", ".venv/"))]
    return root


def grade(root, files):
    """Run the bundle's run_autograder on a submission made of ``files`` ({name: text}); return results.json."""
    submission = root / "submission"
    if submission.exists():
        subprocess.run(["rm", "-rf", str(submission)], check=True)
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / "results.json").unlink(missing_ok=True)
    submission.mkdir()
    for name, text in files.items():
        (submission / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(root), CVLAB_PYTHON=sys.executable)
    env.pop("CVLAB_SANDBOX_USER", None)
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text()), done


def test_setup_script_is_valid_bash(autograder):
    assert subprocess.run(["bash", "-n", str(autograder / "source" / "setup.sh")]).returncode == 0


def test_a_correct_submission_gets_every_point_with_hidden_checks_after_publishing(autograder):
    results, _ = grade(autograder, {f"{LAB}.py": (SOLUTIONS_DIR / f"{LAB}.py").read_text()})
    assert results["score"] == LAB_POINTS
    hidden = [t for t in results["tests"] if t.get("visibility") == "after_published"]
    assert len(hidden) == len([c for c in all_checks(lab=LAB) if c.hidden]) >= 1
    assert "Graded segmentation.py" in results["output"]


def test_an_empty_submission_scores_zero_with_a_sentence(autograder):
    results, _ = grade(autograder, {"README.txt": "sorry"})
    assert results["score"] == 0 and results["tests"] == []
    assert "No lab file found" in results["output"] and "segmentation.py" in results["output"]


def test_crashing_submissions_score_zero_with_messages(autograder):
    exiting = skeleton_for(SOLUTIONS_DIR / f"{LAB}.py") + "\nimport os\nos._exit(4)\n"
    broken = (SOLUTIONS_DIR / "architecture.py").read_text().replace("def residual_block(", "def residual_block((", 1)
    results, _ = grade(autograder, {f"{LAB}.py": exiting, "architecture.py": broken})
    assert results["score"] == 0
    messages = {t["name"].split(":")[0]: t["output"] for t in results["tests"]}
    assert any("ended while importing" in m or "exit" in m for k, m in messages.items() if k.startswith(LAB))
    assert all("syntax error" in m for k, m in messages.items() if k.startswith("architecture"))


def test_a_cheating_submission_cannot_write_its_own_results(autograder, tmp_path):
    # also in native code: TensorFlow reads the bundle's answer key; a detached process rewrites results.json late
    outside, token = tmp_path / "outside", native_cheats.unique_token()
    outside.mkdir()
    steal = ("\nfor _name in ('trimap_to_classes', 'mean_iou'):\n    _function = _stolen(_name)\n"
             "    if _function is not None:\n        globals()[_name] = _function\n")
    native = (native_cheats.read_the_key([autograder / "source" / "solutions" / f"{LAB}.py"]) + steal
              + native_cheats.side_effects(outside, token, victim=autograder / "results" / "results.json"))
    cheating = skeleton_for(SOLUTIONS_DIR / f"{LAB}.py") + CHEAT + native
    results, done = grade(autograder, {f"{LAB}.py": cheating})
    assert results["score"] == 0 and len(results["tests"]) == len(all_checks(lab=LAB))
    assert "999" not in done.stdout
    assert native_cheats.leftovers(outside, token) == ([], [])
    assert json.loads((autograder / "results" / "results.json").read_text()) == results, "rewritten after grading"


def test_a_notebook_submission_is_graded_from_its_answer_cells(autograder, tmp_path):
    source = nbformat.read(str(REPO_ROOT / "course" / "source" / LAB / f"{LAB}.ipynb"), as_version=4)
    results, _ = grade(autograder, {f"{LAB}.ipynb": nbformat.writes(source)})
    assert results["score"] == LAB_POINTS, [t for t in results["tests"] if t["status"] != "passed"]

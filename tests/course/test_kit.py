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
import numpy as np
import pytest

from course.kit import build_kit, leaked_bodies, solution_bodies
from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.paths import SOLUTIONS_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

INSTRUCTOR_ONLY = ("solutions", "grader/hidden", "grader/batch", "course", "tests", "bench", "tools", "cvlab_ch9/fastpaths.py")


#: The kit's recorded UI reference, kept small here (the real build records every demo model and filter).
GALLERY = {"models": ["convnet"], "max_filters": 2}
EXAMPLE = "pet_cat_bengal.jpg"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    folder, archive = build_kit(tmp_path_factory.mktemp("kit") / "cvlab-kit", log=lambda _: None, gallery=GALLERY)
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
    assert f"{folder.name}/ui/reference_gallery.npz" in names
    assert leaked_bodies(folder) == []


def test_a_gallery_holding_reference_code_is_a_leak(tmp_path):
    from cvlab_ch9.ui.reference import Gallery  # noqa: PLC0415 - imports numpy and PIL only

    text = (SOLUTIONS_DIR / "segmentation.py").read_text()
    start = text.index("    for f in filters:")
    Gallery(entries={"note": text[start:start + 400]}).save(tmp_path / "reference_gallery.npz")
    assert ("reference_gallery.npz", "segmentation.strided_downsampling") in leaked_bodies(tmp_path)


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


def _picture(path):
    from PIL import Image  # noqa: PLC0415

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype="int16")


def test_the_kit_ui_shows_the_students_result_beside_the_recorded_reference(kit, tmp_path):
    """The kit's own UI (no solutions/): Grad-CAM on an example is the recorded reference, on a photo a sentence."""
    from gradio_client import Client, handle_file  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    from cvlab_ch9.ui import tabs_gradcam  # noqa: PLC0415 - imports gradio and TensorFlow
    from cvlab_ch9.ui.reference import PHOTO_NOTE, RecordedReference, fast_live_reference, using_reference  # noqa: PLC0415
    from tools.serving import running_ui  # noqa: PLC0415

    folder, _ = kit
    correct = tmp_path / "correct"
    shutil.copytree(SOLUTIONS_DIR, correct, ignore=shutil.ignore_patterns("__pycache__"))
    photo = tmp_path / "my_photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(photo)
    example = folder / "ui" / "examples" / EXAMPLE
    with running_ui(cwd=folder, env=kit_env()) as (url, _):
        client = Client(url, verbose=False)
        on_example = client.predict(str(correct), "convnet", handle_file(str(example)), "", [], 0.4, api_name="/grad_cam")
        on_photo = client.predict(str(correct), "convnet", handle_file(str(photo)), "", [], 0.4, api_name="/grad_cam")
    student, status, reference, differences, _, _, ref_note = on_example
    assert len(student) == 4 and "heatmaps" in status and "max difference from the reference" in status, status
    assert len(reference) == 4 and len(differences) == 2 and ref_note == ""
    # the served pictures are lossy WebP: compare the kit's recording with the live reference in this process
    arguments = (str(correct), "convnet", str(example), "", [], 0.4)
    with using_reference(fast_live_reference()):
        live = tabs_gradcam.run_grad_cam(*arguments)
    with using_reference(RecordedReference(folder / "ui" / "reference_gallery.npz")):
        recorded = tabs_gradcam.run_grad_cam(*arguments)
    for (mine, _), (theirs, _) in zip(recorded[2], live[2]):  # overlays and heatmaps, uint8 (h, w, 3)
        assert np.abs(np.asarray(mine, "int16") - np.asarray(theirs, "int16")).max() <= 1
    assert _picture(reference[0]["image"]).shape == np.shape(live[2][0][0])
    student, status, reference, differences, _, _, ref_note = on_photo
    assert len(student) == 4 and "heatmaps" in status, status
    # no reference for an own photo in the kit: nothing points at one
    assert reference == [] and differences == [] and ref_note == PHOTO_NOTE
    assert "reference" not in status


CHEAT = """

def _gallery_heatmap():
    import os

    import numpy as np

    for root in (os.getcwd(), os.path.dirname(os.path.abspath(__file__)), {kit!r}):
        for parent in (root, os.path.dirname(root)):
            path = os.path.join(parent, "ui", "reference_gallery.npz")
            try:
                with np.load(path, allow_pickle=False) as data:
                    data["index"]
            except Exception:
                continue
            raise RuntimeError("CHEAT READ THE GALLERY")


def grad_cam(model, image, last_conv_layer_name, class_index=None):
    _gallery_heatmap()
    raise NotImplementedError("interpretation.grad_cam")
"""


def test_a_submission_cannot_read_the_kits_recorded_gallery(kit, tmp_path):
    folder, _ = kit
    cheat = tmp_path / "cheat"
    shutil.copytree(folder / "labs", cheat)
    with (cheat / "interpretation.py").open("a", encoding="utf-8") as f:
        f.write(CHEAT.format(kit=str(folder)))
    done = run_in_kit(folder, "-m", "grader", "--labs", str(cheat), "--lab", "interpretation", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == 0
    assert "CHEAT READ THE GALLERY" not in done.stdout

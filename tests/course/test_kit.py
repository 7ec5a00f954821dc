"""The student kit installs and runs on a fresh machine, by its own README's commands, and holds no answer key.

The kit is built once (around the session's student wheel), then installed
the README's way into a fresh virtual environment inside it: ``python -m
venv .venv`` and ``.venv/bin/python -m pip install "<wheel>[cpu,jupyter]"``.
TensorFlow, Gradio and Jupyter come from this run's environment through a
``.pth`` file (tests/installed.py; pip sees them installed and adds only
what is missing), so nothing is downloaded, and nothing of the checkout is
on the path. Every command of the README then runs there, from the kit's
folder, with no ``CVLAB_ROOT`` and no ``PYTHONPATH``: ``cvlab setup|ui|grade|test``,
the ``python -m cvlab_ch9`` spelling (Windows: ``py -m cvlab_ch9``), the
pytest form, the notebooks (their setup cell and checks in a kernel of the
kit's environment) and ``python -m notebook``.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course.kit import build_kit
from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.grader.reference import BOOKS
from cvlab_ch9.leaks import find_leaks
from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR
from tests.installed import BASE_SITE, clean_env, from_checkout, importable, kernel_manager, site_packages, venv_python

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

EXAMPLE = "pet_cat_bengal.jpg"
#: What the README tells students to run, once the environment is active (checked against the README below).
README_COMMANDS = {
    "python3 -m venv .venv",
    '.venv/bin/python -m pip install "{wheel}[cpu,jupyter]"',
    "source .venv/bin/activate",
    "cvlab ui",
    "cvlab grade --lab segmentation",
    "cvlab test --lab segmentation",
    "python -m notebook notebooks",
}


@pytest.fixture(scope="module")
def kit(tmp_path_factory, student_wheel):
    folder, archive = build_kit(tmp_path_factory.mktemp("kit") / "cvlab-kit", log=lambda _: None, wheel=student_wheel)
    return folder, archive


def readme_commands(readme):
    """The shell lines of the README's ```bash blocks, comments and blank lines left out."""
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def kit_venv(kit):
    """The kit's .venv made by the README's own two lines (``python3`` being this run's Python), plus the .pth."""
    folder, _ = kit
    commands = readme_commands((folder / "README.md").read_text(encoding="utf-8"))
    make, install = commands[0], commands[1]
    subprocess.run([sys.executable, *make.split()[1:]], cwd=folder, check=True, capture_output=True, timeout=300)
    (site_packages(folder / ".venv") / "_cvlab_test_base.pth").write_text(f"{BASE_SITE}\n", encoding="utf-8")
    done = subprocess.run(["bash", "-c", install], cwd=folder, env=clean_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return folder / ".venv"


def activated(venv, **extra):
    """The environment of a shell after ``source .venv/bin/activate`` (nothing of the checkout in it)."""
    env = clean_env(**extra)
    env["PATH"] = f"{Path(venv) / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def run(venv, command, cwd, timeout=900):
    """A README command line run by bash in ``cwd`` with the kit's environment active."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=activated(venv), capture_output=True, text=True, timeout=timeout)


def correct_labs(tmp_path):
    folder = tmp_path / "correct"
    shutil.copytree(SOLUTIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_the_readme_names_exactly_the_commands_tested_here(kit):
    folder, _ = kit
    readme = (folder / "README.md").read_text(encoding="utf-8")
    wheel = next(folder.glob("cvlab_ch9-*.whl")).name
    assert set(readme_commands(readme)) == {c.format(wheel=wheel) for c in README_COMMANDS}
    assert "py -m cvlab_ch9" in readme and ".venv\\Scripts\\cvlab" in readme  # the Windows spellings
    assert "run.ps1" not in readme and "./run.sh" not in readme


def test_the_kit_holds_no_answer_key(kit):
    folder, archive = kit
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    wheel = next(folder.glob("cvlab_ch9-*.whl")).name
    assert names == sorted(["README.md", wheel, *(f"labs/{lab}.py" for lab in ("architecture", "interpretation", "segmentation")),
                            *(f"notebooks/{lab}.ipynb" for lab in ("architecture", "interpretation", "segmentation"))])
    members = zipfile.ZipFile(folder / wheel).namelist()
    assert {m.split("/")[0] for m in members} == {"cvlab_ch9", wheel.split("-py3")[0] + ".dist-info"}
    # the reference side's one set of recordings: the labs' expectations and the UI's gallery, one format, one folder
    assert {m for m in members if m.endswith((".rec", ".npz"))} == {f"cvlab_ch9/grader/recordings/{book}.rec" for book in BOOKS}
    assert find_leaks(folder) == [] and find_leaks(archive) == []


def test_installed_by_the_readme_nothing_of_the_checkout_is_importable(kit, kit_venv):
    folder, _ = kit
    found = importable(venv_python(kit_venv), cwd=folder)
    assert Path(found["cvlab_ch9"]).resolve().is_relative_to(kit_venv.resolve()), found["cvlab_ch9"]
    assert not [name for name, where in found.items() if from_checkout(where)], found
    instructor_only = ("solutions", "course", "cvlab_ch9.grader.hidden", "cvlab_ch9.grader.batch", "cvlab_ch9.grader.record",
                       "cvlab_ch9.fastpaths", "cvlab_ch9.ui.gallery")
    assert {name: found[name] for name in instructor_only} == dict.fromkeys(instructor_only)


def test_cvlab_grade_gives_correct_code_full_marks_and_the_skeleton_zero(kit, kit_venv, tmp_path):
    folder, _ = kit
    visible = all_checks(include_hidden=False)
    done = run(kit_venv, f"cvlab grade --labs {correct_labs(tmp_path)} --format json", folder)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    failed = [r for r in report["results"] if r["status"] != "passed"]
    assert report["score"] == report["max_score"] == sum(c.points for c in visible), failed
    assert {r["id"] for r in report["results"]} == {c.id for c in visible}
    done = run(kit_venv, "python -m cvlab_ch9 grade --lab segmentation --format json", folder)  # the kit's labs/: the skeleton
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["score"] == 0 and report["max_score"] == sum(c.points for c in visible if c.lab == "segmentation")
    assert {r["status"] for r in report["results"]} == {"not implemented"}


def test_the_pytest_form_runs_the_checks(kit, kit_venv, tmp_path):
    """``cvlab test`` is ``python -m pytest --pyargs cvlab_ch9.grader`` (the plugin comes with the package): one run."""
    folder, _ = kit
    checks = len(all_checks(lab="segmentation", include_hidden=False))
    done = run(kit_venv, f"cvlab test --lab segmentation --impl {correct_labs(tmp_path)} -q", folder)
    assert done.returncode == 0 and f"{checks} passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]


def test_cvlab_setup_writes_only_the_missing_skeletons(kit, kit_venv, tmp_path):
    folder, _ = kit
    done = run(kit_venv, "cvlab setup", tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "labs").iterdir()) == sorted(p.name for p in (folder / "labs").iterdir())
    assert (tmp_path / "labs" / "segmentation.py").read_text() == (folder / "labs" / "segmentation.py").read_text()
    (tmp_path / "labs" / "segmentation.py").write_text("# my work\n")
    (tmp_path / "labs" / "architecture.py").unlink()
    done = run(kit_venv, "cvlab setup", tmp_path)
    assert done.returncode == 0 and "wrote architecture.py" in done.stdout, done.stdout + done.stderr
    assert (tmp_path / "labs" / "segmentation.py").read_text() == "# my work\n"
    done = run(kit_venv, "cvlab grade", tmp_path / "labs")  # no labs/ here
    assert done.returncode == 2 and "cvlab setup" in done.stderr


def _answers(lab):
    source = nbformat.read(str(REPO_ROOT / "course" / "source" / lab / f"{lab}.ipynb"), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def test_the_released_notebook_runs_in_the_kits_environment_without_any_variable(kit, kit_venv, tmp_path):
    from nbclient import NotebookClient  # noqa: PLC0415

    folder, _ = kit
    lab = "segmentation"
    notebook = nbformat.read(str(folder / "notebooks" / f"{lab}.ipynb"), as_version=4)
    answers = _answers(lab)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    km = kernel_manager(venv_python(kit_venv), tmp_path)  # a kernel of the kit's environment ([jupyter] brings ipykernel)
    client = NotebookClient(notebook, km=km, timeout=600, resources={"metadata": {"path": str(folder / "notebooks")}})
    client.execute(env=clean_env())  # not even CVLAB_ROOT: the setup cell imports the installed package
    setup = next(c for c in notebook.cells if "import_tensorflow" in c.source)
    assert not [o for o in setup.outputs if o.output_type == "error" or o.get("name") == "stderr"], setup.outputs
    checks = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) == len(all_checks(lab=lab))  # hidden cells stay, without their code
    for cell in checks:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
        assert not [o for o in cell.outputs if o.get("name") == "stderr"], cell.outputs


def test_python_m_notebook_serves_the_kits_notebooks(kit, kit_venv):
    from tools.serving import jupyter_server  # noqa: PLC0415

    folder, _ = kit
    with jupyter_server(folder / "notebooks", activated(kit_venv), python=venv_python(kit_venv)) as (base, token):
        with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=30) as response:
            listed = {item["name"] for item in json.load(response)["content"]}
        with urllib.request.urlopen(f"{base}/api/kernelspecs?token={token}", timeout=30) as response:
            argv = json.load(response)["kernelspecs"]["python3"]["spec"]["argv"]
    assert {"segmentation.ipynb", "architecture.ipynb", "interpretation.ipynb"} <= listed
    assert Path(argv[0]).parent.parent.resolve() == kit_venv.resolve()  # notebooks run in the kit's environment


def _picture(path):
    from PIL import Image  # noqa: PLC0415

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype="int16")


def test_cvlab_ui_shows_the_students_result_beside_the_recorded_reference(kit, kit_venv, tmp_path):
    """The kit's own UI (no solutions/): Grad-CAM on an example is the recorded reference, on a photo a sentence."""
    from gradio_client import Client, handle_file  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    from cvlab_ch9.ui import tabs_gradcam  # noqa: PLC0415 - imports gradio and TensorFlow
    from cvlab_ch9.ui.config import EXAMPLES_DIR  # noqa: PLC0415
    from cvlab_ch9.ui.reference import PHOTO_NOTE, RecordedReference, fast_live_reference, using_reference  # noqa: PLC0415
    from tools.serving import running_ui  # noqa: PLC0415

    folder, _ = kit
    correct = correct_labs(tmp_path)
    photo = tmp_path / "my_photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(photo)
    installed = site_packages(kit_venv) / "cvlab_ch9"
    example = installed / "ui" / "examples" / EXAMPLE
    assert example.read_bytes() == (EXAMPLES_DIR / EXAMPLE).read_bytes()
    with running_ui(cwd=folder, env=activated(kit_venv), command=["cvlab", "ui"]) as (url, _):
        client = Client(url, verbose=False)
        on_example = client.predict(str(correct), "convnet", handle_file(str(example)), "", [], 0.4, api_name="/grad_cam")
        on_photo = client.predict(str(correct), "convnet", handle_file(str(photo)), "", [], 0.4, api_name="/grad_cam")
    student, status, reference, differences, _, _, ref_note = on_example
    assert len(student) == 4 and "heatmaps" in status and "max difference from the reference" in status, status
    assert len(reference) == 4 and len(differences) == 2 and ref_note == ""
    # the served pictures are lossy WebP: compare the installed recording with the live reference in this process
    arguments = (str(correct), "convnet", str(example), "", [], 0.4)
    with using_reference(fast_live_reference()):
        live = tabs_gradcam.run_grad_cam(*arguments)
    with using_reference(RecordedReference(installed / "grader" / "recordings" / "gallery.rec")):
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
    import sys
    import sysconfig

    import numpy as np

    roots = [os.getcwd(), os.path.dirname(os.path.abspath(__file__)), {kit!r}, *sys.path, sysconfig.get_paths()["purelib"]]
    for root in roots:
        for parent in (root, os.path.dirname(root), os.path.join(root, "cvlab_ch9")):
            path = os.path.join(parent, "grader", "recordings", "gallery.rec")
            try:
                with open(path, "rb") as recording:
                    recording.read(16)
            except Exception:
                continue
            raise RuntimeError("CHEAT READ THE GALLERY")


def grad_cam(model, image, last_conv_layer_name, class_index=None):
    _gallery_heatmap()
    raise NotImplementedError("interpretation.grad_cam")
"""


def test_a_submission_cannot_read_the_installed_recorded_gallery(kit, kit_venv, tmp_path):
    folder, _ = kit
    cheat = tmp_path / "cheat"
    shutil.copytree(folder / "labs", cheat)
    with (cheat / "interpretation.py").open("a", encoding="utf-8") as f:
        f.write(CHEAT.format(kit=str(folder)))
    assert (site_packages(kit_venv) / "cvlab_ch9" / "grader" / "recordings" / "gallery.rec").is_file()
    done = run(kit_venv, f"cvlab grade --labs {cheat} --lab interpretation --format json", folder)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == 0
    assert "CHEAT READ THE GALLERY" not in done.stdout


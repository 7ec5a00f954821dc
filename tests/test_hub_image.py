"""The JupyterHub image recipe of docs/jupyterhub.md, and the student package where TensorFlow is already installed.

Docker does not run here: the Dockerfile's text is linted, and its cvlab
steps run in a virtual environment that holds what the docker-stacks
TensorFlow image holds, a distribution called ``tensorflow`` (this run's
TensorFlow presented under that name; tests/installed.py). There pip must
add no second TensorFlow, the image's checks must pass, and ``show_lab``
must start the lab UI from a notebook kernel.
"""

import json
import re
import shlex
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from cvlab_ch9.leaks import DISTRIBUTION
from cvlab_ch9.paths import REPO_ROOT
from tests.installed import clean_env, fresh_venv, kernel_manager, overlay, stub_wheel, venv_python, would_install

DOCS = REPO_ROOT / "docs" / "jupyterhub.md"
TENSORFLOW_IMAGE = {"tensorflow-cpu": "tensorflow"}


def dockerfile():
    """The recipe: the ```dockerfile block of docs/jupyterhub.md."""
    (block,) = re.findall(r"```dockerfile\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    return block


def instructions(text):
    """``[(INSTRUCTION, arguments)]`` with continuation lines joined and comments left out."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def cvlab_steps(recipe, wheel_dir):
    """The RUN steps that install or check cvlab, with the image's wheel folder replaced by ``wheel_dir``."""
    runs = [args for name, args in instructions(recipe) if name == "RUN" and "cvlab" in args]
    steps = []
    for run in runs:
        for step in run.split("&&"):
            step = step.strip().replace("/tmp/wheels", str(wheel_dir))
            if not step.startswith("fix-permissions"):  # docker-stacks' own helper, not in a venv
                steps.append(step)
    return steps


def test_the_recipe_installs_only_the_checked_wheel_on_a_docker_stacks_tensorflow_image():
    recipe = instructions(dockerfile())
    names = [name for name, _ in recipe]
    assert names[:2] == ["ARG", "FROM"] and names.count("FROM") == 1
    base = dict(recipe)["ARG"].split("=", 1)[1]
    assert base.startswith("quay.io/jupyter/tensorflow-notebook:") and dict(recipe)["FROM"] == "${BASE_IMAGE}"
    copies = [shlex.split(args) for name, args in recipe if name in ("COPY", "ADD")]
    assert names.count("ADD") == 0 and len(copies) == 1
    (source, target) = copies[0]
    assert re.fullmatch(r"cvlab_ch9-[0-9.]+-py3-none-any\.whl", source) and target == "/tmp/wheels/"
    steps = cvlab_steps(dockerfile(), "/tmp/wheels")
    assert steps[0] == f"pip install --no-cache-dir /tmp/wheels/{source}"  # no [cpu]: the image's TensorFlow is the one
    assert "python -m cvlab_ch9.leaks --installed" in steps and "cvlab setup --check" in steps
    assert "USER" not in names  # docker-stacks' jovyan stays the user
    version = re.search(r'^version = "(.+)"$', (REPO_ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    assert source == f"cvlab_ch9-{version}-py3-none-any.whl"


@pytest.fixture(scope="module")
def tensorflow_image(tmp_path_factory):
    """A venv holding the ``tensorflow`` distribution (not tensorflow-cpu) and this run's other packages, as the image does."""
    root = tmp_path_factory.mktemp("tensorflow-image")
    site = overlay(root / "site", rename=TENSORFLOW_IMAGE)
    fresh_venv(root / "venv", base_site=site)
    return root / "venv"


@pytest.mark.slow
def test_where_tensorflow_is_installed_the_package_adds_no_second_one(tensorflow_image, student_wheel, tmp_path):
    assert would_install(tensorflow_image, str(student_wheel)) == [DISTRIBUTION]
    # the same venv without any TensorFlow metadata: the [cpu] extra is what brings it, and the plain wheel still does not
    bare = tmp_path / "bare"
    fresh_venv(bare, base_site=overlay(tmp_path / "site", leave_out=("tensorflow-cpu",)), with_pip=False)
    index = tmp_path / "index"  # offline: a metadata-only tensorflow-cpu for the resolver to pick
    stub_wheel(index, "tensorflow-cpu", "2.21.0")
    assert would_install(bare, f"{student_wheel}[cpu]", find_links=index) == sorted([DISTRIBUTION, "tensorflow-cpu"])
    assert would_install(bare, str(student_wheel), find_links=index) == [DISTRIBUTION]


def _show_lab_url(python, lab, tmp_path):
    """Run the released notebook's setup and show_lab cells in a kernel of ``python``; the URL it serves, fetched alive."""
    from nbclient import NotebookClient  # noqa: PLC0415

    km = kernel_manager(python, tmp_path)
    notebook = nbformat.read(str(REPO_ROOT / "course" / "source" / lab / f"{lab}.ipynb"), as_version=4)
    cells = [c for c in notebook.cells if "import_tensorflow" in c.source or "show_lab(" in c.source]
    client = NotebookClient(nbformat.v4.new_notebook(cells=cells), km=km, timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel(env=clean_env(CVLAB_SHOW_LAB="always")):  # nbclient runs cells non-interactively: force it
        for index, cell in enumerate(client.nb.cells):
            client.execute_cell(cell, index)
        cells = client.nb.cells
        printed = "".join(o.get("text", "") for o in cells[-1].outputs if o.get("name") == "stdout")
        found = re.search(r"http://127\.0\.0\.1:\d+/", printed)
        assert found, cells[-1].outputs
        url = found.group(0)
        start = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(url + "config", timeout=10) as response:
                    config = json.load(response)
                break
            except OSError:
                if time.monotonic() - start > 60:
                    raise
                time.sleep(0.5)
    stderr = [o for c in cells for o in c.outputs if o.get("name") == "stderr" or o.output_type == "error"]
    return config, stderr


@pytest.mark.slow
def test_the_recipes_cvlab_steps_pass_in_a_tensorflow_image_and_show_lab_serves_the_ui(tensorflow_image, student_wheel, tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    recipe = dockerfile().replace(re.search(r"cvlab_ch9-[0-9.]+-py3-none-any\.whl", dockerfile()).group(0), student_wheel.name)
    (wheels / student_wheel.name).write_bytes(Path(student_wheel).read_bytes())
    env = clean_env(PATH=f"{venv_python(tensorflow_image).parent}:{clean_env()['PATH']}", HOME=str(tmp_path / "home"))
    for step in cvlab_steps(recipe, wheels):
        done = subprocess.run(["bash", "-c", step], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{step}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    listed = subprocess.run([str(venv_python(tensorflow_image)), "-m", "pip", "list", "--format", "json"], env=env,
                            capture_output=True, text=True, check=True).stdout
    installed = {item["name"].lower() for item in json.loads(listed)}
    assert "tensorflow" in installed and "tensorflow-cpu" not in installed and DISTRIBUTION in installed
    assert not (tmp_path / "labs").exists()  # --check writes nothing
    config, stderr = _show_lab_url(venv_python(tensorflow_image), "interpretation", tmp_path)
    assert stderr == []
    assert config.get("version") and config.get("components")  # a Gradio app answered with its layout

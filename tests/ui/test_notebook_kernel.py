"""show_lab in a real kernel: nbclient runs the released interpretation notebook, gradio_client clicks.

The notebook is the release (skeletons) with the answers filled in from
solutions/; its graded test cells are left out (the grader's checks: the
course pipeline tests run them). One kernel for the module, in order:

1. nbclient runs it as it is, which is a non-interactive run: the show_lab
   cell prints one line and nothing listens;
2. ``CVLAB_SHOW_LAB=always`` (read at each call) forces it: the cell starts
   the inline app, with nothing on stderr;
3. the app's endpoints, called with gradio_client, give what the standalone
   UI's handlers give for a labs folder with the same code, and use every
   cell redefined since;
4. running the cell again replaces the app on the same port.
"""

import re

import gradio_client
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR
from cvlab_ch9.ui.notebook_frame import NOT_RUNNING
from tests.labs import solution_labs
from tests.ui.helpers import PHOTO, photo, reference_difference, replace_function
from tests.ui.notebooks import (
    CLEARED_ENV,
    kernel_pid,
    kernel_ports,
    listening_ports,
    released_notebook,
    show_lab_index,
    stderr_outputs,
    stdout_text,
    without_test_cells,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
LAB = "interpretation"
MODEL = "convnet"
TOP = "top predicted class"
URL_RE = re.compile(r"at (http://127\.0\.0\.1:(\d+)/) ")


class Kernel:
    """The kernel running the notebook, and a way to run more cells in it."""

    def __init__(self, client, notebook):
        self.client, self.notebook = client, notebook
        self.show = show_lab_index(notebook)
        self.url = self.port = None
        self.baseline = set()

    def run(self, source):
        """Run a new cell holding ``source``; return it (with its outputs and execution count)."""
        from nbformat.v4 import new_code_cell  # noqa: PLC0415

        self.notebook.cells.append(new_code_cell(source))
        index = len(self.notebook.cells) - 1
        return self.client.execute_cell(self.notebook.cells[index], index)

    def run_show_lab(self):
        return self.client.execute_cell(self.notebook.cells[self.show], self.show)

    def servers(self):
        """Ports the kernel listens on besides its own ZeroMQ ones and those open before the show_lab cell ran."""
        return listening_ports(kernel_pid(self.client), exclude=kernel_ports(self.client) | self.baseline)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    notebook = without_test_cells(released_notebook(LAB))
    folder = tmp_path_factory.mktemp("notebook-kernel")
    with pytest.MonkeyPatch.context() as env:
        for key in CLEARED_ENV:
            env.delenv(key, raising=False)
        env.setenv("CVLAB_ROOT", str(REPO_ROOT))
        client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
        with client.setup_kernel():
            kernel = Kernel(client, notebook)
            for index, cell in enumerate(notebook.cells):
                if index == kernel.show:
                    kernel.baseline = kernel.servers()
                client.execute_cell(cell, index)
            yield kernel


@pytest.fixture(scope="module")
def app(kernel):
    """The inline app, started by forcing the show_lab cell interactive; a gradio_client Client on it."""
    kernel.run('import os\nos.environ["CVLAB_SHOW_LAB"] = "always"')
    cell = kernel.run_show_lab()
    assert stderr_outputs(cell) == [], cell.outputs
    match = URL_RE.search(stdout_text(cell))
    assert match, cell.outputs
    kernel.url, kernel.port = match.group(1), int(match.group(2))
    return gradio_client.Client(kernel.url, verbose=False)


@pytest.fixture(scope="module")
def standalone():
    """The standalone UI's Grad-CAM handler in this process (labs directory -> the same outputs the tab shows)."""
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()
    from cvlab_ch9.ui import tabs_gradcam  # noqa: PLC0415 - imports Gradio

    return lambda labs: tabs_gradcam.run_grad_cam(str(labs), MODEL, photo(), "", [], 0.4)


def click(client):
    """Grad-CAM through the API, with the labs directory the inline app starts with: ``notebook``."""
    return client.predict("notebook", MODEL, gradio_client.handle_file(str(PHOTO)), "", [], 0.4, api_name="/grad_cam")


def picture(path):
    return np.asarray(Image.open(path).convert("RGB")).astype("float32")


def test_a_non_interactive_run_starts_no_server(kernel):
    cell = kernel.notebook.cells[kernel.show]
    assert stderr_outputs(cell) == [] and [o.output_type for o in cell.outputs] == ["stream"]
    assert stdout_text(cell) == (
        "The lab UI is not started: this notebook is being run non-interactively (nbconvert, nbclient or papermill); "
        "open it in Jupyter to use it, or set CVLAB_SHOW_LAB=always.\n"
    )
    assert kernel.servers() == set()


def test_forced_interactive_the_cell_shows_the_app_inline(kernel, app):
    cell = kernel.notebook.cells[kernel.show]
    html = [o.data["text/html"] for o in cell.outputs if o.output_type == "display_data"]
    # the frame is made by the output's script once the app answers; without it (a saved notebook), one sentence
    assert len(html) == 1 and f'data-address="{kernel.url}"' in html[0] and NOT_RUNNING in html[0]
    assert stdout_text(cell).count("\n") == 1, "one line besides the frame"
    assert kernel.servers() == {kernel.port}
    parameters = app.view_api(print_info=False, return_format="dict")["named_endpoints"]["/grad_cam"]["parameters"]
    assert parameters[0]["parameter_default"] == "notebook", "the labs directory starts as the notebook"


def test_results_equal_the_standalone_ui(kernel, app, standalone, finished_labs):
    student, status, reference, differences, predictions, note, ref_note = click(app)
    s_student, s_status, s_reference, s_differences, s_predictions, s_note, s_ref_note = standalone(finished_labs)
    assert reference_difference(status) < 1e-5
    number = re.compile(r"reference: [0-9.e+-]+\)")
    assert number.sub("", status) == number.sub("", s_status)
    assert (note, ref_note) == (s_note, s_ref_note)
    assert {c["label"]: c["confidence"] for c in predictions["confidences"]} == pytest.approx(s_predictions, abs=1e-5)
    for served, expected in ((student, s_student), (reference, s_reference), (differences, s_differences)):
        assert [item["caption"] for item in served] == [caption for _, caption in expected]
        for item, (picture_expected, _) in zip(served, expected):
            got = picture(item["image"])
            assert got.shape == picture_expected.shape
            assert np.abs(got - picture_expected).mean() < 3, "the same picture (the page gets lossy WebP)"


def test_a_redefined_grad_cam_is_used_on_the_next_click(kernel, app):
    cell = kernel.run('def grad_cam(model, image, last_conv_layer_name, class_index=None):\n'
                      '    return np.full((5, 3), 0.25, "float32")\n')
    assert stderr_outputs(cell) == []
    student, status, *_ = click(app)
    assert status.startswith("Your grad_cam() gave 5x3 heatmaps for ")
    assert "max difference from the reference: " in status
    assert picture(student[2]["image"]).std(axis=(0, 1)).max() < 3, "a constant map is one colour"


BROKEN = {
    "raises": ('def grad_cam(model, image, last_conv_layer_name, class_index=None):\n'
               '    weights = {"conv": 1}\n'
               '    return weights[last_conv_layer_name]\n'),
    "returns None": ('def grad_cam(model, image, last_conv_layer_name, class_index=None):\n'
                     '    heatmap = np.ones((3, 3))\n'),
    "returns a string": ('def grad_cam(model, image, last_conv_layer_name, class_index=None):\n'
                         '    return "heatmap"\n'),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_cells_get_the_sentences_of_the_standalone_ui(case, kernel, app, standalone, tmp_path):
    cell = kernel.run(BROKEN[case])
    in_notebook = click(app)[1]
    labs = solution_labs(tmp_path)
    path = replace_function(labs, "interpretation", "grad_cam", BROKEN[case])
    in_folder = standalone(labs)[1]
    if case == "raises":
        line = path.read_text().splitlines().index("    return weights[last_conv_layer_name]") + 1
        assert in_folder.endswith(f" (interpretation.py, line {line}: `return weights[last_conv_layer_name]`)")
        where = f" (cell In[{cell.execution_count}], line 3: `return weights[last_conv_layer_name]`)"
        assert in_notebook.endswith(where)
        assert in_notebook.removesuffix(where) == in_folder.split(" (interpretation.py")[0]
        assert in_notebook.startswith("⚠ Your grad_cam() raised KeyError")
    else:
        assert in_notebook == in_folder and in_notebook.startswith("⚠ grad_cam() returned")


def test_a_missing_function_names_the_notebook(kernel, app, standalone, tmp_path):
    kernel.run("del grad_cam")
    in_notebook = click(app)[1]
    labs = solution_labs(tmp_path)
    text = (SOLUTIONS_DIR / "interpretation.py").read_text()
    (labs / "interpretation.py").write_text(text.replace("def grad_cam(", "def grad_cam_renamed("))
    in_folder = standalone(labs)[1]
    assert in_notebook == ("⚠ this notebook has no grad_cam() in its kernel yet: run its answer cell (a restarted kernel "
                           "has forgotten every cell run before), and keep the name the skeleton gives it.")
    assert in_folder.endswith("/interpretation.py has no function named grad_cam(); keep the name from the skeleton.")


def test_running_the_cell_again_replaces_the_app_on_the_same_port(kernel, app):
    answer = next(c for c in kernel.notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "answer_grad_cam")
    kernel.run(answer.source)  # the student runs the answer cell again
    cell = kernel.run_show_lab()
    assert stderr_outputs(cell) == [] and URL_RE.search(stdout_text(cell)).group(1) == kernel.url
    assert kernel.servers() == {kernel.port}, "one server: the first app was closed"
    status = click(gradio_client.Client(kernel.url, verbose=False))[1]
    assert reference_difference(status) < 1e-5

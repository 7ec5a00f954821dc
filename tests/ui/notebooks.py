"""Helpers of the notebook UI tests: a released notebook with the answers filled in, a kernel's listening ports."""

import nbformat
import psutil

from course.notebooks import SHOW_LAB_ID, answer_sources, grade_id, notebook_path
from tests.course.helpers import submission

#: Left out of the kernel's environment, as in a student's Jupyter: the setup cell and show_lab set what they need
#: (TensorFlow quiet, Gradio offline), and nothing forces or prevents the launch.
CLEARED_ENV = ("CVLAB_SHOW_LAB", "CVLAB_UI_ROOT_PATH", "NBGRADER_EXECUTION", "TF_CPP_MIN_LOG_LEVEL",
               "TF_ENABLE_ONEDNN_OPTS", "KERAS_BACKEND", "GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE")


def kernel_environment(environ):
    """``environ`` without :data:`CLEARED_ENV`, with CVLAB_ROOT (the setup cell finds the repository by it)."""
    from cvlab_ch9.paths import REPO_ROOT  # noqa: PLC0415

    return {k: v for k, v in environ.items() if k not in CLEARED_ENV} | {"CVLAB_ROOT": str(REPO_ROOT)}


def released_notebook(lab):
    """``lab``'s notebook as nbgrader releases it (solutions and hidden tests cleared), answers filled in from solutions/."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions  # noqa: PLC0415

    source = nbformat.read(str(notebook_path(lab)), as_version=4)
    release, _ = ClearSolutions().preprocess(nbformat.from_dict(source), {})
    release, _ = ClearHiddenTests().preprocess(release, {})
    assert any("NotImplementedError" in c.source for c in release.cells), "the release holds skeletons"
    return submission(release, answer_sources(source))


def without_test_cells(notebook):
    """``notebook`` without its graded test cells (the grader's checks; the pipeline tests run those)."""
    kept = nbformat.from_dict(notebook)
    kept.cells = [c for c in kept.cells if not c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    return kept


def show_lab_index(notebook):
    """Index of the show_lab cell (the last one)."""
    return next(i for i, c in enumerate(notebook.cells) if grade_id(c) == SHOW_LAB_ID)


def stderr_outputs(cell):
    """The cell's outputs on stderr and its errors (a graded cell with any of them scores 0)."""
    return [o for o in cell.outputs if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]


def stdout_text(cell):
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def kernel_pid(client):
    """Process id of the kernel an nbclient ``NotebookClient`` started."""
    return client.km.provisioner.pid


def listening_ports(pid, exclude=()):
    """TCP ports process ``pid`` listens on, less ``exclude`` (the kernel's own ZeroMQ ports)."""
    connections = psutil.Process(pid).net_connections(kind="tcp")
    return {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN} - set(exclude)


def kernel_ports(client):
    """The ZeroMQ ports of the kernel (shell, iopub, stdin, control, heartbeat)."""
    info = client.km.get_connection_info()
    return {info[k] for k in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")}


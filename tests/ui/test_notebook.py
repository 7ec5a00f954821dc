"""cvlab_ch9.ui.notebook in this process: when show_lab starts the UI, the proxy path, and the notebook as a lab source.

A notebook's cells are stood in for by IPython's own compiler (the one
that names them ``In[N]`` in tracebacks): code compiled through it and run
in a namespace dict is what a kernel holds after the cells ran. The same UI
handlers then run on that namespace (labs directory ``notebook``) and on a
labs folder with the same code, and must say the same sentences.
"""

import types

import numpy as np
import pytest
from IPython.core.compilerop import CachingCompiler

from cvlab_ch9.impl import load_lab
from cvlab_ch9.quiet import import_tensorflow
from cvlab_ch9.ui import notebook
from cvlab_ch9.ui.common import NOTEBOOK, attach_notebook, attached_notebook, resolve_labs_dir
from tests.labs import solution_labs
from tests.ui.helpers import photo, replace_function

MODEL = "convnet"


def fake_shell(allow_stdin=True, compiler=None):
    """An object shaped like IPython's shell in a kernel: ``.kernel._allow_stdin`` and ``.compile``."""
    return types.SimpleNamespace(kernel=types.SimpleNamespace(_allow_stdin=allow_stdin), compile=compiler or CachingCompiler())


# -- when it launches ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "allow_stdin", "launch", "says"),
    [
        ({}, True, True, ""),  # JupyterLab / Notebook 7: allow_stdin=True
        ({}, False, False, "run non-interactively"),  # nbclient, nbconvert, papermill
        ({"NBGRADER_EXECUTION": "autograde"}, True, False, "while nbgrader runs this notebook (autograde)"),
        ({"NBGRADER_EXECUTION": "validate"}, True, False, "(validate)"),
        ({"CVLAB_SHOW_LAB": "always"}, False, True, ""),
        ({"CVLAB_SHOW_LAB": "ALWAYS", "NBGRADER_EXECUTION": "autograde"}, False, True, ""),
        ({"CVLAB_SHOW_LAB": "never"}, True, False, "CVLAB_SHOW_LAB=never"),
        ({"CVLAB_SHOW_LAB": "sometimes"}, True, False, "is not one of auto, always, never"),
        ({"CVLAB_SHOW_LAB": ""}, True, True, ""),
    ],
)
def test_launch_decision(environ, allow_stdin, launch, says):
    decided, why = notebook.launch_decision(environ, fake_shell(allow_stdin))
    assert decided is launch
    assert says in why and (why == "") == launch
    assert "\n" not in why


def test_outside_a_kernel_it_says_to_use_python_m_ui():
    terminal_ipython = types.SimpleNamespace(compile=CachingCompiler())  # a shell without a kernel
    for shell in (terminal_ipython, None):
        decided, why = notebook.launch_decision({"CVLAB_SHOW_LAB": "always"}, shell)
        assert not decided and why == notebook.OUTSIDE_KERNEL
    assert "cvlab ui" in notebook.OUTSIDE_KERNEL


def test_show_lab_outside_a_kernel_prints_one_line_and_starts_nothing(capsys, monkeypatch):
    monkeypatch.setenv("CVLAB_SHOW_LAB", "always")
    attach_notebook(None)
    assert notebook.show_lab({}) is None
    out, err = capsys.readouterr()
    assert out == notebook.OUTSIDE_KERNEL + "\n" and err == ""
    assert notebook._running == {} and attached_notebook() is None


# -- the proxy path ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"CVLAB_UI_ROOT_PATH": "  "}, None),
        ({"CVLAB_UI_ROOT_PATH": "{base_url}proxy/{port}/", "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"}, "/user/alice/proxy/7861"),
        ({"CVLAB_UI_ROOT_PATH": "{base_url}proxy/{port}", "JUPYTERHUB_SERVICE_PREFIX": "/user/alice"}, "/user/alice/proxy/7861"),
        ({"CVLAB_UI_ROOT_PATH": "{base_url}proxy/{port}/"}, "/proxy/7861"),  # a plain Jupyter with jupyter-server-proxy
        ({"CVLAB_UI_ROOT_PATH": "/user/{username}/proxy/{port}", "JUPYTERHUB_USER": "bob"}, "/user/bob/proxy/7861"),
        ({"CVLAB_UI_ROOT_PATH": "user/x/proxy/absolute/{port}/"}, "/user/x/proxy/absolute/7861"),
        ({"CVLAB_UI_ROOT_PATH": "https://hub.example.edu/user/a/proxy/{port}/"}, "https://hub.example.edu/user/a/proxy/7861"),
    ],
)
def test_proxy_root_path(environ, expected):
    assert notebook.proxy_root_path(7861, environ) == expected


def test_proxy_root_path_with_an_unknown_field_says_which_are_known():
    with pytest.raises(ValueError, match=r"\{port\}, \{base_url\} and \{username\}"):
        notebook.proxy_root_path(7861, {"CVLAB_UI_ROOT_PATH": "/hub/{user}/{port}"})


def test_frame_address():
    assert notebook.frame_address(7861, None) == "http://127.0.0.1:7861/"
    assert notebook.frame_address(7861, "/user/alice/proxy/7861") == "/user/alice/proxy/7861/"


def test_choose_port_prefers_the_previous_one_and_refuses_a_taken_one():
    import socket  # noqa: PLC0415

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert not notebook.port_is_free(busy)
        with pytest.raises(OSError, match=f"Port {busy} on 127.0.0.1 is taken"):
            notebook.choose_port(busy)
        assert notebook.choose_port(previous=busy) != busy
    free = notebook.choose_port()
    assert notebook.FIRST_PORT <= free < notebook.FIRST_PORT + notebook.PORTS_TRIED
    assert notebook.choose_port(previous=free) == free


# -- cells as a lab source ------------------------------------------------------------------


def run_cell(shell, namespace, code, number):
    """Run ``code`` in ``namespace`` as kernel cell ``In[number]`` (IPython's compiler names the file)."""
    filename = shell.compile.cache(code, number)
    exec(compile(code, filename, "exec"), namespace)  # the test's own cell code


def test_cell_label_names_cells_only():
    shell = fake_shell()
    filename = shell.compile.cache("x = 1\n", 7)
    assert notebook.cell_label(shell, filename) == "cell In[7]"
    assert notebook.cell_label(shell, __file__) is None
    assert notebook.cell_label(None, filename) is None


@pytest.fixture(scope="module")
def image():
    import_tensorflow()
    return photo()


@pytest.fixture
def kernel(monkeypatch):
    """(shell, namespace): the finished interpretation lab in a namespace, attached as ``notebook``."""
    shell = fake_shell()
    namespace = dict(vars(load_lab("interpretation", "solutions")))
    attach_notebook(notebook.notebook_source(namespace, shell))
    yield shell, namespace
    attach_notebook(None)


def grad_cam_outputs(labs_dir, image):
    from cvlab_ch9.ui import classifiers, tabs_gradcam  # noqa: PLC0415 - imports Gradio

    return tabs_gradcam.run_grad_cam(labs_dir, MODEL, image, "", classifiers.TOP_CLASS)


def test_the_notebook_source_gives_the_same_results_as_a_labs_folder(kernel, finished_labs, image):
    assert resolve_labs_dir(NOTEBOOK) is attached_notebook()
    from_notebook, from_folder = grad_cam_outputs(NOTEBOOK, image), grad_cam_outputs(str(finished_labs), image)
    for ours, theirs in zip(from_notebook, from_folder):
        if isinstance(ours, list):  # a gallery: (picture, caption) items
            assert [c for _, c in ours] == [c for _, c in theirs]
            for (mine, _), (other, _) in zip(ours, theirs):
                np.testing.assert_allclose(mine, other, atol=1)
        else:
            assert ours == theirs


BROKEN = {
    "raises": '''
def grad_cam(model, image, last_conv_layer_name, class_index=None):
    weights = {"conv": 1}
    return weights[last_conv_layer_name]
''',
    "returns None": '''
def grad_cam(model, image, last_conv_layer_name, class_index=None):
    heatmap = np.ones((3, 3))
''',
    "returns text": '''
def grad_cam(model, image, last_conv_layer_name, class_index=None):
    return "heatmap"
''',
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_cells_get_the_sentences_of_the_standalone_ui(case, kernel, tmp_path, image):
    shell, namespace = kernel
    run_cell(shell, namespace, BROKEN[case], 12)
    labs = solution_labs(tmp_path)
    path = replace_function(labs, "interpretation", "grad_cam", BROKEN[case])
    in_notebook, in_folder = grad_cam_outputs(NOTEBOOK, image)[1], grad_cam_outputs(str(labs), image)[1]
    if case == "raises":
        line = path.read_text().splitlines().index("    return weights[last_conv_layer_name]") + 1
        assert in_folder.endswith(f"(interpretation.py, line {line}: `return weights[last_conv_layer_name]`)")
        assert in_notebook.endswith("(cell In[12], line 4: `return weights[last_conv_layer_name]`)")
        sentence = in_notebook.split(" (cell In[12]")[0]
        assert sentence == in_folder.split(" (interpretation.py")[0] and sentence.startswith("⚠ Your grad_cam() raised KeyError")
    else:
        assert in_notebook == in_folder and "grad_cam() returned" in in_notebook


def test_a_missing_function_and_an_unwritten_one_name_the_notebook(kernel, image):
    shell, namespace = kernel
    del namespace["grad_cam"]  # as after a kernel restart, before the answer cell ran again
    status = grad_cam_outputs(NOTEBOOK, image)[1]
    assert status == ("⚠ this notebook has no grad_cam() in its kernel yet: run its answer cell (a restarted kernel has "
                      "forgotten every cell run before), and keep the name the skeleton gives it.")
    run_cell(shell, namespace, 'def grad_cam(*args):\n    raise NotImplementedError("interpretation.grad_cam")\n', 13)
    status = grad_cam_outputs(NOTEBOOK, image)[1]
    assert status == ("✎ Not implemented yet: write grad_cam() in its answer cell in this notebook and run that cell. "
                      "The reference result is shown on the right.")


def test_a_redefined_function_is_used_on_the_next_click(kernel, image):
    shell, namespace = kernel
    run_cell(shell, namespace, 'def grad_cam(*args):\n    return np.full((3, 3), 0.5, "float32")\n', 14)
    assert "gave 3x3 heatmaps" in grad_cam_outputs(NOTEBOOK, image)[1]
    run_cell(shell, namespace, 'def grad_cam(*args):\n    return np.full((7, 5), 0.5, "float32")\n', 15)
    assert "gave 7x5 heatmaps" in grad_cam_outputs(NOTEBOOK, image)[1]


def test_a_taken_port_or_a_bad_proxy_path_is_one_line(capsys, monkeypatch):
    import socket  # noqa: PLC0415

    monkeypatch.setattr(notebook, "_current_shell", lambda: fake_shell())
    monkeypatch.setenv("CVLAB_SHOW_LAB", "always")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        notebook.show_lab({}, port=busy)
    monkeypatch.setenv("CVLAB_UI_ROOT_PATH", "/hub/{user}/{port}")
    notebook.show_lab({})
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"The lab UI was not started: Port {busy} on 127.0.0.1 is taken; call show_lab(globals(), port=...) with another one.",
        "The lab UI was not started: CVLAB_UI_ROOT_PATH='/hub/{user}/{port}' cannot be expanded ('user'); "
        "it may use {port}, {base_url} and {username}, e.g. {base_url}proxy/{port}/.",
    ]
    assert err == "" and notebook._running == {}
    attach_notebook(None)

"""The lab UI inside a notebook, on the notebook's own functions: ``show_lab(globals(), lab="segmentation")``.

The released course notebooks end with an ungraded cell calling
:func:`show_lab`. It opens the same app as ``python -m ui``
(:func:`cvlab_ch9.ui.app.build_app` with ``notebook_lab``) in the cell's output area,
with the labs directory ``notebook``: every click reads the notebook's
``globals()`` as they are at that moment (:class:`cvlab_ch9.impl.NamespaceSource`),
so an answer cell edited and run again is what the next click uses.

It never disturbs grading:

* In a non-interactive run it starts nothing and prints one line (stdout):
  under nbgrader (``autograde`` and ``validate`` set ``NBGRADER_EXECUTION``
  in the kernel's environment) and whenever the frontend that asked for
  the cell cannot answer ``input()``: nbclient (hence nbconvert, papermill
  and nbgrader) sends its execute requests with ``allow_stdin=False``,
  JupyterLab and Notebook 7 with ``allow_stdin=True``; ipykernel keeps that
  flag of the current request as ``kernel._allow_stdin``.
  ``CVLAB_SHOW_LAB=always|never`` (read at each call) overrides the guess.
* Outside a Jupyter kernel it says to use ``python -m ui``.
* The server's start (Gradio, uvicorn) writes nothing to stderr; a second
  call closes the running app and starts the new one on the same port.

Behind JupyterHub the browser cannot reach the kernel's 127.0.0.1: set
``CVLAB_UI_ROOT_PATH`` to the path under which a proxy serves the port
(jupyter-server-proxy: ``{base_url}proxy/{port}/``, where ``{base_url}`` is
``$JUPYTERHUB_SERVICE_PREFIX``, e.g. ``/user/alice/``); it becomes Gradio's
``root_path`` and the inline frame's address.
"""

import contextlib
import io
import logging
import os
import socket
import sys

from cvlab_ch9.ui.config import HOST, set_offline_environment

#: ``auto`` (default: launch only in an interactive frontend), ``always`` or ``never``.
MODE_ENV = "CVLAB_SHOW_LAB"
MODES = ("auto", "always", "never")
#: The path under which a proxy serves the UI's port, e.g. ``{base_url}proxy/{port}/`` (see :func:`proxy_root_path`).
ROOT_PATH_ENV = "CVLAB_UI_ROOT_PATH"
#: JupyterHub's per-user prefix (``/user/alice/``), set in every single-user server's environment.
HUB_PREFIX_ENV = "JUPYTERHUB_SERVICE_PREFIX"
#: nbgrader sets it in the kernel's environment while it autogrades (``autograde``) or validates (``validate``).
NBGRADER_ENV = "NBGRADER_EXECUTION"
#: The notebook UI's ports: the first free one from here (``python -m ui`` uses 7860).
FIRST_PORT = 7861
PORTS_TRIED = 40
DEFAULT_HEIGHT = 900
NOTEBOOK_NAME = "this notebook"
NOTEBOOK_WHERE = "its answer cell in this notebook and run that cell"
OUTSIDE_KERNEL = "show_lab() opens the lab UI inside a Jupyter notebook; outside one, run `cvlab ui` (python -m cvlab_ch9 ui) instead."
#: The app now served from this kernel, with its port: {"app": gr.Blocks, "port": int}.
_running = {}


# -- when to launch -----------------------------------------------------------------


def launch_decision(environ=None, shell=None):
    """``(True, "")`` when show_lab should start the UI, else ``(False, one sentence saying why not)``.

    Args:
        environ: the environment (default ``os.environ``, read now).
        shell: the IPython shell (default ``get_ipython()``); None outside IPython.
    """
    environ = os.environ if environ is None else environ
    mode = (environ.get(MODE_ENV) or "auto").strip().lower()
    if mode not in MODES:
        return False, f"{MODE_ENV}={environ.get(MODE_ENV)!r} is not one of {', '.join(MODES)}; the lab UI was not started."
    kernel = getattr(_current_shell() if shell is None else shell, "kernel", None)
    if kernel is None:
        return False, OUTSIDE_KERNEL
    if mode == "never":
        return False, f"The lab UI is not started here ({MODE_ENV}=never)."
    if mode == "always":
        return True, ""
    if environ.get(NBGRADER_ENV):
        return False, f"The lab UI is not started while nbgrader runs this notebook ({environ[NBGRADER_ENV]})."
    if not getattr(kernel, "_allow_stdin", True):
        return False, (
            "The lab UI is not started: this notebook is being run non-interactively (nbconvert, nbclient or papermill); "
            f"open it in Jupyter to use it, or set {MODE_ENV}=always."
        )
    return True, ""


def _current_shell():
    try:
        from IPython import get_ipython  # noqa: PLC0415 - IPython exists only where notebooks run
    except ImportError:
        return None
    return get_ipython()


# -- the notebook as a lab source ------------------------------------------------------------


def cell_label(shell, filename):
    """``"cell In[5]"`` for a notebook cell's code file (IPython's own name for it), else None."""
    names = shell.compile.format_code_name(filename) if shell is not None else None
    return f"cell {names[1]}" if names else None


def notebook_source(namespace, shell):
    """A :class:`cvlab_ch9.impl.NamespaceSource` over ``namespace`` whose tracebacks name the cells (``cell In[5]``)."""
    from cvlab_ch9.impl import NamespaceSource  # noqa: PLC0415 - keep the non-interactive path light

    return NamespaceSource(
        namespace,
        name=NOTEBOOK_NAME,
        where=NOTEBOOK_WHERE,
        is_student_file=lambda filename: cell_label(shell, filename) is not None,
        frame_label=lambda filename: cell_label(shell, filename) or os.path.basename(filename),
    )


# -- where it is served --------------------------------------------------------------------


def proxy_root_path(port, environ=None):
    """Gradio's ``root_path`` for ``port``: ``$CVLAB_UI_ROOT_PATH`` expanded, or None when it is unset.

    ``{port}`` becomes the port, ``{base_url}`` the JupyterHub prefix
    (``$JUPYTERHUB_SERVICE_PREFIX``, default ``/``) with one trailing slash,
    ``{username}`` ``$JUPYTERHUB_USER``. A path always starts with ``/``; a
    full ``https://`` address is kept as it is.

    Raises:
        ValueError: the template names another field; the message says which are known.
    """
    environ = os.environ if environ is None else environ
    template = (environ.get(ROOT_PATH_ENV) or "").strip()
    if not template:
        return None
    base_url = "/" + (environ.get(HUB_PREFIX_ENV) or "/").strip("/") + "/"
    fields = {"port": port, "base_url": base_url.replace("//", "/"), "username": environ.get("JUPYTERHUB_USER", "")}
    try:
        path = template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"{ROOT_PATH_ENV}={template!r} cannot be expanded ({exc}); it may use {{port}}, {{base_url}} and {{username}}, "
            "e.g. {base_url}proxy/{port}/."
        ) from exc
    if path.startswith(("http://", "https://")):
        return path.rstrip("/")
    return "/" + path.strip("/")


def port_is_free(port):
    """True when nothing listens on 127.0.0.1:``port`` (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def choose_port(requested=None, previous=None):
    """The port to serve on: ``requested``, else the previous app's, else the first free one from FIRST_PORT.

    Raises:
        OSError: ``requested`` is taken, or no port of the range is free; the message says what to do.
    """
    if requested is not None:
        if not port_is_free(int(requested)):
            raise OSError(f"Port {requested} on {HOST} is taken; call show_lab(globals(), port=...) with another one.")
        return int(requested)
    candidates = ([previous] if previous else []) + list(range(FIRST_PORT, FIRST_PORT + PORTS_TRIED))
    for port in candidates:
        if port_is_free(port):
            return port
    raise OSError(f"No free port from {FIRST_PORT} to {FIRST_PORT + PORTS_TRIED - 1} on {HOST}; pass show_lab(port=...).")


# -- starting, replacing, showing --------------------------------------------------------------


def close_running():
    """Stop the app this kernel serves, if any; return the port it used (or None)."""
    previous = _running.pop("app", None)
    port = _running.pop("port", None)
    if previous is not None:
        with contextlib.redirect_stdout(io.StringIO()):  # Gradio prints "Closing server running on port: N"
            previous.close()
    return port


@contextlib.contextmanager
def quiet_server():
    """Gradio's and uvicorn's start-up warnings and logs kept off the notebook's stderr."""
    import warnings  # noqa: PLC0415

    from cvlab_ch9.quiet import stderr_silenced  # noqa: PLC0415

    loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), stderr_silenced():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def on_colab():
    """True inside Google Colab, where only Gradio's own inline display reaches the kernel's port (Colab's port proxy)."""
    return "google.colab" in sys.modules


def start_app(lab, port, root_path, height):
    """Build the notebook's app, serve it on ``port`` (not blocking) and show it in the cell's output; return it.

    The frame is :func:`cvlab_ch9.ui.notebook_frame.frame_html` on
    ``http://127.0.0.1:port/`` or, behind a proxy, the proxied path (the
    student's browser cannot reach the kernel's loopback address there): it
    follows the app's height and says "run this cell again" where the app
    no longer answers. On Colab, Gradio's own inline display shows it
    (through Colab's port proxy).
    """
    from cvlab_ch9.ui.app import build_app, launch  # noqa: PLC0415 - imports Gradio
    from cvlab_ch9.ui.notebook_frame import app_head, new_app_id  # noqa: PLC0415

    app = build_app(notebook_lab=lab)
    app_id = new_app_id()
    colab = on_colab() and root_path is None
    with quiet_server():
        launch(app, port=port, block=False, quiet=True, root_path=root_path, inline=colab, height=height or DEFAULT_HEIGHT,
               head=app_head(app_id))
    _running.update(app=app, port=port)
    if not colab:
        show_frame(frame_address(port, root_path), app_id, height)
    return app


def frame_address(port, root_path):
    """What the notebook's browser opens: the proxied path (``/user/alice/proxy/7861/``) or ``http://127.0.0.1:port/``."""
    if root_path:
        return root_path.rstrip("/") + "/"
    return f"http://{HOST}:{port}/"


def show_frame(address, app_id, height=None):
    """Display the frame of the app ``app_id`` at ``address`` (fixed ``height`` in pixels, or None: the app's own)."""
    from IPython.display import HTML, display  # noqa: PLC0415

    from cvlab_ch9.ui.notebook_frame import frame_html  # noqa: PLC0415

    display(HTML(frame_html(address, app_id, height)))


def show_lab(namespace, lab=None, port=None, height=None):
    """Open the lab UI in this notebook's output, on the notebook's functions as they are at each click.

    Args:
        namespace: the notebook's ``globals()`` (kept, not copied).
        lab: the lab whose tab opens first and whose checks the Grade tab runs
            (``"segmentation"``, ``"architecture"``, ``"interpretation"``), or None.
        port: the port on 127.0.0.1 (default: the running app's, else the
            first free one from 7861).
        height: of the inline frame, in pixels; None (default) follows the app's
            own height as tabs switch and results arrive.

    Prints one line: where the UI runs, or why it was not started
    (non-interactive runs, outside a kernel, a taken port, a bad
    ``CVLAB_UI_ROOT_PATH``). Returns None, so the cell shows no ``Out[]`` value.
    """
    launch, why_not = launch_decision()
    if not launch:
        print(why_not)
        return
    set_offline_environment()  # as python -m ui does, before Gradio is imported
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    import_tensorflow()  # silently, in case no setup cell did
    from cvlab_ch9.ui.common import attach_notebook  # noqa: PLC0415 - imports Gradio

    attach_notebook(notebook_source(namespace, _current_shell()))
    try:
        chosen = choose_port(port, previous=close_running())
        root_path = proxy_root_path(chosen)
    except (OSError, ValueError) as exc:  # a taken port, a CVLAB_UI_ROOT_PATH that cannot be expanded
        print(f"The lab UI was not started: {exc}")
        return
    start_app(lab, chosen, root_path, height)
    print(f"The lab UI runs on this notebook's functions at {frame_address(chosen, root_path)} "
          "(run this cell again to restart it).")

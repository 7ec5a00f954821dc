"""cvlab_ch9.quiet: fd 2 silenced while TensorFlow imports, and given back intact, from any thread."""

import os
import subprocess
import sys

from cvlab_ch9.paths import REPO_ROOT
from cvlab_ch9.quiet import stderr_silenced

PROBE = """
import os, sys, threading
from cvlab_ch9.quiet import stderr_silenced

start = threading.Barrier(4)

def silence():
    start.wait()
    for _ in range(200):
        with stderr_silenced():
            os.write(2, b"hidden\\n")
            print("hidden", file=sys.stderr)

threads = [threading.Thread(target=silence) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with stderr_silenced():
    with stderr_silenced():
        print("hidden", file=sys.stderr)
    print("hidden", file=sys.stderr)
print("visible", file=sys.stderr)
sys.stderr.flush()
os.write(2, b"fd2 visible\\n")
"""


def test_threads_silencing_at_once_leave_stderr_writable_and_silence_everything_inside():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stderr == "visible\nfd2 visible\n"


def test_the_stream_in_use_is_restored():
    before = sys.stderr
    with stderr_silenced():
        assert sys.stderr is not before
    assert sys.stderr is before and not before.closed

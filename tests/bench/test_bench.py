"""`python -m bench --quick` runs end to end and prints its tables (no timing is asserted)."""

import re
import subprocess
import sys

import pytest

from cvlab_ch9.paths import REPO_ROOT


@pytest.mark.slow
def test_quick_bench_prints_every_table():
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    titles = (
        "Grad-CAM, Xception(weights=None)", "Filter patterns:", "Arithmetic limit:", "TensorFlow settings",
        "Grader on the reference solutions", "Model graphs: read from the model", "Time per click",
        "Interpretation tabs per click", "Filter patterns after 30 steps",
    )
    for title in titles:
        assert title in out, out
    assert "cvlab_ch9.fastpaths.grad_cam (one model, tf.function; the UI)" in out
    assert "fastpaths: default, 8 per batch" in out and "matmul bfloat16" in out
    assert "fastpaths, oneDNN on (the UI)" in out and "failed" not in out
    assert re.search(r" (\d+)/\1 ", out), out  # the quick grader run gives Lab 1's reference full marks
    assert "Grad-CAM, both classes side by side (convnet 96x96)" in out and "now: rate 612, start x255" in out
    assert "Traceback" not in out


def test_unknown_section_is_a_usage_error():
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--sections", "nope"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "unknown section(s) nope" in done.stderr

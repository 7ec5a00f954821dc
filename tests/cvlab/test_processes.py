"""cvlab_ch9.processes: a process group that is stopped with everything it started, on any OS."""

import os
import subprocess
import sys
import time

import psutil
import pytest

from cvlab_ch9.processes import kill_tree, load_average, start_group, tree_memory

# A parent that starts a sleeping child (optionally in a session of its own, out of the
# parent's process group), prints the child's pid, then sleeps itself.
_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session={escape})
print(child.pid, flush=True)
time.sleep(300)
"""


def _start_parent(escape=False):
    process = start_group(
        [sys.executable, "-c", _PARENT.format(escape=escape)], stdout=subprocess.PIPE, text=True,
    )
    child_pid = int(process.stdout.readline())
    return process, child_pid


def _gone(pid, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_kill_tree_stops_the_process_and_its_child():
    process, child_pid = _start_parent()
    kill_tree(process)
    assert process.returncode is not None
    assert _gone(child_pid)


@pytest.mark.skipif(os.name == "nt", reason="sessions are POSIX")
def test_kill_tree_also_stops_a_child_that_left_the_group():
    """What killpg cannot reach (and what Windows has instead of groups): the psutil walk."""
    process, child_pid = _start_parent(escape=True)
    assert os.getsid(child_pid) != os.getsid(process.pid)
    kill_tree(process)
    assert _gone(child_pid)


@pytest.mark.skipif(os.name == "nt", reason="sessions are POSIX")
def test_start_group_makes_a_session_leader():
    process = start_group([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert os.getsid(process.pid) == process.pid
    finally:
        kill_tree(process)


def test_kill_tree_of_a_finished_process_is_harmless():
    process = start_group([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    kill_tree(process)
    assert process.returncode == 0


def test_tree_memory_counts_parent_and_child():
    process, child_pid = _start_parent()
    try:
        total, largest = tree_memory(process.pid)
        child = psutil.Process(child_pid).memory_info().rss
        assert total > largest >= child > 0  # two processes counted, the largest on its own
    finally:
        kill_tree(process)
    assert tree_memory(process.pid) == (0, 0)


def test_load_average_is_a_number():
    assert load_average() >= 0.0


def test_run_nbgrader_stops_the_whole_tree_at_its_timeout(tmp_path):
    from course.pipeline import CourseError, run_nbgrader  # noqa: PLC0415 - the one test that needs nbgrader's pipeline

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n", encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(CourseError, match="did not finish within 0 s and was stopped"):
        run_nbgrader(tmp_path, "--version", timeout_s=0.2)
    assert time.monotonic() - start < 30

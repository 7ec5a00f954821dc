"""Child processes on Linux, macOS and Windows: start a group, stop the whole tree, measure it.

POSIX has process groups and ``os.killpg``; Windows has neither SIGKILL nor
``killpg``. :func:`start_group` gives the child its own session (POSIX) or
process group (Windows), and :func:`kill_tree` kills the child with every
process below it: through the group on POSIX (which also reaches
grandchildren whose parent already died) and, on every OS, by walking the
tree with psutil.
"""

import contextlib
import os
import signal
import subprocess

import psutil


def start_group(command, **popen_kwargs):
    """``subprocess.Popen(command, **popen_kwargs)`` as the leader of a new process group."""
    if os.name == "nt":
        flags = popen_kwargs.pop("creationflags", 0)
        return subprocess.Popen(command, creationflags=flags | subprocess.CREATE_NEW_PROCESS_GROUP, **popen_kwargs)
    return subprocess.Popen(command, start_new_session=True, **popen_kwargs)


def _tree(pid):
    """psutil processes of ``pid`` and all its descendants (those still alive)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_tree(process, timeout_s=10):
    """Kill a process started by :func:`start_group`, everything it started, and reap it.

    Args:
        process: the ``subprocess.Popen`` object.
    """
    tree_before_group_kill = _tree(process.pid)
    if os.name != "nt":
        # the group may be gone already; the psutil walk below covers the rest
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    for member in tree_before_group_kill:  # members that left the group (setsid) or on Windows
        try:
            member.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(tree_before_group_kill, timeout=timeout_s)
    # if psutil could not kill it either, the caller reports the timeout anyway
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout_s)


def tree_memory(pid):
    """(resident bytes of ``pid`` and its descendants together, of the largest one); (0, 0) once ended."""
    sizes = []
    for process in _tree(pid):
        try:
            sizes.append(process.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # ended while we looked
    return sum(sizes), max(sizes, default=0)


def tree_cpu_seconds(pid):
    """CPU seconds (user + system) of ``pid`` and its descendants, with the children they have waited for; 0 once ended."""
    total = 0.0
    for process in _tree(pid):
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # ended while we looked
        total += times.user + times.system + getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)
    return total


def load_average():
    """The 1-minute load average (psutil emulates it on Windows, where it starts at 0)."""
    return psutil.getloadavg()[0]

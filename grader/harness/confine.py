"""Kernel confinement of the sandbox process, applied before numpy, TensorFlow or student code load.

Layers, each applied where the kernel offers it (:func:`apply`):

1. ``namespaces``: new user, PID, network, mount and IPC namespaces. This
   process forks once; the child is PID 1 of the new PID namespace and runs
   the sandbox, the parent only waits for it (the judge's handle on the
   sandbox stays the parent, and the child dies with it). When PID 1 ends,
   the kernel kills every process left in the namespace: nothing the
   submission starts outlives it, and it sees no other process (a fresh
   ``/proc`` is mounted). The network namespace has no interface but a
   loopback that is down: no route to anything, the host's 127.0.0.1
   included. All capabilities are dropped afterwards.
2. ``landlock``: read and execute only beneath the folders given (the Python
   installation, system libraries, the scratch folder), write only in the
   scratch folder; TCP bind/connect refused (ABI 4); signals and abstract
   unix sockets scoped to the sandbox (ABI 6). See :mod:`.landlock`.
3. ``seccomp``: system calls with no use here fail (:mod:`.seccomp`); without a
   PID namespace it also refuses new processes and signals to others.

``no_new_privs`` is set with the last two (setuid programs grant nothing).
The judge first runs :func:`probe_main` in a throwaway process to learn
which layers this machine offers, then asks every sandbox for exactly those
(:func:`enter`): a layer that fails there ends the sandbox with
:data:`FAILED_EXIT` instead of running unconfined.

Standard library only, no threads: it runs first thing in ``python -I``.
"""

import ctypes
import json
import os
import signal
import sys

from . import landlock, seccomp

NAMESPACES, LANDLOCK, SECCOMP = "namespaces", "landlock", "seccomp"
LAYERS = (NAMESPACES, LANDLOCK, SECCOMP)
#: Exit status of a sandbox whose confinement failed (the judge reports it as such).
FAILED_EXIT = 93

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x08000000, 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP = 1, 24

#: Folders every Python process needs to read (and execute from).
SYSTEM_FOLDERS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/sys", "/etc/fonts", "/etc/ld.so.conf.d",
                  "/var/cache/fontconfig")
#: Single files under /etc the loader, time zones and user look-ups read (not /etc as a whole: /etc/shadow).
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf",
                "/etc/passwd", "/etc/group", "/etc/host.conf", "/etc/mime.types")
#: Devices: read and write (the null device), read only (randomness). Never /dev as a whole (disks).
DEVICES_RW = ("/dev/null", "/dev/zero", "/dev/full")
DEVICES_READ = ("/dev/urandom", "/dev/random")
#: Without a private /proc: what TensorFlow and Python read there, and this process's own entry only.
PROC_ENTRIES = ("/proc/self", "/proc/thread-self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/filesystems",
                "/proc/loadavg", "/proc/uptime", "/proc/version", "/proc/sys/kernel", "/proc/sys/vm")


class ConfinementError(OSError):
    """A layer could not be applied."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise ConfinementError(code, f"{what}: {os.strerror(code)}")


def _write(path, text):
    with open(path, "w", encoding="ascii") as file:
        file.write(text)


def _wait_and_exit(child):
    """The parent's whole life after the fork: end exactly as the sandbox (PID 1) ended."""
    for fd in (0, 1):  # the judge sees the pipes close when the sandbox ends, not when this process does
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, fd)
        os.close(devnull)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if code >= 0 else 128 - code)


def enter_namespaces():
    """Unshare user, PID, network, mount and IPC namespaces; return in the child, PID 1 of the new namespace.

    Returns:
        bool: whether a private /proc could be mounted (a container that
        masks parts of its /proc forbids it; Landlock then hides the rest).
    """
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC
    _check(libc.unshare(flags), "unshare")
    # the same ids inside: files in the scratch folder stay this user's
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
    _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    child = os.fork()  # no thread exists yet, so forking is safe
    if child:
        _wait_and_exit(child)
    # ends with the parent (the judge kills the parent's whole tree; this covers a parent that dies alone)
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    private_proc = libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) == 0
    return private_proc


def drop_capabilities():
    """No capability left, not even inside the new user namespace (and none regained by exec)."""
    libc = _libc()
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable; two 32-bit words each: all empty
    _check(libc.capset(header, data), "capset")


def landlock_rules(read, write, private_proc):
    """``[(path, rights)]`` for :func:`.landlock.restrict_self`: system, ``read`` and ``write`` folders."""
    rules = [(path, landlock.READ) for path in (*SYSTEM_FOLDERS, *SYSTEM_FILES, *DEVICES_READ, *read)]
    rules += [(path, landlock.READ_WRITE_FILE) for path in DEVICES_RW]
    rules += [(path, landlock.READ) for path in (("/proc",) if private_proc else PROC_ENTRIES)]
    rules += [(path, landlock.handled_fs(99)) for path in write]
    return rules


def _namespaces(config, report):
    report["details"]["private_proc"] = enter_namespaces()
    drop_capabilities()


def _landlock(config, report):
    abi = landlock.abi_version()
    if abi < 1:
        raise ConfinementError(0, "the kernel offers no Landlock")
    private_proc = bool(report["details"].get("private_proc"))
    rules = landlock_rules(config.get("read", ()), config.get("write", ()), private_proc)
    report["details"][LANDLOCK] = {"abi": abi, "enforces": landlock.restrict_self(abi, rules)}


def _seccomp(config, report):
    seccomp.install(contained=NAMESPACES in report["layers"])


_STEPS = ((NAMESPACES, _namespaces), (LANDLOCK, _landlock), (SECCOMP, _seccomp))


def apply(config, required):
    """Apply the layers ``config["layers"]`` asks for, in this order; returns ``{"layers": [...], "details": {...}}``.

    Args:
        config: ``{"layers": [...], "read": [folders], "write": [folders]}``.
        required: True in a sandbox (a failing layer raises), False in the probe
            (the layer is left out and ``details[layer]`` says why).
    """
    report = {"layers": [], "details": {}}
    wanted = set(config.get("layers", ()))
    for layer, step in _STEPS:
        if layer not in wanted:
            continue
        try:
            step(config, report)
        except (OSError, AttributeError) as exc:
            if required:
                raise
            report["details"][layer] = str(exc)
            continue
        report["layers"].append(layer)
    return report


def enter(config_path):
    """Confine this sandbox process as the file ``config_path`` (JSON) says; end it when that fails."""
    with open(config_path, encoding="utf-8") as file:
        config = json.load(file)
    try:
        return apply(config, required=True)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the sandbox must not run unconfined
        os.write(2, f"cvlab sandbox: confinement failed: {type(exc).__name__}: {exc}\n".encode())
        os._exit(FAILED_EXIT)


def probe_main():
    """Entry point of the probe: try every layer, print the report as one JSON line, end."""
    report = apply({"layers": list(LAYERS), "read": [sys.prefix, sys.base_prefix]}, required=False)
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    os._exit(0)

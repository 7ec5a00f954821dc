"""Landlock (Linux 5.13+): the kernel refuses every file access outside a list of folders.

A ruleset names the access rights it *handles*; every handled right is
denied unless a rule grants it beneath a folder (or on a file). Once
:func:`restrict_self` ran, this thread and every thread and process it
starts later keep the rules; nothing can lift them. Files are checked in
the kernel's VFS, so TensorFlow's C++ file functions, re-imported C modules
and ctypes are held exactly like ``open()``.

Rules hold for the calling thread and its future children only: apply them
before any other thread exists (before numpy or TensorFlow is imported).

The ABI grows with the kernel; this module uses what the running kernel has:
1 files, 2 ``REFER`` (links between folders), 3 ``TRUNCATE``, 4 TCP bind and
connect, 5 device ioctls, 6 scoping of abstract unix sockets and signals to
the sandbox. Standard library only (it runs inside the sandbox).
"""

import ctypes
import os
import stat
import struct

#: Syscall numbers: the same on every Linux architecture (allocated after the tables were unified).
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

#: Rights that make sense on a single file (a rule on a file may hold no others).
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR
READ_WRITE_FILE = READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV


class LandlockError(OSError):
    """The kernel refused a Landlock call."""


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _call(libc, number, *args):
    result = libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        errno = ctypes.get_errno()
        raise LandlockError(errno, f"landlock syscall {number}: {os.strerror(errno)}")
    return result


def abi_version():
    """The Landlock ABI the kernel offers: 0 when none (not Linux, too old, disabled, or forbidden)."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return 0
    try:
        return int(_call(_libc(), SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION)))
    except (OSError, AttributeError):
        return 0


def handled_fs(abi):
    """Every file-system right the given ABI knows (all of them are then denied unless granted)."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict_self(abi, rules, deny_tcp=True, scope=True):
    """Confine this thread and its future children to ``rules``.

    Args:
        abi: :func:`abi_version`'s answer (at least 1).
        rules: ``[(path, rights)]``: grant ``rights`` (masked to what the ABI
            handles; file rights only when ``path`` is not a folder) beneath
            each existing path; paths that do not exist are skipped.
        deny_tcp: from ABI 4 on, handle TCP bind and connect with no rule: both are refused.
        scope: from ABI 6 on, abstract unix sockets and signals reach nothing outside the sandbox.

    Returns:
        list[str]: what the ruleset enforces, for the report (``["files", "tcp", "signals"]``).

    Raises:
        LandlockError: the kernel refused (the caller reports the layer as missing).
    """
    libc = _libc()
    fs = handled_fs(abi)
    net = NET_BIND_TCP | NET_CONNECT_TCP if deny_tcp and abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if scope and abi >= 6 else 0
    attr = struct.pack("=QQQ", fs, net, scoped)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    buffer = ctypes.create_string_buffer(attr[:size], size)
    ruleset = _call(libc, SYS_CREATE_RULESET, buffer, ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for path, rights in rules:
            _add_path_rule(libc, ruleset, path, rights & fs)
        # no_new_privs is required (also for root without CAP_SYS_ADMIN in its namespace)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise LandlockError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        _call(libc, SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return ["files"] + (["tcp"] if net else []) + (["signals", "abstract-sockets"] if scoped else [])


def _add_path_rule(libc, ruleset, path, rights):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # nothing there to grant
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_RIGHTS
        if not rights:
            return
        attr = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
        _call(libc, SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), attr, ctypes.c_uint32(0))
    finally:
        os.close(fd)

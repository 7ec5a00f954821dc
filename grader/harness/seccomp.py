"""seccomp-bpf: system calls the sandbox has no use for fail with EPERM.

A small classic-BPF program, installed with ``prctl(PR_SET_SECCOMP)`` after
``PR_SET_NO_NEW_PRIVS``, inherited by every thread and process started
later and impossible to remove. It closes what the other layers leave
open: reading other processes' memory (``ptrace``, ``process_vm_readv``),
kernel keyrings, BPF, mounting, new namespaces, io_uring (which would do
I/O without these checks) and every socket (no network, loopback or unix,
whatever namespaces exist). Without a PID namespace (``contained=False``)
it also refuses to start processes (only threads may be created) and
allows signals to the sandbox itself only: nothing can outlive the sandbox
or reach the judge.

x86-64 and aarch64; a call made through another ABI (32-bit ``int 0x80``)
kills the process. Standard library only (it runs inside the sandbox).
"""

import ctypes
import errno
import os
import platform
import struct

#: ``name: (x86_64, aarch64)``; None where the architecture has no such call.
SYSCALLS = {
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271), "kcmp": (312, 272),
    "pidfd_getfd": (438, 438), "pidfd_open": (434, 434), "pidfd_send_signal": (424, 424),
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218), "bpf": (321, 280),
    "perf_event_open": (298, 241), "userfaultfd": (323, 282),
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51), "unshare": (272, 97),
    "setns": (308, 268), "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430),
    "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "init_module": (175, 105), "finit_module": (313, 273),
    "delete_module": (176, 106), "reboot": (169, 142), "swapon": (167, 224), "swapoff": (168, 225), "acct": (163, 89),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "socket": (41, 198), "connect": (42, 203), "bind": (49, 200), "listen": (50, 201), "accept": (43, 202),
    "accept4": (288, 242), "syslog": (103, 116), "iopl": (172, None), "ioperm": (173, None),
    "settimeofday": (164, 170), "clock_settime": (227, 112), "clock_adjtime": (305, 266), "adjtimex": (159, 171),
    "sethostname": (170, 161), "setdomainname": (171, 162), "quotactl": (179, 60), "lookup_dcookie": (212, 18),
    "vhangup": (153, 58), "uselib": (134, None), "modify_ldt": (154, None),
    "clone": (56, 220), "clone3": (435, 435), "fork": (57, None), "vfork": (58, None),
    "kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131), "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240),
}
#: Always refused (the last nine only for sockets; the channel to the judge is a pair of pipes).
DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "pidfd_open", "pidfd_send_signal",
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "mount", "umount2", "pivot_root",
    "chroot", "unshare", "setns", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "acct", "open_by_handle_at", "name_to_handle_at", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "syslog", "iopl", "ioperm", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
    "setdomainname", "quotactl", "lookup_dcookie", "vhangup", "uselib", "modify_ldt", "tkill",
    "socket", "connect", "bind", "listen", "accept", "accept4",
)
ARCHES = {"x86_64": (0, 0xC000003E), "aarch64": (1, 0xC00000B7), "arm64": (1, 0xC00000B7)}
X32_SYSCALL_BIT = 0x40000000
#: clone() flags that create namespaces (a fresh user namespace would hand out capabilities again).
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80
CLONE_THREAD = 0x00010000

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_KILL_PROCESS = 0x7FFF0000, 0x80000000
_NR, _ARCH, _ARG0, _ARG0_HIGH = 0, 4, 16, 20


def _ret_errno(code):
    return 0x00050000 | code


def supported():
    """True where this module knows the machine's system call numbers."""
    return platform.system() == "Linux" and platform.machine() in ARCHES


class _Program:
    """Classic BPF instructions; ``jump(code, k, then)``: ``then`` runs when the test holds, else the rest."""

    def __init__(self):
        self.code = []

    def op(self, code, k=0, jt=0, jf=0):
        self.code.append(struct.pack("=HBBI", code, jt, jf, k))

    def load(self, offset):
        self.op(_LD_W_ABS, offset)

    def ret(self, value):
        self.op(_RET, value)

    def when(self, code, k, then):
        """If the accumulator passes ``code k``, run the instructions ``then`` (a short list of (code, k))."""
        self.op(code, k, 0, len(then))
        for inner, value in then:
            self.op(inner, value)


def build_filter(machine, contained, own_pid):
    """The filter program (bytes, 8 per instruction) for ``machine`` ("x86_64" or "aarch64").

    Args:
        contained: True inside a PID namespace (processes may be started; they die with it).
        own_pid: the sandbox's pid as it sees itself (signals may only go there when not contained).
    """
    column, audit_arch = ARCHES[machine]
    numbers = {name: pair[column] for name, pair in SYSCALLS.items() if pair[column] is not None}
    program = _Program()
    program.load(_ARCH)
    program.op(_JEQ, audit_arch, 1, 0)
    program.ret(RET_KILL_PROCESS)
    program.load(_NR)
    if column == 0:
        program.when(_JGE, X32_SYSCALL_BIT, [(_RET, _ret_errno(errno.EPERM))])
    for name in DENIED:
        if name in numbers:
            program.when(_JEQ, numbers[name], [(_RET, _ret_errno(errno.EPERM))])
    # clone3 hides its flags in memory BPF cannot read: ENOSYS makes the C library fall back to clone()
    program.when(_JEQ, numbers["clone3"], [(_RET, _ret_errno(errno.ENOSYS))])
    if not contained:
        for name in ("fork", "vfork"):
            if name in numbers:
                program.when(_JEQ, numbers[name], [(_RET, _ret_errno(errno.EPERM))])
        for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
            # the target (a pid, low 32 bits of the first argument): this process, or (kill) its own group 0
            allowed = [own_pid, 0] if name == "kill" else [own_pid]
            program.op(_JEQ, numbers[name], 0, len(allowed) + 3)  # not this call: on to the reload below
            program.load(_ARG0)
            for index, pid in enumerate(allowed):
                program.op(_JEQ, pid, len(allowed) - index, 0)  # equal: to the ALLOW
            program.ret(_ret_errno(errno.EPERM))
            program.ret(RET_ALLOW)
            program.load(_NR)
    # clone(): never a new namespace; without a PID namespace, threads only
    program.op(_JEQ, numbers["clone"], 0, 4 if contained else 5)  # not clone: to the final ALLOW
    program.load(_ARG0)
    if contained:
        program.op(_JSET, CLONE_NAMESPACES, 1, 0)
    else:
        program.op(_JSET, CLONE_NAMESPACES, 2, 0)
        program.op(_JSET, CLONE_THREAD, 0, 1)
    program.ret(RET_ALLOW)
    program.ret(_ret_errno(errno.EPERM))
    program.ret(RET_ALLOW)
    return b"".join(program.code)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def install(contained):
    """Install the filter on this thread (and everything it starts later).

    Raises:
        OSError: the kernel refused (no seccomp, or this machine is not x86-64/aarch64).
    """
    if not supported():
        raise OSError(errno.ENOSYS, f"no seccomp filter for {platform.system()} {platform.machine()}")
    program = build_filter(platform.machine(), contained, os.getpid())
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS: required to install a filter without privileges
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    fprog = _SockFprog(len(program) // 8, program)
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), f"seccomp: {os.strerror(ctypes.get_errno())}")

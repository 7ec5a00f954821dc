"""Python-level limits the sandbox arms before it runs student code: friendly messages, not protection.

The judge never takes anything the sandbox says as a verdict, and the
kernel (:mod:`.confine`: namespaces, Landlock, seccomp) is what keeps the
submission from what it has no business with: native code (TensorFlow's C++
file functions, a re-imported C module, ctypes) walks past an audit hook.
These limits stay as an extra layer that turns the common attempts into a
sentence in the student's report ("the grader refused reading ..."), and
nothing depends on them:

- :func:`silence_output` points file descriptors 1 and 2 at /dev/null.
- :func:`limit_memory` caps the address space (where the platform has
  ``RLIMIT_AS``); the judge also watches the process's resident memory.
- :func:`install_audit_hook` refuses, from then on: opening or listing
  files outside the allowed folders (the Python installation and the
  sandbox's own scratch folder) or inside the denied ones (the project, the
  answer key, recordings, other submissions), writing files, starting
  processes, sending signals, network sockets, ``ctypes`` and importing the
  project's own packages. An audit hook cannot be removed once added.

Self-contained (standard library only).
"""

import os
import sys

GIB = 1024**3

#: Events refused outright once student code runs.
BLOCKED_EVENTS = frozenset(
    [
        "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
        "os.kill", "os.killpg", "signal.pthread_kill", "os.startfile", "pty.spawn",
        "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
        "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.cdata", "ctypes.cdata/buffer",
        "ctypes.string_at", "ctypes.wstring_at", "ctypes.create_string_buffer", "ctypes.addressof",
        "resource.setrlimit", "resource.prlimit", "os.add_dll_directory", "_winapi.CreateProcess",
        "os.chroot", "webbrowser.open", "urllib.Request", "http.client.connect", "ftplib.connect",
        "smtplib.connect", "os.setuid", "os.setgid",
    ]
)
#: Events whose first argument is a path written to (or removed).
WRITE_EVENTS = frozenset(
    [
        "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.chmod", "os.chown",
        "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.copytree", "shutil.move",
        "os.removexattr", "os.setxattr",
    ]
)
#: Events whose first argument is a path read from.
READ_EVENTS = frozenset(["os.listdir", "os.scandir", "glob.glob", "os.chdir", "os.listxattr", "os.getxattr"])
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_READABLE_DEVICES = ("/dev/null", "/dev/urandom", "/dev/random", "/dev/zero")


class SandboxViolation(PermissionError):
    """Student code tried something the sandbox does not allow."""


def silence_output():
    """Send stdout and stderr (fds 1, 2 and the Python streams) to the null device."""
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the sandbox
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _vm_size():
    """This process's virtual memory size in bytes from /proc, or None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def limit_memory(limit_gb):
    """Cap the address space at the current size + ``limit_gb`` + a thread margin.

    TensorFlow reserves address space it never touches and every new thread
    reserves a stack, hence the margin (256 MB per CPU, at least 2 GB).

    Returns:
        The cap in bytes, or None where the platform has no ``RLIMIT_AS``
        (Windows; macOS does not enforce it): the judge's watch on resident
        memory is then the only limit.
    """
    try:
        import resource  # noqa: PLC0415 - not on Windows
    except ImportError:
        return None
    current = _vm_size()
    if current is None or not hasattr(resource, "RLIMIT_AS") or sys.platform == "darwin":
        return None
    margin = max(2 * GIB, (os.cpu_count() or 1) * 256 * 1024**2)
    cap = current + int(limit_gb * GIB) + margin
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    # soft and hard together: code cannot raise the soft limit back up
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return cap


#: macOS and Windows file systems ignore case (and realpath does not fix it): compare folded paths.
_FOLD_CASE = sys.platform in ("darwin", "win32")


def _real(path):
    try:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        real = os.path.normcase(os.path.realpath(os.path.join(os.getcwd(), os.fspath(path))))
    except (TypeError, ValueError, OSError):
        return None
    return real.casefold() if _FOLD_CASE else real


def _inside(path, roots):
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _deepest(path, roots):
    """Length of the longest root that holds ``path`` (-1 when none does)."""
    return max((len(root) for root in roots if _inside(path, [root])), default=-1)


class PathPolicy:
    """Which paths the sandbox may read and write.

    The most specific folder decides: the project inside site-packages is
    denied although site-packages is readable, and a virtual environment
    inside the (denied) repository stays readable.

    Args:
        read_roots: folders whose files may be read (the Python installation, the scratch folder).
        deny_roots: folders never readable unless a deeper read root holds the path (the project).
        write_roots: folders where files may be created (none by default).
    """

    def __init__(self, read_roots, deny_roots=(), write_roots=()):
        self.read_roots = [r for r in (_real(p) for p in read_roots) if r]
        self.deny_roots = [r for r in (_real(p) for p in deny_roots) if r]
        self.write_roots = [r for r in (_real(p) for p in write_roots) if r]

    def readable(self, path):
        real = _real(path)
        if real is None:
            return False
        if real in _READABLE_DEVICES or real == os.devnull:
            return True
        allowed = _deepest(real, self.read_roots)
        return allowed >= 0 and allowed > _deepest(real, self.deny_roots)

    def writable(self, path):
        real = _real(path)
        if real is None:
            return False
        if real == os.devnull:
            return True
        allowed = _deepest(real, self.write_roots)
        return allowed >= 0 and allowed > _deepest(real, self.deny_roots)


def _open_is_write(mode, flags):
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def make_hook(policy, denied_modules, on_violation):
    """The audit hook function for :func:`install_audit_hook` (separate so it can be tested)."""
    denied_modules = frozenset(denied_modules)

    def refuse(what):
        on_violation(what)
        raise SandboxViolation(f"the grader does not allow {what}")

    def hook(event, args):
        if event == "open":
            path = args[0]
            if isinstance(path, int) or path is None:
                return
            write = _open_is_write(args[1] if len(args) > 1 else "r", args[2] if len(args) > 2 else 0)
            if write and not policy.writable(path):
                refuse(f"writing {os.fspath(path)!s}")
            if not write and not policy.readable(path):
                refuse(f"reading {os.fspath(path)!s}")
        elif event in BLOCKED_EVENTS:
            refuse(_describe(event))
        elif event in WRITE_EVENTS:
            if args and not policy.writable(args[0]):
                refuse(f"changing files ({event})")
        elif event in READ_EVENTS:
            target = args[0] if args and args[0] is not None else "."
            if not isinstance(target, int) and not policy.readable(target):
                refuse(f"looking into {os.fspath(target)!s}")
        elif event == "import":
            top = str(args[0]).split(".", 1)[0] if args else ""
            if top in denied_modules:
                refuse(f"importing {top}")

    return hook


def _describe(event):
    if event.startswith("socket.") or "connect" in event or event == "urllib.Request":
        return "network access"
    if event.startswith("ctypes."):
        return "ctypes"
    if event in ("os.kill", "os.killpg", "signal.pthread_kill"):
        return "sending signals to processes"
    if event.startswith("resource."):
        return "changing resource limits"
    return "starting other programs"


def disable_process_spawning():
    """Remove the C entry point that starts processes without an audit event (``_posixsubprocess``)."""
    module = sys.modules.get("_posixsubprocess")
    if module is not None and hasattr(module, "fork_exec"):
        del module.fork_exec


def install_audit_hook(policy, denied_modules, on_violation=lambda what: None):
    """Arm the path, process, signal, network and import limits for the rest of this process."""
    disable_process_spawning()
    sys.addaudithook(make_hook(policy, denied_modules, on_violation))

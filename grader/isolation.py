"""How well this machine's kernel confines the grading sandbox, and what the reports say about it.

:func:`isolation_status` asks once per process (a throwaway child tries each
layer of :mod:`cvlab_ch9.grader.harness.confine`, about 0.1 s) and every
sandbox then applies exactly the layers found. A grade is *protected* when
the kernel enforces all four properties:

- ``files``: student code reads only the Python installation, system
  libraries and its scratch folder, and writes only there (Landlock);
- ``processes``: nothing it starts outlives the sandbox (a PID namespace, or
  seccomp refusing new processes);
- ``others``: it neither sees nor signals other processes, the judge
  included (a PID namespace with its own /proc, or Landlock with seccomp's
  signal filter, or a separate user);
- ``network``: no network at all, loopback included (a network namespace,
  or seccomp refusing sockets).

Where any is missing (macOS, Windows, a container that forbids them), the
judge still grades, and :attr:`Isolation.warning` is the one sentence every
instructor's report carries; ``--require-isolation`` refuses with
:attr:`Isolation.refusal` instead. Student feedback runs (recorded
reference) show no sentence.
"""

import dataclasses
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from cvlab_ch9.grader.harness.confine import LANDLOCK, LAYERS, NAMESPACES, SECCOMP, SYSTEM_FOLDERS

HARNESS_DIR = Path(__file__).resolve().parent / "harness"
#: "off": confine nothing and say so in every report (tests; a host where confinement breaks something).
CONFINE_ENV = "CVLAB_CONFINE"
#: Names the user the sandbox runs as when the judge runs as root (Gradescope).
SANDBOX_USER_ENV = "CVLAB_SANDBOX_USER"
PROPERTIES = ("files", "processes", "others", "network")
_WHAT = {"files": "file access", "processes": "the processes it starts", "others": "access to other processes",
         "network": "network access"}
PROBE_TIMEOUT_S = 30
#: What the probe needs of the harness (standard library only).
PROBE_MODULES = ("__init__.py", "confine.py", "landlock.py", "seccomp.py")


@dataclasses.dataclass(frozen=True)
class Isolation:
    """The confinement every sandbox of this process gets.

    Attributes:
        layers: the kernel layers applied (``"namespaces"``, ``"landlock"``, ``"seccomp"``).
        details: what the probe reported (Landlock ABI, a private /proc, why a layer is missing).
        user: the separate user the sandbox runs as, or None.
    """

    layers: tuple = ()
    details: dict = dataclasses.field(default_factory=dict)
    user: str | None = None

    @property
    def enforced(self):
        """The properties the kernel enforces (a subset of :data:`PROPERTIES`)."""
        ns, landlock, seccomp = (layer in self.layers for layer in (NAMESPACES, LANDLOCK, SECCOMP))
        private_proc = ns and bool(self.details.get("private_proc"))
        found = set()
        if landlock:
            found.add("files")
        if ns or seccomp:
            found.add("processes")
        scoped = "signals" in self._landlock().get("enforces", ())  # Landlock ABI 6
        if (ns and (private_proc or landlock)) or (landlock and (seccomp or scoped)) or self.user:
            found.add("others")
        if ns or seccomp:
            found.add("network")
        return found

    @property
    def missing(self):
        return [p for p in PROPERTIES if p not in self.enforced]

    @property
    def protected(self):
        return not self.missing

    @property
    def warning(self):
        """One sentence for every instructor's report when the grade is not protected, else None."""
        if self.protected:
            return None
        return (f"This grade is not protected against a hostile submission: the kernel here leaves the student's code free "
                f"in {self._what()} ({self._reason()}); grade on Linux 5.13 or newer with Landlock and user "
                f"namespaces enabled (see docs/grading-security.md), and pass --require-isolation to refuse otherwise.")

    @property
    def refusal(self):
        """The sentence ``--require-isolation`` stops with."""
        return (f"--require-isolation: refusing to grade, because the kernel here leaves the student's code free "
                f"in {self._what()} ({self._reason()}); grade on Linux 5.13 or newer with Landlock and user namespaces "
                f"enabled (see docs/grading-security.md).")

    def _landlock(self):
        """What the probe said about Landlock when it applied (``{"abi", "enforces"}``), else {} (the reason is a str)."""
        info = self.details.get(LANDLOCK)
        return info if isinstance(info, dict) else {}

    def _what(self):
        parts = [_WHAT[p] for p in self.missing] or ["nothing"]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def _reason(self):
        if self.details.get("off"):
            return f"confinement turned off with {CONFINE_ENV}=off"
        if not sys.platform.startswith("linux"):
            return f"{sys.platform} has no Landlock, seccomp or namespaces"
        reasons = [f"{layer}: {self.details[layer]}" for layer in LAYERS if isinstance(self.details.get(layer), str)]
        return "; ".join(reasons) or "layers missing"

    def as_dict(self):
        """For JSON reports: ``{"protected", "layers", "enforced", "missing", "user", "warning"}``."""
        return {"protected": self.protected, "layers": list(self.layers), "enforced": sorted(self.enforced),
                "missing": self.missing, "user": self.user, "landlock_abi": self._landlock().get("abi"),
                "private_proc": bool(self.details.get("private_proc")), "warning": self.warning}


def sandbox_user():
    """The ``pwd`` entry of ``$CVLAB_SANDBOX_USER`` when this process runs as root there, else None.

    Raises:
        LookupError: the variable names no user on this machine.
    """
    name = os.environ.get(SANDBOX_USER_ENV)
    if not name or os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd  # noqa: PLC0415 - POSIX only

    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise LookupError(f"{SANDBOX_USER_ENV}={name} names no user on this machine") from None


def user_popen_args(user):
    """``subprocess.Popen`` arguments that start a process as ``user`` (a ``pwd`` entry), or none."""
    return {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def bootstrap_code(harness_dir, package, then):
    """``python -c`` code that imports ``harness_dir`` as package ``package`` (no project on the path), then runs ``then``."""
    return (
        "import importlib.util, sys; "
        f"spec = importlib.util.spec_from_file_location({package!r}, {str(Path(harness_dir) / '__init__.py')!r}, "
        f"submodule_search_locations=[{str(harness_dir)!r}]); "
        "module = importlib.util.module_from_spec(spec); "
        f"sys.modules[{package!r}] = module; spec.loader.exec_module(module); {then}"
    )


def _probe(user):
    """Run the probe as the sandbox's user; ``(layers, details)``.

    It runs from a copy of the confinement modules that this user can read
    (on Gradescope the checkout is root's only), like the sandbox itself.
    """
    if not sys.platform.startswith("linux"):
        return (), {}
    with tempfile.TemporaryDirectory(prefix="cvlab-probe-") as folder:
        harness = Path(folder) / "harness"
        harness.mkdir()
        for name in PROBE_MODULES:
            shutil.copy(HARNESS_DIR / name, harness / name)
        if user is not None:
            for path in (Path(folder), harness, *harness.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)
        code = bootstrap_code(harness, "cvlab_confine_probe", "from cvlab_confine_probe.confine import probe_main; probe_main()")
        try:
            done = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=False,
                                  timeout=PROBE_TIMEOUT_S, cwd=folder, **user_popen_args(user))
            report = json.loads(done.stdout.strip().splitlines()[-1])
        except (OSError, ValueError, IndexError, subprocess.SubprocessError) as exc:
            return (), {layer: f"the probe failed ({type(exc).__name__})" for layer in LAYERS}
    return tuple(layer for layer in report["layers"] if layer in LAYERS), report.get("details") or {}


_LOCK = threading.Lock()


@functools.cache
def _status(off, user):
    if off:
        return Isolation((), {"off": True}, None)
    layers, details = _probe(user)
    return Isolation(layers, details, None if user is None else user.pw_name)


def isolation_status():
    """This process's :class:`Isolation` (probed once, then cached; ``$CVLAB_CONFINE=off`` turns it off).

    Raises:
        LookupError: ``$CVLAB_SANDBOX_USER`` names no user.
    """
    off = os.environ.get(CONFINE_ENV, "").strip().lower() == "off"
    user = sandbox_user()
    with _LOCK:
        return _status(off, user)


# -- what the sandbox may read -----------------------------------------------------------


def _within(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _granted(folder, denied):
    """Folders to grant beneath ``folder`` so that nothing in ``denied`` (real paths) is covered."""
    if not any(_within(d, folder) and d != folder for d in denied):
        return [folder]
    granted = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        real = os.path.realpath(entry.path)
        if any(_within(real, d) for d in denied):
            continue
        granted.extend(_granted(real, denied) if os.path.isdir(real) else [real])
    return granted


@functools.lru_cache(maxsize=16)
def _readable(read, deny):
    denied = [os.path.realpath(d) for d in deny]
    folders = []
    for folder in dict.fromkeys(os.path.realpath(r) for r in read):
        if not os.path.exists(folder) or any(folder == d for d in denied):
            continue
        # a read folder inside a denied one (a venv inside the checkout) stays readable; denied ones inside it are cut out
        folders.extend(_granted(folder, [d for d in denied if not _within(folder, d) or d == folder]))
    return tuple(dict.fromkeys(folders))


def readable_folders(read_roots, deny_roots):
    """The folders Landlock grants read access beneath: the system's and ``read_roots``, minus ``deny_roots``.

    Landlock only grants, so a denied folder inside a readable one (the
    project installed into site-packages, a checkout under /usr) is cut
    out by granting its siblings one by one instead of the parent.
    """
    return list(_readable(tuple(SYSTEM_FOLDERS) + tuple(map(str, read_roots)), tuple(map(str, deny_roots))))

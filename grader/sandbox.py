"""The sandbox process, from the judge's side: start it, send requests, read its frames.

:class:`Sandbox` starts ``python -I`` in a private scratch folder holding a
copy of :mod:`cvlab_ch9.grader.harness` and the submission, and exchanges
:mod:`cvlab_ch9.grader.harness.wire` frames with it over two pipes. Every reply is
checked (request id, size) before anyone reads it.

The kernel confines the process before anything else runs in it
(:mod:`cvlab_ch9.grader.harness.confine`: namespaces, Landlock, seccomp, as
far as :func:`cvlab_ch9.grader.isolation.isolation_status` found them on this
machine): it reads only the Python installation, system libraries and its
scratch folder, writes only there, starts nothing that outlives it, sees no
other process and has no network. ``HOME``, ``TMPDIR`` and ``KERAS_HOME``
point into the scratch folder, which is deleted afterwards.

A request that outlives the check's deadline, a sandbox that uses more
memory than the limit, ends, or answers with anything malformed raises
:class:`SandboxFailure`; the caller scores that check 0 and starts a fresh
sandbox for the next one. :mod:`cvlab_ch9.grader.remote` reads the replies as values.
"""

import contextlib
import json
import os
import queue
import secrets
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

from cvlab_ch9.grader.harness.confine import FAILED_EXIT
from cvlab_ch9.grader.harness.wire import MAX_MESSAGE_BYTES, WireError, decode_body, encode, find_signed_frame
from cvlab_ch9.grader.isolation import isolation_status, readable_folders, sandbox_user, user_popen_args
from cvlab_ch9.processes import kill_tree, start_group, tree_memory

HARNESS_DIR = Path(__file__).resolve().parent / "harness"
HARNESS_PACKAGE = "cvlab_harness"
#: Seconds a fresh sandbox may take to import TensorFlow.
STARTUP_LIMIT_S = 300.0
#: How often a waiting judge looks at the sandbox's memory.
POLL_S = 0.05
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "KERAS_BACKEND": "tensorflow",
             "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": ""}
#: Environment variables passed through to the sandbox (nothing else of the judge's environment is).
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "OMP_NUM_THREADS", "TF_NUM_INTEROP_THREADS",
              "TF_NUM_INTRAOP_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


class SandboxFailure(Exception):
    """The sandbox did not answer a request as it must.

    Attributes:
        kind: "timeout", "memory", "ended" or "protocol".
        detail: exit description or what was wrong.
    """

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        #: while loading: ``(index, description)`` of the statement or cell that was running, or None.
        self.loading = None


class StudentException(Exception):
    """An exception raised by student code in the sandbox whose type has no counterpart here."""


class StudentExit(Exception):
    """Student code called exit() (SystemExit in the sandbox; never re-raised as SystemExit here)."""


class SandboxViolationError(Exception):
    """Student code tried something the sandbox refuses (reading the answer key, signals...)."""


def python_roots():
    """Folders of this Python installation the sandbox may read (stdlib, site-packages, prefixes).

    Also the folders that ``.pth`` files in site-packages add to the path: a venv
    made on top of another environment's packages (a kit installed beside an
    existing TensorFlow) imports numpy and TensorFlow from there.
    """
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    roots.update(_pth_folders(site.getsitepackages()))
    return sorted(roots)


def _pth_folders(site_dirs):
    """Existing folders named by the path lines of the ``.pth`` files in ``site_dirs`` (as :mod:`site` reads them)."""
    folders = set()
    for site_dir in site_dirs:
        for pth in sorted(Path(site_dir).glob("*.pth")):
            try:
                lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue  # site skips an unreadable .pth file too
            for line in lines:
                line = line.strip()
                if not line or line.startswith(("#", "import ", "import\t")):
                    continue
                folder = Path(site_dir, line)
                if folder.is_dir():
                    folders.add(str(folder.resolve()))
    return folders


def project_roots():
    """The project's own folders: never readable from the sandbox (answer key, checks, recordings).

    In a checkout that is the whole repository; in an installed copy (the
    packages sit in site-packages beside numpy and TensorFlow) only the
    project's own package folders.
    """
    from cvlab_ch9.paths import REPO_ROOT  # noqa: PLC0415 - a light module, imported when a sandbox starts

    packages = [REPO_ROOT / name for name in ("solutions", "labs", "grader", "cvlab_ch9", "ui", "course", "bench", "tools", "models")]
    installed = any(REPO_ROOT.resolve() == Path(root).resolve() for root in python_roots())
    return [str(r) for r in ([] if installed else [REPO_ROOT]) + packages]


def _exit_description(code):
    if code is None:
        return ""
    if code == FAILED_EXIT:
        return " (its kernel confinement failed although this machine offered it at first)"
    return f" (killed by signal {-code})" if code < 0 else f" (exit code {code})"


class Sandbox:
    """One sandbox process for one lab of one submission.

    Args:
        lab: the lab name.
        files: ``{file name: text}`` written into the sandbox's submission folder.
        init: the load instruction: ``{"kind": "module", "file": "segmentation.py"}``
            or ``{"kind": "cells", "cells": [{"name", "source"}...]}``.
        memory_gb: the memory limit.
        extra_deny: more folders the sandbox may not read (other submissions, the course).
        skip: indices of top-level statements (or cells) not to run: they hung before.
    """

    def __init__(self, lab, files, init, memory_gb, extra_deny=(), skip=()):
        self.lab = lab
        self.memory_bytes = int(memory_gb * 1024**3)
        self.scratch = Path(tempfile.mkdtemp(prefix="cvlab-sandbox-"))
        self.next_id = 0
        self.deadline = None
        self.process = None
        self._buffer = b""
        self._key = secrets.token_bytes(32)
        self.ready_info = None
        self.dirty = False
        submission = self.scratch / "submission"
        submission.mkdir()
        for name, text in files.items():
            (submission / name).write_text(text, encoding="utf-8")
        shutil.copytree(HARNESS_DIR, self.scratch / "harness" / HARNESS_PACKAGE,
                        ignore=shutil.ignore_patterns("__pycache__"))
        (self.scratch / "keras").mkdir()
        (self.scratch / "tmp").mkdir()
        read_roots = [*python_roots(), str(self.scratch)]
        deny_roots = [*project_roots(), *map(str, extra_deny)]
        try:
            self.isolation = isolation_status()
        except LookupError as exc:  # $CVLAB_SANDBOX_USER names no user
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise SandboxFailure("startup", str(exc)) from None
        confinement = {"layers": list(self.isolation.layers), "read": readable_folders(python_roots(), deny_roots),
                       "write": [str(self.scratch)]}
        (self.scratch / "confine.json").write_text(json.dumps(confinement), encoding="utf-8")
        message = dict(init)
        if message["kind"] == "module":
            message["path"] = str(submission / message.pop("file"))
        elif message["kind"] == "modules":
            message["paths"] = {alias: str(submission / name) for alias, name in message.pop("files").items()}
        message.update(
            lab=lab,
            memory_gb=memory_gb,
            workdir=str(submission),
            read_roots=read_roots,
            deny_roots=deny_roots,
            write_roots=[],
            debug=bool(os.environ.get("CVLAB_SANDBOX_DEBUG")),
            key=self._key.hex(),
            skip=sorted(skip),
        )
        self._start(message)

    def _start(self, message):
        harness = str(self.scratch / "harness")
        # the kernel confines the process before numpy, TensorFlow (and their threads) or student code load
        code = (
            f"import sys; sys.path.insert(0, {harness!r}); "
            f"from {HARNESS_PACKAGE}.confine import enter; confinement = enter({str(self.scratch / 'confine.json')!r}); "
            f"from {HARNESS_PACKAGE}.server import main; main(confinement)"
        )
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        env.update(QUIET_ENV, HOME=str(self.scratch), KERAS_HOME=str(self.scratch / "keras"), TMPDIR=str(self.scratch / "tmp"))
        debug = bool(os.environ.get("CVLAB_SANDBOX_DEBUG"))
        # its own process group (POSIX) or console group (Windows): the student's killpg(0) reaches only the sandbox
        self.process = start_group(
            [sys.executable, "-I", "-B", "-c", code], cwd=str(self.scratch), env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None if debug else subprocess.DEVNULL,
            bufsize=0, **self._unprivileged_user(),
        )
        self._chunks = queue.Queue()
        self._outbox = queue.Queue()
        threading.Thread(target=self._read_loop, args=(self.process.stdout, self._chunks), daemon=True).start()
        threading.Thread(target=self._write_loop, args=(self.process.stdin, self._outbox), daemon=True).start()
        self._send(message, deadline=time.monotonic() + STARTUP_LIMIT_S)

    def _unprivileged_user(self):
        """Popen arguments that run the sandbox as ``$CVLAB_SANDBOX_USER`` when the judge is root.

        Gradescope runs its autograder as root: there the sandbox drops to
        an unprivileged user that cannot read the answer key at all (its
        files are root-only), whatever the code tries.
        """
        try:
            user = sandbox_user()
        except LookupError as exc:
            raise SandboxFailure("startup", str(exc)) from None
        if user is None:
            return {}
        for path in [self.scratch, *self.scratch.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        return user_popen_args(user)

    # -- frames ------------------------------------------------------------------------
    # Reads and writes run in threads so that a deadline holds even when the sandbox
    # stops reading or writing (pipes block; select() does not work on Windows pipes).

    @staticmethod
    def _read_loop(stream, chunks):
        try:
            while True:
                data = stream.read(1 << 16)
                if not data:
                    break
                chunks.put(data)
        except (OSError, ValueError):
            pass  # the pipe closed: the None below tells the reader
        chunks.put(None)

    @staticmethod
    def _write_loop(stream, outbox):
        while True:
            data, done = outbox.get()
            if data is None:
                return
            try:
                stream.write(data)
                stream.flush()
                done.append(True)
            except (OSError, ValueError):
                done.append(False)

    def _send(self, value, deadline=None):
        done = []
        self._outbox.put((encode(value), done))
        deadline = deadline or self.deadline or time.monotonic() + STARTUP_LIMIT_S
        while not done:
            if time.monotonic() > deadline:
                raise SandboxFailure("timeout")
            if not self.alive:
                raise SandboxFailure("ended", _exit_description(self._wait_exit(5)))
            time.sleep(0.002)
        if not done[0]:
            raise SandboxFailure("ended", _exit_description(self._wait_exit(5)))

    def _read_more(self, deadline, watch_memory):
        """Append the next chunk from the sandbox to the buffer (watching the deadline and memory)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxFailure("timeout")
            try:
                chunk = self._chunks.get(timeout=min(remaining, POLL_S))
            except queue.Empty:
                if watch_memory and tree_memory(self.process.pid)[0] > self.memory_bytes:
                    raise SandboxFailure("memory") from None
                continue
            if chunk is None:
                self._chunks.put(None)
                raise SandboxFailure("ended", _exit_description(self._wait_exit(5)))
            if len(self._buffer) > 2 * MAX_MESSAGE_BYTES:
                raise SandboxFailure("protocol", "too much data without a valid reply")
            self._buffer += chunk
            return

    def _receive(self, deadline, watch_memory=True):
        """The next authentic frame's value (junk and unsigned frames in between are dropped)."""
        while True:
            body, consumed = find_signed_frame(self._buffer, self._key)
            self._buffer = self._buffer[consumed:]
            if body is not None:
                break
            self._read_more(deadline, watch_memory)
        try:
            value = decode_body(body)
        except WireError as exc:
            raise SandboxFailure("protocol", str(exc)) from None
        if not isinstance(value, dict):
            raise SandboxFailure("protocol", "a reply must be a dict")
        return value

    # -- life cycle ----------------------------------------------------------------------

    def wait_ready(self, load_timeout_s):
        """Wait for TensorFlow, then for the submission to load.

        Returns:
            dict: ``{"problem": None or {"status", "message"}, "cell_errors": [...]}``.

        Raises:
            SandboxFailure: the sandbox did not start ("startup"), or the
                submission hung, used too much memory or ended while loading.
        """
        try:
            started = self._receive(time.monotonic() + STARTUP_LIMIT_S, watch_memory=False)
        except SandboxFailure as exc:
            self.kill()
            raise SandboxFailure("startup", exc.detail or exc.kind) from None
        if started.get("started") is not True:
            self.kill()
            raise SandboxFailure("startup", "unexpected first message")
        layers = (started.get("confinement") or {}).get("layers") if isinstance(started.get("confinement"), dict) else None
        if layers != list(self.isolation.layers):
            self.kill()
            raise SandboxFailure("startup", f"it is confined by {layers}, not by {list(self.isolation.layers)}")
        loading = None
        while True:
            try:
                reply = self._receive(time.monotonic() + load_timeout_s)
            except SandboxFailure as exc:
                exc.loading = loading  # which statement or cell was running
                raise
            if "loading" not in reply:
                break
            index, name = reply.get("loading"), reply.get("name")
            loading = (index, str(name)[:200]) if isinstance(index, int) else None
        if reply.get("ready") is not True:
            raise SandboxFailure("protocol", "unexpected ready message")
        problem = reply.get("problem")
        if problem is not None and not (isinstance(problem, dict) and isinstance(problem.get("message"), str)):
            raise SandboxFailure("protocol", "malformed load report")
        errors = [e for e in reply.get("cell_errors") or [] if isinstance(e, str)][:10]
        problems = reply.get("problems") if isinstance(reply.get("problems"), dict) else None
        self.ready_info = {"problem": problem, "problems": problems, "cell_errors": errors}
        return self.ready_info

    def request(self, op, **fields):
        """Send one request; return the reply dict (with "value" or "error").

        Raises:
            SandboxFailure: no valid reply before :attr:`deadline`.
        """
        self.next_id += 1
        request_id = self.next_id
        self._send({"op": op, "id": request_id, **fields})
        deadline = self.deadline or time.monotonic() + STARTUP_LIMIT_S
        reply = self._receive(deadline)
        while reply.get("id") != request_id:  # a stale reply (after a forged one was taken): skip it
            if not isinstance(reply.get("id"), int) or reply["id"] > request_id:
                raise SandboxFailure("protocol", "a reply to another request")
            reply = self._receive(deadline)
        if ("value" in reply) == ("error" in reply):
            raise SandboxFailure("protocol", "a reply must hold a value or an error")
        return reply

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def _wait_exit(self, timeout_s):
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """Ask the sandbox to finish, then make sure it has and remove its scratch folder."""
        if self.alive:
            with contextlib.suppress(SandboxFailure):  # already gone: kill() below cleans up
                self._send({"op": "stop"}, deadline=time.monotonic() + 5)
            self._wait_exit(5)
        self.kill()

    def kill(self):
        """End the sandbox with everything it started, and remove the scratch folder."""
        if self.process is not None and self.process.poll() is None:
            kill_tree(self.process)
        if self.process is not None:
            self._outbox.put((None, []))
            for stream in (self.process.stdin, self.process.stdout):
                with contextlib.suppress(OSError):  # already closed by the other side
                    stream.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

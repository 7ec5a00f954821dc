"""``python -m grader batch`` on a real Dask cluster, as a student who has read the grader would try it.

One module-scoped ``LocalCluster`` with 2 worker processes, authenticated
with the TLS files of ``python -m grader batch certs`` (as a real cluster is),
serves every test through ``--scheduler tls://... --tls DIR``. The class (lab 1):

- alice: the solution; bob: the solution with ``mean_iou`` not implemented;
- carol: ``mean_iou`` calls ``os._exit`` (crashes its sandbox in every mean_iou check; the rest is graded);
- dave: ``trimap_to_classes`` loops forever on one check's input;
- mallory: the blank skeleton plus cheats: it reads alice's file, imports the
  answer key, kills the grading process (the Dask worker) and tries the
  grading cluster's scheduler with a Dask client; in native code (TensorFlow's
  file functions, /proc) it reads alice's file and the answer key, and a
  detached process waits for the batch to end to rewrite alice's file
  (tests/grader/native_cheats.py);
- sleepy: the solution with a statement that sleeps between every two
  definitions (loading has one deadline: the sleeps are skipped, the rest earns full marks);
- linker: ``segmentation.py`` is a link to ``solutions/segmentation.py`` (one sentence, 0);
- folders named ``eve,22,22``, ``nl<newline>x`` and ``..\\..\\x`` with the solution: refused by name.

Then: the verdicts, results.json and grades.csv rewritten after the batch
(what a process that outlived its sandbox did) are noticed and regraded; a
CPU burner loses only its own exercise; a worker killed mid-batch, Ctrl+C and
a scheduler that goes away lose and double nothing; a client without the
cluster's certificate can neither connect nor run code on the workers;
every verdict and results.json says how its worker confined the sandbox, and
``--require-isolation`` refuses workers without confinement, up front and mid-run.

Cost on 2 shared cores: about 6-7 minutes, 300 CPU s (the serial reference grades
five students once in this process, the cluster grades the class once, then small batches).
"""

import csv
import functools
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cvlab_ch9.generate import skeleton_for
from cvlab_ch9.grader.batch.certs import command_lines, role_files, write_certificates
from cvlab_ch9.grader.batch.cli import main as batch_main
from cvlab_ch9.grader.batch.folders import OutputFolder, collect
from cvlab_ch9.grader.batch.tasks import grade_serially
from cvlab_ch9.grader.budget import Limits
from cvlab_ch9.grader.core import PASSED, TIMEOUT, all_checks
from cvlab_ch9.grader.isolation import CONFINE_ENV
from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR
from cvlab_ch9.processes import kill_tree, start_group
from tests.grader import native_cheats
from tests.grader.helpers import solution_text
from tools.serving import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

LAB = "segmentation"
TIMEOUT_S = 20
LOAD_S = 6
LIMITS = Limits(timeout_s=TIMEOUT_S, load_s=LOAD_S)
MEAN_IOU_BODY = '    y_true = np.asarray(y_true).reshape(-1).astype("int64")\n'
TRIMAP_BODY = "    trimap = np.asarray(trimap)\n"
SKELETON = skeleton_for(SOLUTIONS_DIR / f"{LAB}.py")
CHEATS = f'''

import os as _os
import signal as _signal
import sys as _sys

for _path in ("../alice/{LAB}.py", _os.path.join({{subs!r}}, "alice", "{LAB}.py")):
    try:
        exec(open(_path).read())
    except Exception:
        pass
_sys.path.insert(0, {str(REPO_ROOT)!r})
try:
    from solutions.{LAB} import *
except Exception:
    pass
try:  # the grading cluster: replace every worker's check function (without the cluster's certificate)
    from distributed import Client as _Client
    with _Client({{scheduler!r}}, timeout=3) as _client:
        _client.run(lambda: _sys.modules["cvlab_ch9.grader.batch.tasks"].__setattr__("grade_task", None))
except BaseException:
    pass
try:
    _os.kill(_os.getppid(), _signal.SIGKILL)
except Exception:
    pass
'''
SLEEP = "import time as _time\n_time.sleep(2.5)\n\n\n"
REFUSED_IDS = ("eve,22,22", "nl\nx", "..\\..\\x")
BURN = ("    import time as _time\n    _start = _time.process_time()\n"
        "    while _time.process_time() - _start < 300:  # CPU, not wall time: the same on a busy machine\n        pass\n")


NATIVE_TOKEN = native_cheats.unique_token()


def native_cheat(subs):
    """Mallory's native cheats: alice's functions or the answer key's, read by TensorFlow; a late rewrite of alice's file."""
    outside = subs.parent / "outside"
    outside.mkdir(exist_ok=True)
    steal = "\nfor _name in ('trimap_to_classes', 'strided_downsampling', 'conv_transpose_decoder', " \
            "'build_segmentation_model', 'mean_iou'):\n    globals()[_name] = _stolen(_name) or globals()[_name]\n"
    return (native_cheats.read_the_key([subs / "alice" / f"{LAB}.py", SOLUTIONS_DIR / f"{LAB}.py"]) + steal
            + native_cheats.side_effects(outside, NATIVE_TOKEN, victim=subs / "alice" / f"{LAB}.py"))


def points(exercises=None):
    return sum(c.points for c in all_checks(lab=LAB) if exercises is None or c.exercise in exercises)


def class_texts(subs, scheduler=""):
    solution = (SOLUTIONS_DIR / f"{LAB}.py").read_text()
    return {
        "alice": solution,
        "bob": solution_text(LAB, (MEAN_IOU_BODY, '    raise NotImplementedError("segmentation.mean_iou")\n' + MEAN_IOU_BODY)),
        # every call: the checks' inputs are a secret draw, so a crash on one input (num_classes == 4) came and went
        "carol": solution_text(LAB, (MEAN_IOU_BODY, "    import os\n    os._exit(3)\n" + MEAN_IOU_BODY)),
        "dave": solution_text(LAB, (TRIMAP_BODY, "    while ((np.asarray(trimap) < 1) | (np.asarray(trimap) > 3)).any():\n"
                                                 "        pass\n" + TRIMAP_BODY)),  # any unknown value (drawn), not only 4
        "mallory": SKELETON + CHEATS.format(subs=str(subs), scheduler=scheduler) + native_cheat(subs),
        "sleepy": solution.replace("\ndef ", "\n" + SLEEP + "def "),
    }


def write_class(subs, texts):
    for student, text in texts.items():
        (subs / student).mkdir(parents=True, exist_ok=True)
        (subs / student / f"{LAB}.py").write_text(text)
    return subs


def scores_of(out):
    """{student: [(check id, status, score)]} from an output folder's verdicts."""
    found = {}
    for path in sorted(out.glob(f"*/{LAB}.json")):
        document = json.loads(path.read_text())
        found[path.parent.name] = [(r["id"], r["status"], r["score"]) for r in document["results"]]
    return found


def messages_of(out, student):
    return [r["message"] for r in json.loads((out / student / f"{LAB}.json").read_text())["results"]]


def regradable_report(data):
    """A results.json (bytes) as JSON, less what a regrade legitimately changes: the worker that graded
    (``host:pid``, in the confinement the verdict was sealed with); where it is stays."""
    document = json.loads(data)
    isolation = document.get("extra_data", {}).get("isolation", {})
    for status in (isolation, *isolation.get("labs", {}).values()):
        if "worker" in status:
            status["worker"] = "<worker>"
    return document


def sandbox_scratches(folder):
    return set(Path(folder).glob("cvlab-sandbox-*"))


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """The TLS files of ``python -m grader batch certs`` (a CA, the scheduler, the workers, the instructor)."""
    return write_certificates(tmp_path_factory.mktemp("certs") / "tls")


def role_security(certs, *roles):
    from distributed import Security  # noqa: PLC0415 - Dask loads only for these tests

    files = {}
    for role in roles:
        cert, key = role_files(certs, role)
        files.update({f"tls_{role}_cert": str(cert), f"tls_{role}_key": str(key)})
    return Security(tls_ca_file=str(role_files(certs, "ca")[0]), require_encryption=True, **files)


@pytest.fixture(scope="module")
def cluster(certs, tmp_path_factory):
    """Two workers whose sandboxes keep their scratch folders in ``cluster.scratch`` (to see that none is left)."""
    from distributed import LocalCluster  # noqa: PLC0415

    security = role_security(certs, "scheduler", "worker", "client")
    scratch = tmp_path_factory.mktemp("worker-tmp")
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(scratch)  # the workers (and their replacements) inherit it when they start
    try:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               memory_limit=0, security=security, host="127.0.0.1")
    finally:
        os.environ.pop("TMPDIR") if saved is None else os.environ.update(TMPDIR=saved)
    with cluster:
        cluster.scratch = scratch
        yield cluster


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The first five students and their grades from plain serial grading in this process (no Dask)."""
    subs = write_class(tmp_path_factory.mktemp("serial") / "submissions", {})
    texts = class_texts(subs)
    write_class(subs, {name: texts[name] for name in ("alice", "bob", "carol", "dave", "mallory")})
    tasks, _, _ = collect(subs, [LAB], LIMITS)
    return {t.student: [(r.id, r.status, r.score) for r in grade_serially(t)] for t in tasks}


def run_cli(subs, out, cluster, certs, *extra):
    return batch_main([str(subs), "--out", str(out), "--scheduler", cluster.scheduler_address, "--tls", str(certs),
                       "--timeout", str(TIMEOUT_S), "--load-timeout", str(LOAD_S), *extra])


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, cluster, certs):
    """The whole class graded once on the cluster: ``(subs, out, exit code, stdout, stderr, scratch folders left)``."""
    root = tmp_path_factory.mktemp("class")
    subs = write_class(root / "submissions", {})
    write_class(subs, class_texts(subs, cluster.scheduler_address))
    (subs / "linker").mkdir()
    (subs / "linker" / f"{LAB}.py").symlink_to(SOLUTIONS_DIR / f"{LAB}.py")
    write_class(subs, {name: (SOLUTIONS_DIR / f"{LAB}.py").read_text() for name in REFUSED_IDS})
    out = root / "out"
    buffers = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = buffers
    try:
        code = run_cli(subs, out, cluster, certs)
    finally:
        sys.stdout, sys.stderr = saved
    return subs, out, code, buffers[0].getvalue(), buffers[1].getvalue(), sandbox_scratches(cluster.scratch)


def test_two_workers_grade_a_mixed_class_as_serial_grading_does(serial, graded_class):
    subs, out, code, stdout, stderr, left = graded_class
    expected = serial
    assert sum(s for _, _, s in expected["alice"]) == points()
    assert sum(s for _, _, s in expected["bob"]) == points() - points({"mean_iou"})
    assert 0 < sum(s for _, _, s in expected["carol"]) < points()
    assert 0 < sum(s for _, _, s in expected["dave"]) < points()
    assert sum(s for _, _, s in expected["mallory"]) == 0
    assert code == 1, "the refused folders are not graded"
    grades = scores_of(out)
    assert {name: grades[name] for name in expected} == expected
    assert "graded 7 of 7 (7 recorded, 0 already recorded)" in stdout
    assert "7/7 graded" in stderr, "the progress bar"
    carol = json.loads((out / "carol" / f"{LAB}.json").read_text())
    crashed = [r for r in carol["results"] if r["score"] == 0]
    assert crashed and all("grading process ended" in r["message"] for r in crashed)
    results = json.loads((out / "alice" / "results.json").read_text())
    assert results["score"] == points() and any(t.get("visibility") == "after_published" for t in results["tests"])
    assert results["extra_data"]["isolation"]["protected"] is True and "not protected" not in results["output"] + stdout
    assert {w for w, _ in results["extra_data"]["isolation"]["labs"][LAB].items()} == {"protected", "worker"}
    assert carol["isolation"]["protected"] is True and carol["isolation"]["layers"], "the verdict says how it was confined"
    assert carol["isolation"]["worker"] != f"{socket.gethostname()}:{os.getpid()}", "by its worker, not this process"
    assert native_cheats.leftovers(subs.parent / "outside", NATIVE_TOKEN) == ([], [])
    assert (subs / "alice" / f"{LAB}.py").read_text() == class_texts(subs)["alice"], "rewritten after grading"
    assert not left, f"sandbox scratch folders left behind: {left}"


def test_links_and_forged_ids_are_one_sentence_each_and_the_csv_has_one_row_per_student(graded_class):
    subs, out, _, _, stderr, _ = graded_class
    assert [s for _, _, s in scores_of(out)["linker"]] == [0.0] * len(all_checks(lab=LAB))
    assert set(messages_of(out, "linker")) == {
        f"{LAB}.py in your submission is a link, which the grader does not follow: upload the file itself."}
    for name in REFUSED_IDS:
        assert f"not graded: {name!r}: the folder name {name!r} is not a usable student id" in stderr, stderr
    assert "Traceback" not in stderr
    rows = list(csv.reader(io.StringIO((out / "grades.csv").read_text())))
    assert rows[0] == ["student", LAB, "total", "max_total"]
    assert sorted(r[0] for r in rows[1:]) == ["alice", "bob", "carol", "dave", "linker", "mallory", "sleepy"]
    assert all(len(r) == 4 for r in rows)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".cvlab", "grades.csv", "alice", "bob", "carol", "dave", "linker", "mallory", "sleepy"])


def test_a_submission_that_sleeps_between_statements_earns_its_honest_part(serial, graded_class):
    _, out, _, _, _, _ = graded_class
    assert scores_of(out)["sleepy"] == serial["alice"], "the sleeps are skipped, the definitions earn full marks"


def test_verdicts_and_reports_rewritten_after_the_batch_are_noticed_and_regraded(graded_class, cluster, certs, tmp_path,
                                                                                  capsys):
    """What a detached process did in the first release: after the batch, alice 22 -> 0, bob (itself) 0 -> 22."""
    subs, graded, _, _, _, _ = graded_class
    out = shutil.copytree(graded, tmp_path / "out")
    honest = {name: (out / name / f"{LAB}.json").read_bytes() for name in ("alice", "bob", "carol")}
    reports = {p: p.read_bytes() for p in [out / "grades.csv", out / "alice" / "results.json", out / "bob" / "results.json"]}
    for name, passed in (("alice", False), ("bob", True)):
        path = out / name / f"{LAB}.json"
        document = json.loads(path.read_text())
        for result in document["results"]:
            result.update(status="passed" if passed else "failed", score=result["max_score"] if passed else 0.0)
        document["score"] = sum(r["score"] for r in document["results"])
        path.write_text(json.dumps(document, indent=1))
        (out / name / "results.json").write_text(json.dumps({"score": document["score"], "tests": []}))
    (out / "grades.csv").write_text(f"student,{LAB},total,max_total\nalice,0,0,22\nbob,22,22,22\n")
    mtimes = {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"*/{LAB}.json")}
    assert run_cli(subs, out, cluster, certs) == 1  # the refused folders again
    captured = capsys.readouterr()
    assert "2 verdict(s) changed on disk since they were written, graded again: alice/segmentation, bob/segmentation" \
        in captured.err
    assert "graded 2 of 2 (2 recorded, 0 already recorded), 5 unchanged" in captured.out
    checks = scores_of(out)
    for name, data in honest.items():
        document = json.loads(data)
        assert json.loads((out / name / f"{LAB}.json").read_text())["score"] == document["score"], name
        assert checks[name] == [(r["id"], r["status"], r["score"]) for r in document["results"]], name
    assert (out / "grades.csv").read_bytes() == reports.pop(out / "grades.csv"), "grades.csv is rewritten from the verdicts"
    for path, data in reports.items():  # regraded: by whichever worker was free, all the rest the same
        assert regradable_report(path.read_bytes()) == regradable_report(data), f"{path} is rewritten from the verdicts"
    changed = {p.parent.name for p in out.glob(f"*/{LAB}.json") if p.stat().st_mtime_ns != mtimes[p.parent.name]}
    assert changed == {"alice", "bob"}, "only the changed verdicts were graded again"


def test_a_cpu_burner_loses_its_own_exercise_once_the_cpu_budget_is_spent(serial, cluster, certs, tmp_path, capsys):
    subs = write_class(tmp_path / "submissions", {
        "alice": (SOLUTIONS_DIR / f"{LAB}.py").read_text(),
        "burner": solution_text(LAB, (MEAN_IOU_BODY, BURN + MEAN_IOU_BODY)),
    })
    out = tmp_path / "out"
    assert batch_main([str(subs), "--out", str(out), "--scheduler", cluster.scheduler_address, "--tls", str(certs),
                       "--timeout", "60", "--cpu-budget", "20"]) == 0
    capsys.readouterr()
    grades = scores_of(out)
    assert grades["alice"] == serial["alice"], "another student's grade is unchanged"
    burner = json.loads((out / "burner" / f"{LAB}.json").read_text())
    assert burner["score"] == points() - points({"mean_iou"}), "the honest part earns its points"
    spent = [r for r in burner["results"] if r["exercise"] == "mean_iou"]
    assert all(r["score"] == 0 and (r["status"] == TIMEOUT or "CPU budget (20 CPU s)" in r["message"]) for r in spent)
    assert any("CPU budget (20 CPU s)" in r["message"] for r in spent), [r["message"] for r in spent]
    assert all(r["status"] == PASSED for r in burner["results"] if r["exercise"] != "mean_iou")


def _tls_without_a_certificate(address, ca_file):
    """Speak TLS to ``address`` trusting its CA but showing no certificate; what the server answers."""
    host, port = address.removeprefix("tls://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=str(ca_file))
    context.check_hostname = False
    with socket.create_connection((host, int(port)), timeout=10) as raw, context.wrap_socket(raw) as tls:
        tls.sendall(b"\0" * 8)
        return tls.recv(1)  # TLS 1.3: the server's "certificate required" alert (or its close) arrives here


def test_a_client_without_the_clusters_certificate_can_neither_connect_nor_run_code(cluster, certs):
    from distributed import Client, Security  # noqa: PLC0415

    address = cluster.scheduler_address
    assert address.startswith("tls://")
    with pytest.raises((OSError, TimeoutError)):  # plain TCP to the TLS port
        Client(address.replace("tls://", "tcp://"), timeout=3)
    with pytest.raises((OSError, TimeoutError)):  # a certificate of another CA
        Client(address, timeout=3, security=Security.temporary())
    for worker in cluster.scheduler_info["workers"]:
        with pytest.raises((OSError, TimeoutError)):  # nor straight to a worker
            Client(worker, timeout=3, security=Security.temporary())
    try:  # the server ends the handshake (an alert, or it closes): never a byte of Dask (a timeout here fails)
        refused = _tls_without_a_certificate(address, role_files(certs, "ca")[0]) == b""
    except ssl.SSLError:
        refused = True
    assert refused
    with Client(address, timeout=10, security=role_security(certs, "client")) as client:
        assert len(client.run(os.getpid)) == 2, "the instructor's certificate gets in"


def _kill_a_busy_worker(cluster, certs, out, killed):
    """Once a first verdict is recorded, SIGKILL a worker that is grading a submission."""
    from distributed import Client  # noqa: PLC0415

    with Client(cluster.scheduler_address, security=role_security(certs, "client")) as client:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not killed:
            busy = [worker for worker, keys in client.processing().items() if keys]
            if list(out.glob(f"*/{LAB}.json")) and busy:
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.2)


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(serial, cluster, certs, tmp_path, capsys):
    texts = class_texts(tmp_path)
    small = write_class(tmp_path / "submissions", {f"{name}{i}": texts[name] for i in range(2) for name in ("alice", "bob")})
    out, killed = tmp_path / "out", []
    killer = threading.Thread(target=_kill_a_busy_worker, args=(cluster, certs, out, killed), daemon=True)
    killer.start()
    assert run_cli(small, out, cluster, certs) == 0
    killer.join(timeout=5)
    assert killed, "a worker was killed while it graded"
    assert "graded 4 of 4 (4 recorded, 0 already recorded)" in capsys.readouterr().out
    grades = scores_of(out)
    assert sorted(grades) == ["alice0", "alice1", "bob0", "bob1"]
    assert all(grades[name] == serial[name.rstrip("01")] for name in grades)
    rows = (out / "grades.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == ["alice0", "alice1", "bob0", "bob1"], "one row per student"


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_rerun_after_an_interruption_regrades_only_what_changed(serial, cluster, certs, tmp_path):
    """Ctrl+C once a first verdict is recorded; stalled sleeps in its first checks until they time out, so the batch
    cannot have finished when the interrupt lands (grading alone got faster than the signal on a busy machine)."""
    texts = class_texts(tmp_path)
    names = ("alice", "bob", "mallory")
    stalled = solution_text(LAB, (TRIMAP_BODY, "    import time as _time\n    _time.sleep(3600)\n" + TRIMAP_BODY))
    small = write_class(tmp_path / "submissions", {name: texts[name] for name in names} | {"stalled": stalled})
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "batch", str(small), "--out", str(out), "--scheduler",
               cluster.scheduler_address, "--tls", str(certs), "--timeout", str(TIMEOUT_S), "--load-timeout", str(LOAD_S)]
    # as from a terminal: SIGINT at its default (a pytest-xdist worker ignores it, and an ignored signal stays
    # ignored across exec, so the batch would never see the Ctrl+C)
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_sigint)
    deadline = time.monotonic() + 600
    while not list(out.glob(f"*/{LAB}.json")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)  # Ctrl+C
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert "stopped early: interrupted (Ctrl+C)" in err and "run the same command again" in err
    assert "Traceback" not in err
    recorded = {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"*/{LAB}.json")}
    assert 1 <= len(recorded) <= len(names) and "stalled" not in recorded, recorded
    changed = sorted(recorded)[0]
    (small / changed / f"{LAB}.py").write_text(texts["bob"] if changed != "bob" else texts["alice"])
    (small / "stalled" / f"{LAB}.py").write_text(texts["alice"])  # fixed: graded in the rerun, as not recorded yet
    assert run_cli(small, out, cluster, certs) == 0
    after = {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"*/{LAB}.json")}
    assert sorted(after) == sorted([*names, "stalled"])
    for name, mtime in recorded.items():
        assert (after[name] != mtime) == (name == changed), f"{name} was graded again only if it changed"
    want = {n: serial[n] for n in names} | {changed: serial["bob" if changed != "bob" else "alice"], "stalled": serial["alice"]}
    assert scores_of(out) == want
    assert OutputFolder(out, [LAB]).pending(collect(small, [LAB], LIMITS)[0]) == []


def test_the_documented_tls_cluster_grades_and_a_scheduler_that_goes_away_is_one_sentence(serial, cluster, certs,
                                                                                            tmp_path, capsys):
    """``dask scheduler`` + ``dask worker`` started as ``python -m grader batch certs`` prints; the scheduler dies mid-batch."""
    texts = class_texts(tmp_path)
    small = write_class(tmp_path / "submissions", {f"sam{i}": texts["mallory"] for i in range(2)})
    out, port = tmp_path / "out", free_port()
    address = f"tls://127.0.0.1:{port}"
    lines = [line for line in command_lines(certs, "127.0.0.1", port) if line.startswith("dask ")]
    scheduler_line, worker_line = lines
    worker_line = worker_line.replace("--nworkers -1", "--nworkers 1")
    dask = str(Path(sys.executable).parent / "dask")
    # TMPDIR: the sandbox the killed worker was running leaves its scratch folder here, which pytest removes
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TMPDIR": str(tmp_path)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": tmp_path}
    scheduler = start_group([dask, *scheduler_line.split()[1:]], **quiet)
    worker = start_group([dask, *worker_line.split()[1:]], **quiet)
    try:
        def kill_scheduler_after_the_first_verdict():
            deadline = time.monotonic() + 600
            while not list(out.glob(f"*/{LAB}.json")) and time.monotonic() < deadline:
                time.sleep(0.1)
            kill_tree(scheduler)

        threading.Thread(target=kill_scheduler_after_the_first_verdict, daemon=True).start()
        assert batch_main([str(small), "--out", str(out), "--scheduler", address, "--tls", str(certs),
                           "--connect-timeout", "60", "--timeout", str(TIMEOUT_S)]) == 1
    finally:
        for process in (scheduler, worker):
            kill_tree(process)
    err = capsys.readouterr().err
    assert "stopped early: the Dask scheduler went away" in err and "run the same command again" in err, err
    assert "Traceback" not in err and "ERROR" not in err, err
    assert len(list(out.glob(f"*/{LAB}.json"))) == 1
    assert run_cli(small, out, cluster, certs) == 0
    assert "graded 1 of 1" in capsys.readouterr().out
    assert scores_of(out) == {"sam0": serial["mallory"], "sam1": serial["mallory"]}


def test_the_default_cluster_is_tls_and_a_task_past_its_timeout_is_given_up(tmp_path):
    """The in-process LocalCluster of every run: TLS with a certificate made for the run; a stuck task is stopped."""
    from distributed import Client  # noqa: PLC0415

    from cvlab_ch9.grader.batch.cluster import dask_client  # noqa: PLC0415
    from cvlab_ch9.grader.batch.engine import run_batch  # noqa: PLC0415
    from cvlab_ch9.grader.batch.progress import Progress  # noqa: PLC0415
    from cvlab_ch9.grader.batch.tasks import GradeTask  # noqa: PLC0415
    from cvlab_ch9.grader.judge import LabCode  # noqa: PLC0415

    with dask_client(workers=1) as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        with pytest.raises((OSError, TimeoutError, TypeError)):
            Client(address, timeout=3)
    recorded, start = [], time.monotonic()
    tasks = [GradeTask("ann", LAB, LabCode(LAB, f"{LAB}.py", "x = 1\n"), "h1")]
    run = run_batch(tasks, recorded.append, workers=1, progress=Progress(1, stream=io.StringIO()), task_timeout_s=2,
                    grade=lambda task: time.sleep(600), warm=False)
    assert run.failed == {f"ann/{LAB}": "grading it took longer than 2 s (the task timeout) and was stopped; "
                                        "grade it alone to see why"}
    assert not recorded and run.interrupted is None and time.monotonic() - start < 120



def _unconfined_on(address, marker, task):
    """Grade ``task`` on a worker; the one at ``address`` joined without confinement (the others grade it, cheaply:
    every check 0, judged on this worker with its own confinement)."""
    from distributed import get_worker  # noqa: PLC0415 - on the worker

    from cvlab_ch9.grader.batch.confinement import worker_isolation, worker_name  # noqa: PLC0415
    from cvlab_ch9.grader.batch.tasks import Outcome, grade_task  # noqa: PLC0415
    from cvlab_ch9.grader.core import CheckResult  # noqa: PLC0415
    from cvlab_ch9.grader.judge import grader_fingerprint  # noqa: PLC0415

    if get_worker().address == address:
        os.environ[CONFINE_ENV] = "off"
        with open(marker, "a") as file:
            file.write(task.student + "\n")
        return grade_task(task)  # refuses before anything runs
    results = [CheckResult(c.id, c.lab, c.exercise, c.title, "failed", 0.0, c.points, "")
               for c in all_checks(lab=task.lab, include_hidden=True)]
    return Outcome(task.student, task.lab, task.code_hash, grader_fingerprint(task.lab), results, 0.0, 0.0,
                   worker_name(), worker_isolation())


def test_require_isolation_refuses_workers_without_confinement_up_front_and_regrades_elsewhere_mid_run(
        tmp_path, monkeypatch):
    """Real workers (no TensorFlow: a refusing worker never warms up, the others return a cheap verdict)."""
    import dask  # noqa: PLC0415
    from distributed import LocalCluster  # noqa: PLC0415

    from cvlab_ch9.grader.batch import engine  # noqa: PLC0415
    from cvlab_ch9.grader.batch.cluster import BatchError  # noqa: PLC0415
    from cvlab_ch9.grader.batch.progress import Progress  # noqa: PLC0415
    from cvlab_ch9.grader.batch.tasks import GradeTask  # noqa: PLC0415
    from cvlab_ch9.grader.judge import LabCode  # noqa: PLC0415

    tasks = []
    for student in ("ann", "bob", "cid", "dan"):
        code = LabCode(LAB, f"{LAB}.py", f"x = {student!r}\n")
        tasks.append(GradeTask(student, LAB, code, code.content_hash(), Limits(require_isolation=True)))
    monkeypatch.setattr(engine, "RETRIES", 0)  # Dask's own retry might land elsewhere by chance
    marker, recorded = tmp_path / "refused", []
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}), LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit=0,
            host="127.0.0.1") as cluster:
        bad = sorted(cluster.scheduler.workers)[0]
        run = engine.run_batch(tasks, recorded.append, scheduler=cluster.scheduler_address, insecure=True,
                               progress=Progress(4, stream=io.StringIO()),
                               grade=functools.partial(_unconfined_on, bad, str(marker)), warm=False)
    assert run.failed == {} and sorted(o.student for o in recorded) == ["ann", "bob", "cid", "dan"]
    assert marker.read_text(), "the worker without confinement was given a task, and refused it"
    assert all(o.isolation["protected"] for o in recorded) and run.isolation_warning is None
    monkeypatch.setenv(CONFINE_ENV, "off")  # the next cluster's workers start without confinement
    with pytest.raises(BatchError, match=r"^--require-isolation: refusing to grade, because 1 of 1 Dask worker\(s\) "
                                         r"\(\S+:\d+\) cannot confine student code: the kernel there leaves") as refused:
        engine.run_batch(tasks[:1], lambda outcome: pytest.fail("nothing is graded"), workers=1, warm=False,
                         grade=functools.partial(_unconfined_on, "", str(marker)))
    assert f":{os.getpid()})" not in str(refused.value), "the worker's own kernel was asked"

"""``python -m grader batch`` on a real Dask cluster: the same grades as serial grading, none lost or doubled.

One module-scoped ``LocalCluster`` with 2 worker processes serves every
test (through ``--scheduler``, as an existing cluster would; the default
in-process cluster is what ``python -m course grade`` uses in
tests/course/test_pipeline.py). The class (lab 1):

- alice: the solution;
- bob: the solution with ``mean_iou`` not implemented (partial);
- carol: ``mean_iou`` calls ``os._exit`` on one check's input (crashes its sandbox);
- dave: ``trimap_to_classes`` loops forever on one check's input;
- mallory: the blank skeleton plus cheats: it reads alice's file, imports
  the answer key and kills the grading process (the Dask worker); in native
  code (TensorFlow's file functions, /proc) it reads alice's file and the
  answer key, and a detached process waits for the batch to end to rewrite
  alice's file (tests/grader/native_cheats.py).

A last test starts a real ``dask scheduler`` and ``dask worker`` (as the
README does) and kills the scheduler mid-batch.

Cost on 2 shared cores: about 4 minutes (the serial reference grades the
class once in this process, the cluster grades it once, then small batches).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cvlab_ch9.generate import skeleton_for
from cvlab_ch9.grader.batch.cli import main as batch_main
from cvlab_ch9.grader.batch.folders import OutputFolder, collect
from cvlab_ch9.grader.batch.tasks import grade_serially
from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.grader.judge import Limits
from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR
from cvlab_ch9.processes import kill_tree, start_group
from tests.grader import native_cheats
from tests.grader.helpers import solution_text

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

LAB = "segmentation"
TIMEOUT_S = 20
LIMITS = Limits(timeout_s=TIMEOUT_S)
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
try:
    _os.kill(_os.getppid(), _signal.SIGKILL)
except Exception:
    pass
'''


NATIVE_TOKEN = native_cheats.unique_token()


def native_cheat(subs):
    """Mallory's native cheats: alice's functions or the answer key's, read by TensorFlow; a late rewrite of alice's file."""
    outside = subs.parent / "outside"
    outside.mkdir(exist_ok=True)
    steal = "\nfor _name in ('trimap_to_classes', 'strided_downsampling', 'conv_transpose_decoder', " \
            "'build_segmentation_model', 'mean_iou'):\n    globals()[_name] = _stolen(_name) or globals()[_name]\n"
    return (native_cheats.read_the_key([subs / "alice" / f"{LAB}.py", SOLUTIONS_DIR / f"{LAB}.py"]) + steal
            + native_cheats.side_effects(outside, NATIVE_TOKEN, victim=subs / "alice" / f"{LAB}.py"))


def class_texts(subs):
    return {
        "alice": (SOLUTIONS_DIR / f"{LAB}.py").read_text(),
        "bob": solution_text(LAB, (MEAN_IOU_BODY, '    raise NotImplementedError("segmentation.mean_iou")\n' + MEAN_IOU_BODY)),
        "carol": solution_text(LAB, (MEAN_IOU_BODY, "    if num_classes == 4:\n        import os\n        os._exit(3)\n" + MEAN_IOU_BODY)),
        "dave": solution_text(LAB, (TRIMAP_BODY, "    while (np.asarray(trimap) == 4).any():\n        pass\n" + TRIMAP_BODY)),
        "mallory": SKELETON + CHEATS.format(subs=str(subs)) + native_cheat(subs),
    }


def write_class(subs, texts):
    for student, text in texts.items():
        (subs / student).mkdir(parents=True, exist_ok=True)
        (subs / student / f"{LAB}.py").write_text(text)
    return subs


def points(exercises=None):
    return sum(c.points for c in all_checks(lab=LAB) if exercises is None or c.exercise in exercises)


def scores_of(out):
    """{student: [(check id, status, score)]} from an output folder's verdicts."""
    found = {}
    for path in sorted(out.glob(f"*/{LAB}.json")):
        document = json.loads(path.read_text())
        found[path.parent.name] = [(r["id"], r["status"], r["score"]) for r in document["results"]]
    return found


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster  # noqa: PLC0415 - Dask loads only for these tests

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit=0) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The class and its grades from plain serial grading in this process (no Dask)."""
    subs = write_class(tmp_path_factory.mktemp("class") / "submissions", {})
    write_class(subs, class_texts(subs))
    tasks, _, _ = collect(subs, [LAB], LIMITS)
    grades = {t.student: [(r.id, r.status, r.score) for r in grade_serially(t)] for t in tasks}
    return subs, grades


def run_cli(subs, out, cluster, *extra):
    return batch_main([str(subs), "--out", str(out), "--scheduler", cluster.scheduler_address,
                       "--timeout", str(TIMEOUT_S), *extra])


def test_two_workers_grade_a_mixed_class_as_serial_grading_does(serial, cluster, tmp_path, capsys):
    subs, expected = serial
    assert sum(s for _, _, s in expected["alice"]) == points()
    assert sum(s for _, _, s in expected["bob"]) == points() - points({"mean_iou"})
    assert 0 < sum(s for _, _, s in expected["carol"]) < points()
    assert 0 < sum(s for _, _, s in expected["dave"]) < points()
    assert sum(s for _, _, s in expected["mallory"]) == 0
    assert run_cli(subs, tmp_path / "out", cluster) == 0
    assert scores_of(tmp_path / "out") == expected
    captured = capsys.readouterr()
    assert "graded 5 of 5 (5 recorded, 0 already recorded)" in captured.out
    assert "5/5 graded" in captured.err, "the progress bar"
    rows = (tmp_path / "out" / "grades.csv").read_text().splitlines()
    assert rows[0] == f"student,{LAB},total,max_total" and len(rows) == 6
    assert f"alice,{points():g},{points():g},{points():g}" in rows
    carol = json.loads((tmp_path / "out" / "carol" / f"{LAB}.json").read_text())
    crashed = [r for r in carol["results"] if r["score"] == 0]
    assert crashed and all("grading process ended" in r["message"] for r in crashed)
    results = json.loads((tmp_path / "out" / "alice" / "results.json").read_text())
    assert results["score"] == points() and any(t.get("visibility") == "after_published" for t in results["tests"])
    assert native_cheats.leftovers(subs.parent / "outside", NATIVE_TOKEN) == ([], [])
    assert (subs / "alice" / f"{LAB}.py").read_text() == class_texts(subs)["alice"], "rewritten after grading"


def _kill_a_busy_worker(cluster, out, killed):
    """Once a first verdict is recorded, SIGKILL a worker that is grading a submission."""
    from distributed import Client  # noqa: PLC0415

    with Client(cluster.scheduler_address) as client:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not killed:
            busy = [worker for worker, keys in client.processing().items() if keys]
            if list(out.glob(f"*/{LAB}.json")) and busy:
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.2)


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(serial, cluster, tmp_path, capsys):
    subs, expected = serial
    texts = class_texts(subs)
    small = write_class(tmp_path / "submissions", {f"{name}{i}": texts[name] for i in range(2) for name in ("alice", "bob")})
    out, killed = tmp_path / "out", []
    killer = threading.Thread(target=_kill_a_busy_worker, args=(cluster, out, killed), daemon=True)
    killer.start()
    assert run_cli(small, out, cluster) == 0
    killer.join(timeout=5)
    assert killed, "a worker was killed while it graded"
    assert "graded 4 of 4 (4 recorded, 0 already recorded)" in capsys.readouterr().out
    grades = scores_of(out)
    assert sorted(grades) == ["alice0", "alice1", "bob0", "bob1"]
    assert all(grades[name] == expected[name.rstrip("01")] for name in grades)
    rows = (out / "grades.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == ["alice0", "alice1", "bob0", "bob1"], "one row per student"


def test_a_rerun_after_an_interruption_regrades_only_what_changed(serial, cluster, tmp_path):
    subs, expected = serial
    texts = class_texts(subs)
    names = ("alice", "bob", "mallory")
    small = write_class(tmp_path / "submissions", {name: texts[name] for name in names})
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "batch", str(small), "--out", str(out),
               "--scheduler", cluster.scheduler_address, "--timeout", str(TIMEOUT_S)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not list(out.glob(f"*/{LAB}.json")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)  # Ctrl+C
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert "stopped early: interrupted (Ctrl+C)" in err and "run the same command again" in err
    assert "Traceback" not in err
    recorded = {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"*/{LAB}.json")}
    assert 1 <= len(recorded) < len(names), recorded
    changed = sorted(recorded)[0]
    (small / changed / f"{LAB}.py").write_text(texts["bob"] if changed != "bob" else texts["alice"])
    assert run_cli(small, out, cluster) == 0
    after = {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"*/{LAB}.json")}
    assert sorted(after) == sorted(names)
    for name, mtime in recorded.items():
        assert (after[name] != mtime) == (name == changed), f"{name} was graded again only if it changed"
    want = {n: expected[n] for n in names} | {changed: expected["bob" if changed != "bob" else "alice"]}
    assert scores_of(out) == want
    assert OutputFolder(out, [LAB]).pending(collect(small, [LAB], LIMITS)[0]) == []


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_scheduler_that_goes_away_stops_the_run_with_a_sentence(serial, cluster, tmp_path, capsys):
    """A real ``dask scheduler`` + ``dask worker`` (as the README starts them); the scheduler dies mid-batch."""
    subs, expected = serial
    texts = class_texts(subs)
    small = write_class(tmp_path / "submissions", {f"sam{i}": texts["mallory"] for i in range(2)})
    out, address = tmp_path / "out", f"tcp://127.0.0.1:{_free_port()}"
    dask = str(Path(sys.executable).parent / "dask")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": tmp_path}
    scheduler = start_group([dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                             "--no-dashboard"], **quiet)
    worker = start_group([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--memory-limit", "0"], **quiet)
    try:
        def kill_scheduler_after_the_first_verdict():
            deadline = time.monotonic() + 600
            while not list(out.glob(f"*/{LAB}.json")) and time.monotonic() < deadline:
                time.sleep(0.1)
            kill_tree(scheduler)

        threading.Thread(target=kill_scheduler_after_the_first_verdict, daemon=True).start()
        assert batch_main([str(small), "--out", str(out), "--scheduler", address, "--connect-timeout", "60",
                           "--timeout", str(TIMEOUT_S)]) == 1
    finally:
        for process in (scheduler, worker):
            kill_tree(process)
    err = capsys.readouterr().err
    assert "stopped early: the Dask scheduler went away" in err and "run the same command again" in err, err
    assert "Traceback" not in err and "ERROR" not in err, err
    assert len(list(out.glob(f"*/{LAB}.json"))) == 1
    assert run_cli(small, out, cluster) == 0
    assert "graded 1 of 1" in capsys.readouterr().out
    assert scores_of(out) == {"sam0": expected["mallory"], "sam1": expected["mallory"]}

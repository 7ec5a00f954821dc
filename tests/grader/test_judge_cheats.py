"""Cheats, written as a student would, score exactly what the honest part of the submission earns.

Every cheat is appended to (a) the blank skeleton, which must still score 0,
and (b) an honest partial submission (the solution with ``mean_iou`` left
unimplemented), which must score exactly its honest points. The judge
grades each in its own sandbox against the live reference, on a secret
draw of its own, as ``python -m grader`` does on the instructor's side. The
native cheats (:mod:`tests.grader.native_cheats`: TensorFlow's file
functions, ``/proc`` of the judge, a detached process, loopback, a signal)
walk past the sandbox's Python guard; only the kernel's confinement holds
them, and they leave nothing behind. One cheat replays the kit's recordings
from inside the sandbox: it earns points from the kit's own judge (the
recordings' questions), none from the instructor's.
"""

import concurrent.futures
import os
import signal
import socket

import pytest

from cvlab_ch9.generate import skeleton_for
from cvlab_ch9.grader.core import all_checks
from cvlab_ch9.grader.judge import LabCode, Limits, grade_code, reference_provider
from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR
from tests.grader import native_cheats
from tests.grader.helpers import solution_text

pytestmark = pytest.mark.slow

LAB = "segmentation"
SKELETON = skeleton_for(SOLUTIONS_DIR / f"{LAB}.py")
MEAN_IOU_BODY = '    y_true = np.asarray(y_true).reshape(-1).astype("int64")\n'
PARTIAL = solution_text(LAB, (MEAN_IOU_BODY, '    raise NotImplementedError("segmentation.mean_iou")\n' + MEAN_IOU_BODY))
HONEST_PARTIAL_POINTS = sum(c.points for c in all_checks(lab=LAB) if c.exercise != "mean_iou")
SOLUTION_FILE = str(SOLUTIONS_DIR / f"{LAB}.py")
RECORDING = str(REPO_ROOT / "grader" / "recordings" / f"{LAB}.rec")

# Each cheat is module-level code appended to the submission; most wrap the
# student's functions so the trick runs while the checks call them.
WRAP = '''
import functools as _functools


def _cheating(func, trick):
    @_functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            result = trick(func.__name__, *args, **kwargs)
            if result is not None:
                return result
        except Exception:
            pass
        return func(*args, **kwargs)
    return wrapper


for _name in ("trimap_to_classes", "strided_downsampling", "conv_transpose_decoder", "build_segmentation_model", "mean_iou"):
    globals()[_name] = _cheating(globals()[_name], _trick)
'''

CHEATS = {
    "forged replies on the channel": '''
import os
import sys
sys.path.insert(0, os.path.join(os.getcwd(), "..", "harness"))
from cvlab_harness.wire import encode


def _trick(name, *args, **kwargs):
    for fd in range(1, 40):
        for request_id in range(1, 60):
            try:
                os.write(fd, encode({"id": request_id, "value": 0.99, "warnings": [], "violations": [], "threads": False}))
            except OSError:
                break
''' + WRAP,
    "fake verdicts on stdout and in files": f'''
import json
import os

FULL = {{"score": 1000, "tests": [{{"name": "all", "score": 1000, "max_score": 1000, "status": "passed", "output": ""}}]}}


def _trick(name, *args, **kwargs):
    print(json.dumps(FULL))
    os.write(1, (json.dumps(FULL) + "\\n").encode())
    for path in ("results.json", "../results.json", "/autograder/results/results.json",
                 {str(REPO_ROOT / "course" / "gradebook.db")!r}, "PASSED"):
        try:
            with open(path, "w") as out:
                out.write(json.dumps(FULL))
        except OSError:
            pass
''' + WRAP,
    "the reference through gc, frames and sys.modules": '''
import gc
import sys


def _trick(name, *args, **kwargs):
    for module in list(sys.modules.values()):
        if "solution" in str(getattr(module, "__file__", "")) and hasattr(module, name):
            return getattr(module, name)(*args, **kwargs)
    for obj in gc.get_objects():
        if callable(obj) and getattr(obj, "__name__", "") == name and "solution" in str(getattr(obj, "__module__", "")):
            return obj(*args, **kwargs)
    frame = sys._getframe()
    while frame is not None:
        for value in frame.f_locals.values():
            if hasattr(value, "get") and hasattr(value, "provider"):
                return value.get(name)
        frame = frame.f_back
''' + WRAP,
    "replacing the checks and the comparisons": '''
import gc

try:
    import cvlab_ch9.grader.core
    cvlab_ch9.grader.core.run_check = lambda *a, **k: None
except Exception:
    pass
for obj in gc.get_objects():
    if type(obj).__name__ in ("Check", "CheckResult"):
        try:
            object.__setattr__(obj, "func", lambda *a, **k: None)
            object.__setattr__(obj, "status", "passed")
        except Exception:
            pass
import numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: True


def _trick(name, *args, **kwargs):
    return None
''' + WRAP,
    "importing the answer key or the project's code": f'''
import importlib.util
import sys

sys.path.insert(0, {str(REPO_ROOT)!r})


def _trick(name, *args, **kwargs):
    for module_name in ("solutions.segmentation", "cvlab_ch9.impl", "cvlab_ch9.ui.common"):
        try:
            module = importlib.import_module(module_name)
            if hasattr(module, name):
                return getattr(module, name)(*args, **kwargs)
        except Exception:
            pass
    spec = importlib.util.spec_from_file_location("_ref", {SOLUTION_FILE!r})
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    return getattr(reference, name)(*args, **kwargs)

import importlib
''' + WRAP,
    "loading the recorded expectations": f'''
import numpy as np


def _trick(name, *args, **kwargs):
    data = open({RECORDING!r}, "rb").read()
    return np.frombuffer(data[-64:], dtype="uint8").reshape(8, 8) % 3
''' + WRAP,
    "killing or signalling the grading process": f'''
import ctypes
import concurrent.futures
import os
import signal
import socket


def _trick(name, *args, **kwargs):
    for attempt in (
        lambda: os.kill(os.getppid(), signal.SIGKILL),
        lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL),
        lambda: os.killpg(0, signal.SIGTERM),
        lambda: signal.pthread_kill(0, signal.SIGKILL),
        lambda: ctypes.CDLL(None).kill(os.getppid(), {int(signal.SIGKILL)}),
    ):
        try:
            attempt()
        except Exception:
            pass
''' + WRAP,
    "starting programs and forking": f'''
import os
import subprocess


def _trick(name, *args, **kwargs):
    for attempt in (
        lambda: subprocess.run(["cat", {SOLUTION_FILE!r}], capture_output=True),
        lambda: os.system("cat {SOLUTION_FILE} > /tmp/leak.txt"),
        lambda: os.fork(),
        lambda: os.posix_spawn("/bin/sh", ["sh", "-c", "kill -9 $PPID"], dict()),
    ):
        try:
            attempt()
        except Exception:
            pass
''' + WRAP,
}


def replay_cheat():
    """A cheat that answers the recordings' own questions with the recordings' answers, from inside the sandbox.

    A student holding the kit knows both: the recordings (``grader/recordings``) and the questions of the
    fixed draw they were made on (the kit's checks). The submission embeds them and replaces the sandbox's
    request handler: a request that asks a recorded question gets the recorded answer (values, models whose
    summaries claim the recorded weights, recorded outputs); any other goes to the student's own code.
    """
    import base64  # noqa: PLC0415
    import pickle  # noqa: PLC0415

    from cvlab_ch9.grader.checks import segmentation_models, segmentation_trimap  # noqa: PLC0415
    from cvlab_ch9.grader.draw import Draw  # noqa: PLC0415
    from cvlab_ch9.grader.reference import read_recording  # noqa: PLC0415

    draw, values = Draw.fixed(), read_recording(LAB)
    small = segmentation_models.small_model_case(draw)
    blocks = [("strided_downsampling", segmentation_models.encoder_case(draw), "encoder"),
              ("conv_transpose_decoder", segmentation_models.decoder_case(draw), "decoder")]
    questions = {
        "trimap": segmentation_trimap.trimap(draw),
        "blocks": {(name, tuple(case.input_shape), tuple(case.filters)): key for name, case, key in blocks},
        "small_model": small.kwargs,
    }
    table = base64.b64encode(pickle.dumps({"questions": questions, "values": values})).decode()
    return f'''
import base64 as _b64
import pickle as _pickle
import sys as _sys

import numpy as _np

_DATA = _pickle.loads(_b64.b64decode({table!r}))
_Q, _R = _DATA["questions"], _DATA["values"]
_server = _sys.modules["cvlab_harness.server"]
_wire = _sys.modules["cvlab_harness.wire"]
_original = _server.Server.handle
_FORGED = {{}}


def _model(key):
    handle = 10_000 + len(_FORGED)
    _FORGED[handle] = key
    weights = [list(w.shape) for w in _R[key]["weights"]]
    output = [None, *_R[key]["output"].shape[1:]]
    return _wire.ModelRef(handle, {{"class_name": "Functional", "name": key, "params": 0, "inputs": [],
                                   "outputs": [output], "weights": weights, "layers": []}})


def _forged(self, request):
    op, name = request.get("op"), request.get("name")
    args, kwargs = request.get("args") or [], request.get("kwargs") or {{}}
    if op == "call" and name == "trimap_to_classes" and args and _np.array_equal(args[0], _Q["trimap"]):
        return _R["trimap_classes"]
    if op == "build":
        key = _Q["blocks"].get((name, tuple(request["input_shape"]), tuple(kwargs.get("filters", ()))))
        if key:
            return _model(key)
    if op == "call" and name == "build_segmentation_model" and dict(kwargs) == _Q["small_model"]:
        return _model("small_model")
    if request.get("handle") in _FORGED:
        return _R[_FORGED[request["handle"]]]["output"] if op == "predict" else None
    return _original(self, request)


_server.Server.handle = _forged
'''


CHEATS["replaying the recordings from inside the sandbox"] = replay_cheat()


def forged_description_cheat():
    """Models that compute nothing but describe themselves as the chapter's (summary and config of a friend's model).

    The sandbox's own summary and config of a model are the submission's word: here they are the reference's,
    while the functions return their input. Applied only where the student's own function is not written.
    """
    import base64  # noqa: PLC0415
    import pickle  # noqa: PLC0415

    from cvlab_ch9.grader.harness.summary import model_config, summarize  # noqa: PLC0415
    from cvlab_ch9.impl import load_lab  # noqa: PLC0415

    friend = load_lab(LAB, "solutions").build_segmentation_model()
    table = base64.b64encode(pickle.dumps({"summary": summarize(friend), "config": model_config(friend)})).decode()
    return f'''
import base64 as _b64
import pickle as _pickle
import sys as _sys

import keras as _keras

_FRIEND = _pickle.loads(_b64.b64decode({table!r}))
_local = _sys.modules["cvlab_harness.local"]
_true_summarize, _true_config = _local.summarize, _local.LocalModel.config
_local.summarize = lambda model: _FRIEND["summary"] if getattr(model, "_forged", False) else _true_summarize(model)
_local.LocalModel.config = lambda self: _FRIEND["config"] if getattr(self.model, "_forged", False) else _true_config(self)


def _forging(func, make):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except NotImplementedError:
            return make(*args, **kwargs)
    return wrapper


def _input_model(img_size=(200, 200), num_classes=3, filters=(64, 128, 256)):
    inputs = _keras.Input(tuple(img_size) + (3,))
    model = _keras.Model(inputs, inputs)
    model._forged = True
    return model


build_segmentation_model = _forging(build_segmentation_model, _input_model)
strided_downsampling = _forging(strided_downsampling, lambda x, filters=(64, 128, 256): x)
conv_transpose_decoder = _forging(conv_transpose_decoder, lambda x, filters=(256, 128, 64): x)
'''


CHEATS["forged model summaries and configs"] = forged_description_cheat()


NATIVE = "native code: TensorFlow file functions, /proc, a detached process, loopback, signals"
NAMES = sorted([*CHEATS, NATIVE])


def native_cheat(outside, token, port):
    """The native cheats against this judge: read the answer key, write ``outside``, outlive grading, connect to ``port``."""
    return (native_cheats.read_the_key([SOLUTION_FILE])
            + native_cheats.side_effects(outside, token, port=port, judge_pid=os.getpid())
            + "\n\ndef _trick(name, *args, **kwargs):\n    function = _stolen(name)\n"
            + "    return None if function is None else function(*args, **kwargs)\n" + WRAP)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """``{(cheat, base): (total score, results)}`` for every cheat on both bases, each in its own sandbox.

    Two submissions are graded at a time, as a batch's two workers would
    (each has its own sandbox process), against one live reference. Also
    ``"native"``: what the native cheats left behind (files outside the
    scratch folder, processes, connections to a listener on 127.0.0.1,
    signals to this process, the judge).
    """
    limits = Limits(timeout_s=60.0, memory_gb=3.0)
    reference = reference_provider("live")  # shared: each expectation is computed once (twice at worst)
    outside, token = tmp_path_factory.mktemp("outside-the-sandbox"), native_cheats.unique_token()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    texts = dict(CHEATS, **{NATIVE: native_cheat(outside, token, listener.getsockname()[1])})

    def grade_one(key):
        name, base = key
        text = {"skeleton": SKELETON, "partial": PARTIAL}[base]
        results = grade_code({LAB: LabCode(LAB, f"labs/{LAB}.py", text + "\n" + texts[name])}, lab=LAB,
                             reference=reference, limits=limits)
        return sum(r.score for r in results), results

    keys = [(name, base) for name in NAMES for base in ("skeleton", "partial")]
    with native_cheats.SignalCounter() as signals, listener, concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        graded = dict(zip(keys, pool.map(grade_one, keys)))
        files, processes = native_cheats.leftovers(outside, token)
        try:
            connections = [listener.accept()[1]]
        except BlockingIOError:
            connections = []
        graded["native"] = {"files": files, "processes": processes, "connections": connections, "signals": signals.count}
    return graded


@pytest.mark.parametrize("name", NAMES)
def test_a_cheat_on_the_blank_skeleton_scores_zero(graded, name):
    score, results = graded[(name, "skeleton")]
    assert score == 0, [(r.id, r.status, r.message) for r in results if r.score]


@pytest.mark.parametrize("name", NAMES)
def test_a_cheat_on_an_honest_partial_submission_scores_its_honest_points(graded, name):
    score, results = graded[(name, "partial")]
    assert score == HONEST_PARTIAL_POINTS, [(r.id, r.status, r.message) for r in results]


def test_the_replay_scores_on_the_recordings_own_questions():
    """The kit's judge asks the recorded questions: there the replay earns points (it is a real replay)."""
    text = SKELETON + "\n" + CHEATS["replaying the recordings from inside the sandbox"]
    results = grade_code({LAB: LabCode(LAB, f"labs/{LAB}.py", text)}, lab=LAB, reference=reference_provider("recorded"),
                         limits=Limits(timeout_s=60.0, memory_gb=3.0))
    # (the trimap's mapping check also asks a question of its own, a second integer dtype: nothing to replay there)
    assert {r.id.split(".", 1)[1] for r in results if r.score} >= {
        "strided_downsampling.encoder_outputs", "conv_transpose_decoder.decoder_outputs", "build_segmentation_model.model_outputs"}


def test_no_cheat_left_a_file_or_reached_the_judge(graded):
    assert os.getpid() > 0 and signal.SIGKILL  # this process (the judge) is still here
    gradebook = REPO_ROOT / "course" / "gradebook.db"
    assert not gradebook.exists() or gradebook.read_text(errors="ignore")[:1] != "{"
    assert not os.path.exists("/tmp/leak.txt")
    assert not (REPO_ROOT / "results.json").exists()


def test_native_cheats_left_no_file_process_connection_or_signal(graded):
    assert graded["native"] == {"files": [], "processes": [], "connections": [], "signals": 0}

"""The judge survives broken student code: each problem costs only its own checks.

Each test writes a copy of ``solutions/segmentation.py`` with a few
functions changed into a temporary labs folder and grades it with
:func:`cvlab_ch9.grader.judge.grade` (a sandbox process per lab, short limits). A
misbehaving function loses only its own checks, with a message that says
what happened; every other check still passes, and repeated runs give the
same scores.
"""

import json
import os
import subprocess
import sys

import pytest

from cvlab_ch9.grader.budget import MEMORY_ENV, TIMEOUT_ENV
from cvlab_ch9.grader.core import ERROR, FAILED, PASSED, TIMEOUT, all_checks, labs_with_checks
from cvlab_ch9.grader.judge import grade
from cvlab_ch9.paths import REPO_ROOT, SOLUTIONS_DIR

pytestmark = pytest.mark.slow

pytestmark = pytest.mark.slow  # every test grades in the runner's worker processes
LAB = "segmentation"
SOLUTION = (SOLUTIONS_DIR / f"{LAB}.py").read_text()
TIMEOUT_S = 12
MEMORY_GB = 1.0  # the sandbox holds about 0.6 GB with TensorFlow loaded

# anchors: the first line of each function body in the solution
TRIMAP_BODY = "    trimap = np.asarray(trimap)\n"
ENCODER_BODY = "    for f in filters:\n        # halve"
DECODER_RETURN = "    return x\n    ### END SOLUTION\n\n\ndef build_segmentation_model"
MODEL_BODY = "    inputs = keras.Input(shape=tuple(img_size) + (3,))\n"
MODEL_OUTPUT = '    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)\n'
MEAN_IOU_BODY = '    y_true = np.asarray(y_true).reshape(-1).astype("int64")\n'
IMPORTS = "import numpy as np\n"


@pytest.fixture(autouse=True)
def _short_limits(monkeypatch):
    """Limits small enough that a hanging or hoarding check costs seconds."""
    monkeypatch.setenv(TIMEOUT_ENV, str(TIMEOUT_S))
    monkeypatch.setenv(MEMORY_ENV, str(MEMORY_GB))


def write_variant(directory, edits):
    """Write the solution with ``edits`` = [(anchor, text inserted before it)] as segmentation.py."""
    text = SOLUTION
    for anchor, inserted in edits:
        assert text.count(anchor) == 1, f"anchor not unique in the solution: {anchor!r}"
        text = text.replace(anchor, inserted + anchor)
    (directory / f"{LAB}.py").write_text(text)
    return directory


def by_name(results):
    return {r.id.split(".", 1)[1]: r for r in results}


def assert_only(results, expected):
    """Checks named in ``expected`` (name -> (status, text in message)) fail so; all others pass."""
    named = by_name(results)
    assert set(named) == {c.id.split(".", 1)[1] for c in all_checks(lab=LAB)}
    for name, result in named.items():
        if name in expected:
            status, text = expected[name]
            assert (result.status, result.score) == (status, 0.0), (name, result)
            assert text in result.message, (name, result.message)
        else:
            assert result.status == PASSED, (name, result.status, result.message)
            assert result.score == result.max_score


# -- crashes, hangs, memory, noise ------------------------------------------------

#: True in the decoder's own checks, False when build_segmentation_model calls it (inputs are drawn: no fixed shape).
DECODER_ALONE = 'sys._getframe(1).f_code.co_name != "build_segmentation_model"'
#: True only in the check of classes absent from both masks (the other checks' truths hold every class).
ABSENT_CLASSES = "np.setdiff1d(np.arange(num_classes), np.union1d(y_true, y_pred)).size"

ZOO = [
    (IMPORTS, "import os\nimport sys\n\n_BUILDS = []\n"),
    (TRIMAP_BODY, "    if not np.isin(np.asarray(trimap), (1, 2, 3)).all():\n        while True:\n            pass\n"),
    (
        ENCODER_BODY,
        '    print("debug on stdout")\n    print("debug on stderr", file=sys.stderr)\n'
        '    os.write(1, b"raw fd 1\\n")\n    os.write(2, b"raw fd 2\\n")\n',
    ),
    (
        "def trimap_to_classes",
        "class HostileError(Exception):\n    def __str__(self):\n        raise RuntimeError('no message')\n\n\n",
    ),
    (DECODER_RETURN, f"    if {DECODER_ALONE}:  # only in the decoder checks\n        raise HostileError()\n"),
    (
        MODEL_BODY,
        "    _BUILDS.append(img_size)\n"
        "    if len(_BUILDS) == 3:  # the third model built: the num_classes check's\n        hoard = []\n        while True:\n"
        '            hoard.append(np.ones(50_000_000, dtype="uint8"))\n'
        '    if tuple(img_size) == (200, 200):\n        raise ValueError("x" * 10_000_000)\n',
    ),
    (
        MEAN_IOU_BODY,
        f"    if {ABSENT_CLASSES}:\n        os._exit(3)\n"
        '    if np.ndim(y_true) == 4:\n        np.ones(1 << 42, dtype="uint8")\n',
    ),
]
ZOO_EXPECTED = {
    "conv_transpose_decoder.decoder_shapes": (ERROR, "raised HostileError"),
    "conv_transpose_decoder.decoder_outputs": (ERROR, "raised HostileError"),
    # the model raises on its own, but its decoder is wrong too: the hint sends the student to the decoder first
    "build_segmentation_model.default_parameter_count": (FAILED, "Your conv_transpose_decoder is wrong (see its check); fix it first."),
    "trimap_to_classes.rejects_unknown_values": (TIMEOUT, f"Stopped after {TIMEOUT_S} s: trimap_to_classes() did not finish"),
    "build_segmentation_model.num_classes": (ERROR, f"used more than {MEMORY_GB:g} GB of memory"),
    "mean_iou.scores_and_channel_axis": (ERROR, f"used more than {MEMORY_GB:g} GB of memory"),
    "mean_iou.absent_classes": (ERROR, "grading process ended while running mean_iou() (exit code 3)"),
}


def test_hang_exit_memory_and_noise_lose_only_their_own_checks(tmp_path):
    results = grade(write_variant(tmp_path, ZOO), lab=LAB)
    assert_only(results, ZOO_EXPECTED)
    assert max(len(r.message) for r in results) < 2100  # a 10 MB exception message is cut


# -- patching what the checks use --------------------------------------------------

TAMPER = [
    (IMPORTS, "import sys\nimport threading\nimport time\n"),
    (
        TRIMAP_BODY,
        "    if np.isin(np.asarray(trimap), (1, 2, 3)).all():  # a thread that patches numpy after its check\n"
        "        def later():\n            time.sleep(1.0)\n            np.isclose = lambda *a, **k: True\n"
        "        threading.Thread(target=later, daemon=True).start()\n",
    ),
    (
        DECODER_RETURN,
        f"    if {DECODER_ALONE}:  # only in the decoder checks\n"
        "        np.allclose = lambda *a, **k: True\n"
        "        np.testing.assert_allclose = lambda *a, **k: None\n"
        "        x = layers.Rescaling(2.0)(x)\n",
    ),
]
TAMPER_EXPECTED = {
    # the patches change numpy in the sandbox only; the judge compares with its own numpy
    "conv_transpose_decoder.decoder_outputs": (FAILED, "Decoder output: values differ from the reference"),
}


def test_patching_numpy_changes_nothing_in_the_judge(tmp_path):
    assert_only(grade(write_variant(tmp_path, TAMPER), lab=LAB), TAMPER_EXPECTED)


# -- broken files --------------------------------------------------------------------


def test_syntax_error_zeroes_its_lab_with_the_line_and_others_are_graded(tmp_path):
    broken = SOLUTION.replace("def mean_iou(y_true, y_pred, num_classes):", "def mean_iou(y_true, y_pred, num_classes:")
    line = broken.splitlines().index("def mean_iou(y_true, y_pred, num_classes:") + 1
    (tmp_path / f"{LAB}.py").write_text(broken)
    others = [lab for lab in labs_with_checks() if lab != LAB]
    present, missing = others[:1], others[1:]  # one other lab graded, the rest missing
    for other in present:
        (tmp_path / f"{other}.py").write_text((SOLUTIONS_DIR / f"{other}.py").read_text())
    results = grade(tmp_path)
    assert {r.lab for r in results} == {LAB, *others}
    for lab, status, text in [(LAB, ERROR, f"syntax error on line {line}")] + [(m, ERROR, "does not exist") for m in missing]:
        lab_results = [r for r in results if r.lab == lab]
        assert len(lab_results) == len(all_checks(lab=lab))
        assert all(r.status == status and r.score == 0 and text in r.message for r in lab_results), lab_results
    assert all(r.status == PASSED for r in results if r.lab in present)


LEGIT_BUT_UNUSUAL = [
    (
        "#: Trimap values",
        "import matplotlib\nimport tensorflow as tf\n\nmatplotlib.use('Agg')\nnp.random.seed(0)\n"
        "keras.utils.set_random_seed(0)\n_minus_one = tf.function(lambda t: t - 1)  # autograph reads this file\n\n",
    ),
    (
        '    return (trimap - 1).astype("uint8")\n',
        "    assert tf.keras.layers.Dense is not None  # tf.keras: a lazily loaded module\n"
        '    print("mapping", trimap.shape)\n'
        '    return np.asarray(_minus_one(tf.constant(trimap, dtype=tf.int32))).astype("uint8")\n',
    ),
]


def test_unusual_but_honest_code_is_not_flagged(tmp_path):
    assert_only(grade(write_variant(tmp_path, LEGIT_BUT_UNUSUAL), lab=LAB), {})


def test_repeated_runs_of_the_reference_give_full_identical_scores():
    runs = [grade("solutions", lab=LAB) for _ in range(2)]
    for results in runs:
        assert all(r.status == PASSED for r in results), [r.message for r in results if r.status != PASSED]
    assert [(r.id, r.score) for r in runs[0]] == [(r.id, r.score) for r in runs[1]]


# -- command line ----------------------------------------------------------------------


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=600, env=env,
    )


def test_cli_missing_labs_directory_exits_2_with_a_sentence(tmp_path):
    done = cli("--labs", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "does not exist" in done.stderr and "--labs" in done.stderr


def test_cli_gradescope_json_stays_clean_with_noisy_failing_hanging_code(tmp_path):
    noisy = [
        (IMPORTS, 'import os\nimport sys\nprint("import-time noise")\nos.write(1, b"fd1 noise\\n")\n'),
        (ENCODER_BODY, '    print("noise")\n    print("noise", file=sys.stderr)\n'),
        (TRIMAP_BODY, "    return trimap\n"),  # wrong: never subtracts 1
        (MEAN_IOU_BODY, f"    while {ABSENT_CLASSES}:\n        pass\n"),  # hangs in absent_classes only
    ]
    labs = write_variant(tmp_path, noisy)
    env = {**os.environ, TIMEOUT_ENV: "600"}  # --timeout wins over the environment
    done = cli("--labs", str(labs), "--lab", LAB, "--format", "gradescope", "--timeout", "10", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    # the instructor's judge (live reference) adds how the sandbox was confined, and a warning where it was not
    assert {"score", "tests", "extra_data"} <= set(document) <= {"score", "tests", "extra_data", "output"}
    assert len(document["tests"]) == len(all_checks(lab=LAB))
    for test in document["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert test["status"] in ("passed", "failed")
    statuses = {t["name"].split(":")[0]: t["status"] for t in document["tests"]}
    assert statuses[f"{LAB}.trimap_to_classes.mapping"] == "failed"
    assert statuses[f"{LAB}.strided_downsampling.encoder_outputs"] == "passed"
    hung = next(t for t in document["tests"] if t["name"].startswith(f"{LAB}.mean_iou.absent_classes"))
    assert (hung["status"], hung["score"]) == ("failed", 0)
    assert "Stopped after 10 s: mean_iou() did not finish" in hung["output"]
    assert document["score"] == sum(t["score"] for t in document["tests"])
    assert "noise" not in done.stderr

"""What the judge says and does about the sandbox's confinement, also where the kernel offers none.

The fallback is simulated with ``CVLAB_CONFINE=off`` (or a stubbed
:func:`~cvlab_ch9.grader.isolation.isolation_status`): every report of the
instructor's judge carries the one sentence, ``--require-isolation``
refuses, a student's feedback run (recorded reference) shows nothing, and a
sandbox with fewer layers still runs TensorFlow.
"""

import json

import pytest

from cvlab_ch9.grader import __main__ as cli
from cvlab_ch9.grader import sandbox as sandbox_module
from cvlab_ch9.grader.core import PASSED, CheckResult
from cvlab_ch9.grader.harness.confine import LANDLOCK, NAMESPACES, SECCOMP
from cvlab_ch9.grader.harness.seccomp import build_filter
from cvlab_ch9.grader.isolation import CONFINE_ENV, Isolation, isolation_status, readable_folders
from cvlab_ch9.grader.judge import GraderError, Limits, check_isolation
from cvlab_ch9.grader.report import to_gradescope, to_json, to_table
from cvlab_ch9.grader.sandbox import Sandbox

FULL = Isolation((NAMESPACES, LANDLOCK, SECCOMP), {"private_proc": True, "landlock": {"abi": 7}})
NONE = Isolation((), {NAMESPACES: "unshare: Operation not permitted", LANDLOCK: "the kernel offers no Landlock"})
SENTENCE = "This grade is not protected against a hostile submission"


@pytest.mark.parametrize(("layers", "private_proc", "missing"), [
    ((NAMESPACES, LANDLOCK, SECCOMP), True, []),
    ((LANDLOCK, SECCOMP), False, []),  # no user namespaces (many containers): still protected
    ((NAMESPACES, SECCOMP), True, ["files"]),
    ((NAMESPACES,), False, ["files", "others"]),  # the host's /proc, nothing hiding it
    ((SECCOMP,), False, ["files", "others"]),
    ((LANDLOCK,), False, ["processes", "others", "network"]),
    ((), False, ["files", "processes", "others", "network"]),
])
def test_a_grade_is_protected_only_when_every_property_is_enforced(layers, private_proc, missing):
    status = Isolation(layers, {"private_proc": private_proc})
    assert status.missing == missing and status.protected == (not missing)
    assert (status.warning is None) == (not missing)
    if missing:
        assert status.warning.startswith(SENTENCE) and status.warning.count(".") == 3  # one sentence (and "5.13", ".md")
        assert "--require-isolation" in status.warning and status.refusal.startswith("--require-isolation")


def test_a_separate_user_or_landlock_scopes_keep_other_processes_out_of_reach():
    assert Isolation((SECCOMP,), {}, user="cvlab-sandbox").missing == ["files"]
    assert Isolation((LANDLOCK,), {"landlock": {"abi": 6, "enforces": ["files", "signals"]}}).missing == ["processes", "network"]


RESULTS = [CheckResult(id="segmentation.x.y", lab="segmentation", exercise="x", title="t", status=PASSED, score=1.0,
                       max_score=1.0)]


def test_every_report_format_carries_the_sentence_where_the_grade_is_not_protected():
    assert SENTENCE in to_table(RESULTS, isolation=NONE).splitlines()[-1]
    assert json.loads(to_json(RESULTS, isolation=NONE))["isolation"]["warning"].startswith(SENTENCE)
    document = json.loads(to_gradescope(RESULTS, isolation=NONE))
    assert document["output"].startswith(SENTENCE) and document["extra_data"]["isolation"]["protected"] is False
    assert json.loads(to_json(RESULTS, isolation=FULL))["isolation"]["layers"] == ["namespaces", "landlock", "seccomp"]
    assert "namespaces, landlock, seccomp" in to_table(RESULTS, isolation=FULL) and SENTENCE not in to_table(RESULTS, isolation=FULL)
    assert "output" not in json.loads(to_gradescope(RESULTS, isolation=FULL))
    for report in (to_table(RESULTS), to_json(RESULTS), to_gradescope(RESULTS)):  # a student's own run
        assert SENTENCE not in report and "isolation" not in report


def test_require_isolation_refuses_with_one_sentence(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(CONFINE_ENV, "off")
    assert isolation_status().layers == () and not isolation_status().protected
    with pytest.raises(GraderError, match="^--require-isolation: refusing to grade"):
        check_isolation(Limits(require_isolation=True))
    assert check_isolation(Limits()) is isolation_status()  # without the flag it grades
    assert cli.main(["--labs", str(tmp_path), "--require-isolation"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("python -m grader: --require-isolation: refusing to grade") and error.count("\n") == 1


@pytest.mark.parametrize(("reference", "warned"), [("live", True), ("recorded", False)])
def test_the_instructors_report_warns_and_a_students_feedback_does_not(monkeypatch, tmp_path, capsys, reference, warned):
    monkeypatch.setenv(CONFINE_ENV, "off")
    monkeypatch.setattr(cli, "grade", lambda **kwargs: RESULTS)
    for fmt in ("table", "json", "gradescope"):
        assert cli.main(["--labs", str(tmp_path), "--reference", reference, "--format", fmt]) == 0
        assert (SENTENCE in capsys.readouterr().out) == warned


def test_landlock_grants_around_denied_folders(tmp_path):
    site = tmp_path / "site-packages"
    for name in ("numpy", "keras", "cvlab_ch9/grader/hidden", "solutions"):
        (site / name).mkdir(parents=True)
    (site / "six.py").write_text("")
    (site / "sneaky").symlink_to(site / "solutions")
    venv_in_checkout = tmp_path / "checkout" / ".venv"
    venv_in_checkout.mkdir(parents=True)
    granted = set(readable_folders([site, venv_in_checkout], [site / "cvlab_ch9", site / "solutions", tmp_path / "checkout"]))
    assert {str(site / "numpy"), str(site / "keras"), str(site / "six.py"), str(venv_in_checkout)} <= granted
    assert not any(path.startswith((str(site / "cvlab_ch9"), str(site / "solutions"))) for path in granted)
    assert str(site) not in granted and str(site / "sneaky") not in granted


def test_the_seccomp_filter_builds_for_both_architectures():
    for machine in ("x86_64", "aarch64"):
        for contained in (True, False):
            program = build_filter(machine, contained, own_pid=1234)
            assert len(program) % 8 == 0 and 40 < len(program) // 8 < 255  # one jump reaches the end


@pytest.mark.slow
@pytest.mark.parametrize("layers", [(), (LANDLOCK, SECCOMP)], ids=["none", "without-namespaces"])
def test_tensorflow_works_in_a_sandbox_with_fewer_layers(layers, monkeypatch):
    """The fallback still grades: TensorFlow imports and computes, and the native read is refused where Landlock runs."""
    offered = set(isolation_status().layers)
    if not set(layers) <= offered:
        pytest.skip(f"this kernel does not offer {sorted(set(layers) - offered)}")
    monkeypatch.setattr(sandbox_module, "isolation_status", lambda: Isolation(layers, {}))
    code = (
        "import tensorflow as tf\n\n\ndef compute():\n"
        "    return float(tf.reduce_sum(tf.nn.conv2d(tf.ones((1, 8, 8, 3)), tf.ones((3, 3, 3, 2)), 1, 'SAME')))\n\n\n"
        "def read(path):\n    return tf.io.gfile.GFile(path, 'rb').read()[:20]\n"
    )
    box = Sandbox("segmentation", {"segmentation.py": code}, {"kind": "module", "file": "segmentation.py"}, 3.0)
    try:
        assert box.wait_ready(120)["problem"] is None
        # ones * ones, "same" padding: 3 channels x (22 neighbours summed per axis)^2 x 2 filters
        assert box.request("call", name="compute")["value"] == pytest.approx(3 * 22 * 22 * 2)
        answer = box.request("call", name="read", args=[str(sandbox_module.HARNESS_DIR / "server.py")])
        assert ("error" in answer) == (LANDLOCK in layers)
    finally:
        box.stop()

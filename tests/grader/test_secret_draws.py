"""Every path whose grade an instructor records grades on a draw of its own, made in secret.

``python -m grader`` with the live reference, the batch engine (and so
``python -m course grade``, which runs on it) and the Gradescope bundle all
grade through :func:`cvlab_ch9.grader.judge.grade_code`, which asks its
provider ``for_grading()`` once per call. These tests count the secret draws
each path makes; a submission that cannot load (a syntax error) is graded
without a sandbox, so they are quick.
"""

import numpy as np
import pytest

from cvlab_ch9.grader import draw as draw_module
from cvlab_ch9.grader.draw import Draw
from cvlab_ch9.grader.expect import LiveReference, RecordedReference
from cvlab_ch9.grader.judge import LabCode, grade_code, reference_provider

BROKEN = LabCode("segmentation", "labs/segmentation.py", "def trimap_to_classes(:\n")


@pytest.fixture
def secret_draws(monkeypatch):
    """The secret draws made while the test runs (a list, filled as they are made)."""
    made = []
    original = Draw.secret.__func__

    def counting(cls):
        made.append(original(cls))
        return made[-1]

    monkeypatch.setattr(draw_module.Draw, "secret", classmethod(counting))
    return made


def _stream(draw):
    return draw.rng("segmentation", "trimap").integers(0, 2**62, size=4).tolist()


def test_secret_draws_differ_and_never_show_their_key():
    first, second = Draw.secret(), Draw.secret()
    assert _stream(first) != _stream(second) and first.kind == second.kind == "secret"
    assert "key" not in repr(first) and repr(first) == "<Draw secret>"
    assert _stream(Draw.fixed()) == _stream(Draw.fixed()) == _stream(RecordedReference().draw)
    fixed = Draw.fixed()
    assert _stream(fixed) != fixed.rng("segmentation", "encoder").integers(0, 2**62, size=4).tolist()


def test_each_grading_of_the_judge_draws_anew(secret_draws):
    provider = reference_provider("live")
    for _ in range(3):
        grade_code({"segmentation": BROKEN}, lab="segmentation", reference=provider)
    assert len(secret_draws) == 1 + 3  # the provider's own, then one per grading
    assert len({tuple(_stream(d)) for d in secret_draws}) == 4


def test_the_kits_recordings_keep_their_fixed_draw(secret_draws):
    recorded = RecordedReference()
    assert recorded.for_grading() is recorded and recorded.draw.kind == "fixed"
    grade_code({"segmentation": BROKEN}, lab="segmentation", reference="recorded")
    assert secret_draws == []


def test_the_batch_engine_grades_each_submission_on_its_own_draw(secret_draws):
    from cvlab_ch9.grader.batch.tasks import FrozenReference  # noqa: PLC0415

    worker = FrozenReference(LiveReference(draw=Draw.fixed(5)))
    gradings = [worker.for_grading() for _ in range(3)]
    assert len(secret_draws) == 3 and all(g.draw.kind == "secret" for g in gradings)
    assert gradings[0].live._implementations is worker.live._implementations  # the loaded reference is kept warm


def test_the_gradescope_bundle_draws_per_grading(secret_draws, tmp_path):
    from course import gradescope  # noqa: PLC0415

    (tmp_path / "segmentation.py").write_text(BROKEN.text)
    document = gradescope.results_document(tmp_path)
    assert document["score"] == 0 and len(secret_draws) >= 1
    assert {d.kind for d in secret_draws} == {"secret"}


def test_recorded_values_are_not_what_a_fresh_draw_asks_for():
    from cvlab_ch9.grader.checks.segmentation import trimap  # noqa: PLC0415

    recorded, fresh = trimap(RecordedReference().draw), trimap(Draw.secret())
    assert recorded.shape != fresh.shape or not np.array_equal(recorded, fresh)

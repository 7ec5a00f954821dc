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

    def counting(cls, structure=None):
        made.append(original(cls, structure=structure))
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


def _shapes(draw):
    return draw.shape_rng("segmentation", "encoder").integers(0, 2**62, size=4).tolist()


def test_each_grading_of_the_judge_draws_anew(secret_draws):
    provider = reference_provider("live")
    gradings = [provider.for_grading() for _ in range(3)]
    grade_code({"segmentation": BROKEN}, lab="segmentation", reference=provider)
    assert len(secret_draws) == 1 + 2 * 4  # the provider's own, then a structure and a value draw per grading
    assert len({tuple(_stream(g.draw)) for g in gradings}) == len({tuple(_shapes(g.draw)) for g in gradings}) == 3


def test_a_worker_may_keep_shapes_for_a_few_gradings_but_never_values():
    reference = LiveReference(structure_reuse=2)
    draws = [reference.for_grading().draw for _ in range(4)]
    assert len({tuple(_stream(d)) for d in draws}) == 4
    assert _shapes(draws[0]) == _shapes(draws[1]) != _shapes(draws[2]) == _shapes(draws[3])
    with pytest.raises(ValueError, match="only a secret draw"):
        Draw.secret(structure=Draw.fixed())


def test_the_kits_recordings_keep_their_fixed_draw(secret_draws):
    recorded = RecordedReference()
    assert recorded.for_grading() is recorded and recorded.draw.kind == "fixed"
    grade_code({"segmentation": BROKEN}, lab="segmentation", reference="recorded")
    assert secret_draws == []


def test_the_batch_engine_grades_each_submission_on_its_own_draw(secret_draws):
    from cvlab_ch9.grader.batch.tasks import FrozenReference  # noqa: PLC0415

    worker = FrozenReference(LiveReference(draw=Draw.fixed(5), structure_reuse=16))
    gradings = [worker.for_grading() for _ in range(3)]
    assert len(secret_draws) == 1 + 3 and all(g.draw.kind == "secret" for g in gradings)  # one structure, 3 values
    assert len({tuple(_stream(g.draw)) for g in gradings}) == 3
    assert gradings[0].live._implementations is worker.live._implementations  # the loaded reference is kept warm


def test_the_gradescope_bundle_draws_per_grading(secret_draws, tmp_path):
    from course import gradescope  # noqa: PLC0415

    (tmp_path / "segmentation.py").write_text(BROKEN.text)
    document = gradescope.results_document(tmp_path)
    assert document["score"] == 0 and len(secret_draws) >= 1
    assert {d.kind for d in secret_draws} == {"secret"}


def test_recorded_values_are_not_what_a_fresh_draw_asks_for():
    from cvlab_ch9.grader.checks.segmentation_trimap import trimap  # noqa: PLC0415

    recorded, fresh = trimap(RecordedReference().draw), trimap(Draw.secret())
    assert recorded.shape != fresh.shape or not np.array_equal(recorded, fresh)


def test_values_do_not_depend_on_the_models_the_reference_kept_built():
    """A model built for an earlier draw of the same shapes gives the values a fresh build gives."""
    structure = Draw.secret()
    first, second = Draw.secret(structure=structure), Draw.secret(structure=structure)
    warm = LiveReference(draw=first)
    for name in ("encoder", "small_model"):
        warm.get("segmentation", name)
    warm_second = warm.with_draw(second)
    cold_second = LiveReference(draw=second)
    for name in ("encoder", "small_model"):
        kept, fresh = warm_second.get("segmentation", name), cold_second.get("segmentation", name)
        np.testing.assert_allclose(kept["output"], fresh["output"], atol=1e-6)
        assert all(np.array_equal(a, b) for a, b in zip(kept["weights"], fresh["weights"], strict=True))
    assert len(warm.implementation("segmentation")._built) == 2  # built once, used for both draws

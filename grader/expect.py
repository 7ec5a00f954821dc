"""Expected values: what the reference gives on the inputs of a draw.

Each lab's check module declares its expectations as functions of the
reference implementation and a :class:`~cvlab_ch9.grader.draw.Draw`, the source of
every input::

    @expectation(LAB)
    def encoder(ref, draw):
        case = encoder_case(draw)
        model = ref.build_block("strided_downsampling", case.input_shape, filters=case.filters)
        return {"weights": model.get_weights(), "output": model.predict(case.batch)}

and a check derives the same case from ``expected.draw`` and reads the
values by name: ``expected["encoder"]["output"]``. Two providers:

- :class:`RecordedReference` reads them from ``grader/recordings/<lab>.rec``
  (the one recording format of :mod:`cvlab_ch9.grader.reference`, shared with
  the UI's gallery), written by ``python -m grader.record`` from ``solutions/`` on the fixed
  draw (:meth:`Draw.fixed`). This is what students run (the kit has no
  ``solutions/``); a drift test fails when the recordings no longer match
  what ``solutions/`` produces.
- :class:`LiveReference` computes them from ``solutions/`` in this process.
  The instructor's judge asks it for a fresh secret draw per grading
  (:meth:`LiveReference.for_grading`): inputs, weights, shapes and seeds no
  submission can know in advance, so replaying the recordings (or any fixed
  table) earns nothing. The solution modules stay loaded between gradings;
  the values are computed, lazily, for each draw. Hidden checks'
  expectations (never recorded) exist only here.

Recordings hold only plain data (arrays, numbers, texts, layer summaries) in
the :mod:`cvlab_ch9.grader.harness.wire` format: reference weights to copy in, outputs
on the fixed draw's inputs, parameter counts, layer summaries for hints; never
a hidden expectation, never a value of a secret draw.
"""

import collections
import dataclasses
import threading

from cvlab_ch9.grader.draw import Draw
from cvlab_ch9.grader.harness.local import LocalImplementation, LocalModel
from cvlab_ch9.grader.reference import LiveSide, RecordedSide, RecordingError


@dataclasses.dataclass(frozen=True)
class Expectation:
    lab: str
    name: str
    func: object
    hidden: bool = False
    #: False for a value that reads nothing of the draw (computed once per reference, on the fixed draw).
    per_draw: bool = True


_REGISTRY = {}


def expectation(lab, hidden=False, name=None, per_draw=True):
    """Decorator registering ``func(ref, draw) -> value`` as the expectation ``name`` of ``lab``.

    ``per_draw=False`` declares a value that does not depend on the draw (the
    default model's parameter counts): the live reference computes it once
    and keeps it for every later grading.
    """

    def register(func):
        key = (lab, name or func.__name__)
        if key in _REGISTRY:
            raise ValueError(f"duplicate expectation {key}")
        _REGISTRY[key] = Expectation(lab, key[1], func, hidden, per_draw)
        return func

    return register


def expectations_of(lab, include_hidden=False):
    """Registered expectations of ``lab`` (checks are imported first), in registration order."""
    from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415 - registers the check modules' expectations

    all_checks(lab=lab)
    return [e for (elab, _), e in _REGISTRY.items() if elab == lab and (include_hidden or not e.hidden)]


def _get_expectation(lab, name):
    from cvlab_ch9.grader.core import all_checks  # noqa: PLC0415

    all_checks(lab=lab)
    try:
        return _REGISTRY[(lab, name)]
    except KeyError:
        raise RecordingError(f"the grader has no expectation {lab}.{name}") from None


def compute(expectation_, reference, draw):
    """The value of one expectation on ``reference`` (an Implementation) for ``draw``.

    Keras is seeded from the draw first, so the reference's initial weights
    (copied into the student's model by the checks) are the draw's too.
    """
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(draw.seed(expectation_.lab, expectation_.name, "keras"))
    return expectation_.func(reference, draw)


class LiveReference(LiveSide):
    """Expectations computed from ``solutions/`` in this process (instructor's side only).

    Args:
        source: where the reference lives (``"solutions"``).
        draw: the :class:`Draw` of the inputs; default a fresh secret one.
    """

    def __init__(self, source="solutions", draw=None, structure_reuse=1, shared=None):
        self.source = source
        self.draw = Draw.secret() if draw is None else draw
        #: what outlives a draw: the loaded solution modules (with their models built per shape), the values
        #: that read nothing of the draw, the structure draw being reused, and the lock that computes values
        self._shared = shared if shared is not None else {
            "implementations": {}, "values": {}, "structure": None, "uses": 0, "lock": threading.RLock(),
            "structure_reuse": max(1, int(structure_reuse)),
        }
        self._implementations = self._shared["implementations"]
        self._values = {}

    def with_draw(self, draw):
        """This reference on another draw: the loaded solution modules and draw-free values are shared."""
        return LiveReference(self.source, draw, shared=self._shared)

    def for_grading(self):
        """The reference for one grading: a fresh secret draw (what the judge calls per submission).

        Its values (inputs, weights) are always its own. Its structure (shapes,
        counts) is too, unless this reference was made with ``structure_reuse=N``:
        then N gradings in a row share one secret structure draw, and the
        reference's models built for those shapes stay warm (a batch worker).
        """
        with self._shared["lock"]:
            shared = self._shared
            if shared["structure"] is None or shared["uses"] >= shared["structure_reuse"]:
                shared["structure"], shared["uses"] = Draw.secret(), 0
            shared["uses"] += 1
            structure = shared["structure"]
        return self.with_draw(Draw.secret(structure=structure))

    def implementation(self, lab):
        if lab not in self._implementations:
            from cvlab_ch9.impl import load_lab  # noqa: PLC0415

            module = load_lab(lab, self.source)
            self._implementations[lab] = ReferenceImplementation(module, display_file=f"solutions/{lab}.py")
        return self._implementations[lab]

    def get(self, lab, name):
        key = (lab, name)
        expectation_ = _get_expectation(lab, name)
        values, draw = (self._values, self.draw) if expectation_.per_draw else (self._shared["values"], Draw.fixed())
        with self._shared["lock"]:  # the reference's models are shared between gradings: one value at a time
            if key not in values:
                values[key] = self.value(lab, name, lambda: compute(expectation_, self.implementation(lab), draw))
        return values[key]


#: Reference models kept built per lab (the shapes of a few structure draws).
MAX_KEPT_MODELS = 64
#: Gradings in a row of a batch worker that share one secret structure draw (shapes, counts; never values).
WORKER_STRUCTURE_REUSE = 16


def _plain_arguments(args, kwargs):
    plain = (int, float, str, bool, type(None), tuple)
    return all(isinstance(v, plain) for v in (*args, *kwargs.values()))


class ReferenceImplementation(LocalImplementation):
    """The reference in this process; the models it builds are kept per arguments (the most recent 64).

    Every expectation sets drawn weights into the models it uses, so a model
    built for an earlier draw of the same shapes serves as well as a new
    one, without Keras building it again.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._built = collections.OrderedDict()

    def _kept(self, key, build):
        if key in self._built:
            self._built.move_to_end(key)
            return self._built[key]
        value = build()
        if isinstance(value, LocalModel):
            self._built[key] = value
            while len(self._built) > MAX_KEPT_MODELS:
                self._built.popitem(last=False)
        return value

    def _build_block(self, name, input_shape, kwargs):
        key = ("block", name, tuple(input_shape), repr(sorted(kwargs.items())))
        return self._kept(key, lambda: super(ReferenceImplementation, self)._build_block(name, input_shape, kwargs))

    def call(self, name, *args, **kwargs):
        if not name.startswith("build_") or not _plain_arguments(args, kwargs):
            return super().call(name, *args, **kwargs)
        key = ("call", name, repr(args), repr(sorted(kwargs.items())))
        return self._kept(key, lambda: super(ReferenceImplementation, self).call(name, *args, **kwargs))


class RecordedReference(RecordedSide):
    """Expectations read from the recordings (what students run), on the fixed draw they were made with."""

    def __init__(self, directory=None):
        super().__init__(directory)
        self.draw = Draw.fixed()

    def for_grading(self):
        """Itself: the recordings hold one draw (feedback for students, never the instructor's grade)."""
        return self

    def get(self, lab, name):
        return self.value(lab, name)


class Expected:
    """What one check reads: the provider's ``draw`` (its inputs) and values, ``expected["encoder"]``."""

    def __init__(self, provider, lab):
        self.provider = provider
        self.lab = lab

    @property
    def draw(self):
        """The :class:`Draw` the check derives its inputs from (the values were computed on the same)."""
        return self.provider.draw

    def __getitem__(self, name):
        return self.provider.get(self.lab, name)


def record_values(lab, source="solutions"):
    """``{name: value}`` of every visible expectation of ``lab``, computed from ``source`` on the fixed draw."""
    live = LiveReference(source, Draw.fixed())
    return {e.name: live.get(lab, e.name) for e in expectations_of(lab)}

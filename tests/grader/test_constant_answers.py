"""A constant answer earns nothing, on any of the 18 exercise functions.

Each function of the reference is replaced in turn by a stub that answers
without computing: all zeros (of the right shape where it can know it), a
constant, its input returned, an exception raised on every call (with a
message naming every value and layer a check might look for), and a replay
of the reference's answers to the recordings' questions (a fixed table, as
a student holding the kit could write). Graded in this process on a fresh
draw, as the judge grades, each scores 0 on its exercise's checks. The
replay scores on the recordings' own draw, so the table is a real one.
Functions that answer with models or gradients are replayed as a whole
conversation (:class:`Tape`: every value, model summary, output, weight
list and gradient the reference gave, in order). (The same replay from
inside the sandbox is a cheat of ``test_judge_cheats``.)
"""

import base64
import pickle
import re

import pytest

from cvlab_ch9.grader.core import PASSED, all_checks, run_check
from cvlab_ch9.grader.draw import Draw
from cvlab_ch9.grader.expect import Expected, LiveReference, RecordedReference
from cvlab_ch9.grader.harness.local import Implementation, LocalImplementation, ModelHandle
from cvlab_ch9.impl import load_lab
from cvlab_ch9.quiet import import_tensorflow
from tests.grader.helpers import load_text, local, solution_text

LIVE = LiveReference()
#: Draws of the replay test (every stub case gets a draw of its own: 9100 + its index).
SEEDS = (9101, 9102)
CONV_TYPES = '("Conv2D", "SeparableConv2D", "MaxPooling2D")'
EVERYTHING = "values " + " ".join(str(v) for v in range(256)) + (
    " layers conv1 pool1 bn sepconv sepconv_act last_conv flatten predictions seq_conv1 seq_pool seq_sepconv conv")
RAISE = f"    raise ValueError({EVERYTHING!r})\n"

#: per function: (lab, {stub kind: body}); bodies answer without computing what the exercise asks
STUBS = {
    "trimap_to_classes": ("segmentation", {
        "zeros": '    return np.zeros(np.shape(trimap), "uint8")\n',
        "constant": '    return np.ones(np.shape(trimap), "uint8")\n',
        "identity": "    return trimap\n",
    }),
    "strided_downsampling": ("segmentation", {
        "zeros": "    return keras.ops.zeros_like(x)\n",
        "constant": "    return keras.ops.ones_like(x)\n",
        "identity": "    return x\n",
    }),
    "conv_transpose_decoder": ("segmentation", {
        "zeros": "    return keras.ops.zeros_like(x)\n",
        "constant": "    return keras.ops.ones_like(x)\n",
        "identity": "    return x\n",
    }),
    "build_segmentation_model": ("segmentation", {
        "zeros": "    inputs = keras.Input(tuple(img_size) + (3,))\n"
                 "    return keras.Model(inputs, layers.Conv2D(num_classes, 1)(inputs) * 0.0)\n",
        "constant": "    inputs = keras.Input(tuple(img_size) + (3,))\n"
                    "    return keras.Model(inputs, layers.Conv2D(num_classes, 1)(inputs) * 0.0 + 1.0 / num_classes)\n",
        "identity": "    inputs = keras.Input(tuple(img_size) + (3,))\n    return keras.Model(inputs, inputs)\n",
    }),
    "mean_iou": ("segmentation", {
        "zeros": "    return 0.0\n",
        "constant": "    return 0.5\n",
        "identity": "    return y_true\n",
    }),
    "residual_block": ("architecture", {
        "zeros": "    return keras.ops.zeros_like(x)\n",
        "constant": "    return keras.ops.ones_like(x)\n",
        "identity": "    return x\n",
    }),
    "conv_bn_relu": ("architecture", {
        "zeros": "    return keras.ops.zeros_like(x)\n",
        "constant": "    return keras.ops.ones_like(x)\n",
        "identity": "    return x\n",
    }),
    "separable_conv_params": ("architecture", {
        "zeros": "    return 0, 0\n",
        "constant": "    return 36864, 4672\n",
        "identity": "    return in_channels, out_channels\n",
    }),
    "xception_block": ("architecture", {
        "zeros": "    return keras.ops.zeros_like(x)\n",
        "constant": "    return keras.ops.ones_like(x)\n",
        "identity": "    return x\n",
    }),
    "build_mini_xception": ("architecture", {
        "zeros": "    inputs = keras.Input(input_shape)\n"
                 "    x = layers.Dense(num_classes)(layers.GlobalAveragePooling2D()(inputs))\n"
                 "    return keras.Model(inputs, x * 0.0)\n",
        "constant": "    inputs = keras.Input(input_shape)\n"
                    "    x = layers.Dense(num_classes)(layers.GlobalAveragePooling2D()(inputs))\n"
                    "    return keras.Model(inputs, x * 0.0 + 0.5)\n",
        "identity": "    inputs = keras.Input(input_shape)\n    return keras.Model(inputs, inputs)\n",
    }),
    "extract_activations": ("interpretation", {
        "zeros": f"    names = layer_names or [l.name for l in model.layers if type(l).__name__ in {CONV_TYPES}]\n"
                 "    return {n: np.zeros(model.get_layer(n).output.shape[1:], 'float32') for n in names}\n",
        "constant": f"    names = layer_names or [l.name for l in model.layers if type(l).__name__ in {CONV_TYPES}]\n"
                    "    return {n: np.ones(model.get_layer(n).output.shape[1:], 'float32') for n in names}\n",
        "identity": f"    names = layer_names or [l.name for l in model.layers if type(l).__name__ in {CONV_TYPES}]\n"
                    "    return {n: np.asarray(image) for n in names}\n",
    }),
    "activation_grid": ("interpretation", {
        "zeros": "    h, w, c = np.shape(activation)\n    rows = math.ceil(c / images_per_row)\n"
                 "    return np.zeros(((h + 1) * rows - 1, (w + 1) * images_per_row - 1), 'uint8')\n",
        "constant": "    h, w, c = np.shape(activation)\n    rows = math.ceil(c / images_per_row)\n"
                    "    return np.full(((h + 1) * rows - 1, (w + 1) * images_per_row - 1), 128, 'uint8')\n",
        "identity": "    return activation\n",
    }),
    "filter_loss": ("interpretation", {
        "zeros": "    return tf.constant(0.0)\n",
        "constant": "    return tf.reduce_mean(image) * 0.0 + 1.0\n",
        "identity": "    return image\n",
    }),
    "gradient_ascent_step": ("interpretation", {
        "zeros": "    return tf.zeros_like(image)\n",
        "constant": "    return tf.ones_like(image) * 0.5\n",
        "identity": "    return image\n",
    }),
    "generate_filter_pattern": ("interpretation", {
        "zeros": "    shape = np.shape(image)[-3:] if image is not None else tuple(img_size) + (3,)\n"
                 "    return np.zeros(shape, 'float32')\n",
        "constant": "    shape = np.shape(image)[-3:] if image is not None else tuple(img_size) + (3,)\n"
                    "    return np.full(shape, 0.5, 'float32')\n",
        "identity": "    if image is not None:\n        return np.asarray(image, 'float32').reshape(np.shape(image)[-3:])\n"
                    "    return np.random.default_rng(seed).uniform(0.4, 0.6, tuple(img_size) + (3,)).astype('float32')\n",
    }),
    "deprocess_image": ("interpretation", {
        "zeros": "    h, w = np.shape(image)[-3:-1]\n    return np.zeros((h - 2 * crop, w - 2 * crop, 3), 'uint8')\n",
        "constant": "    h, w = np.shape(image)[-3:-1]\n    return np.full((h - 2 * crop, w - 2 * crop, 3), 128, 'uint8')\n",
        "identity": "    return image\n",
    }),
    "grad_cam": ("interpretation", {
        "zeros": "    return np.zeros(model.get_layer(last_conv_layer_name).output.shape[1:3], 'float32')\n",
        "constant": "    return np.ones(model.get_layer(last_conv_layer_name).output.shape[1:3], 'float32')\n",
        "identity": "    return image\n",
    }),
    "overlay_heatmap": ("interpretation", {
        "zeros": "    return np.zeros_like(np.asarray(image), dtype='uint8')\n",
        "constant": "    return np.full(np.shape(image), 128, 'uint8')\n",
        "identity": "    return image\n",
    }),
}
#: Functions whose answers are plain data: the replay stub returns the recorded questions' answers.
REPLAYED = ("trimap_to_classes", "mean_iou", "separable_conv_params", "extract_activations", "activation_grid",
            "generate_filter_pattern", "deprocess_image", "grad_cam", "overlay_heatmap")
#: Functions whose answers are models or gradients: replayed as a whole conversation (see :class:`Tape`).
REPLAYED_CONVERSATIONS = tuple(f for f in STUBS if f not in REPLAYED)


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


def with_body(lab, function, body, extra=""):
    """The reference of ``lab`` with ``function``'s solution block replaced by ``body`` (and ``extra`` appended)."""
    text = solution_text(lab)
    start = text.index(f"def {function}(")
    begin = text.index("    ### BEGIN SOLUTION\n", start)
    end = text.index("    ### END SOLUTION\n", begin) + len("    ### END SOLUTION\n")
    header = "import math\nimport numpy as np\nimport keras\nimport tensorflow as tf\nfrom keras import layers\n"
    return header + text[:begin] + body + text[end:] + extra


def exercise_score(lab, function, module, reference):
    """Total points of ``function``'s checks (hidden ones too) for ``module``, and the results."""
    student = local(module, lab)
    results = [run_check(c, student, Expected(reference, lab)) for c in all_checks(lab=lab, exercise=function)]
    return sum(r.score for r in results), results


CASES = [(function, kind) for function, (_, stubs) in STUBS.items() for kind in (*stubs, "raise")]
# The fast suite keeps one stub per function (the one that always raises) and one replay per kind of function;
# the other cases are the same machinery on more answers, in the slow suite.
FAST_KIND, FAST_REPLAYS = "raise", {"mean_iou", "conv_bn_relu"}


def cases(items, fast, ids=None):
    """``items`` as pytest params, those not ``fast(item)`` marked slow."""
    return [pytest.param(*(item if isinstance(item, tuple) else (item,)), id=None if ids is None else ids(item),
                         marks=() if fast(item) else pytest.mark.slow) for item in items]


@pytest.mark.parametrize(("function", "kind"), cases(CASES, lambda case: case[1] == FAST_KIND, lambda c: f"{c[0]}-{c[1]}"))
def test_a_constant_answer_earns_nothing(function, kind, tmp_path):
    lab, stubs = STUBS[function]
    module = load_text(lab, tmp_path, with_body(lab, function, stubs.get(kind, RAISE)))
    draw = Draw.fixed(9100 + CASES.index((function, kind)))
    score, results = exercise_score(lab, function, module, LIVE.with_draw(draw))
    assert score == 0, [(r.id, r.status, r.message) for r in results if r.score]


class Recorder(LocalImplementation):
    """The reference in this process, noting what ``function`` answered, call by call."""

    def __init__(self, module, function):
        super().__init__(module)
        self.function_name, self.answers = function, []

    def call(self, name, *args, **kwargs):
        value = super().call(name, *args, **kwargs)
        if name == self.function_name:
            self.answers.append(value)
        return value


def replay_stub(lab, function):
    """``function`` answering, in order, what the reference answered to the recordings' questions."""
    recorder = Recorder(load_lab(lab, "solutions"), function)
    for chk in all_checks(lab=lab, exercise=function, include_hidden=False):
        run_check(chk, recorder, Expected(RecordedReference(), lab))
    table = base64.b64encode(pickle.dumps(recorder.answers)).decode()
    body = "    _REPLAYED[0] += 1\n    return _TABLE[(_REPLAYED[0] - 1) % len(_TABLE)]\n"
    extra = f"\n\nimport base64 as _b64\nimport pickle as _pickle\n\n_TABLE = _pickle.loads(_b64.b64decode({table!r}))\n_REPLAYED = [0]\n"
    return with_body(lab, function, body, extra)


@pytest.mark.parametrize("function", cases(REPLAYED, FAST_REPLAYS.__contains__, str))
def test_replaying_the_recordings_earns_nothing_from_a_fresh_draw(function, tmp_path):
    lab = STUBS[function][0]
    text = replay_stub(lab, function)
    recorded, _ = exercise_score(lab, function, load_text(lab, tmp_path, text), RecordedReference())
    assert recorded > 0  # the table answers the recordings' own questions
    for seed in SEEDS:
        score, results = exercise_score(lab, function, load_text(lab, tmp_path, text), LIVE.with_draw(Draw.fixed(seed)))
        assert score == 0, [(r.id, r.status, r.message) for r in results if r.score]


def test_every_exercise_function_has_its_stubs():
    functions = {c.exercise for c in all_checks()}
    assert set(STUBS) == functions and len(functions) == 18
    assert all(re.fullmatch(r"\w+", f) for f in functions)
    assert all(r.status == PASSED for r in exercise_score("segmentation", "mean_iou", load_lab("segmentation", "solutions"),
                                                             RecordedReference())[1])


class Tape:
    """Everything an implementation answered to the checks, answer by answer, per kind of request.

    :meth:`recording` wraps the reference and notes its answers; :meth:`replaying`
    answers every request with the next noted answer of its kind, whatever it
    asks: the submission of a student who wrote down what the kit's checks
    ask and what the reference answers, as values, models (their outputs,
    weights, summaries) and gradients.
    """

    def __init__(self):
        self.answers = {}

    def note(self, kind, value):
        self.answers.setdefault(kind, []).append(value)
        return value

    def next(self, kind):
        answers = self.answers.get(kind) or []
        position = self.answers.setdefault(f"{kind} read", [0])
        if position[0] >= len(answers):
            raise IndexError(f"the tape has no more {kind} answers")
        position[0] += 1
        return answers[position[0] - 1]

    def recording(self, module):
        return _Recording(self, module)

    def replaying(self):
        return _Replaying(self)


class _RecordingModel(ModelHandle):
    def __init__(self, tape, model):
        self.tape, self.model, self.summary = tape, model, model.summary

    def predict(self, x, training=False):
        return self.tape.note("predict", self.model.predict(x, training))

    def get_weights(self):
        return self.tape.note("get_weights", self.model.get_weights())

    def set_weights(self, weights):
        self.model.set_weights(weights)

    def set_layer_weights(self, assignments):
        self.model.set_layer_weights(assignments)

    def config(self):
        return self.tape.note("config", self.model.config())


class _ReplayModel(ModelHandle):
    def __init__(self, tape, summary):
        self.tape, self.summary = tape, summary

    def predict(self, x, training=False):
        return self.tape.next("predict")

    def get_weights(self):
        return self.tape.next("get_weights")

    def set_weights(self, weights):
        pass

    def set_layer_weights(self, assignments):
        pass

    def config(self):
        return self.tape.next("config")


class _Recording(LocalImplementation):
    def __init__(self, tape, module):
        super().__init__(module)
        self.tape = tape

    def _noted(self, value):
        if isinstance(value, ModelHandle):
            self.tape.note("answer", ("model", value.summary))
            return _RecordingModel(self.tape, value)
        self.tape.note("answer", ("value", value))
        return value

    def call(self, name, *args, **kwargs):
        return self._noted(super().call(name, *args, **kwargs))

    def _build_block(self, name, input_shape, kwargs):
        return self._noted(super()._build_block(name, input_shape, kwargs))

    def gradient(self, name, args, kwargs, wrt):
        return self.tape.note("gradient", super().gradient(name, args, kwargs, wrt))


class _Replaying(Implementation):
    display_file = "labs/replay.py"

    def __init__(self, tape):
        self.tape = tape

    def has(self, name):
        return True

    def _answer(self):
        kind, value = self.tape.next("answer")
        return _ReplayModel(self.tape, value) if kind == "model" else value

    def call(self, name, *args, **kwargs):
        return self._answer()

    def _build_block(self, name, input_shape, kwargs):
        return self._answer()

    def gradient(self, name, args, kwargs, wrt):
        return self.tape.next("gradient")

    def source(self, name):
        return ""


@pytest.mark.parametrize("function", cases(REPLAYED_CONVERSATIONS, FAST_REPLAYS.__contains__, str))
def test_replaying_the_reference_conversation_earns_nothing_from_a_fresh_draw(function):
    lab = STUBS[function][0]
    tape = Tape()
    recorder = tape.recording(load_lab(lab, "solutions"))
    visible = all_checks(lab=lab, exercise=function, include_hidden=False)
    for chk in visible:
        run_check(chk, recorder, Expected(RecordedReference(), lab))
    replayed = [run_check(chk, Tape.replaying(_rewound(tape)), Expected(RecordedReference(), lab)) for chk in visible]
    assert sum(r.score for r in replayed) > 0, [(r.id, r.message) for r in replayed]  # the tape is a real replay
    fresh = LIVE.with_draw(Draw.fixed(9200 + REPLAYED_CONVERSATIONS.index(function)))
    results = [run_check(chk, Tape.replaying(_rewound(tape)), Expected(fresh, lab))
               for chk in all_checks(lab=lab, exercise=function)]
    assert sum(r.score for r in results) == 0, [(r.id, r.status, r.message) for r in results if r.score]


def _rewound(tape):
    """The tape's answers, to be read again from the first."""
    copy = Tape()
    copy.answers = {kind: list(values) for kind, values in tape.answers.items() if not kind.endswith(" read")}
    return copy

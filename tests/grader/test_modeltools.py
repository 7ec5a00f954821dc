"""cvlab_ch9.grader.modeltools helpers on plain data (no Keras model needed)."""

import numpy as np
import pytest

from cvlab_ch9.grader.harness.summary import ModelSummary
from cvlab_ch9.grader.modeltools import copy_weights_by_layer


class _Target:
    """A ModelHandle stand-in: a summary of weight shapes and the weights it was given."""

    def __init__(self, layers):
        self.summary = ModelSummary({"layers": [{"class_name": c, "name": f"l{i}", "weights": [list(s) for s in shapes]}
                                                for i, (c, shapes) in enumerate(layers)]})
        self.assigned = None

    def set_layer_weights(self, assignments):
        self.assigned = assignments


def _bn(channels, value):
    return ["BatchNormalization", [np.full((channels,), value, "float32") for _ in range(4)]]


def test_copy_by_layer_pairs_same_class_layers_of_other_shapes_in_any_order():
    source = [_bn(4, 1.0), _bn(6, 2.0)]
    target = _Target([("InputLayer", []), ("BatchNormalization", [(6,)] * 4), ("BatchNormalization", [(4,)] * 4)])
    copy_weights_by_layer(source, target, "hint")
    assert sorted(target.assigned) == [1, 2]
    assert float(target.assigned[1][0][0]) == 2.0 and float(target.assigned[2][0][0]) == 1.0


def test_copy_by_layer_names_the_layer_without_counterpart():
    target = _Target([("BatchNormalization", [(6,)] * 4), ("BatchNormalization", [(6,)] * 4)])
    with pytest.raises(AssertionError, match=r"hint \(your BatchNormalization with weight shapes \(6,\)"):
        copy_weights_by_layer([_bn(4, 1.0), _bn(6, 2.0)], target, "hint")

"""Parameter counts that score: checked by the judge itself, never taken from the student's model.

A parameter count is structure; the sandbox's own summary of a model is the
submission's word. :func:`assert_parameter_count` scores a count from one of
two pieces of evidence the judge makes itself:

1. the student's config, rebuilt in the judge and shown to compute the same
   function as the student's model (:func:`cvlab_ch9.grader.rebuild.verified_model`):
   its count is Keras' count of a model the judge holds;
2. otherwise (a subclassed layer, keras.ops code: nothing the judge
   rebuilds), behaviour: the reference's layers get drawn weights, the
   student's model takes exactly those weights and gives the reference's
   outputs on drawn pixels. A model that does that has the reference's
   parameters.

The reference's side is two expectations: ``<name>`` (counts, and the weight
shapes per layer, see :func:`model_facts`) and ``<name>_probe`` (its output
with the drawn weights at drawn positions, see :func:`model_probe`; computed
only when a check needs it).
"""

import numpy as np

from cvlab_ch9.grader.expect import expectation
from cvlab_ch9.grader.modeltools import (
    copy_weights_by_layer,
    count_params_by_class,
    drawn_layer_weights,
    layer_shapes,
    layers_with_weights,
    output_of,
    sample_positions,
)
from cvlab_ch9.grader.rebuild import verified_model


def model_facts(model):
    """``{"params", "by_class", "layers"}`` of a reference ModelHandle (``layers``: class and weight shapes per layer)."""
    return {"params": model.summary.params, "by_class": count_params_by_class(model),
            "layer_shapes": layer_shapes(layers_with_weights(model))}


def _probe(model, layers, stream, draw, batch, hint):
    """The model's outputs at drawn positions after the drawn weights of ``layers`` were copied in."""
    copy_weights_by_layer(drawn_layer_weights(layers, draw.rng(*stream, "weights")), model, hint)
    output = output_of(model, batch, "the model")
    return output, output.reshape(-1)[sample_positions(draw.rng(*stream, "positions"), output.shape)]


def model_probe(model, draw, stream, batch):
    """``{"shape", "values"}``: the reference ModelHandle's output shape, and its values at drawn positions."""
    output, values = _probe(model, layer_shapes(layers_with_weights(model)), stream, draw, batch, "the reference")
    return {"shape": tuple(output.shape), "values": values}


def default_model_expectations(lab, build, batch):
    """Register ``<lab>.default_model`` (:func:`model_facts`, once) and ``default_model_probe`` (per draw).

    Args:
        build: ``build(impl)`` -> the implementation's default model (a ModelHandle).
        batch: ``batch(draw)`` -> the drawn inputs of the default model.

    Returns:
        The names of the draw streams (for :func:`assert_parameter_count`).
    """
    stream = (lab, "default_model")
    expectation(lab, name="default_model", per_draw=False)(lambda ref, draw: model_facts(build(ref)))
    expectation(lab, name="default_model_probe")(lambda ref, draw: model_probe(build(ref), draw, stream, batch(draw)))
    return stream


def assert_parameter_count(model, expected, name, stream, batch, count_hint):
    """AssertionError(hint) unless the judge's own evidence shows ``model`` has the reference's parameter count.

    Args:
        model: the student's ModelHandle (its weights are replaced).
        expected: the check's Expected; reads ``name`` (see :func:`model_facts`) and, only
            when the config cannot be used, ``name + "_probe"`` (:func:`model_probe`).
        stream: names of the check's draw streams, e.g. ``("segmentation", "default_model")``.
        batch: float32 inputs for the model (drawn).
        count_hint: ``f(summary) -> str`` explaining a count of the student's (a ModelSummary).
    """
    draw, facts = expected.draw, expected[name]
    rebuilt = verified_model(model, draw.rng(*stream, "rebuild"), draw.seed(*stream, "rebuild"), batch)
    if rebuilt is not None:
        if rebuilt.params != facts["params"]:
            raise AssertionError(count_hint(rebuilt.summary))
        return
    # not rebuildable here: behaviour decides; the model's own summary only words the hint
    claimed = model.summary
    hint = count_hint(claimed) if claimed.params != facts["params"] else (
        "the grader could not rebuild your model from its config (it uses layers other than Keras' built-in "
        "ones), and with the chapter's weights it does not compute the chapter's model, so its parameter count "
        "is not confirmed; see the output checks")
    output, values = _probe(model, facts["layer_shapes"], stream, draw, batch, hint)
    probe = expected[f"{name}_probe"]
    if tuple(output.shape) != tuple(probe["shape"]) or not np.allclose(values, probe["values"], atol=1e-5, rtol=1e-4):
        raise AssertionError(hint)


def by_class_hint(summary, ref_by_class, class_hints):
    """'Per layer type (yours vs the chapter's) — ...' for the classes whose counts differ, or ''.

    ``summary`` is a ModelSummary (the judge's rebuilt model's, or the student's own for a hint).
    """
    mine = summary.count_params_by_class()
    details = [
        f"{name}: {mine.get(name, 0):,} vs {ref_by_class.get(name, 0):,} ({class_hints.get(name, 'not in the chapter model')})"
        for name in sorted(set(mine) | set(ref_by_class))
        if mine.get(name, 0) != ref_by_class.get(name, 0)
    ]
    return "Per layer type (yours vs the chapter's) — " + "; ".join(details) if details else ""

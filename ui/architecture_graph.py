"""The Architecture tab's graphs: the student's model beside the reference's, and a clicked layer's output.

- :func:`draw_graphs` builds the chosen model with the student's code and
  asks the reference side for the reference's graph (recorded in the kit
  for the chapter's settings), and draws both with the first difference
  marked on each (:mod:`cvlab_ch9.ui.graph_view`).
- :func:`toggle_block` opens or closes a residual block on both drawings.
- :func:`layer_output` shows what a layer outputs for the current image, on
  the student's model and on the reference's. The mini-Xception and the
  segmentation model at the demo models' settings carry the demo models'
  trained weights (when the student's layers fit them); other models are
  untrained, seeded alike on both sides, so equal code gives equal pictures.

The graphs travel between events as plain data in a ``gr.State``
(:meth:`cvlab_ch9.model_graph.ModelGraph.to_dict`); built models are kept
for the last few (source file, settings) so a click on a layer does not
build them again.
"""

import gradio as gr
import numpy as np

from cvlab_ch9.model_graph import ModelGraph, difference_sentence, first_difference, model_graph, shape_text
from cvlab_ch9.ui import architecture_models as arch
from cvlab_ch9.ui.common import describe_lab, resolve_labs_dir, user_error
from cvlab_ch9.ui.graph_view import graph_html
from cvlab_ch9.ui.images import channel_grid, load_input_image, model_input
from cvlab_ch9.ui.reference import Shown, reference_side, result_key

#: Models with more layers than this open with every block closed.
OPEN_ALL_UP_TO = 60
#: Channels shown for a clicked layer's feature map.
SHOWN_CHANNELS = 16


def empty_state():
    return {"student": None, "reference": None, "difference": None, "expanded": [], "selected": None, "settings": None}


def reference_graph(args):
    """Shown(graph dict or None, note) of the reference model for ``args`` from the reference side."""
    if args[0] == arch.IMAGENET:
        return Shown(model_graph(arch.reference_model(args), name="ImageNet Xception").to_dict())
    choice, size, filters, classes, augment = args
    key = result_key("model_graph", choice=choice, input_size=size, filters=list(filters), num_classes=classes, augment=augment)

    def compute(lab):
        import keras  # noqa: PLC0415

        keras.utils.set_random_seed(0)
        return model_graph(arch.build_model(lab, *args)).to_dict()

    return reference_side().one(arch.LAB_OF.get(choice, arch.LAB), key, compute,
                                settings="for the chapter's settings of each model (those choosing the model fills in)")


# -- events -----------------------------------------------------------------------------


def _render(state):
    """(student graph HTML, reference graph HTML) from ``state``."""
    graphs = [ModelGraph.from_dict(state[side]) if state[side] else None for side in ("student", "reference")]
    return tuple(graph_html(g, state["expanded"], state["difference"], state["selected"]) for g in graphs)


def layer_choices(state):
    """``"#i name (Kind)"`` for each layer of the student's graph (else the reference's)."""
    data = state["student"] or state["reference"]
    if not data:
        return []
    return [f"#{node.index} {node.name} ({node.kind})" for node in ModelGraph.from_dict(data).nodes]


def _default_open(graphs, difference):
    """Blocks open at first: all of a small model; for a big one only the block holding the first difference."""
    biggest = max(graphs, key=lambda g: len(g.nodes))
    if len(biggest.nodes) <= OPEN_ALL_UP_TO:
        return sorted({b.name for g in graphs for b in g.blocks})
    if difference is None:
        return []
    return sorted({g.blocks[g.block_of()[difference]].name for g in graphs if difference in g.block_of()})


def draw_graphs(labs_dir, choice, input_size, block_filters, num_classes, augment):
    """Event: the student's and the reference's model graphs, the first difference marked on both.

    Returns:
        (student graph HTML, reference graph HTML, student status markdown,
        reference note markdown, state dict, layer dropdown update)
    """
    source = resolve_labs_dir(labs_dir)
    args = arch.checked_settings(choice, input_size, block_filters, num_classes, augment)
    state = empty_state()
    state["settings"] = list(args)
    reference = reference_graph(args)
    state["reference"] = reference.value
    if args[0] == arch.IMAGENET:
        status = "Keras' own model (`keras.applications.Xception`): no exercise builds it, so only its graph is drawn (right)."
    else:
        outcome = arch.student_model(source, args)
        if outcome.ok and not hasattr(outcome.value, "layers"):
            status = f"⚠ {arch.EXERCISE[args[0]]}() must return a Keras tensor/model; got {type(outcome.value).__name__}."
        elif outcome.ok:
            state["student"] = model_graph(outcome.value, name="yours").to_dict()
            status = f"Built with {describe_lab(source, arch.LAB_OF.get(args[0], arch.LAB))}."
        else:
            status = outcome.markdown()
    graphs = [ModelGraph.from_dict(state[s]) for s in ("student", "reference") if state[s]]
    if state["student"] and state["reference"]:
        mine, theirs = graphs
        state["difference"] = first_difference(mine, theirs)
        status += " " + difference_sentence(mine, theirs, state["difference"])
    state["expanded"] = _default_open(graphs, state["difference"]) if graphs else []
    choices = layer_choices(state)
    student_html, reference_html = _render(state)
    return student_html, reference_html, status, reference.note, state, gr.update(choices=choices, value=None)


def toggle_block(state, evt: gr.EventData):
    """Event: a click on a drawn graph: open or close a block (both drawings), or pick a layer.

    Returns:
        (student graph HTML, reference graph HTML, state, layer dropdown update)
    """
    data = getattr(evt, "_data", None) or {}
    state = dict(state or empty_state())
    if "block" in data:
        expanded = set(state["expanded"])
        expanded ^= {str(data["block"])}
        state["expanded"] = sorted(expanded)
        return (*_render(state), state, gr.update())
    if "layer" in data:
        choices = layer_choices(state)
        index = int(data["layer"])
        if 0 <= index < len(choices):
            state["selected"] = index
            return (*_render(state), state, gr.update(value=choices[index]))
    return (*_render(state), state, gr.update())


def _index_of(choice_text):
    """``"#12 conv2d (Conv2D)"`` -> 12; None for nothing chosen."""
    text = str(choice_text or "").strip()
    if not text.startswith("#"):
        return None
    try:
        return int(text[1:].split()[0])
    except (ValueError, IndexError):
        return None


def _batch(args, picture):
    """The image as the model for ``args`` takes it: float32 (1, size, size, 3)."""
    choice, size = args[0], args[1]
    if choice == arch.IMAGENET:
        return model_input(picture, (299, 299)) / 127.5 - 1.0  # keras.applications.xception.preprocess_input
    batch = model_input(picture, (size, size))
    # the Xception block and conv_bn_relu take the image straight, without a Rescaling layer
    return batch / 255.0 if choice in (arch.XCEPTION_BLOCK, arch.CONV_BN_RELU) else batch


def output_picture(model, index, batch):
    """(uint8 picture, caption) of layer ``index``'s output for ``batch``.

    A feature map is drawn as a grid of its first :data:`SHOWN_CHANNELS`
    channels (each scaled to its own range); a vector as bars.
    """
    import keras  # noqa: PLC0415

    layer = model.layers[index] if index < len(model.layers) else None
    if layer is None:
        raise user_error(f"The model has no layer #{index}.")
    probe = keras.Model(model.inputs, layer.output)
    value = np.asarray(probe(batch, training=False))[0]
    caption = f"#{index} {layer.name} ({type(layer).__name__}) → {shape_text(value.shape)}"
    if value.ndim == 3:
        picture = channel_grid(value, SHOWN_CHANNELS, gutter=2, min_side=240)
        return picture, caption + f", first {min(SHOWN_CHANNELS, value.shape[-1])} channels"
    return vector_picture(value.reshape(-1)), caption


def vector_picture(values, limit=64):
    """uint8 RGB bar chart of the first ``limit`` values of a 1-D output."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415

    values = np.asarray(values, dtype="float32")[:limit]
    figure, axes = plt.subplots(figsize=(5, 2.4), dpi=80)
    axes.bar(np.arange(len(values)), values, color="#2563eb")
    axes.set_xlabel("unit")
    figure.tight_layout()
    figure.canvas.draw()
    picture = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return picture


def layer_output(labs_dir, choice, input_size, block_filters, num_classes, augment, image, layer_choice):
    """Event: the chosen layer's output for the image, on the student's model and on the reference's.

    Returns:
        (student picture or None, student caption markdown, reference picture or None, reference caption markdown)
    """
    index = _index_of(layer_choice)
    if index is None:
        return None, "Click a layer in a graph (or choose one) to see its output for the image.", None, ""
    source = resolve_labs_dir(labs_dir)
    args = arch.checked_settings(choice, input_size, block_filters, num_classes, augment)
    picture, _ = load_input_image(image, max_side=512)
    batch = _batch(args, picture)
    mine = None, ""
    if args[0] != arch.IMAGENET:
        outcome = arch.student_model(source, args)
        if not outcome.ok:
            mine = None, outcome.markdown()
        elif index >= len(outcome.value.layers):
            mine = None, f"Your model has only {len(outcome.value.layers)} layers."
        else:
            shown, caption = output_picture(outcome.value, index, batch)
            mine = shown, caption + _weights_note(outcome.value)
    model = arch.reference_model(args)
    if model is None:
        theirs = None, ("No answer key in the kit: the reference's layer outputs are computed live from solutions/, "
                        "or from the demo models at their settings; only yours is shown.")
    elif index >= len(model.layers):
        theirs = None, f"The reference has only {len(model.layers)} layers."
    else:
        shown, caption = output_picture(model, index, batch)
        theirs = shown, caption + ("" if args[0] == arch.IMAGENET else _weights_note(model))
    return mine[0], mine[1], theirs[0], theirs[1]


def _weights_note(model):
    if getattr(model, "trained", False):
        return " — with the demo model's trained weights."
    return " — untrained (random weights, seeded alike on both sides)."

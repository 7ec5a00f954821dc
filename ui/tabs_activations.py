"""Activations tab: every layer's channels from the student's ``extract_activations`` and ``activation_grid``.

One click computes every layer (the student's default, or the layers
picked, BatchNormalization, Activation and Add included) on both sides:
an overview of every layer's grid in model order, a plot of what each
layer keeps of the image (:mod:`cvlab_ch9.ui.activation_stats`), and the
explorer (:mod:`cvlab_ch9.ui.explorer`): one layer with numbered channels,
one channel large and over the photo.
"""

import gradio as gr
import numpy as np

from cvlab_ch9.layers import layer_names
from cvlab_ch9.ui import explorer, inputs
from cvlab_ch9.ui.activation_stats import layer_stats, stats_plot
from cvlab_ch9.ui.classifiers import LAB, explorable_layers, model_batch
from cvlab_ch9.ui.common import StudentResultError, expect_array, resolve_labs_dir, run_student, user_error
from cvlab_ch9.ui.contracts import clipped_uint8, picture_problems, then_sentence, with_problems
from cvlab_ch9.ui.fields import listing, name_list, whole_number
from cvlab_ch9.ui.images import load_input_image, upscale_gray
from cvlab_ch9.ui.layout import image_with_examples, model_picker, side_by_side, tab_intro, wire_model_picker
from cvlab_ch9.ui.pictures import GridLayout
from cvlab_ch9.ui.reference import model_fingerprint, reference_side, result_key
from cvlab_ch9.ui.resources import ACTIVATION_LAYER_TYPES

PER_ROW_RANGE = (4, 32)
#: The slider's starting value (what the kit's recorded reference uses).
DEFAULT_PER_ROW = 8
DEFAULT_TYPES = ", ".join(ACTIVATION_LAYER_TYPES)
STATS_HELP = (
    "**Blank channels**: the share of a layer's channels with no positive value (all zero after a ReLU). "
    "**Fine detail kept**: how much of the image's fine detail (edges, texture) the best weighted sum of the "
    "layer's channels, enlarged to the image's size, reproduces. The chapter's three observations: the first "
    "layers keep almost all of the image, deeper ones are more abstract, and more and more channels are blank."
)


def _student_activations(module, model, batch, names):
    """The student's extract_activations for the float32 (1, H, W, 3) batch: {layer name: (h, w, c) array}."""
    activations = module.extract_activations(model, batch, names)
    if not isinstance(activations, dict):
        raise StudentResultError(
            f"extract_activations() returned {type(activations).__name__}; expected a dict {{layer name: (h, w, c) array}}."
        )
    checked = {}
    for name, value in activations.items():
        array = expect_array(value, "extract_activations", what=f"(h, w, c) arrays (layer {name!r})")
        if array.ndim == 4 and array.shape[0] == 1:
            raise StudentResultError(f"extract_activations() returned shape {array.shape} for {name!r}; drop the batch axis: (h, w, c).")
        if array.ndim != 3:
            raise StudentResultError(f"extract_activations() returned shape {array.shape} for {name!r}; expected (h, w, c).")
        checked[str(name)] = array
    return checked


def _student_grids(module, activations, per_row):
    """{layer: raw grid as returned} from the student's activation_grid (checked to be 2-D numbers)."""
    return {
        name: expect_array(module.activation_grid(activation, per_row), "activation_grid", ndim=2, what="a 2-D uint8 canvas")
        for name, activation in activations.items()
    }


def _order_problems(returned, expected, model_order):
    """Sentences when the student's layers are not the ones asked for, or not in order."""
    problems = []
    missing = [n for n in expected if n not in returned]
    extra = [n for n in returned if n not in expected]
    if missing:
        problems.append(f"extract_activations() left out {listing(missing)}.")
    if extra:
        problems.append(f"extract_activations() returned layers that were not asked for: {listing(extra)}.")
    known = [n for n in returned if n in model_order]
    if known != sorted(known, key=model_order.index) and not missing and not extra and known != list(expected):
        problems.append("extract_activations() returned the layers out of order; keep the model's order.")
    return problems


def _overview(side, stats, shapes):
    """Gallery items ``(uint8 picture, caption)`` of a side's grids, in its order."""
    items = []
    for name in side.order:
        shape = "x".join(str(s) for s in shapes[name]) if name in shapes else "?"
        blank = f" · {100 * stats[name][0]:.0f}% blank" if name in stats else ""
        items.append((upscale_gray(side.grids[name]), f"{name} — {shape}{blank}"))
    return items


def run_activations(labs_dir, model_name, image, selected_layers, images_per_row=DEFAULT_PER_ROW):
    """Event: every chosen layer's channels from the student's code and the reference, what they keep, and the explorer's state.

    Args:
        labs_dir: the "labs directory" textbox.
        model_name: a demo model name.
        image: the uploaded image.
        selected_layers: layer names (any 4-D layer), or empty for the default
            (every Conv2D, SeparableConv2D and MaxPooling2D layer).
        images_per_row: channels per grid row (4..32).

    Returns:
        (student gallery items, student status markdown, reference gallery items, note,
        reference note markdown, stats plot uint8 (H, W, 3), :class:`explorer.Explored`,
        layer dropdown update); gallery items are ``(uint8 picture, caption)``.
    """
    source = resolve_labs_dir(labs_dir)
    picture, note = load_input_image(image, max_side=512)
    model, _info, batch = model_batch(model_name, picture)
    valid = explorable_layers(model)
    names = name_list(selected_layers)
    unknown = [n for n in names if n not in valid]
    if unknown:
        # e.g. layers of the model used before a model switch
        raise user_error(f"The model has no layer named {unknown[0]!r} with a 4-D output; choose from: {listing(valid)}.")
    per_row = whole_number(images_per_row, "Channels per row", *PER_ROW_RANGE)
    expected = names or layer_names(model, ACTIVATION_LAYER_TYPES)
    shapes = {n: tuple(model.get_layer(n).output.shape[1:]) for n in valid}
    reference, ref_stats, ref_note = _reference_activations(model_name, model, batch, picture, expected, per_row)
    then = then_sentence(bool(reference.grids))
    student, stats, status = explorer.Side(), {}, ""
    extracted = run_student(LAB, source, "extract_activations", lambda m: _student_activations(m, model, batch, names or None), then)
    if extracted.ok:
        activations = dict(sorted(extracted.value.items(), key=lambda item: valid.index(item[0]) if item[0] in valid else len(valid)))
        grids = run_student(LAB, source, "activation_grid", lambda m: _student_grids(m, activations, per_row), then)
        problems = _order_problems(list(activations), expected, valid)
        if grids.ok:
            own_shapes = {n: a.shape for n, a in activations.items()}
            for name, grid in grids.value.items():
                contract = GridLayout(*own_shapes[name], per_row).shape
                problems += [f"{name}: {p}" for p in picture_problems(grid, "activation_grid", contract, "grid")]
            student = explorer.side_from_grids({n: clipped_uint8(g) for n, g in grids.value.items()}, own_shapes, per_row)
            student.channel_ranges = {n: _channel_ranges(a) for n, a in activations.items()}
            stats = layer_stats(activations, batch[0])
            status = f"{len(activations)} layers from your extract_activations() and activation_grid()."
        status = grids.markdown(status)
        status = with_problems(status, problems)
    else:
        status = extracted.markdown()
    layers = [n for n in valid if n in student.grids or n in reference.grids] + [n for n in student.grids if n not in valid]
    series = {k: v for k, v in (("yours", stats), ("reference", ref_stats)) if v}
    plot = stats_plot(series, layers) if series else None
    explored = explorer.Explored(picture, layers, student, reference, series)
    first = explorer.first_layer(explored)
    return (
        _overview(student, stats, shapes), status, _overview(reference, ref_stats, shapes), note, ref_note,
        plot, explored, gr.update(choices=layers, value=first),
    )


def _channel_ranges(activation):
    """float (c, 2): each channel's min and max."""
    flat = np.asarray(activation, dtype="float64").reshape(-1, np.shape(activation)[-1])
    return np.stack([flat.min(axis=0), flat.max(axis=0)], axis=-1)


def _reference_activations(model_name, model, batch, picture, names, per_row):
    """(explorer.Side, {layer: stats}, note) of the reference for ``names``."""
    reference = reference_side()
    base = {"model": model_name, "model_file": model_fingerprint(model_name), "image": reference.image_key(picture),
            "per_row": per_row}

    def compute(lab):
        activations = lab.extract_activations(model, batch, list(names))
        grids = [np.asarray(lab.activation_grid(activations[n], per_row), dtype="uint8") for n in names]
        stats = layer_stats(activations, batch[0])
        return grids + [stats[n] for n in names]

    keys = [result_key("activation_grid", layer=n, **base) for n in names]
    keys += [result_key("activation_stats", layer=n, **base) for n in names]
    shown = reference.many(LAB, keys, compute, settings=f"with {DEFAULT_PER_ROW} channels per row (the default); set it to compare")
    grids = {n: g for n, g in zip(names, shown.value[: len(names)]) if g is not None}
    stats = {n: tuple(s) for n, s in zip(names, shown.value[len(names):]) if s is not None}
    shapes = {n: tuple(model.get_layer(n).output.shape[1:]) for n in names}
    return explorer.side_from_grids(grids, shapes, per_row), stats, shown.note


# -- the explorer's events -----------------------------------------------------------------


def open_layer(explored, layer):
    """Event: ``layer``'s numbered grids, its numbers and its most active channel (yours), shown large.

    Returns:
        (your numbered grid, the reference's, layer markdown, channel number, *open_channel outputs)
    """
    if explored is None or not layer:
        return None, None, "", None, None, None, None, None, ""
    channel = explorer.most_active_channel(explored.student, layer)
    return (explorer.numbered(explored.student, layer), explorer.numbered(explored.reference, layer),
            explorer.layer_text(explored, layer), channel, *open_channel(explored, layer, channel))


def open_channel(explored, layer, channel):
    """Event: channel ``channel`` of ``layer`` on both sides: (your tile, your photo through it, the reference's two, markdown)."""
    if explored is None or not layer or channel is None:
        return None, None, None, None, ""
    channel = int(channel)
    (tile, through), (ref_tile, ref_through) = explorer.channel_views(explored, layer, channel)
    return tile, through, ref_tile, ref_through, explorer.channel_text(explored, layer, channel)


def _clicked(side_name):
    """Event for a click on one side's numbered grid: (channel, *open_channel outputs); nothing for a gutter."""

    def clicked(explored, layer, evt: gr.SelectData):
        channel = None if explored is None else explorer.clicked_channel(explored, layer, side_name, *evt.index)
        if channel is None:
            return (gr.update(),) * 6
        return channel, *open_channel(explored, layer, channel)

    return clicked


def _layer_picked(side_name):
    """Event for a click on one side's overview: the layer, and what open_layer shows for it."""

    def picked(explored, evt: gr.SelectData):
        side = None if explored is None else (explored.student if side_name == "student" else explored.reference)
        if side is None or not 0 <= evt.index < len(side.order):
            return (gr.update(),) * 10
        layer = side.order[evt.index]
        return layer, *open_layer(explored, layer)

    return picked


# -- layout ---------------------------------------------------------------------------------


def _explorer_section():
    """The explorer's components: layer and channel pickers, the numbered grids, the channel views."""
    gr.Markdown("### One layer, one channel\nClick a layer above (or pick it here), then a channel on either grid.")
    with gr.Row():
        layer = inputs.Dropdown([], label="Layer", elem_id="activations-layer", scale=2)
        channel = gr.Number(label="Channel", precision=0, minimum=0, elem_id="activations-channel", scale=1)
    layer_md = gr.Markdown(elem_id="activations-layer-text")
    with gr.Row():
        grids = (gr.Image(label="Your channels (numbered)", interactive=False, format="png", elem_id="activations-student-layer"),
                 gr.Image(label="Reference channels (numbered)", interactive=False, format="png", elem_id="activations-reference-layer"))
    channel_md = gr.Markdown(elem_id="activations-channel-text")
    with gr.Row():
        views = (gr.Image(label="Your channel", interactive=False, height=220, elem_id="activations-student-channel"),
                 gr.Image(label="Your channel over the photo", interactive=False, height=220),
                 gr.Image(label="Reference channel", interactive=False, height=220),
                 gr.Image(label="Reference channel over the photo", interactive=False, height=220))
    return layer, channel, layer_md, grids, channel_md, views


def build_tab(labs_dir, examples, where="`interpretation.py`"):
    """Create the Activations tab's components inside the current ``gr.Tab``.

    Args:
        where: how the page names the student's code (the file, or this notebook).
    """
    names, default, choices = tab_intro(
        f"What does each layer output for this image? Your `extract_activations()` and `activation_grid()` from {where}, "
        "every layer at once (one small picture per channel), and what each layer keeps of the image: early layers keep "
        "almost all of it, deeper ones are more abstract, and more and more of their channels are blank."
    )
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            image = image_with_examples(examples, "activations-image")
        with gr.Column(scale=1, min_width=260):
            model, model_info_note, download = model_picker(names, default, "activations-model")
            layers = inputs.Dropdown(
                choices.get("explorable_layers", []), value=[], multiselect=True,
                label=f"Layers (empty: the default, every {DEFAULT_TYPES})",
            )
            per_row = inputs.Slider(*PER_ROW_RANGE, value=DEFAULT_PER_ROW, step=1, label="Channels per row")
            button = gr.Button("Show activations", variant="primary", elem_id="activations-run")
            note = gr.Markdown()
    with gr.Row():
        plot = gr.Image(label="What each layer keeps of the image (yours solid, the reference dashed)", interactive=False,
                        format="png", elem_id="activations-stats", scale=3, min_width=320)
        gr.Markdown(STATS_HELP, min_height=0)
    overview = {"columns": 3, "height": 420, "object_fit": "contain", "allow_preview": False}
    student, status, reference, reference_note = side_by_side(
        lambda: gr.Gallery(label="Your layers (click one to explore it)", elem_id="activations-student", **overview),
        lambda: gr.Gallery(label="Reference layers", elem_id="activations-reference", **overview),
        status_id="activations-status", note_id="activations-reference-note",
    )
    explored = gr.State(None)
    layer, channel, layer_md, grids, channel_md, views = _explorer_section()
    detail = [*grids, layer_md, channel, *views, channel_md]
    wire_model_picker(model, model_info_note, download, [layers], lambda updates: updates[:1],
                      results=[student, status, reference, note, reference_note, plot, explored, layer, *detail])
    button.click(
        run_activations,
        inputs=[labs_dir, model, image, layers, per_row],
        outputs=[student, status, reference, note, reference_note, plot, explored, layer],
        api_name="activations",
    ).then(open_layer, inputs=[explored, layer], outputs=detail, api_visibility="private")
    layer.input(open_layer, inputs=[explored, layer], outputs=detail, api_visibility="private")
    channel.input(open_channel, inputs=[explored, layer, channel], outputs=[*views, channel_md], api_visibility="private")
    for side_name, grid in zip(("student", "reference"), grids):
        grid.select(_clicked(side_name), inputs=[explored, layer], outputs=[channel, *views, channel_md], api_visibility="private")
    for side_name, gallery in (("student", student), ("reference", reference)):
        gallery.select(_layer_picked(side_name), inputs=[explored], outputs=[layer, *detail], api_visibility="private")

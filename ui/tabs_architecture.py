"""Architecture tab: the student's residual / mini-Xception models against the reference.

:func:`compare_architectures` builds the chosen model with the student's
functions, asks the reference side (:func:`cvlab_ch9.ui.reference.reference_side`:
built from ``solutions/``, or recorded in the student kit for the chapter's
settings) for the reference's layer table, and returns both plus a summary of
parameter counts and where they differ.
"""

import collections

import gradio as gr

from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.common import describe_lab, resolve_labs_dir, run_student, user_error
from cvlab_ch9.ui.fields import one_of, whole_number
from cvlab_ch9.ui.reference import reference_side, result_key

LAB = "architecture"
RESIDUAL = "Residual network (residual_block)"
MINI_XCEPTION = "Mini-Xception (build_mini_xception)"
XCEPTION_BLOCK = "One Xception block (xception_block)"
CONV_BN_RELU = "Conv → BN → ReLU (conv_bn_relu)"
MODEL_CHOICES = (MINI_XCEPTION, RESIDUAL, XCEPTION_BLOCK, CONV_BN_RELU)
#: The exercise each choice runs (named in messages).
EXERCISE = {
    RESIDUAL: "residual_block",
    MINI_XCEPTION: "build_mini_xception",
    XCEPTION_BLOCK: "xception_block",
    CONV_BN_RELU: "conv_bn_relu",
}
TABLE_HEADERS = [
    "#", "your layer", "your output shape", "your params", "in reference?",
    "reference layer", "reference output shape", "reference params",
]
MIN_SIZE, MAX_SIZE = 16, 299
MAX_CLASSES = 1000


def parse_filters(text):
    """``"32, 64, 128"`` -> (32, 64, 128); gr.Error for anything else."""
    parts = [p for p in str(text or "").replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        filters = tuple(int(p) for p in parts)
    except ValueError:
        filters = ()
    if not filters or any(f < 1 or f > 1024 for f in filters) or len(filters) > 8:
        raise user_error(
            f"Block filters {text!r} must be 1 to 8 whole numbers between 1 and 1024, separated by commas, "
            "e.g. 32, 64, 128."
        )
    return filters


def build_model(module, choice, input_size, filters, num_classes, augment):
    """The model for ``choice`` built with ``module``'s functions (student or reference).

    Returns:
        keras.Model taking float32 (batch, input_size, input_size, 3).
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    shape = (input_size, input_size, 3)
    if choice == MINI_XCEPTION:
        return module.build_mini_xception(
            input_shape=shape, num_classes=num_classes, block_filters=filters, augment=augment
        )
    inputs = keras.Input(shape=shape)
    if choice == RESIDUAL:
        # the chapter's small residual network: pooling in every block but the last
        x = layers.Rescaling(1.0 / 255)(inputs)
        for i, f in enumerate(filters):
            x = module.residual_block(x, f, pooling=i < len(filters) - 1)
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(1, activation="sigmoid")(x) if num_classes == 1 else layers.Dense(
            num_classes, activation="softmax"
        )(x)
    elif choice == XCEPTION_BLOCK:
        outputs = module.xception_block(inputs, filters[0])
    elif choice == CONV_BN_RELU:
        outputs = module.conv_bn_relu(inputs, filters[0])
    else:
        raise user_error(f"Unknown model {choice!r}; choose one of: {', '.join(MODEL_CHOICES)}.")
    return keras.Model(inputs, outputs, name=choice.split(" (")[0].lower().replace(" ", "_"))


def layer_rows(model):
    """One ``[index, name, type, output shape, params]`` row per layer of ``model``."""
    rows = []
    for i, layer in enumerate(model.layers):
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            shape = "?"
        rows.append([i, layer.name, type(layer).__name__, str(shape), int(layer.count_params())])
    return rows


def _signature(row):
    """What must agree between two layers: type, output shape, parameter count."""
    return (row[2], row[3], row[4])


def _describe(signature, count=1):
    kind, shape, params = signature
    times = f"{count}× " if count > 1 else ""
    return f"{times}{kind} → {shape}, {params:,} params"


def mark_matches(rows, reference_rows):
    """"✓"/"✗" per row of ``rows``: does the reference have a layer with the same type, shape and params?

    All "" when ``reference_rows`` is None (no reference to compare with).
    """
    if reference_rows is None:
        return [""] * len(rows)
    available = collections.Counter(_signature(r) for r in reference_rows)
    marks = []
    for row in rows:
        sig = _signature(row)
        if available[sig] > 0:
            available[sig] -= 1
            marks.append("✓")
        else:
            marks.append("✗")
    return marks


def side_by_side_rows(student_rows, reference_rows):
    """One table row per layer index: the student's layer, ✓/✗, and the reference's layer.

    Returns:
        list of ``[#, your layer, your output shape, your params, in reference?,
        reference layer, reference output shape, reference params]``; cells of a
        model with fewer layers are "".
    """
    marks = mark_matches(student_rows, reference_rows)
    reference_rows = reference_rows or []
    table = []
    for i in range(max(len(student_rows), len(reference_rows))):
        mine = student_rows[i] if i < len(student_rows) else None
        theirs = reference_rows[i] if i < len(reference_rows) else None
        table.append(
            [i]
            + ([f"{mine[2]} ({mine[1]})", mine[3], mine[4], marks[i]] if mine else ["", "", "", ""])
            + ([f"{theirs[2]} ({theirs[1]})", theirs[3], theirs[4]] if theirs else ["", "", ""])
        )
    return table


def difference_summary(student_rows, reference_rows, student_params, reference_params, limit=6):
    """Markdown: parameter counts and the layers that differ (as multisets, then in order)."""
    diff = student_params - reference_params
    lines = [
        f"**Parameters** — yours: **{student_params:,}**, reference: **{reference_params:,}** "
        f"({'same' if diff == 0 else f'{diff:+,}'}). "
        f"Layers — yours: {len(student_rows)}, reference: {len(reference_rows)}."
    ]
    student_sigs = [_signature(r) for r in student_rows]
    reference_sigs = [_signature(r) for r in reference_rows]
    if student_sigs == reference_sigs:
        lines.append("✓ Same layers, output shapes and parameter counts as the reference, in the same order.")
        return "\n\n".join(lines)
    extra = collections.Counter(student_sigs) - collections.Counter(reference_sigs)
    missing = collections.Counter(reference_sigs) - collections.Counter(student_sigs)
    if not extra and not missing:
        lines.append("✓ Same layers as the reference, in a different order (equivalent if the connections agree).")
        return "\n\n".join(lines)
    if extra:
        lines.append("**Only in yours:** " + "; ".join(_describe(s, c) for s, c in list(extra.items())[:limit]))
    if missing:
        lines.append("**Missing from yours:** " + "; ".join(_describe(s, c) for s, c in list(missing.items())[:limit]))
    for i, (mine, theirs) in enumerate(zip(student_sigs, reference_sigs)):
        if mine != theirs:
            lines.append(f"First difference at layer #{i}: yours is {_describe(mine)}; the reference has {_describe(theirs)}.")
            break
    return "\n\n".join(lines)


def separable_params_line(source):
    """Markdown comparing the student's separable_conv_params(64, 64, 3) to the reference."""
    expected = reference_side().one(
        LAB, result_key("separable_conv_params", args=[64, 64, 3]),
        lambda lab: tuple(int(v) for v in lab.separable_conv_params(64, 64, 3)),
    ).value
    outcome = run_student(LAB, source, "separable_conv_params", lambda m: m.separable_conv_params(64, 64, 3))
    if not outcome.ok:
        return outcome.markdown()
    got = tuple(int(v) for v in outcome.value) if isinstance(outcome.value, (tuple, list)) else outcome.value
    if expected is None:
        return f"`separable_conv_params(64, 64, 3)` — yours: `{got}`."
    mark = "✓" if got == tuple(expected) else "✗"
    return f"{mark} `separable_conv_params(64, 64, 3)` — yours: `{got}`, reference: `{tuple(expected)}`."


def reference_table(choice, input_size, filters, num_classes, augment):
    """Shown((layer rows, parameter count) of the reference model, or None with a sentence) from the reference side."""
    args = (choice, input_size, filters, num_classes, augment)

    def compute(lab):
        model = build_model(lab, *args)
        return layer_rows(model), int(model.count_params())

    key = result_key("architecture", choice=choice, input_size=input_size, filters=list(filters), num_classes=num_classes,
                     augment=augment)
    return reference_side().one(
        LAB, key, compute,
        settings="for the chapter's settings of each model (those choosing the model fills in); choose them to compare",
    )


def compare_architectures(labs_dir, choice, input_size, block_filters, num_classes, augment):
    """Event: build the chosen model from the student's code and the reference.

    Args:
        labs_dir: the "labs directory" textbox.
        choice: one of MODEL_CHOICES.
        input_size: square input side (16..299).
        block_filters: comma-separated filters, e.g. ``"32, 64, 128"``.
        num_classes: 1 (sigmoid) or more (softmax).
        augment: include the data augmentation layers (mini-Xception).

    Returns:
        (summary markdown, student status markdown, rows) where rows are
        ``[#, your layer, your output shape, your params, in reference?,
        reference layer, reference output shape, reference params]``.
    """
    source = resolve_labs_dir(labs_dir)
    choice = one_of(choice, "model", MODEL_CHOICES)
    input_size = whole_number(input_size, "Input size (pixels)", MIN_SIZE, MAX_SIZE)
    num_classes = whole_number(num_classes, "Classes", 1, MAX_CLASSES)
    filters = parse_filters(block_filters)
    args = (choice, input_size, filters, num_classes, bool(augment))
    reference = reference_table(*args)
    reference_rows, reference_params = reference.value if reference.value is not None else (None, None)
    exercise = EXERCISE[choice]
    outcome = run_student(LAB, source, exercise, lambda m: build_model(m, *args))
    extra = separable_params_line(source) if choice == XCEPTION_BLOCK else ""
    if reference_rows is None:
        reference_only = reference.note
    else:
        reference_only = f"Reference: **{reference_params:,}** parameters in {len(reference_rows)} layers."
    if not outcome.ok:
        return reference_only, outcome.markdown(), side_by_side_rows([], reference_rows)
    model = outcome.value
    if not hasattr(model, "layers") or not hasattr(model, "count_params"):
        message = f"⚠ {exercise}() must return a Keras tensor/model; got {type(model).__name__}."
        return reference_only, message, side_by_side_rows([], reference_rows)
    student_rows = layer_rows(model)
    if reference_rows is None:
        summary = f"**Parameters** — yours: **{int(model.count_params()):,}** in {len(student_rows)} layers.\n\n{reference.note}"
    else:
        summary = difference_summary(student_rows, reference_rows, int(model.count_params()), reference_params)
    if extra:
        summary += "\n\n" + extra
    status = f"Built with {describe_lab(source, LAB)}"
    return summary, status, side_by_side_rows(student_rows, reference_rows)


#: Sensible (input size, block filters, augment) for each choice.
DEFAULTS = {
    MINI_XCEPTION: (180, "32, 64, 128, 256, 512", True),
    RESIDUAL: (32, "32, 64, 128", False),
    XCEPTION_BLOCK: (32, "64", False),
    CONV_BN_RELU: (32, "32", False),
}


def default_settings(choice):
    """Event: the chapter's settings for the chosen model (input size, filters, augment)."""
    return DEFAULTS.get(choice, DEFAULTS[MINI_XCEPTION])


def build_tab(labs_dir):
    """Create the Architecture tab's components inside the current ``gr.Tab``."""
    gr.Markdown(
        "Build a model with **your** functions from `architecture.py` and compare it layer by layer "
        "with the reference: parameter counts, output shapes, and where they differ."
    )
    with gr.Row():
        choice = inputs.Dropdown(list(MODEL_CHOICES), value=MINI_XCEPTION, label="Model")
        input_size = inputs.Slider(MIN_SIZE, MAX_SIZE, value=180, step=1, label="Input size (pixels)")
        block_filters = gr.Textbox("32, 64, 128, 256, 512", label="Block filters")
        num_classes = inputs.Number(1, precision=0, minimum=1, maximum=MAX_CLASSES, label="Classes (1 = sigmoid)")
        augment = gr.Checkbox(True, label="Data augmentation layers")
    button = gr.Button("Compare with the reference", variant="primary", elem_id="architecture-run")
    status = gr.Markdown()
    summary = gr.Markdown(elem_id="architecture-summary")
    table = gr.Dataframe(
        headers=TABLE_HEADERS, interactive=False, wrap=True, max_height=520,
        column_widths=["4%", "20%", "16%", "9%", "8%", "20%", "15%", "8%"],
    )
    choice.change(default_settings, inputs=choice, outputs=[input_size, block_filters, augment], api_visibility="private")
    button.click(
        compare_architectures,
        inputs=[labs_dir, choice, input_size, block_filters, num_classes, augment],
        outputs=[summary, status, table],
        api_name="architecture",
    )

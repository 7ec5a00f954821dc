"""What a depthwise separable convolution saves: the student's ``separable_conv_params`` as a labelled formula and bars.

:func:`separable_costs` runs the student's ``separable_conv_params(in, out, k)``
for the sliders' values and draws its two counts as bars under the formula
they should follow (k·k·in·out for a regular convolution, k·k·in + in·out
for a separable one: a k×k filter per input channel, then a 1×1 convolution
mixing the channels), with the reference beside it. :func:`mini_xception_costs`
counts the parameters of the student's chapter mini-Xception and of the same
model with every ``SeparableConv2D`` replaced by a ``Conv2D`` of the same
filters and kernel.
"""

import gradio as gr

from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.common import resolve_labs_dir, run_student
from cvlab_ch9.ui.fields import whole_number
from cvlab_ch9.ui.reference import reference_side, result_key

LAB = "architecture"
CHANNELS_RANGE = (1, 1024)
KERNEL_RANGE = (1, 9)
DEFAULT = (64, 64, 3)
#: The chapter's mini-Xception (input, classes, block filters, augment).
CHAPTER_MINI_XCEPTION = ((180, 180, 3), 1, (32, 64, 128, 256, 512), True)
DEPTHWISE, POINTWISE, REGULAR = "#0d9488", "#2563eb", "#94a3b8"


def formula_counts(in_channels, out_channels, kernel_size):
    """The chapter's formula: (regular, depthwise part, pointwise part) of bias-free parameter counts."""
    k = kernel_size
    return k * k * in_channels * out_channels, k * k * in_channels, in_channels * out_channels


def _pair(value, function="separable_conv_params"):
    """``value`` as (int, int), else ValueError with the sentence to show."""
    try:
        regular, separable = value
        return int(regular), int(separable)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{function}() returned {value!r}; return a tuple (regular, separable) of two whole numbers.") from exc


def _bar(label, value, largest, parts):
    """One labelled horizontal bar; ``parts`` is [(share of value, colour)]."""
    width = 100.0 * value / largest if largest > 0 else 0.0
    segments = "".join(
        f'<span style="display:inline-block;height:100%;width:{100 * share:.3f}%;background:{colour}"></span>'
        for share, colour in parts
    )
    return (f'<div style="margin:6px 0"><div style="font-size:13px">{label}</div>'
            f'<div style="background:#f1f5f9;border-radius:4px;height:18px;width:100%">'
            f'<div style="height:18px;width:{max(width, 0.4):.3f}%;display:flex">{segments}</div></div></div>')


def cost_picture(counts, in_channels, out_channels, kernel_size):
    """HTML: the formula with the numbers filled in and bars of ``counts`` = (regular, separable) as returned."""
    regular, separable = counts
    expected, depthwise, pointwise = formula_counts(in_channels, out_channels, kernel_size)
    k, i, o = kernel_size, in_channels, out_channels
    marks = ["✓" if regular == expected else f"✗ the formula gives {expected:,}",
             "✓" if separable == depthwise + pointwise else f"✗ the formula gives {depthwise + pointwise:,}"]
    split = [(depthwise / separable, DEPTHWISE), (pointwise / separable, POINTWISE)] if separable == depthwise + pointwise \
        else [(1.0, POINTWISE)]
    largest = max(regular, separable, 1)
    ratio = f"{regular / separable:.1f}× fewer parameters" if separable > 0 and regular > separable else ""
    return (
        '<div class="cvlab-separable" style="font-size:14px">'
        + _bar(f"<b>Conv2D</b>: k·k·in·out = {k}·{k}·{i}·{o} = <b>{regular:,}</b> {marks[0]}", regular, largest, [(1.0, REGULAR)])
        + _bar(f"<b>SeparableConv2D</b>: k·k·in + in·out = {k}·{k}·{i} + {i}·{o} = "
               f'<span style="color:{DEPTHWISE}">{depthwise:,} depthwise</span> + '
               f'<span style="color:{POINTWISE}">{pointwise:,} pointwise</span> = <b>{separable:,}</b> {marks[1]}',
               separable, largest, split)
        + (f'<div style="font-size:15px;font-weight:600;margin-top:6px">{ratio}</div>' if ratio else "")
        + "</div>"
    )


def separable_costs(labs_dir, in_channels, out_channels, kernel_size):
    """Event: the student's and the reference's separable_conv_params as formula pictures.

    Returns:
        (student picture HTML, student status markdown, reference picture HTML, reference note markdown)
    """
    source = resolve_labs_dir(labs_dir)
    in_channels = whole_number(in_channels, "Input channels", *CHANNELS_RANGE)
    out_channels = whole_number(out_channels, "Output channels", *CHANNELS_RANGE)
    kernel_size = whole_number(kernel_size, "Kernel size", *KERNEL_RANGE)
    shape = (in_channels, out_channels, kernel_size)
    reference = reference_side().one(
        LAB, result_key("separable_conv_params", args=list(shape)),
        lambda lab: _pair(lab.separable_conv_params(*shape)),
        settings=f"for {DEFAULT[0]} → {DEFAULT[1]} channels with a {DEFAULT[2]}×{DEFAULT[2]} kernel only; set the sliders there to compare",
    )
    reference_html = "" if reference.value is None else cost_picture(tuple(reference.value), *shape)
    outcome = run_student(LAB, source, "separable_conv_params", lambda m: _pair(m.separable_conv_params(*shape)))
    if not outcome.ok:
        return "", outcome.markdown(), reference_html, reference.note
    return cost_picture(outcome.value, *shape), f"Your `separable_conv_params({in_channels}, {out_channels}, {kernel_size})`.", \
        reference_html, reference.note


def conv2d_only(model):
    """A copy of ``model`` with every SeparableConv2D replaced by a Conv2D of the same filters, kernel, strides and padding."""
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    def replace(layer):
        if type(layer).__name__ != "SeparableConv2D":
            return layer.__class__.from_config(layer.get_config())
        config = layer.get_config()
        return keras.layers.Conv2D(
            config["filters"], config["kernel_size"], strides=config["strides"], padding=config["padding"],
            use_bias=config["use_bias"], activation=config["activation"], name=config["name"] + "_as_conv2d",
        )

    return keras.models.clone_model(model, clone_function=replace)


def parameter_counts(module):
    """(parameters of ``module``'s chapter mini-Xception, of its Conv2D-only copy)."""
    model = module.build_mini_xception(*CHAPTER_MINI_XCEPTION)
    return int(model.count_params()), int(conv2d_only(model).count_params())


def _counts_picture(counts):
    separable, regular = counts
    largest = max(separable, regular, 1)
    return ('<div class="cvlab-separable" style="font-size:14px">'
            + _bar(f"<b>mini-Xception</b> (SeparableConv2D): <b>{separable:,}</b> parameters", separable, largest, [(1.0, DEPTHWISE)])
            + _bar(f"<b>the same with Conv2D</b>: <b>{regular:,}</b> parameters", regular, largest, [(1.0, REGULAR)])
            + f'<div style="font-weight:600">{regular / max(separable, 1):.1f}× as many with plain convolutions</div></div>')


def mini_xception_costs(labs_dir):
    """Event: parameter counts of the chapter's mini-Xception and of its Conv2D-only copy, the student's and the reference's.

    Returns:
        (student picture HTML, student status markdown, reference picture HTML, reference note markdown)
    """
    source = resolve_labs_dir(labs_dir)
    reference = reference_side().one(
        LAB, result_key("mini_xception_conv2d_only", settings=list(CHAPTER_MINI_XCEPTION[1:3])), parameter_counts,
    )
    reference_html = "" if reference.value is None else _counts_picture(tuple(reference.value))
    outcome = run_student(LAB, source, "build_mini_xception", parameter_counts)
    if not outcome.ok:
        return "", outcome.markdown(), reference_html, reference.note
    return _counts_picture(outcome.value), "Your `build_mini_xception()` with the chapter's settings (180×180, 5 blocks).", \
        reference_html, reference.note


def build_section(labs_dir, compare_button):
    """The "What a separable convolution saves" section of the Architecture tab (drawn on ``compare_button`` too)."""
    with gr.Accordion("What a separable convolution saves", open=True, elem_id="separable-section"):
        gr.Markdown(
            "A `SeparableConv2D` filters each input channel on its own with a k×k kernel (*depthwise*), then mixes the "
            "channels with a 1×1 convolution (*pointwise*). Move the sliders: the bars are what **your** "
            "`separable_conv_params` returns."
        )
        with gr.Row():
            in_channels = inputs.Slider(*CHANNELS_RANGE, value=DEFAULT[0], step=1, label="Input channels")
            out_channels = inputs.Slider(*CHANNELS_RANGE, value=DEFAULT[1], step=1, label="Output channels")
            kernel = inputs.Slider(*KERNEL_RANGE, value=DEFAULT[2], step=2, label="Kernel size")
        with gr.Row():
            with gr.Column():
                gr.Markdown("#### Your code")
                status = gr.Markdown(elem_id="separable-status")
                student = gr.HTML(elem_id="separable-student")
            with gr.Column():
                gr.Markdown("#### Reference")
                note = gr.Markdown()
                reference = gr.HTML(elem_id="separable-reference")
        button = gr.Button("Count the mini-Xception's parameters with Conv2D instead", elem_id="separable-mini-run")
        with gr.Row():
            with gr.Column():
                mini_status = gr.Markdown()
                mini = gr.HTML(elem_id="separable-mini-student")
            with gr.Column():
                mini_note = gr.Markdown()
                mini_reference = gr.HTML(elem_id="separable-mini-reference")
    sliders = [labs_dir, in_channels, out_channels, kernel]
    outputs = [student, status, reference, note]
    for slider in (in_channels, out_channels, kernel):
        slider.release(separable_costs, inputs=sliders, outputs=outputs, api_visibility="private")
    compare_button.click(separable_costs, inputs=sliders, outputs=outputs, api_name="separable")
    button.click(mini_xception_costs, inputs=labs_dir, outputs=[mini, mini_status, mini_reference, mini_note],
                 api_name="separable_mini_xception")

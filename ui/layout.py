"""Layout pieces the tabs share: the student | reference columns, the reference heading, the model picker.

Functions here create Gradio components inside the current Blocks context
and wire their events; they compute nothing themselves.
"""

import gradio as gr

from cvlab_ch9.ui import inputs
from cvlab_ch9.ui.classifiers import download_model, initial_choices, model_changed, model_status
from cvlab_ch9.ui.images import load_input_image
from cvlab_ch9.ui.reference import reference_side
from cvlab_ch9.ui.resources import IMAGENET_XCEPTION, model_note, needs_download


def tab_intro(text):
    """A classifier tab's first lines: ``text`` (markdown), and why not when the default model cannot load.

    Returns:
        (model names, default model, its layer choices or {}).
    """
    names, default, choices, problem = initial_choices()
    gr.Markdown(text)
    if problem:
        gr.Markdown(problem)
    return names, default, choices


def reference_heading():
    """The reference column's heading: "### Reference", "(recorded)" in the student kit."""
    return "### Reference" + (" (recorded)" if reference_side().kind == "recorded" else "")


def side_by_side(student_component, reference_component, status_id=None, note_id=None):
    """Two columns (student | reference) holding what the given factories create.

    Args:
        student_component, reference_component: called inside their column,
            below its heading and message line; each returns a component (or
            a tuple of them).
        status_id, note_id: ``elem_id`` of the student's status line and the reference's note.

    Returns:
        (what student_component returned, student status, what reference_component returned, reference note)
    """
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Your code")
            status = gr.Markdown(elem_id=status_id, min_height=48)
            student = student_component()
        with gr.Column():
            gr.Markdown(reference_heading())
            reference_note = gr.Markdown(elem_id=note_id, min_height=48)
            reference = reference_component()
    return student, status, reference, reference_note


def model_picker(names, default, elem_id=None):
    """The model dropdown (``elem_id``), a note on the model in use and the (hidden) ImageNet download button."""
    model = inputs.Dropdown(names, value=default, label="Model", elem_id=elem_id)
    note = gr.Markdown(model_note(default))
    download = gr.Button(f"Download {IMAGENET_XCEPTION}", visible=needs_download(default), variant="secondary")
    return model, note, download


def wire_model_picker(model, note, download, outputs, pick, results=()):
    """Refresh ``outputs`` (``pick`` selects them from model_changed's updates), the note and the
    download button when the model changes or its download finishes; clear ``results`` (the previous
    model's pictures, messages and state) when the model changes."""
    results = list(results)

    def changed(name):
        return (*pick(model_changed(name)), *model_status(name), *([None] * len(results)))

    def downloaded(name, progress=gr.Progress()):
        updates = download_model(name, progress)
        return (*pick(updates[:4]), *updates[4:])

    targets = [*outputs, note, download]
    model.change(changed, inputs=model, outputs=[*targets, *results], api_visibility="private")
    download.click(downloaded, inputs=model, outputs=targets, api_visibility="private", show_progress_on=note)


def upload_problem(value):
    """Event (the image box changed): ``(image update, warning update)``.

    A picture the lab can read (an upload, an example) keeps its preview
    and clears the warning; a file it cannot read (the project's sentence:
    empty, damaged, HEIC, SVG, too large, ...) is removed from the image box
    and its sentence stays below it until another picture is chosen, so no
    preview shows a picture Run would refuse. An emptied box changes nothing.
    """
    if value is None:
        return gr.update(), gr.update()
    try:
        load_input_image(value)
    except gr.Error as exc:
        return None, f"⚠ {exc.message}"
    return gr.update(), ""


def image_with_examples(examples, elem_id, height=240, label="Image"):
    """The image box (the upload reaches the event undecoded), its upload warning and the examples below it (if any).

    Returns:
        the :class:`cvlab_ch9.ui.inputs.ImageFile`.
    """
    image = inputs.ImageFile(label=label, height=height, elem_id=elem_id)
    warning = gr.Markdown(elem_id=f"{elem_id}-warning")
    image.change(upload_problem, inputs=image, outputs=[image, warning], api_visibility="private", show_progress="hidden")
    if examples:
        gr.Examples(examples, inputs=image, label="Examples", elem_id=elem_id.replace("-image", "-examples"))
    return image

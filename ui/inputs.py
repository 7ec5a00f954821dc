"""Input components whose values reach the event functions as the user sent them.

Gradio's own input components check and convert a value before the event
function runs: ``gr.Image`` decodes the upload with Pillow, ``gr.Slider`` and
``gr.Number`` check their range, ``gr.Dropdown`` and ``gr.Radio`` their
choices. When that fails, the user gets Gradio's message instead of the
project's: for a broken image a stack of internals with a temporary path,
for a layer of the model just switched to "not in the list of choices".

These subclasses skip that step. The event functions check every value
themselves (:mod:`cvlab_ch9.ui.fields`, :func:`cvlab_ch9.ui.images.load_input_image`) and
answer in one sentence. They render with their parent's front end
(``is_template``, as Gradio's own ``gr.Sketchpad`` or ``gr.TextArea``), so
the page, the upload preview and the examples look and work the same.
Uploaded files are still checked to lie in Gradio's upload folder before
``preprocess`` is called.
"""

import gradio as gr
from gradio import processing_utils

from cvlab_ch9.ui.common import user_error


class ImageFile(gr.Image):
    """A ``gr.Image`` whose upload reaches the event function as the path of the uploaded file, undecoded.

    The event function reads it with :func:`cvlab_ch9.ui.images.load_input_image`.
    Examples and the preview work as with ``gr.Image``.
    """

    is_template = True  # rendered by gr.Image's front end

    def __init__(self, value=None, **kwargs):
        super().__init__(value, type="filepath", image_mode=None, **kwargs)

    def get_config(self, cls=None):
        # the front end's properties are gr.Image's constructor parameters, not this one's (value, **kwargs)
        return super().get_config(cls or gr.Image)

    def preprocess(self, payload):
        """The uploaded file's path (str), or None when there is no image.

        A ``data:`` URL (an image sent inline) is written to Gradio's cache
        as it is, still undecoded.
        """
        if payload is None:
            return None
        if payload.url and payload.url.startswith("data:"):
            try:
                return processing_utils.save_base64_to_cache(payload.url, self.GRADIO_CACHE, payload.orig_name)
            except ValueError as exc:  # binascii.Error: not base64
                raise user_error("The image sent inline is not valid base64 data; upload the file instead.") from exc
        return payload.path


class Slider(gr.Slider):
    """A ``gr.Slider`` whose value reaches the event function unchecked (see :func:`cvlab_ch9.ui.fields.whole_number`)."""

    is_template = True

    def preprocess(self, payload):
        return payload


class Number(gr.Number):
    """A ``gr.Number`` whose value reaches the event function unchecked and unrounded."""

    is_template = True

    def preprocess(self, payload):
        return payload


class Dropdown(gr.Dropdown):
    """A ``gr.Dropdown`` (``type="value"``) whose value reaches the event function even when it is not a choice.

    After a model switch a layer or class of the previous model can still
    arrive; the event function names the valid choices (:func:`cvlab_ch9.ui.fields.one_of`).
    """

    is_template = True

    def preprocess(self, payload):
        return payload


class Radio(gr.Radio):
    """A ``gr.Radio`` (``type="value"``) whose value reaches the event function unchecked."""

    is_template = True

    def preprocess(self, payload):
        return payload

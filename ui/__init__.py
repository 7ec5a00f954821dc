"""The cvlab lab UI: a Gradio app that runs the student's current code.

``python -m ui`` (or ``./run.sh ui``) launches it on http://127.0.0.1:7860.
:func:`cvlab_ch9.ui.app.build_app` returns the ``gr.Blocks``; the event functions
live in ``ui/tabs_*.py`` and can be called directly (the tests do).
Importing this package changes nothing in the process environment.
"""

"""Development tools around the lab UI: serving it for tests and benchmarks, driving a browser, screenshots.

Nothing in ``cvlab_ch9/``, ``grader/``, ``ui/`` or ``course/`` imports these.
"""

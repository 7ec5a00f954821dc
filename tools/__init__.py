"""Development tools around the lab UI: serving it for tests and benchmarks, driving a browser, screenshots.

Nothing in ``cvlab/``, ``grader/``, ``ui/`` or ``course/`` imports these.
"""

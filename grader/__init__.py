"""The lab's grader: one set of checks for the judge, pytest, nbgrader and the UI.

A *check* is ``func(student, expected)``: it runs the student's functions
through an :class:`~cvlab_ch9.grader.harness.local.Implementation`, compares the plain
results with the expected values of :mod:`cvlab_ch9.grader.expect`, and raises
``AssertionError`` with a hint when something is wrong. Visible checks are
registered with :func:`cvlab_ch9.grader.core.check` in ``grader/checks/<lab>.py``,
hidden ones in ``grader/hidden/<lab>.py``.

Entry points:
- ``python -m grader --labs DIR [--lab NAME] [--format table|json|gradescope]``: the judge
  (:func:`cvlab_ch9.grader.judge.grade`); student code runs in a sandbox process.
- ``pytest grader --impl labs|solutions|DIR``: the visible checks in this process.
- ``cvlab_ch9.grader.nb.check(check_id, globals())``: a notebook's test cells.
- ``python -m grader.record [--check]``: the reference side's recordings (the labs' expectations, the UI's gallery).
"""

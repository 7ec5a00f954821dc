"""The lab's grader: one set of checks for pytest, the CLI, nbgrader and the UI.

A *check* is a function that takes the student's implementation (a module,
or any object with the exercise functions as attributes) and raises
``AssertionError`` with a hint when something is wrong. Checks are
registered with :func:`grader.core.check` in ``grader/checks/<lab>.py``.

Entry points:
- ``python -m grader --labs DIR [--lab NAME] [--format table|json|gradescope]``
- ``pytest grader --impl labs|solutions|DIR``
- :func:`grader.core.run_check` / :func:`grader.runner.grade` from code.
"""

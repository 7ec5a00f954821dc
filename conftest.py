"""Root conftest: registers the grader's pytest plugin (``--impl``)."""

pytest_plugins = ["cvlab_ch9.grader.pytest_plugin"]

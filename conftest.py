"""Root conftest: registers the grader's pytest plugin (``--impl``)."""

pytest_plugins = ["grader.pytest_plugin"]

"""The reference implementation (``solutions/``), loaded once per process."""

import functools

from cvlab.impl import load_lab


@functools.cache
def reference(lab):
    """The ``solutions/<lab>.py`` module."""
    return load_lab(lab, "solutions")

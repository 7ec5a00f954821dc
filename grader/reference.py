"""The reference implementation (``solutions/``), loaded once per process."""

from cvlab.impl import reference_lab


def reference(lab):
    """The ``solutions/<lab>.py`` module (cached by :func:`cvlab.impl.reference_lab`)."""
    return reference_lab(lab)

"""Fixtures of the cvlab tests."""

from pathlib import Path

import pytest

from tests.cvlab.pets import make_synthetic_set


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    """A small synthetic set: 24 images of 64x64, seed 0 (shared, read-only)."""
    return make_synthetic_set(tmp_path_factory.mktemp("synth"))

"""Where every check's inputs come from: a draw, fixed for the recordings, secret for the judge.

A :class:`Draw` turns names into random streams: ``draw.rng("segmentation", "encoder")``
is a numpy Generator that gives the same numbers every time it is asked for
with the same names on the same draw, and unrelated numbers on another draw.
A check and the expectation it compares with ask for the same names, so they
see the same probe images, shapes, filter counts and weights.

Two kinds:

- :meth:`Draw.fixed`: a key everyone knows. The recordings students grade
  against (``grader/recordings/*.rec``) are made with it, so the kit's checks,
  notebook cells and the UI's Grade tab give feedback without the answer key.
- :meth:`Draw.secret`: 32 bytes from ``os.urandom`` (via :mod:`secrets`), made
  in the judge process for one grading and never sent anywhere. The sandbox
  only ever sees the inputs derived from it. Each stream's seed is a keyed
  BLAKE2b of its names, so the numbers of one stream (which the submission
  sees) say nothing about the key or about any other stream; and the next
  grading has a new key. A replayed recording or any fixed table answers
  other questions than the ones asked.

Two kinds of streams: :meth:`Draw.rng` for values (probe images, batches,
weights, learning rates) and :meth:`Draw.shape_rng` for structure (input
sizes, filter and class counts, the test models' architectures). A secret
draw may take its structure from an earlier one (``Draw.secret(structure=...)``):
a batch worker then keeps the reference's models for those shapes built
(:class:`cvlab_ch9.grader.expect.LiveReference`) while every submission still gets
values of its own. Values are what a replayed table would need; shapes alone
answer nothing.
"""

import hashlib
import secrets
import threading

import numpy as np

#: The key of the recordings' draw (``Draw.fixed()``).
FIXED_SEED = 0
KEY_BYTES = 32


class Draw:
    """A source of named random streams (see the module docstring).

    Attributes:
        kind: ``"fixed"`` (known to everyone, the recordings) or ``"secret"`` (one grading's).
    """

    def __init__(self, key, kind, structure_key=None):
        for value in (key, structure_key or key):
            if not isinstance(value, bytes) or not 1 <= len(value) <= 64:
                raise ValueError("a draw's keys are 1 to 64 bytes")
        self._key = key
        self._structure_key = structure_key or key
        self.kind = kind
        self._cache = {}
        self._lock = threading.RLock()

    @classmethod
    def fixed(cls, seed=FIXED_SEED):
        """The draw every copy of the lab shares for ``seed`` (the recordings use seed 0)."""
        return cls(f"cvlab-fixed-draw-{int(seed)}".encode(), "fixed")

    @classmethod
    def secret(cls, structure=None):
        """A fresh draw from the operating system's randomness, for one grading.

        Args:
            structure: a secret Draw whose structure streams this one shares (its values are its own).
        """
        if structure is not None and structure.kind != "secret":
            raise ValueError("only a secret draw lends its structure to another")
        structure_key = structure._structure_key if structure is not None else secrets.token_bytes(KEY_BYTES)
        return cls(secrets.token_bytes(KEY_BYTES), "secret", structure_key)

    def __repr__(self):
        return f"<Draw {self.kind}>"  # never the key

    @staticmethod
    def _digest(key, names):
        text = "\x1f".join(str(name) for name in names).encode()
        return hashlib.blake2b(text, key=key, digest_size=32).digest()

    def rng(self, *names):
        """A fresh numpy Generator for the value stream ``names`` (the same numbers each time it is asked for)."""
        return np.random.default_rng(int.from_bytes(self._digest(self._key, names), "little"))

    def shape_rng(self, *names):
        """A fresh numpy Generator for the structure stream ``names`` (sizes, counts, architectures)."""
        return np.random.default_rng(int.from_bytes(self._digest(self._structure_key, ("structure", *names)), "little"))

    def seed(self, *names):
        """An int in [0, 2**31) for the value stream ``names`` (for ``keras.utils.set_random_seed``)."""
        return int.from_bytes(self._digest(self._key, names)[:4], "little") & 0x7FFFFFFF

    def cached(self, key, factory):
        """``factory()`` made once per draw and ``key`` (models the grader builds for this draw)."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = factory()
            return self._cache[key]


def integers(rng, low, high, size=None):
    """Python int(s) drawn uniformly from ``low..high`` inclusive."""
    values = rng.integers(low, high + 1, size=size)
    return int(values) if size is None else [int(v) for v in values]


def distinct(rng, low, high, count):
    """``count`` different ints from ``low..high`` inclusive, in random order."""
    return [int(v) for v in rng.choice(np.arange(low, high + 1), size=count, replace=False)]


def uniform(rng, shape, low=0.0, high=1.0):
    """float32 array of ``shape`` drawn uniformly from [low, high)."""
    return rng.uniform(low, high, size=shape).astype("float32")

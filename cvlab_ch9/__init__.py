"""cvlab_ch9: the chapter 9 lab's one import name.

The core modules here are the plumbing every room of the lab shares: data
(synthetic and real Oxford-IIIT Pets), imaging helpers, demo models, loading
a student's or the reference implementation, and keeping TensorFlow quiet.
The grader and the UI are its subpackages ``cvlab_ch9.grader`` and
``cvlab_ch9.ui``: an installed wheel holds them inside this folder; a
checkout keeps them in its top-level ``grader/`` and ``ui/`` folders, which
this package's search path includes (the checkout's root is added to
``__path__`` below; ``python -m grader`` works there too). Nothing here
changes the process environment at import time.
"""

from pathlib import Path as _Path

_HERE = _Path(__file__).resolve().parent
_CHECKOUT = _HERE.parent
if not (_HERE / "grader").is_dir() and (_CHECKOUT / "grader" / "judge.py").is_file():
    # a checkout: cvlab_ch9.grader is <root>/grader, cvlab_ch9.ui is <root>/ui (this folder is searched first);
    # an installed wheel has its own grader/ here and never looks beside itself
    __path__.append(str(_CHECKOUT))

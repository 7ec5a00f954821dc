"""Keep TensorFlow's log lines off stderr.

TensorFlow's C++ runtime writes to file descriptor 2 even with
``TF_CPP_MIN_LOG_LEVEL=3``, and nbgrader scores 0 for any graded cell with
stderr output. :func:`import_tensorflow` sets the quiet environment
variables (only when the caller asks, never at import time) and imports
TensorFlow with fd 2 pointed at /dev/null.
"""

import contextlib
import logging
import os
import sys
import threading
import warnings

from cvlab_ch9.platforms import missing_tensorflow_sentence

QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "KERAS_BACKEND": "tensorflow"}


#: fd 2 and sys.stderr are process-wide: one thread at a time swaps them (a second
#: thread saving the first one's /dev/null would restore it, closed, afterwards).
_STDERR_LOCK = threading.RLock()


@contextlib.contextmanager
def stderr_silenced():
    """Redirect the process-level stderr (fd 2 and ``sys.stderr``) to /dev/null; thread-safe and re-entrant."""
    with _STDERR_LOCK:
        yield from _swapped_stderr()


def _swapped_stderr():
    sys.stderr.flush()
    saved_fd = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_stream = sys.stderr
    try:
        os.dup2(devnull, 2)
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - closed in the finally block
        yield
    finally:
        sys.stderr.close()
        sys.stderr = saved_stream
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(devnull)


def set_quiet_environment():
    """Set TensorFlow's quiet environment variables unless already set."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def import_tensorflow():
    """Import TensorFlow and Keras silently; return the ``tensorflow`` module.

    Safe to call many times. Also lowers the Python-side TF/absl loggers to
    errors and hides Keras' UserWarnings about unbuilt layers.
    """
    set_quiet_environment()
    with stderr_silenced():
        try:
            import keras  # noqa: F401, PLC0415
            import tensorflow as tf  # noqa: PLC0415 - deliberate lazy import
        except ModuleNotFoundError as exc:
            if exc.name != "tensorflow":
                raise
            # the student package does not require TensorFlow (a second distribution beside an installed one breaks both)
            raise ModuleNotFoundError(missing_tensorflow_sentence(), name="tensorflow") from exc

        tf.get_logger().setLevel(logging.ERROR)
        logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")
    return tf

"""Where and how the UI serves: host, default port, the offline environment, its example images.

Importing this module imports neither Gradio nor TensorFlow, so launchers
and development tools can read these settings before they import either.
"""

import os

from cvlab_ch9.paths import package_data

#: The UI listens on the loopback interface only.
HOST = "127.0.0.1"
DEFAULT_PORT = 7860
#: The bundled example images (synthetic pets and a public-domain photograph): package data of ``cvlab_ch9.ui``.
EXAMPLES_DIR = package_data("cvlab_ch9.ui", "examples")


def set_offline_environment():
    """Before Gradio is imported: analytics off (always) and the Hugging Face hub offline (unless set)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

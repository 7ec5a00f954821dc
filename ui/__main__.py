"""``python -m ui [--port N] [--share never] [--reference auto|live|recorded]``: launch the lab UI on 127.0.0.1, offline.

The launcher (not the library modules) sets the process environment:
Gradio analytics off, TensorFlow quiet with its oneDNN kernels on (faster
here; ``python -m bench --sections tfconfig`` measures it); then imports
Gradio and TensorFlow.
"""

import argparse
import os
import sys

from cvlab_ch9.ui.config import DEFAULT_PORT, HOST, set_offline_environment


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ui", description="Launch the cvlab lab UI on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on {HOST} (default {DEFAULT_PORT})")
    parser.add_argument(
        "--share", choices=["never"], default="never",
        help="public share links are never created: the lab runs offline",
    )
    parser.add_argument(
        "--reference", choices=["auto", "live", "recorded"], default="auto",
        help="the reference column: live (computed from solutions/), recorded (the student kit's gallery), "
        "auto (live where solutions/ exists; default)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    set_offline_environment()
    # cvlab_ch9.quiet turns oneDNN off by default (its import-time log line); this process's stderr is not graded
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - after the environment is set

    import_tensorflow()
    from cvlab_ch9.ui.app import build_app, launch  # noqa: PLC0415 - imports gradio
    from cvlab_ch9.ui.reference import make_reference, set_reference  # noqa: PLC0415

    try:
        set_reference(make_reference(args.reference))
    except ValueError as exc:
        print(f"python -m ui: {exc}", file=sys.stderr)
        return 2
    print(f"cvlab UI: http://{HOST}:{args.port} (Ctrl+C to stop)", flush=True)
    launch(build_app(), port=args.port, block=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

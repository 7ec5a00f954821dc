"""``python -m grader.record [--check] [--lab NAME]``: write or verify the recorded expectations.

The recordings (``grader/recordings/<lab>.rec``) are what students' checks
compare with, in place of ``solutions/``. Regenerate them after changing
``solutions/`` or a check's expectations; ``--check`` exits 1 when they no
longer match what ``solutions/`` produces (the drift test runs it).
"""

import argparse
import sys

import numpy as np

from cvlab_ch9.grader.expect import RecordingError, read_recording, record_values, write_recording
from cvlab_ch9.grader.harness.wire import Opaque
from cvlab_ch9.impl import LAB_NAMES
from cvlab_ch9.quiet import import_tensorflow


def differences(recorded, live, path="", atol=1e-5, rtol=1e-4):
    """Where ``recorded`` and ``live`` differ (list of paths); arrays compared within a tolerance."""
    if isinstance(live, np.ndarray) or isinstance(recorded, np.ndarray):
        if not (isinstance(live, np.ndarray) and isinstance(recorded, np.ndarray)):
            return [path or "value"]
        if live.shape != recorded.shape or live.dtype != recorded.dtype:
            return [f"{path} (shape or dtype)"]
        if live.dtype.kind in "fc":
            return [] if np.allclose(recorded, live, atol=atol, rtol=rtol, equal_nan=True) else [path]
        return [] if np.array_equal(recorded, live) else [path]
    if isinstance(live, dict) and isinstance(recorded, dict):
        if set(live) != set(recorded):
            return [f"{path} (keys)"]
        return [d for key in live for d in differences(recorded[key], live[key], f"{path}.{key}", atol, rtol)]
    if isinstance(live, (list, tuple)) and isinstance(recorded, (list, tuple)):
        if len(live) != len(recorded) or type(live) is not type(recorded):
            return [f"{path} (length)"]
        return [d for i, (r, v) in enumerate(zip(recorded, live)) for d in differences(r, v, f"{path}[{i}]", atol, rtol)]
    if isinstance(live, float) and isinstance(recorded, (int, float)):
        return [] if np.isclose(recorded, live, atol=atol, rtol=rtol) else [path]
    if isinstance(live, Opaque) or isinstance(recorded, Opaque):
        return [] if live == recorded else [path]
    return [] if recorded == live else [path]


def drift(lab):
    """Names of ``lab``'s expectations whose recording differs from solutions/ (or is missing)."""
    live = record_values(lab)
    try:
        recorded = read_recording(lab)
    except RecordingError:
        return sorted(live)
    changed = set(live) ^ set(recorded)
    changed |= {name for name in set(live) & set(recorded) if differences(recorded[name], live[name])}
    return sorted(changed)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader.record", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the recordings differ from solutions/")
    parser.add_argument("--lab", choices=LAB_NAMES, help="only this lab")
    args = parser.parse_args(argv)
    import_tensorflow()
    status = 0
    for lab in [args.lab] if args.lab else LAB_NAMES:
        if args.check:
            changed = drift(lab)
            if changed:
                status = 1
                print(f"{lab}: recordings differ from solutions/ in {', '.join(changed)}; run python -m grader.record")
            else:
                print(f"{lab}: recordings match solutions/")
        else:
            print(f"wrote {write_recording(lab, record_values(lab))}")
    return status


if __name__ == "__main__":
    sys.exit(main())

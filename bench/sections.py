"""The grader and UI benchmark sections (Lab 3's are in bench.interp and bench.tfconfig); each returns its table."""

import json
import os
import subprocess
import sys
import time

import numpy as np

from bench.timing import fmt_s, median, table, time_call
from cvlab_ch9.paths import REPO_ROOT

# -- grader ---------------------------------------------------------------------------------


def _timed_grader(command, cwd, env_extra=None):
    """(wall s, peak RSS of the process tree, of its largest process, JSON report) of one grader run in ``cwd``."""
    from cvlab_ch9.processes import tree_memory  # noqa: PLC0415
    from cvlab_ch9.quiet import QUIET_ENV  # noqa: PLC0415

    env = {**os.environ, **QUIET_ENV, **(env_extra or {})}  # as the grader runs by default, whatever this benchmark set
    env.pop("PYTHONPATH", None)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_tree = peak_single = 0
    while process.poll() is None:
        total, largest = tree_memory(process.pid)
        peak_tree, peak_single = max(peak_tree, total), max(peak_single, largest)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"`{' '.join(command[1:])}` in {cwd} exited {process.returncode}: {stderr.decode()[-500:]}")
    return wall, peak_tree, peak_single, json.loads(stdout)


def _checkout(ref, folder):
    """Extract commit ``ref`` of this repository into ``folder`` (``git archive``: no work tree is touched)."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPO_ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


#: Starts a sandbox with a one-line submission and waits until it is ready (TensorFlow imported); prints seconds.
_SANDBOX_START = """
import json, sys, time
from cvlab_ch9.grader.sandbox import Sandbox
times = []
for _ in range(int(sys.argv[1])):
    start = time.perf_counter()
    box = Sandbox("segmentation", {"segmentation.py": "x = 1\\n"}, {"kind": "module", "file": "segmentation.py"}, 3.0)
    box.wait_ready(120)
    times.append(time.perf_counter() - start)
    box.stop()
print(json.dumps(times))
"""


def _sandbox_start(cwd, env_extra, repeats):
    """Median seconds from ``Sandbox(...)`` to ready, for the code in ``cwd`` (a fresh process: the probe counts once)."""
    from cvlab_ch9.quiet import QUIET_ENV  # noqa: PLC0415

    env = {**os.environ, **QUIET_ENV, **env_extra, "PYTHONPATH": str(cwd)}
    done = subprocess.run([sys.executable, "-c", _SANDBOX_START, str(repeats)], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"sandbox start in {cwd} failed: {done.stderr[-500:]}")
    return median(json.loads(done.stdout.strip().splitlines()[-1]))


def grader(quick, baseline=None, rounds=None):
    """Wall time and peak memory of ``python -m grader --labs solutions`` (whole process tree), and sandbox start.

    Args:
        baseline: a commit (e.g. the one before the kernel confinement);
            its grader runs alternately with this one's, so both are measured
            in the same run under the same load.
        rounds: alternating rounds (default 1; the table shows medians).
    """
    import tempfile  # noqa: PLC0415

    from cvlab_ch9.grader.isolation import CONFINE_ENV, isolation_status  # noqa: PLC0415

    command = [sys.executable, "-m", "cvlab_ch9.grader", "--labs", "solutions", "--format", "json"]
    if quick:
        command += ["--lab", "segmentation"]
    rounds = rounds or 1
    with tempfile.TemporaryDirectory(prefix="cvlab-bench-") as scratch:
        places = [("this checkout", REPO_ROOT, {})]
        if not quick:  # the confinement's own cost, same code
            places.append((f"this checkout, {CONFINE_ENV}=off", REPO_ROOT, {CONFINE_ENV: "off"}))
        if baseline:
            places.insert(0, (f"commit {baseline}", _checkout(baseline, scratch), {}))
        runs = {label: [] for label, _, _ in places}
        for _ in range(rounds):
            for label, cwd, env_extra in places:
                try:
                    start_s = float("nan") if quick else _sandbox_start(cwd, env_extra, 3)  # quick: the smoke test's time
                    runs[label].append((start_s, *_timed_grader(command, cwd, env_extra)))
                except RuntimeError as exc:
                    return f"Grader: {exc}"
        rows = []
        for label, measured in runs.items():
            start_s, wall, peak_tree, peak_single = (median([m[i] for m in measured]) for i in range(4))
            document = measured[-1][4]
            layers = (document.get("isolation") or {}).get("layers")
            rows.append([
                label, "-" if quick else f"{start_s:.2f} s", f"{wall:.1f} s", f"{peak_tree / 1024**3:.2f} GB",
                f"{peak_single / 1024**3:.2f} GB",
                f"{document['score']:g}/{document['max_score']:g}", "n/a" if layers is None else (", ".join(layers) or "none"),
            ])
    return table(
        f"Grader on the reference solutions: `{' '.join(['python'] + command[1:])}`; sandbox start = Sandbox() until "
        f"ready (TensorFlow imported), median of 3 (not in --quick); RSS of the process tree polled every 0.1 s; "
        f"medians of {rounds} alternating round(s); this machine's kernel layers: {', '.join(isolation_status().layers) or 'none'}",
        ["code", "sandbox start", "wall", "peak tree RSS", "largest process", "score", "confined by"],
        rows,
    )


# -- UI ---------------------------------------------------------------------------------------

UI_READY_LIMIT_S = 180


def _endpoint(api, words):
    """The first named endpoint whose name contains one of ``words``."""
    for name in api.get("named_endpoints", {}):
        if any(word in name.lower().replace("-", "_") for word in words):
            return name
    return None


def _example_image():
    from cvlab_ch9.ui.config import EXAMPLES_DIR  # noqa: PLC0415

    images = sorted(p for p in EXAMPLES_DIR.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if images:
        return images[0]
    from PIL import Image  # noqa: PLC0415

    path = REPO_ROOT / "data" / "bench_example.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)).save(path)
    return path


def _arguments(info, image_path):
    """Positional arguments for an endpoint from its ``view_api`` description."""
    from gradio_client import handle_file  # noqa: PLC0415

    args = []
    for parameter in info.get("parameters", []):
        component = parameter.get("component", "").lower()
        names = f"{parameter.get('label', '')} {parameter.get('parameter_name', '')}".lower()
        if "labs" in names or "folder" in names:
            args.append("solutions")  # grade-free path: the reference implementation answers
        elif component in ("image", "imageeditor", "file"):
            args.append(handle_file(str(image_path)))
        elif parameter.get("parameter_has_default"):
            args.append(parameter.get("parameter_default"))
        elif component == "dropdown" and parameter.get("type", {}).get("enum"):
            args.append(parameter["type"]["enum"][0])
        else:
            args.append(None)
    return args


def ui(quick):
    """Launch ``python -m ui``; time to first answer, then Grad-CAM and activations latency via gradio_client."""
    from gradio_client import Client  # noqa: PLC0415

    from tools.serving import UIStartError, running_ui  # noqa: PLC0415

    try:
        with running_ui(UI_READY_LIMIT_S) as (url, ready_s):
            return _ui_latencies(Client(url, verbose=False), ready_s, quick)
    except UIStartError as exc:
        return f"UI: not measured - {exc}"


def _ui_latencies(client, ready_s, quick):
    """Table of launch-to-ready and per-action latency for a connected gradio_client."""
    api = client.view_api(print_info=False, return_format="dict")
    rows = [["launch -> ready (first HTTP 200)", fmt_s(ready_s), "", ""]]
    image = _example_image()
    for label, words in (("Grad-CAM", ("grad_cam", "gradcam")), ("activations", ("activation",))):
        name = _endpoint(api, words)
        if name is None:
            rows.append([label, "no endpoint", "", ", ".join(api.get("named_endpoints", {}))])
            continue
        args = _arguments(api["named_endpoints"][name], image)
        try:
            times = [time_call(lambda: client.predict(*args, api_name=name))[0] for _ in range(2 if quick else 5)]  # noqa: B023 - called at once
        except Exception as exc:  # noqa: BLE001 - reported in the table, the bench goes on
            rows.append([label, "failed", name, f"{type(exc).__name__}: {str(exc)[:80]}"])
            continue
        rows.append([label, fmt_s(times[0]), name, f"median of the next {len(times) - 1}: {fmt_s(median(times[1:]))}"])
    return table("UI (python -m ui, driven with gradio_client)", ["action", "first", "endpoint", "steady"], rows)

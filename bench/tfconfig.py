"""TensorFlow settings that only a new process can change: oneDNN and thread pools, for the book and the fast path.

``TF_ENABLE_ONEDNN_OPTS`` is read when TensorFlow is imported and the
thread pools are fixed before the first op, so each setting runs in a
child process (``python -m bench.tfconfig --child ...``, one JSON line on
stdout). The parent alternates the settings for several rounds, so that
every setting meets the same load on a shared machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from bench.timing import table
from cvlab_ch9.paths import REPO_ROOT

#: (label, variant, TF_ENABLE_ONEDNN_OPTS, intra-op threads, inter-op threads); 0 threads = TensorFlow's default.
SETTINGS = (
    ("book, oneDNN off (cvlab_ch9.quiet.QUIET_ENV)", "book", "0", 0, 0),
    ("book, oneDNN on (stock TensorFlow)", "book", "1", 0, 0),
    ("fastpaths, oneDNN off", "fast", "0", 0, 0),
    ("fastpaths, oneDNN on (the UI)", "fast", "1", 0, 0),
    ("book, oneDNN on, 1 intra-op / 2 inter-op threads", "book", "1", 1, 2),
    ("fastpaths, oneDNN on, 1 intra-op / 2 inter-op threads", "fast", "1", 1, 2),
)
CHILD_TIMEOUT_S = 900


def _child_command(variant, intra, inter, filters, steps, size):
    return [
        sys.executable, "-m", "bench.tfconfig", "--child", "--variant", variant, "--intra", str(intra),
        "--inter", str(inter), "--filters", str(filters), "--steps", str(steps), "--size", str(size),
    ]


def _run_child(variant, onednn, intra, inter, filters, steps, size):
    """The child's measurement dict, or {"error": sentence}."""
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, TF_CPP_MIN_LOG_LEVEL="3")
    command = _child_command(variant, intra, inter, filters, steps, size)
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {CHILD_TIMEOUT_S} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": f"exited {done.returncode}: {done.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


def tfconfig(quick, rounds=None):
    """Per-filter time of the book and the fast path under each of :data:`SETTINGS`, alternated for ``rounds`` rounds."""
    filters, steps, size = (2, 3, 64) if quick else (8, 30, 200)
    rounds = rounds or (1 if quick else 2)
    settings = SETTINGS[:4] if quick else SETTINGS
    measured = {label: [] for label, *_ in settings}
    for round_index in range(rounds):
        for label, variant, onednn, intra, inter in settings:
            result = _run_child(variant, onednn, intra, inter, filters, steps, size)
            measured[label].append(result)
            shown = result.get("error") or f"{result['per_filter_s']:.2f} s per filter"
            print(f"  tfconfig round {round_index + 1}: {label}: {shown}", file=sys.stderr, flush=True)
    per_filter = {
        label: [r["per_filter_s"] for r in results if "error" not in r] for label, results in measured.items()
    }
    baselines = [settings[0][0], settings[1][0]]
    rows = []
    for label, results in measured.items():
        errors = [r["error"] for r in results if "error" in r]
        if not per_filter[label]:
            rows.append([label, "failed", "", "", "", "", errors[0]])
            continue
        seconds = statistics.median(per_filter[label])
        cpu = statistics.median(r["cpu_per_filter_s"] for r in results if "error" not in r)
        ratios = [
            f"{statistics.median(per_filter[b]) / seconds:.2f}x" if per_filter[b] else "-" for b in baselines
        ]
        spread = f"{min(per_filter[label]):.2f}-{max(per_filter[label]):.2f}"
        rows.append([label, f"{seconds:.2f} s", spread, f"{cpu:.2f} s", *ratios, "; ".join(errors)])
    title = (
        f"TensorFlow settings (one child process each, {rounds} alternated round(s)): {filters} filters of "
        f"block3_sepconv1, {size}x{size}, {steps} steps, after a one-step warm-up on other filters (the book still retraces per filter)"
    )
    header = ["setting", "per filter", "range", "CPU per filter", "vs book oneDNN off", "vs book oneDNN on", "note"]
    return table(title, header, rows)


# -- the child ---------------------------------------------------------------------------


def _measure(variant, filters, steps, size):
    """{"per_filter_s", "cpu_per_filter_s"} of ``filters`` filters after a one-step warm-up on other filters."""
    import numpy as np  # noqa: PLC0415

    from bench import book, models  # noqa: PLC0415
    from cvlab_ch9.fastpaths import filter_ascent, start_images  # noqa: PLC0415

    extractor = models.feature_extractor()
    img_size = (size, size)
    if variant == "book":
        def run(indices, iterations):
            return np.stack([book.generate_filter_pattern(extractor, i, iterations=iterations, img_size=img_size) for i in indices])

        warm_up = [filters]  # a filter outside the measured ones: the book traces each filter anew
    else:
        ascent = filter_ascent(extractor)

        def run(indices, iterations):
            return ascent.patterns(indices, start_images(img_size, indices), iterations=iterations)

        warm_up = list(range(filters, 2 * filters))  # the same batch shapes as measured: one trace, oneDNN primitives built
    run(warm_up, 1)
    wall, cpu = time.perf_counter(), time.process_time()
    run(list(range(filters)), steps)
    return {
        "per_filter_s": (time.perf_counter() - wall) / filters,
        "cpu_per_filter_s": (time.process_time() - cpu) / filters,
    }


def child_main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.tfconfig", description="One measurement of bench.tfconfig.")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--variant", choices=("book", "fast"), required=True)
    parser.add_argument("--intra", type=int, default=0)
    parser.add_argument("--inter", type=int, default=0)
    parser.add_argument("--filters", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--size", type=int, default=200)
    args = parser.parse_args(argv)
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415

    tf = import_tensorflow()
    if args.intra:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    if args.inter:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    result = _measure(args.variant, args.filters, args.steps, args.size)
    print(json.dumps({**result, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "intra": args.intra, "inter": args.inter}))
    return 0


if __name__ == "__main__":
    sys.exit(child_main())

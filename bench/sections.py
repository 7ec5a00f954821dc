"""The four benchmark sections; each returns the text of its table."""

import json
import subprocess
import sys
import time

import numpy as np

from bench.timing import interleaved, median, table, time_call
from cvlab.paths import REPO_ROOT


def _fmt_s(seconds):
    return f"{seconds:.3f} s"


# -- Grad-CAM -------------------------------------------------------------------------


def gradcam(quick):
    """Book's eager two-model Grad-CAM vs the reference solution on Xception(weights=None), 299x299."""
    from bench import models  # noqa: PLC0415 - imports TensorFlow
    from bench.book import BookGradCam  # noqa: PLC0415
    from cvlab.impl import load_lab  # noqa: PLC0415

    size = 128 if quick else 299
    solution = load_lab("interpretation", "solutions")
    model = models.xception(size)
    batch = models.preprocessed_image(size)
    build_s, book = time_call(
        lambda: BookGradCam(model, models.XCEPTION_LAST_CONV, list(models.XCEPTION_CLASSIFIER_LAYERS))
    )
    one_model = models.EagerOneModelGradCam(model, models.XCEPTION_LAST_CONV)
    first = {
        "book (two models, eager)": time_call(lambda: book(batch)),
        "one two-output model, eager": time_call(lambda: one_model(batch)),
        "solution grad_cam (one model, tf.function)": time_call(
            lambda: solution.grad_cam(model, batch, models.XCEPTION_LAST_CONV)
        ),
    }
    funcs = {
        "book (two models, eager)": lambda: book(batch),
        "one two-output model, eager": lambda: one_model(batch),
        "solution grad_cam (one model, tf.function)": lambda: solution.grad_cam(model, batch, models.XCEPTION_LAST_CONV),
    }
    times = interleaved(funcs, repeat=2 if quick else 7)
    reference = first["book (two models, eager)"][1]
    book_median = median(times["book (two models, eager)"])
    rows = []
    for name, values in times.items():
        diff = float(np.max(np.abs(np.asarray(first[name][1]) - reference)))
        rows.append([name, _fmt_s(first[name][0]), _fmt_s(median(values)), f"{book_median / median(values):.2f}x", f"{diff:.1e}"])
    title = (
        f"Grad-CAM, Xception(weights=None) {size}x{size}, last conv {models.XCEPTION_LAST_CONV} "
        f"(median of {len(times['book (two models, eager)'])}; book's two models built once in {build_s:.2f} s)"
    )
    return table(title, ["variant", "first call", "per call", "vs book", "max |diff| vs book"], rows)


# -- filter patterns ----------------------------------------------------------------------


def filters(quick, count=None):
    """Book's per-filter loop vs traced, XLA and batched ascents on Xception block3_sepconv1.

    ``count`` filters (default 64; 4 with ``quick``); progress goes to stderr.
    """
    from bench import models  # noqa: PLC0415
    from bench.book import BookFilterPatterns  # noqa: PLC0415
    from cvlab.impl import load_lab  # noqa: PLC0415

    default_count, size, steps = (4, (64, 64), 5) if quick else (64, (200, 200), 30)
    count = count or default_count
    solution = load_lab("interpretation", "solutions")
    extractor = models.feature_extractor()
    indices = list(range(count))
    starts = models.start_images(count, size)
    book = BookFilterPatterns(extractor, img_size=size)
    book_eager = BookFilterPatterns(extractor, img_size=size, eager=True)

    def per_filter(generate, subset=None):
        chosen = indices if subset is None else indices[:subset]
        return lambda: np.stack([generate(i) for i in chosen])

    eager_subset = min(count, 8)
    variants = {
        "book: @tf.function step, Python loop, int args (retraces per filter)": per_filter(
            lambda i: book.generate_filter_pattern(i, iterations=steps)
        ),
        f"book step without tf.function (eager; {eager_subset} filters, scaled)": per_filter(
            lambda i: book_eager.generate_filter_pattern(i, iterations=steps), eager_subset
        ),
        "solution generate_filter_pattern (as shipped)": per_filter(
            lambda i: solution.generate_filter_pattern(extractor, i, iterations=steps, image=starts[i])
        ),
    }
    # (filters per call, XLA): batching and XLA, each alone and together
    configs = ((1, False), (4, False), (4, True)) if quick else ((1, False), (16, False), (1, True))
    ascents = {}
    for batch, jit in configs:
        label = f"traced loop, {batch} filter(s) per call" + (", XLA jit_compile" if jit else "")
        ascents[label] = (models.traced_ascent(extractor, jit_compile=jit), batch)
        variants[label] = lambda a=ascents[label][0], b=batch: models.run_batched(a, starts, indices, b, steps)
    rows = []
    results = {}
    for name, func in variants.items():
        cold_s, result = time_call(func)  # all filters, tracing/compiling included
        print(f"  filters: {name}: {cold_s:.1f} s for {len(result)}", file=sys.stderr, flush=True)
        results[name] = result
        done = len(result)
        rows.append([name, cold_s * count / done, cold_s / done])
    # steady state: part of the work again, traces and compiled kernels reused
    warm = indices[: min(count, 16)]  # a multiple of every batch size: no new shapes, no retracing
    warm_variants = {
        rows[0][0]: per_filter(lambda i: book.generate_filter_pattern(i, iterations=steps), len(warm)),
        rows[1][0]: variants[rows[1][0]],
        rows[2][0]: per_filter(
            lambda i: solution.generate_filter_pattern(extractor, i, iterations=steps, image=starts[i]), len(warm)
        ),
    }
    for label, (ascend, batch) in ascents.items():  # the same traced functions: warm
        warm_variants[label] = lambda a=ascend, b=batch: models.run_batched(a, starts[: len(warm)], warm, b, steps)
    for row in rows:
        again_s, again = time_call(warm_variants[row[0]])
        print(f"  filters, warm: {row[0]}: {again_s:.1f} s for {len(again)}", file=sys.stderr, flush=True)
        row.append(again_s / len(again))
    reference = results["solution generate_filter_pattern (as shipped)"]
    book_cold, book_steady = rows[0][1], rows[0][3]
    table_rows = []
    for name, cold_total, _cold_per, steady_per in rows:
        result = results[name]
        diff = "-" if name.startswith("book") else f"{float(np.max(np.abs(result - reference[: len(result)]))):.1e}"
        table_rows.append([
            name, _fmt_s(cold_total), f"{book_cold / cold_total:.2f}x", _fmt_s(steady_per),
            f"{book_steady / steady_per:.2f}x", diff,
        ])
    title = (
        f"Filter patterns: {count} filters of {models.FILTER_LAYER}, {size[0]}x{size[1]}, {steps} steps "
        f"(first grid: tracing/compiling included; warm: the first {len(warm)} again, traces reused; "
        "book patterns start from other noise)"
    )
    header = ["variant", "first grid", "vs book", "per filter, warm", "vs book", "max |diff| vs solution"]
    return table(title, header, table_rows)


# -- grader ---------------------------------------------------------------------------------


def grader(quick):
    """Wall time and peak memory of ``python -m grader --labs solutions`` (whole process tree)."""
    from cvlab.processes import tree_memory  # noqa: PLC0415

    command = [sys.executable, "-m", "grader", "--labs", "solutions", "--format", "json"]
    if quick:
        command += ["--lab", "segmentation"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_tree = peak_single = 0
    while process.poll() is None:
        total, largest = tree_memory(process.pid)
        peak_tree, peak_single = max(peak_tree, total), max(peak_single, largest)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        return f"Grader: `{' '.join(command[1:])}` exited {process.returncode}: {stderr.decode()[-500:]}"
    document = json.loads(stdout)
    rows = [[
        " ".join(["python"] + command[1:]),
        f"{wall:.1f} s",
        f"{peak_tree / 1024**3:.2f} GB",
        f"{peak_single / 1024**3:.2f} GB",
        f"{document['score']:g}/{document['max_score']:g}",
        "yes" if wall < 60 and peak_tree < 2 * 1024**3 else "NO",
    ]]
    return table(
        "Grader on the reference solutions (RSS of the process tree, polled every 0.1 s)",
        ["command", "wall", "peak tree RSS", "largest process", "score", "< 60 s and < 2 GB"],
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
    from ui.config import EXAMPLES_DIR  # noqa: PLC0415

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
    rows = [["launch -> ready (first HTTP 200)", _fmt_s(ready_s), "", ""]]
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
        rows.append([label, _fmt_s(times[0]), name, f"median of the next {len(times) - 1}: {_fmt_s(median(times[1:]))}"])
    return table("UI (python -m ui, driven with gradio_client)", ["action", "first", "endpoint", "steady"], rows)

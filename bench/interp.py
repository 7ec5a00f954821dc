"""Lab 3 benchmark sections: Grad-CAM, the filter grid, and the machine's arithmetic limit.

The book's code (``bench/book.py``), the reference answer key
(``solutions/``, book-sized and eager) and ``cvlab.fastpaths`` (what the UI
runs) side by side in one process, so they share TensorFlow's settings
(``bench.tfconfig`` compares those settings across processes).
"""

import sys

import numpy as np

from bench.timing import fmt_s, interleaved, median, table, time_call


def _progress(text):
    print(f"  {text}", file=sys.stderr, flush=True)


# -- Grad-CAM -------------------------------------------------------------------------


def gradcam(quick):
    """Book's eager two-model Grad-CAM vs the reference and cvlab.fastpaths on Xception(weights=None), 299x299."""
    from bench import book, models  # noqa: PLC0415 - imports TensorFlow
    from cvlab import fastpaths  # noqa: PLC0415
    from cvlab.impl import load_lab  # noqa: PLC0415

    size = 128 if quick else 299
    solution = load_lab("interpretation", "solutions")
    model = models.xception(size)
    batch = models.preprocessed_image(size)
    layer = models.XCEPTION_LAST_CONV
    build_s, (conv_model, classifier_model) = time_call(lambda: book.make_gradcam_models(model, layer))
    funcs = {
        "book (two models built once, eager)": lambda: book.make_gradcam_heatmap(batch, conv_model, classifier_model),
        "solution grad_cam (book-sized: one two-output model per call, eager)": lambda: solution.grad_cam(model, batch, layer),
        "cvlab.fastpaths.grad_cam (one model, tf.function; the UI)": lambda: fastpaths.grad_cam(model, batch, layer),
    }
    first = {name: time_call(func) for name, func in funcs.items()}
    times = interleaved(funcs, repeat=2 if quick else 7)
    book_name = next(iter(funcs))
    reference, book_median = first[book_name][1], median(times[book_name])
    rows = []
    for name, values in times.items():
        diff = float(np.max(np.abs(np.asarray(first[name][1]) - reference)))
        rows.append([name, fmt_s(first[name][0]), fmt_s(median(values)), f"{book_median / median(values):.2f}x", f"{diff:.1e}"])
    title = (
        f"Grad-CAM, Xception(weights=None) {size}x{size}, last conv {layer} "
        f"(median of {len(times[book_name])}, interleaved; book's two models built once in {build_s:.2f} s)"
    )
    return table(title, ["variant", "first call", "per call", "vs book", "max |diff| vs book"], rows)


# -- filter patterns ----------------------------------------------------------------------


def _deprocess_diff(patterns, expected, deprocess):
    """Largest pixel difference (int) between the deprocessed float (N, H, W, 3) ``patterns`` and ``expected``."""
    return max(int(np.abs(deprocess(a).astype(int) - deprocess(b).astype(int)).max()) for a, b in zip(patterns, expected))


def _fast_variants(extractor, quick):
    """name -> (FilterAscent, filters per batch): tracing alone, then each speed-up added."""
    from cvlab.fastpaths import FilterAscent  # noqa: PLC0415

    plain = FilterAscent(extractor, slice_layer=False, fold_batch_norm=False)
    sliced = FilterAscent(extractor, fold_batch_norm=False)
    default = FilterAscent(extractor)
    big = 4 if quick else 16
    return {
        "fastpaths: traced once, 1 filter per batch (no other change)": (plain, 1),
        "fastpaths: + only the chosen channel, 1 per batch": (sliced, 1),
        "fastpaths: + 8 filters per batch": (sliced, 8),
        "fastpaths: + BatchNorm folded, 8 per batch (default, the UI)": (default, 8),
        f"fastpaths: default, {big} per batch": (default, big),
    }


def filters(quick, count=None, rounds=None):
    """The book's per-filter loop vs the reference and cvlab.fastpaths on Xception block3_sepconv1.

    First a whole grid of ``count`` filters (default 64; 8 with ``quick``),
    tracing included, for the book and the default fast path; then
    ``rounds`` interleaved warm rounds of every variant on the first 16 (8 with ``quick``)
    filters (2 for the eager ones, scaled). Progress goes to stderr.
    """
    from bench import book, models  # noqa: PLC0415 - imports TensorFlow
    from cvlab.fastpaths import start_images  # noqa: PLC0415
    from cvlab.impl import load_lab  # noqa: PLC0415

    default_count, size, steps = (8, (64, 64), 5) if quick else (64, (200, 200), 30)
    count, rounds = count or default_count, rounds or (1 if quick else 2)
    warm, eager = min(count, 8 if quick else 16), min(count, 2)
    solution = load_lab("interpretation", "solutions")
    extractor = models.feature_extractor()
    indices = list(range(count))
    starts = start_images(size, indices)  # filter i starts from seed i, as the reference's seed=i
    fast = _fast_variants(extractor, quick)
    default_name = "fastpaths: + BatchNorm folded, 8 per batch (default, the UI)"

    def book_grid(n):
        return lambda: np.stack([book.generate_filter_pattern(extractor, i, iterations=steps, img_size=size) for i in range(n)])

    def book_eager(n):
        def run():
            import tensorflow as tf  # noqa: PLC0415

            tf.config.run_functions_eagerly(True)
            try:
                return book_grid(n)()
            finally:
                tf.config.run_functions_eagerly(False)

        return run

    def solution_grid(n):
        return lambda: np.stack([solution.generate_filter_pattern(extractor, i, iterations=steps, img_size=size, seed=i) for i in range(n)])

    def fast_grid(name, n):
        ascent, batch = fast[name]
        return lambda: ascent.patterns(indices[:n], starts[:n], iterations=steps, batch_size=batch)

    # 1. a whole grid, tracing included
    cold = {}
    for name, func in (("book: @tf.function step, int args (retraces per filter)", book_grid(count)), (default_name, fast_grid(default_name, count))):
        seconds, result = time_call(func)
        cold[name] = seconds
        _progress(f"filters, first grid: {name}: {seconds:.1f} s for {len(result)}")
    # 2. warm rounds, interleaved; per filter
    variants = {
        "book: @tf.function step, int args (retraces per filter)": (book_grid(warm), warm),
        f"book step without tf.function (eager; {eager} filters, scaled)": (book_eager(eager), eager),
        f"solution generate_filter_pattern (book-sized, eager; {eager} filters, scaled)": (solution_grid(eager), eager),
        **{name: (fast_grid(name, warm), warm) for name in fast},
    }
    for name, (ascent, batch) in fast.items():  # trace and build the oneDNN primitives of the measured shapes
        ascent.patterns(indices[:batch], starts[:batch], iterations=1, batch_size=batch)
    per_filter = {name: [] for name in variants}
    results = {}
    for round_index in range(rounds):
        for name, (func, n) in variants.items():
            seconds, results[name] = time_call(func)
            per_filter[name].append(seconds / n)
            _progress(f"filters, warm round {round_index + 1}: {name}: {seconds:.1f} s for {n}")
    crop = 25 if not quick else 8
    deprocess = lambda image: solution.deprocess_image(image, crop=crop)  # noqa: E731
    plain = results["fastpaths: traced once, 1 filter per batch (no other change)"]
    reference = results[f"solution generate_filter_pattern (book-sized, eager; {eager} filters, scaled)"]
    book_name = next(iter(variants))
    book_warm = median(per_filter[book_name])
    rows = []
    for name in variants:
        warm_s = median(per_filter[name])
        spread = f"{min(per_filter[name]):.3f}-{max(per_filter[name]):.3f}"
        cold_cell = f"{cold[name]:.1f} s ({cold[book_name] / cold[name]:.2f}x)" if name in cold else ""
        if name.startswith("book"):
            diffs = "- (other noise)"
        else:
            diffs = f"{_deprocess_diff(results[name][:eager], reference, deprocess)} / {_deprocess_diff(results[name], plain, deprocess)}"
        rows.append([name, cold_cell, fmt_s(warm_s), spread, f"{book_warm / warm_s:.2f}x", diffs])
    title = (
        f"Filter patterns: {count} filters of {models.FILTER_LAYER}, {size[0]}x{size[1]}, {steps} steps. "
        f"First grid: all {count}, tracing included. Warm: median of {rounds} interleaved rounds on {warm} filters. "
        f"Pixel diff: largest |difference| after deprocess_image(crop={crop}) vs the solution (first {eager}) / "
        "vs the traced float32 graph of the whole model (all warm filters)"
    )
    header = ["variant", "first grid (vs book)", "per filter, warm", "range", "vs book", "max pixel diff"]
    return table(title, header, rows)


# -- what the machine can reach -----------------------------------------------------------


def _matmul(dtype, n):
    """A traced n x n matmul in ``dtype``: () -> result (forces the computation)."""
    import tensorflow as tf  # noqa: PLC0415

    a = tf.cast(tf.random.stateless_uniform((n, n), seed=(1, 2)), dtype)
    matmul = tf.function(lambda: tf.matmul(a, a))
    return lambda: matmul().numpy()


def roofline(quick):
    """GFLOP/s of one ascent step (book, fast paths, bfloat16) beside float32 and bfloat16 matmul peaks, interleaved."""
    import tensorflow as tf  # noqa: PLC0415

    from bench import book, models  # noqa: PLC0415
    from cvlab.fastpaths import FilterAscent, start_images  # noqa: PLC0415
    from cvlab.impl import load_lab  # noqa: PLC0415

    size, n, repeat, steps = ((64, 64), 512, 2, 5) if quick else ((200, 200), 2048, 5, 30)
    extractor = models.feature_extractor()
    full_flops = models.ascent_flops(extractor, size)
    one_channel_flops = models.ascent_flops(extractor, size, last_layer_channels=1)
    default = FilterAscent(extractor)
    bf16 = FilterAscent(models.bfloat16_copy(extractor), slice_layer=False, fold_batch_norm=False)
    starts8 = start_images(size, range(8))
    image = tf.constant(starts8[:1])
    rate = tf.constant(10.0)

    def step_of(ascent, k):
        """One traced step of ``ascent`` on k images (filters 0 .. k - 1)."""
        images, indices = tf.constant(starts8[:k]), tf.constant(list(range(k)), dtype=tf.int32)
        return lambda: ascent.step(images, indices, rate).numpy()

    variants = {  # name -> (func, images per call, FLOPs per image actually computed)
        "matmul float32": (_matmul(tf.float32, n), 1, 2 * n**3),
        "matmul bfloat16": (_matmul(tf.bfloat16, n), 1, 2 * n**3),
        "book ascent step (traced, one filter)": (lambda: book.gradient_ascent_step(extractor, image, 0, 10.0).numpy(), 1, full_flops),
        "fastpaths step, 1 image": (step_of(default, 1), 1, one_channel_flops),
        "fastpaths step, 8 images (default)": (step_of(default, 8), 8, one_channel_flops),
        "fastpaths step, bfloat16 compute, 1 image": (step_of(bf16, 1), 1, full_flops),
    }
    for func, _, _ in variants.values():
        func()  # trace and warm up
    times = interleaved({name: v[0] for name, v in variants.items()}, repeat=repeat)
    peak = 2 * n**3 / median(times["matmul float32"]) / 1e9
    rows = []
    for name, (_, images, flops) in variants.items():
        seconds = median(times[name]) / images
        rate_g = flops / seconds / 1e9
        rows.append([name, f"{flops / 1e9:.3f}", f"{seconds * 1e3:.1f} ms", f"{rate_g:.1f}", f"{rate_g / peak:.0%}", f"{full_flops / seconds / 1e9:.1f}" if "step" in name else ""])
    # bfloat16 vs float32 patterns after a whole ascent
    solution = load_lab("interpretation", "solutions")
    float32_patterns = default.patterns([0, 1], starts8[:2], iterations=steps)
    bf16_patterns = bf16.patterns([0, 1], starts8[:2], iterations=steps)
    crop = 25 if not quick else 8
    diff = _deprocess_diff(bf16_patterns, float32_patterns, lambda image: solution.deprocess_image(image, crop=crop))
    flags = _cpu_flags()
    title = (
        f"Arithmetic limit: one ascent step at {size[0]}x{size[1]} = {full_flops / 1e9:.3f} GFLOP for the whole truncated Xception "
        f"(forward + input gradients, {one_channel_flops / 1e9:.3f} with one channel of {models.FILTER_LAYER}); "
        f"{n}x{n} matmuls; median of {repeat}, interleaved. CPU flags: {flags}. bfloat16 vs float32 patterns after "
        f"{steps} steps: largest pixel difference {diff} after deprocess_image"
    )
    header = ["work", "GFLOP / image", "time / image", "GFLOP/s", "of f32 matmul peak", "whole-model GFLOP/s"]
    return table(title, header, rows)


def _cpu_flags():
    """The vector-instruction flags of this CPU that matter for float32/bfloat16 math ("?" off Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            flags = next(line for line in cpuinfo if line.startswith("flags")).split(":", 1)[1].split()
    except (OSError, StopIteration):
        return "?"
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "avx_vnni")
    return ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in wanted)

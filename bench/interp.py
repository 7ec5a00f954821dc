"""Lab 3 benchmark sections: Grad-CAM, the filter grid, and the machine's arithmetic limit.

The book's code (``bench/book.py``), the reference answer key
(``solutions/``, book-sized and eager) and ``cvlab_ch9.fastpaths`` (what the UI
runs) side by side in one process, so they share TensorFlow's settings
(``bench.tfconfig`` compares those settings across processes).
"""

import sys
import time

import numpy as np

from bench.timing import fmt_s, interleaved, median, table, time_call


def _progress(text):
    print(f"  {text}", file=sys.stderr, flush=True)


# -- Grad-CAM -------------------------------------------------------------------------


def gradcam(quick):
    """Book's eager two-model Grad-CAM vs the reference and cvlab_ch9.fastpaths on Xception(weights=None), 299x299."""
    from bench import book, models  # noqa: PLC0415 - imports TensorFlow
    from cvlab_ch9 import fastpaths  # noqa: PLC0415
    from cvlab_ch9.impl import load_lab  # noqa: PLC0415

    size = 128 if quick else 299
    solution = load_lab("interpretation", "solutions")
    model = models.xception(size)
    batch = models.preprocessed_image(size)
    layer = models.XCEPTION_LAST_CONV
    build_s, (conv_model, classifier_model) = time_call(lambda: book.make_gradcam_models(model, layer))
    funcs = {
        "book (two models built once, eager)": lambda: book.make_gradcam_heatmap(batch, conv_model, classifier_model),
        "solution grad_cam (book-sized: one two-output model per call, eager)": lambda: solution.grad_cam(model, batch, layer),
        "cvlab_ch9.fastpaths.grad_cam (one model, tf.function; the UI)": lambda: fastpaths.grad_cam(model, batch, layer),
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


#: Filters per interleaved piece of the first grid (the book's 8, the fast path's 8, the book's next 8, ...).
CHUNK = 8
BOOK = "book: @tf.function step, int args (retraces per filter)"
PLAIN = "fastpaths: traced once, 1 filter per batch (no other change)"
DEFAULT = "fastpaths: + BatchNorm folded, 4 per batch (default, the UI)"
SOLUTION = "solution gradient_ascent_step (book-sized, eager)"


def pixel_differences(patterns, expected, deprocess):
    """"max/p99/mean" of the pixel differences of deprocessed float (N, H, W, 3) ``patterns`` and ``expected``."""
    diffs = np.concatenate([
        np.abs(deprocess(a).astype(int) - deprocess(b).astype(int)).ravel() for a, b in zip(patterns, expected)
    ])
    return f"{diffs.max()}/{np.percentile(diffs, 99):.0f}/{diffs.mean():.1f}"


def _fast_variants(extractor):
    """name -> (FilterAscent, filters per batch): tracing alone, then each speed-up added."""
    from cvlab_ch9.fastpaths import FilterAscent  # noqa: PLC0415

    plain = FilterAscent(extractor, slice_layer=False, fold_batch_norm=False)
    sliced = FilterAscent(extractor, fold_batch_norm=False)
    default = FilterAscent(extractor)
    return {
        PLAIN: (plain, 1),
        "fastpaths: + only the chosen channel, 1 per batch": (sliced, 1),
        "fastpaths: + 4 filters per batch": (sliced, 4),
        DEFAULT: (default, 4),
        "fastpaths: default, 2 per batch": (default, 2),
        "fastpaths: default, 8 per batch": (default, 8),
    }


def _step_functions(book, solution, extractor, fast, starts):
    """name -> (() -> one ascent step, images it moves): the book's, the solution's and each fast variant's."""
    import tensorflow as tf  # noqa: PLC0415

    image = tf.constant(starts[:1])
    steps = {
        BOOK: (lambda: book.gradient_ascent_step(extractor, image, 0, 10.0).numpy(), 1),
        "book step without tf.function (eager)": (
            lambda: book.gradient_ascent_step.python_function(extractor, image, 0, 10.0).numpy(), 1
        ),
        SOLUTION: (lambda: solution.gradient_ascent_step(extractor, image, 0, 10.0).numpy(), 1),
    }
    rate = tf.constant(10.0)
    for name, (ascent, batch) in fast.items():
        images, indices = tf.constant(starts[:batch]), tf.constant(list(range(batch)), dtype=tf.int32)
        steps[name] = (lambda a=ascent, x=images, k=indices: a.step(x, k, rate).numpy(), batch)
    return steps


def _first_grid(book, extractor, ascent, starts, steps, size):
    """{BOOK: (wall s, CPU s), DEFAULT: ...} of a whole grid, tracing included, interleaved CHUNK filters at a time.

    Also returns the fast path's patterns, float32 (N, H, W, 3).
    """
    count = len(starts)
    totals = {BOOK: [0.0, 0.0], DEFAULT: [0.0, 0.0]}
    patterns = []
    for first in range(0, count, CHUNK):
        chosen = list(range(first, min(first + CHUNK, count)))
        runs = {
            BOOK: lambda chosen=chosen: [book.generate_filter_pattern(extractor, i, iterations=steps, img_size=size) for i in chosen],
            DEFAULT: lambda chosen=chosen: patterns.append(ascent.patterns(chosen, starts[chosen], iterations=steps)),
        }
        for name, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            totals[name][0] += time.perf_counter() - wall
            totals[name][1] += time.process_time() - cpu
        _progress(f"filters, first grid: {first + len(chosen)} of {count}: " + ", ".join(f"{w:.0f} s" for w, _ in totals.values()))
    return totals, np.concatenate(patterns)


def filters(quick, count=None, rounds=None):
    """The book's per-filter loop vs the reference and cvlab_ch9.fastpaths on Xception block3_sepconv1.

    1. A whole grid of ``count`` filters (default 64; 8 with ``quick``),
       tracing included: the book and the default fast path, interleaved 8
       filters at a time.
    2. One ascent step of every variant, interleaved step by step for
       ``rounds`` rounds (the load of a shared machine changes by the
       second): wall and CPU time per image.
    3. Pixel differences of 2 whole patterns per variant from the solution's.
    Progress goes to stderr.
    """
    from bench import book, models  # noqa: PLC0415 - imports TensorFlow
    from cvlab_ch9.fastpaths import start_images  # noqa: PLC0415
    from cvlab_ch9.impl import load_lab  # noqa: PLC0415

    default_count, size, steps = (8, (64, 64), 5) if quick else (64, (200, 200), 30)
    count, rounds = count or default_count, rounds or (2 if quick else 12)
    solution = load_lab("interpretation", "solutions")
    extractor = models.feature_extractor()
    starts = start_images(size, range(max(count, 8)))  # filter i starts from seed i, as the reference's seed=i
    fast = _fast_variants(extractor)
    cold, grid = _first_grid(book, extractor, fast[DEFAULT][0], starts[:count], steps, size)
    step_functions = _step_functions(book, solution, extractor, fast, starts)
    for step, _ in step_functions.values():
        step()  # trace, build the oneDNN primitives of these shapes
    wall = {name: [] for name in step_functions}
    cpu = {name: [] for name in step_functions}
    for _ in range(rounds):
        for name, (step, images) in step_functions.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            step()
            wall[name].append((time.perf_counter() - wall_start) / images)
            cpu[name].append((time.process_time() - cpu_start) / images)
    _progress("filters: steps timed; whole patterns for the pixel differences")
    crop = 8 if quick else 25

    def deprocess(image):
        return solution.deprocess_image(image, crop=crop)

    pair = [0, 1]
    reference = np.stack([solution.generate_filter_pattern(extractor, i, iterations=steps, image=starts[i]) for i in pair])
    patterns = {name: ascent.patterns(pair, starts[pair], iterations=steps, batch_size=batch) for name, (ascent, batch) in fast.items()}
    patterns[DEFAULT] = grid[pair]
    book_wall, book_cpu = median(wall[BOOK]), median(cpu[BOOK])
    rows = []
    for name in step_functions:
        seconds = median(wall[name])
        cold_cell = ""
        if name in cold:
            cold_cell = f"{cold[name][0]:.1f} s ({cold[BOOK][0] / cold[name][0]:.2f}x; CPU {cold[BOOK][1] / cold[name][1]:.2f}x)"
        if name in patterns:
            diffs = [pixel_differences(patterns[name], reference, deprocess), pixel_differences(patterns[name], patterns[PLAIN], deprocess)]
        else:
            diffs = ["0/0/0.0" if name == SOLUTION else "- (other noise)", ""]
        rows.append([
            name, cold_cell, f"{seconds * 1e3:.1f} ms", f"{min(wall[name]) * 1e3:.0f}-{max(wall[name]) * 1e3:.0f}",
            f"{book_wall / seconds:.2f}x", f"{book_cpu / median(cpu[name]):.2f}x", fmt_s(seconds * steps), *diffs,
        ])
    title = (
        f"Filter patterns: {count} filters of {models.FILTER_LAYER}, {size[0]}x{size[1]}, {steps} steps, one process. "
        f"First grid: all {count}, tracing included, book and fast path interleaved {CHUNK} filters at a time (wall; CPU "
        f"time ratio beside it). Step: median (range) of {rounds} rounds, one step of each variant per round, per image. "
        f"Pixel differences after deprocess_image(crop={crop}), max/p99/mean, over filters 0 and 1: vs the solution, and "
        "vs the first fastpaths row (the whole model in float32, traced; its difference from the solution is float "
        "rounding grown by the ascent)"
    )
    header = [
        "variant", f"first grid of {count} (vs book)", "step / image", "range", "vs book", "vs book, CPU",
        f"per filter ({steps} steps)", "pixels vs solution", "vs traced whole model",
    ]
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
    from cvlab_ch9.fastpaths import FilterAscent, start_images  # noqa: PLC0415
    from cvlab_ch9.impl import load_lab  # noqa: PLC0415

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
        "fastpaths step, 4 images (default)": (step_of(default, 4), 4, one_channel_flops),
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
        whole_model = f"{full_flops / seconds / 1e9:.1f}" if "step" in name else ""
        rows.append([name, f"{flops / 1e9:.3f}", f"{seconds * 1e3:.1f} ms", f"{rate_g:.1f}", f"{rate_g / peak:.0%}", whole_model])
    # bfloat16 vs float32 patterns after a whole ascent
    solution = load_lab("interpretation", "solutions")
    growth = _divergence(solution, extractor, default, starts8[:1], steps)
    float32_patterns = default.patterns([0, 1], starts8[:2], iterations=steps)
    bf16_patterns = bf16.patterns([0, 1], starts8[:2], iterations=steps)
    crop = 25 if not quick else 8
    diff = pixel_differences(bf16_patterns, float32_patterns, lambda image: solution.deprocess_image(image, crop=crop))
    flags = _cpu_flags()
    title = (
        f"Arithmetic limit: one ascent step at {size[0]}x{size[1]} = {full_flops / 1e9:.3f} GFLOP for the whole truncated Xception "
        f"(forward + input gradients, {one_channel_flops / 1e9:.3f} with one channel of {models.FILTER_LAYER}); "
        f"{n}x{n} matmuls; median of {repeat}, interleaved. CPU flags: {flags}. bfloat16 vs float32 patterns after "
        f"{steps} steps: pixel differences {diff} (max/p99/mean) after deprocess_image. Largest |fastpaths - solution| "
        f"(float32 pixels, filter 0) after steps {growth}: the ascent grows float rounding, so no two ways of summing agree "
        "to the pixel after 30 steps"
    )
    header = ["work", "GFLOP / image", "time / image", "GFLOP/s", "of f32 matmul peak", "whole-model GFLOP/s"]
    return table(title, header, rows)


def _divergence(solution, extractor, ascent, start, steps):
    """"1: 6e-08, 5: ..." — largest |fast - reference| pixel value after some of ``steps`` steps from the (1, H, W, 3) start."""
    import tensorflow as tf  # noqa: PLC0415

    reference, fast = tf.constant(start), tf.constant(start)
    index, rate = tf.constant([0], dtype=tf.int32), tf.constant(10.0)
    shown = []
    for step in range(1, steps + 1):
        reference = solution.gradient_ascent_step(extractor, reference, 0, 10.0)
        fast = ascent.step(fast, index, rate)
        if step in (1, 5, 10, 20, 30) or step == steps:
            shown.append(f"{step}: {float(tf.reduce_max(tf.abs(reference - fast))):.1g}")
    return ", ".join(shown)


def _cpu_flags():
    """The vector-instruction flags of this CPU that matter for float32/bfloat16 math ("?" off Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            flags = next(line for line in cpuinfo if line.startswith("flags")).split(":", 1)[1].split()
    except (OSError, StopIteration):
        return "?"
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "avx_vnni")
    return ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in wanted)

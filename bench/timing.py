"""Timing helpers: interleaved repetitions, medians, a plain-text table."""

import statistics
import time


def time_call(func):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def interleaved(variants, repeat):
    """Time each ``name -> func`` ``repeat`` times, alternating variants; name -> list of seconds.

    Alternating keeps a variant from being favoured by a quiet moment on a
    shared machine.
    """
    times = {name: [] for name in variants}
    for _ in range(repeat):
        for name, func in variants.items():
            times[name].append(time_call(func)[0])
    return times


def fmt_s(seconds):
    """Seconds as table text: "0.123 s"."""
    return f"{seconds:.3f} s"


def median(values):
    return statistics.median(values) if values else float("nan")


def table(title, header, rows):
    """A plain-text table with a title line; ``rows`` are sequences of already formatted cells."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [title, line.format(*header), line.format(*("-" * w for w in widths))]
    out.extend(line.format(*(str(c) for c in row)) for row in rows)
    return "\n".join(out)

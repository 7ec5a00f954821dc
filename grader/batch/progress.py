"""A progress bar on stderr: done / total, the rate and the time left.

On a terminal the line is redrawn after every submission; in a log (not a
terminal) a line is written at most every ``interval_s`` seconds, and at the end.
"""

import sys
import time

BAR_WIDTH = 24


def duration_text(seconds):
    """``"42 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_line(done, total, elapsed_s, failed=0, width=BAR_WIDTH):
    """One progress line, e.g. ``[######------] 12/40 graded, 6.2/min, 4 min 31 s left``."""
    filled = int(width * done / total) if total else width
    rate = 60.0 * done / elapsed_s if elapsed_s > 0 and done else 0.0
    left = f"{duration_text((total - done) / (rate / 60.0))} left" if rate > 0 and done < total else (
        f"done in {duration_text(elapsed_s)}" if done >= total else "estimating the time left")
    failures = f", {failed} not graded" if failed else ""
    return f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total} graded{failures}, {rate:.1f}/min, {left}"


class Progress:
    """Counts finished submissions and draws :func:`progress_line` on ``stream`` (default stderr)."""

    def __init__(self, total, stream=None, interval_s=10.0, clock=time.monotonic):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.clock = clock
        self.start = clock()
        self.done = 0
        self.failed = 0
        self._last_shown = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, failed=False):
        self.done += 1
        self.failed += bool(failed)
        now = self.clock()
        if self._tty or self.done >= self.total or self._last_shown is None or now - self._last_shown >= self.interval_s:
            self._show(now)

    def _show(self, now):
        line = progress_line(self.done, self.total, now - self.start, self.failed)
        if self._tty:
            self.stream.write("\r" + line + ("\n" if self.done >= self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._last_shown = now

    def close(self):
        """End the bar's line (an interrupted run leaves it where it stopped)."""
        if self._tty and self.done < self.total:
            self.stream.write("\n")
            self.stream.flush()

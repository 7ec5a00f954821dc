"""What grading one submission (one student's code for one lab) may cost, and the judge's account of it.

:class:`Limits` are the numbers, from the command line, else the environment, else the defaults:

========================  ===============================  =========  ====================================
limit                     environment variable             default    what it bounds
========================  ===============================  =========  ====================================
``timeout_s``             ``CVLAB_GRADER_TIMEOUT``         each       one check (wall clock)
                                                           check's
                                                           own, 120 s
``load_s``                ``CVLAB_GRADER_LOAD_TIMEOUT``    120 s      loading the submission: every
                                                                      top-level statement or cell together
``budget_s``              ``CVLAB_GRADER_BUDGET``          900 s      everything, wall clock: sandbox
                                                                      starts, loads, every check
``cpu_s``                 ``CVLAB_GRADER_CPU_BUDGET``      600 s      CPU seconds of the submission's
                                                                      sandboxes (their TensorFlow import
                                                                      included, about 5 s each)
``restarts``              ``CVLAB_GRADER_RESTARTS``        8          fresh sandboxes after the first
``memory_gb``             ``CVLAB_GRADER_MEMORY_GB``       3 GB       one sandbox's memory
========================  ===============================  =========  ====================================

The reference's sandbox uses about 5 CPU s per lab (TensorFlow import
included; 4.5-5.6 measured on a 2-core AMD EPYC) and 25-40 s wall on a busy
machine; a student whose code hangs in three checks (120 s each) takes about 7 minutes:
both well inside.
A :class:`Budget` keeps the account while one submission is graded: the
judge asks it for every deadline, and a watchdog thread ends the sandbox as
soon as the CPU budget is spent. Once a budget is spent, every check left
scores 0 with :meth:`Budget.sentence`.
"""

import dataclasses
import os
import threading
import time

from cvlab_ch9.processes import kill_tree, tree_cpu_seconds

TIMEOUT_ENV = "CVLAB_GRADER_TIMEOUT"
MEMORY_ENV = "CVLAB_GRADER_MEMORY_GB"
LOAD_ENV = "CVLAB_GRADER_LOAD_TIMEOUT"
BUDGET_ENV = "CVLAB_GRADER_BUDGET"
CPU_ENV = "CVLAB_GRADER_CPU_BUDGET"
RESTARTS_ENV = "CVLAB_GRADER_RESTARTS"
DEFAULT_MEMORY_GB = 3.0
DEFAULT_LOAD_S = 120.0
DEFAULT_BUDGET_S = 900.0
DEFAULT_CPU_S = 600.0
DEFAULT_RESTARTS = 8
#: How often the watchdog reads the sandboxes' CPU time.
WATCH_S = 0.25


_NAMES = {"timeout_s": "check timeout (--timeout)", "memory_gb": "memory limit (--memory-limit)",
          "load_s": "load timeout (--load-timeout)", "budget_s": "time budget (--budget)", "cpu_s": "CPU budget (--cpu-budget)"}


class LimitError(ValueError):
    """A limit that is not a usable number; the message says which and what to set."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits of grading one submission (see the module's table).

    Attributes:
        timeout_s: wall-clock seconds for every check; None: each check's own ``timeout_s``.
        memory_gb: most resident memory a sandbox may use, in GB.
        load_s: wall-clock seconds for loading the submission once (all statements or cells together);
            None: ``timeout_s``, else :data:`DEFAULT_LOAD_S`.
        budget_s: wall-clock seconds for grading the whole submission.
        cpu_s: CPU seconds its sandboxes may use together.
        restarts: sandboxes started after the first (after a crash, a hang, a skipped statement).
        require_isolation: refuse to grade where the kernel cannot confine the sandbox (``--require-isolation``;
            the judge checks it, see :mod:`cvlab_ch9.grader.judge`).
    """

    timeout_s: float | None = None
    memory_gb: float = DEFAULT_MEMORY_GB
    load_s: float | None = None
    budget_s: float = DEFAULT_BUDGET_S
    cpu_s: float = DEFAULT_CPU_S
    restarts: int = DEFAULT_RESTARTS
    require_isolation: bool = False

    @classmethod
    def resolve(cls, timeout_s=None, memory_gb=None, load_s=None, budget_s=None, cpu_s=None, restarts=None,
                default_timeout_s=None, require_isolation=False):
        """Limits from the arguments, else the environment, else the defaults.

        ``default_timeout_s``: the check timeout when neither the argument nor the environment sets one
        (None: each check's own).

        Raises:
            LimitError: a value that is not a positive number (restarts: not a whole number >= 0).
        """
        values = {
            "timeout_s": _pick(timeout_s, TIMEOUT_ENV, default_timeout_s),
            "memory_gb": _pick(memory_gb, MEMORY_ENV, DEFAULT_MEMORY_GB),
            "load_s": _pick(load_s, LOAD_ENV, None),
            "budget_s": _pick(budget_s, BUDGET_ENV, DEFAULT_BUDGET_S),
            "cpu_s": _pick(cpu_s, CPU_ENV, DEFAULT_CPU_S),
        }
        for name, value in values.items():
            if value is not None and value <= 0:
                raise LimitError(f"The {_NAMES[name]} must be a positive number, not {value:g}.")
        count = _pick(restarts, RESTARTS_ENV, DEFAULT_RESTARTS)
        if count < 0 or count != int(count):
            raise LimitError(f"The number of sandbox restarts (--restarts) must be a whole number of 0 or more, not {count:g}.")
        return cls(**{k: (float(v) if v is not None else None) for k, v in values.items()}, restarts=int(count),
                   require_isolation=bool(require_isolation))

    def timeout_for(self, chk):
        return self.timeout_s if self.timeout_s is not None else chk.timeout_s

    @property
    def load_timeout_s(self):
        """Seconds for loading the submission once."""
        if self.load_s is not None:
            return self.load_s
        return self.timeout_s if self.timeout_s is not None else DEFAULT_LOAD_S

    @property
    def task_timeout_s(self):
        """Longest a batch task may take: the wall budget plus room for a sandbox start and the judge's own work."""
        return self.budget_s + 300.0


def _pick(value, env, default):
    if value is not None:
        return value
    text = os.environ.get(env)
    if text in (None, ""):
        return default
    try:
        return float(text)
    except ValueError:
        raise LimitError(f"{env}={text!r} is not a number; set it to seconds, GB or a count.") from None


def statements_to_skip(trace, now, load_s):
    """What to skip when loading ran past its deadline: ``[(index, note)]``.

    The statement (or cell) that was running, then the slowest finished ones
    until what is kept took less than half of ``load_s``: a stray
    ``model.fit`` goes, and so do statements that each sleep just under the
    deadline, while imports and definitions (instant) always load.

    Args:
        trace: ``[(index, description, monotonic start)]`` of the statements that ran, in order.
        now: when the deadline passed (monotonic).
        load_s: the load deadline in seconds.
    """
    if not trace:
        return []
    index, name, began = trace[-1]
    skipped = [(index, f"{name} did not finish in {load_s:g} s and was skipped")]
    finished = [(trace[i + 1][2] - began_at, idx, what) for i, (idx, what, began_at) in enumerate(trace[:-1])]
    kept = sum(seconds for seconds, _, _ in finished)
    for seconds, idx, what in sorted(finished, key=lambda item: -item[0]):
        if kept < load_s / 2:
            break
        skipped.append((idx, f"{what} took {seconds:.0f} s and was skipped (loading has {load_s:g} s in all)"))
        kept -= seconds
    return skipped


class Budget:
    """The account of one submission's grading: wall-clock deadline, CPU seconds, sandbox starts.

    Args:
        limits: the :class:`Limits`.
        clock: ``time.monotonic`` (tests pass their own).
    """

    def __init__(self, limits, clock=time.monotonic):
        self.limits = limits
        self.clock = clock
        self.deadline = None
        self.starts = 0
        self.spent = None
        self._cpu_closed = 0.0
        self._live = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watch = None

    # -- wall clock ------------------------------------------------------------------------

    def begin(self):
        """Start the wall clock (grading begins) and the CPU watchdog."""
        self.deadline = self.clock() + self.limits.budget_s
        self._watch = threading.Thread(target=self._watch_cpu, name="cvlab-cpu-budget", daemon=True)
        self._watch.start()

    def end(self):
        """Stop the watchdog."""
        self._stop.set()
        if self._watch is not None:
            self._watch.join(timeout=5)

    def deadline_after(self, seconds):
        """``(deadline, cut)``: now + ``seconds``, or the budget's deadline when earlier (``cut`` True)."""
        wanted = self.clock() + seconds
        if self.deadline is not None and self.deadline < wanted:
            return self.deadline, True
        return wanted, False

    def exhausted(self):
        """The spent budget's name ("wall", "cpu", "restarts"), or None while grading may go on."""
        if self.spent is None and self.deadline is not None and self.clock() >= self.deadline:
            self.spent = "wall"
        return self.spent

    # -- sandboxes ----------------------------------------------------------------------

    def may_start(self):
        """True when another sandbox may be started; else the restarts budget is spent."""
        if self.starts > self.limits.restarts:
            self.spent = self.spent or "restarts"
            return False
        return True

    def started(self, sandbox):
        self.starts += 1
        with self._lock:
            self._live[sandbox] = 0.0

    def ended(self, sandbox):
        """Count a sandbox's CPU time for good (call before it is stopped or killed)."""
        with self._lock:
            last = self._live.pop(sandbox, None)
        if last is not None:
            self._cpu_closed += max(last, self._cpu_of(sandbox))

    @staticmethod
    def _cpu_of(sandbox):
        process = getattr(sandbox, "process", None)
        return tree_cpu_seconds(process.pid) if process is not None else 0.0

    def cpu_used(self):
        """CPU seconds of this submission's sandboxes so far (as of the watchdog's last look)."""
        with self._lock:
            return self._cpu_closed + sum(self._live.values())

    def _watch_cpu(self):
        while not self._stop.wait(WATCH_S):
            with self._lock:
                live = list(self._live)
            for sandbox in live:
                used = self._cpu_of(sandbox)
                with self._lock:
                    if sandbox in self._live:
                        self._live[sandbox] = max(self._live[sandbox], used)
            if self.cpu_used() > self.limits.cpu_s:
                self.spent = self.spent or "cpu"
                for sandbox in live:
                    _end_process(sandbox)
                return

    # -- what the student reads -------------------------------------------------------------

    def sentence(self):
        """Why this check and the ones after it score 0, and what to do."""
        if self.spent == "cpu":
            return (f"Your code used up this submission's CPU budget ({self.limits.cpu_s:g} CPU s), so this check and "
                    "the ones after it score 0. Look for work that repeats (training, large loops, busy threads) at "
                    "import time or in an exercise.")
        if self.spent == "restarts":
            return (f"Your code ended or hung the grading process {self.limits.restarts + 1} times, so the grader stopped "
                    "restarting it and this check scores 0. Fix the crash or hang the earlier checks name.")
        return (f"Grading this submission used up its time budget ({self.limits.budget_s:g} s), so this check and the "
                "ones after it score 0. Look for code that sleeps, waits or loops at import time or in an exercise.")


def _end_process(sandbox):
    """End a sandbox's processes now (the waiting judge then sees it end and reads the budget's sentence)."""
    process = getattr(sandbox, "process", None)
    if process is not None and process.poll() is None:
        kill_tree(process)


def add_limit_arguments(parser, timeout_flags=("--timeout",), timeout_default=None):
    """The limits as command-line options (``--timeout``, ``--memory-limit``, ``--load-timeout``, ``--budget``...)."""
    group = parser.add_argument_group("limits per submission (one lab of one student)")
    default = f"{timeout_default:g} s" if timeout_default is not None else "each check's own, usually 120 s"
    group.add_argument(*timeout_flags, dest="timeout", type=float, default=None, metavar="SECONDS",
                       help=f"wall-clock limit for every check (default: ${TIMEOUT_ENV}, else {default})")
    group.add_argument("--memory-limit", type=float, default=None, metavar="GB",
                       help=f"memory a grading sandbox may use (default: ${MEMORY_ENV}, else {DEFAULT_MEMORY_GB:g} GB)")
    group.add_argument("--load-timeout", type=float, default=None, metavar="SECONDS",
                       help=f"loading the submission, every top-level statement or cell together (default: ${LOAD_ENV}, "
                       f"else --timeout, else {DEFAULT_LOAD_S:g} s)")
    group.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                       help=f"wall-clock time for grading it all (default: ${BUDGET_ENV}, else {DEFAULT_BUDGET_S:g} s)")
    group.add_argument("--cpu-budget", type=float, default=None, metavar="SECONDS",
                       help=f"CPU seconds its sandboxes may use (default: ${CPU_ENV}, else {DEFAULT_CPU_S:g} s)")
    group.add_argument("--restarts", type=int, default=None, metavar="N",
                       help=f"sandboxes started again after a crash or hang (default: ${RESTARTS_ENV}, else {DEFAULT_RESTARTS})")
    return group


def limits_from_arguments(args, timeout_default=None):
    """:class:`Limits` from the options of :func:`add_limit_arguments` (then the environment, then the defaults).

    Raises:
        LimitError: a value that is not usable.
    """
    return Limits.resolve(args.timeout, args.memory_limit, args.load_timeout, args.budget, args.cpu_budget, args.restarts,
                          default_timeout_s=timeout_default, require_isolation=getattr(args, "require_isolation", False))

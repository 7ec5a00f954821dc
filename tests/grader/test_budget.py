"""The budgets of one submission: limits from options and environment, what a load past its deadline skips, the
CPU watchdog, and the engine's task timeout. Fast (a ``sleep`` process stands in for a sandbox; no TensorFlow)."""

import argparse
import subprocess
import sys
import time

import pytest

from cvlab_ch9.grader import budget as budget_module
from cvlab_ch9.grader.batch.engine import _Watch
from cvlab_ch9.grader.budget import (
    BUDGET_ENV,
    CPU_ENV,
    DEFAULT_LOAD_S,
    RESTARTS_ENV,
    TIMEOUT_ENV,
    WATCH_S,
    Budget,
    LimitError,
    Limits,
    add_limit_arguments,
    limits_from_arguments,
    statements_to_skip,
)


def test_limits_come_from_options_then_the_environment_then_the_defaults(monkeypatch):
    monkeypatch.setenv(CPU_ENV, "90")
    monkeypatch.setenv(RESTARTS_ENV, "2")
    parser = argparse.ArgumentParser()
    add_limit_arguments(parser)
    limits = limits_from_arguments(parser.parse_args(["--budget", "300", "--restarts", "4"]))
    assert (limits.budget_s, limits.cpu_s, limits.restarts, limits.timeout_s) == (300.0, 90.0, 4, None)
    assert limits.load_timeout_s == DEFAULT_LOAD_S and Limits(timeout_s=15).load_timeout_s == 15
    assert Limits(timeout_s=15, load_s=4).load_timeout_s == 4
    assert limits.task_timeout_s > limits.budget_s
    monkeypatch.setenv(TIMEOUT_ENV, "7")
    assert Limits.resolve(default_timeout_s=120).timeout_s == 7, "the environment before the command's own default"
    monkeypatch.delenv(TIMEOUT_ENV)
    assert Limits.resolve(default_timeout_s=120).timeout_s == 120


@pytest.mark.parametrize(("env", "value", "words"), [
    (BUDGET_ENV, "-1", "time budget (--budget) must be a positive number"),
    (CPU_ENV, "lots", "CVLAB_GRADER_CPU_BUDGET='lots' is not a number"),
    (RESTARTS_ENV, "1.5", "restarts (--restarts) must be a whole number"),
])
def test_unusable_limits_are_one_sentence(monkeypatch, env, value, words):
    monkeypatch.setenv(env, value)
    with pytest.raises(LimitError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Limits.resolve()


def test_a_load_past_its_deadline_skips_what_ran_and_the_slowest_before_it():
    trace = [(0, "a.py, line 1", 0.0), (1, "a.py, line 3", 0.01), (2, "a.py, line 5", 2.5), (3, "a.py, line 8", 2.51),
             (4, "a.py, line 9", 5.0)]
    skipped = statements_to_skip(trace, now=6.0, load_s=6.0)
    assert [index for index, _ in skipped] == [4, 1], "the one running, then the slowest until the rest takes < 3 s"
    assert skipped[0][1] == "a.py, line 9 did not finish in 6 s and was skipped"
    assert skipped[1][1] == "a.py, line 3 took 2 s and was skipped (loading has 6 s in all)"
    assert statements_to_skip([(0, "cell x", 0.0)], now=6.0, load_s=6.0) == [(0, "cell x did not finish in 6 s and was skipped")]
    assert statements_to_skip([], now=1.0, load_s=1.0) == []


class _FakeSandbox:
    """A process that stands for a sandbox: the watchdog reads its CPU time and ends it."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def test_the_cpu_watchdog_ends_the_sandbox_once_the_cpu_budget_is_spent(monkeypatch):
    used = {"cpu": 0.0}
    monkeypatch.setattr(budget_module, "tree_cpu_seconds", lambda pid: used["cpu"])
    budget = Budget(Limits(cpu_s=10.0, budget_s=100.0, restarts=1))
    sandbox = _FakeSandbox()
    try:
        budget.started(sandbox)
        budget.begin()
        used["cpu"] = 4.0
        time.sleep(3 * WATCH_S)
        assert sandbox.process.poll() is None and budget.exhausted() is None and budget.cpu_used() == 4.0
        used["cpu"] = 11.0
        assert sandbox.process.wait(timeout=10) is not None, "the watchdog ended the sandbox"
        assert budget.exhausted() == "cpu" and "CPU budget (10 CPU s)" in budget.sentence()
    finally:
        budget.end()
        sandbox.process.kill()
        sandbox.process.wait()
    assert budget.may_start(), "one restart left"
    budget.started(object())
    assert not budget.may_start() and budget.spent == "cpu", "the first spent budget is the one named"


def test_restarts_and_wall_clock_budgets(monkeypatch):
    now = [0.0]
    budget = Budget(Limits(budget_s=30.0, restarts=0), clock=lambda: now[0])
    budget.deadline = 30.0
    budget.started(object())
    assert not budget.may_start() and budget.exhausted() == "restarts"
    assert "ended or hung the grading process 1 times" in budget.sentence()
    wall = Budget(Limits(budget_s=30.0), clock=lambda: now[0])
    wall.deadline = 30.0
    assert wall.deadline_after(10.0) == (10.0, False)
    now[0] = 25.0
    assert wall.deadline_after(10.0) == (30.0, True), "a check gets what is left of the budget"
    now[0] = 31.0
    assert wall.exhausted() == "wall" and "time budget (30 s)" in wall.sentence()


def test_the_engine_gives_up_tasks_past_their_timeout_from_when_they_started():
    now = [0.0]
    watch = _Watch(10.0, clock=lambda: now[0])
    watch.on_event((123.0, {"key": "a"}))
    now[0] = 5.0
    watch.on_event((124.0, {"key": "b"}))
    watch.on_event((125.0, "not a start"))
    now[0] = 12.0
    assert watch.overdue(["a", "b", "c"]) == ["a"], "b started 7 s ago; c has not started"
    now[0] = 16.0
    assert watch.overdue(["a", "b"]) == ["a", "b"]

"""Split or whole (janus/split_timing.py): a split function whose calls run slower than
the whole function run imperatively is run whole; one whose split is faster stays
split.  The arbiter's decision is unit-tested with given timings; the runtime's use of
it differentially against eager (values and Python effects the same whichever way)."""

import random

import numpy as np

import janus
from janus import split_timing
from janus.split_timing import SplitArbiter


def _decide(split_ms, whole_ms):
    arbiter = SplitArbiter(split=object())
    ways = []
    for _ in range(split_timing.WARMUP + 2 * split_timing.SAMPLES):
        way = arbiter.next_way()
        ways.append(way)
        arbiter.timed(way, (split_ms if way == "split" else whole_ms) / 1e3)
    return arbiter, ways


def test_warm_up_then_both_ways_timed():
    arbiter, ways = _decide(2.0, 1.0)
    assert ways == ["split"] * (split_timing.WARMUP + split_timing.SAMPLES) + ["whole"] * split_timing.SAMPLES
    assert arbiter.decision == "whole"
    assert arbiter.next_way() == "whole"
    assert "split 2.000 ms vs whole 1.000 ms" in arbiter.describe()


def test_split_kept_when_it_is_not_clearly_slower():
    arbiter, _ = _decide(1.02, 1.0)  # within the noise margin: the split stays
    assert arbiter.decision == "split" and arbiter.next_way() == "split"
    arbiter, _ = _decide(0.5, 1.0)
    assert arbiter.decision == "split"


def test_a_split_mostly_in_graphs_is_kept_without_timing_whole_calls():
    arbiter = SplitArbiter(split=object())
    ways = []
    for _ in range(split_timing.WARMUP + split_timing.SAMPLES + 3):
        way = arbiter.next_way()
        ways.append(way)
        arbiter.timed(way, 0.010, graph_seconds=0.009)  # 90% of each call in graphs
    assert ways == ["split"] * len(ways) and arbiter.decision == "split"
    assert "90% of its time runs in graphs" in arbiter.describe()


def test_split_calls_still_settling_are_not_timed():
    # a segment converting or waiting for its fast tier: not a sample of the split's speed
    arbiter = SplitArbiter(split=object())
    for _ in range(split_timing.WARMUP + 3):
        arbiter.timed("split", 100.0, settled=False)
    for _ in range(split_timing.SAMPLES):
        arbiter.timed("split", 0.001)
    for _ in range(split_timing.SAMPLES):
        arbiter.timed("whole", 0.002)
    assert arbiter.decision == "split"


def test_a_split_that_never_settles_is_timed_after_a_while():
    arbiter = SplitArbiter(split=object())
    for _ in range(split_timing.WARMUP + split_timing.UNSETTLED_PATIENCE + split_timing.SAMPLES):
        arbiter.timed("split", 0.010, settled=False)
    for _ in range(split_timing.SAMPLES):
        arbiter.timed("whole", 0.001)
    assert arbiter.decision == "whole"


def test_warm_up_calls_are_not_timed():
    arbiter = SplitArbiter(split=object())
    for _ in range(split_timing.WARMUP):
        arbiter.timed("split", 100.0)  # segments converting: slow, not counted
    for _ in range(split_timing.SAMPLES):
        arbiter.timed("split", 0.001)
    for _ in range(split_timing.SAMPLES):
        arbiter.timed("whole", 0.002)
    assert arbiter.decision == "split"


class Draws:
    def __init__(self):
        self.n = 0

    def draw(self):  # an opaque host call: an island
        self.n += 1
        return random.random()


def _build():
    draws, log = Draws(), []

    def step(x):
        total = x * 0.0
        for i in range(30):  # thirty tiny segments around thirty islands
            total = total + np.tanh(x) * draws.draw()
            log.append(i)
        return total

    return step, draws, log


def _run(fn, n):
    random.seed(0)
    return [fn(np.full(3, float(k), np.float32)) for k in range(n)]


def _slow_split(arbiter_cls):
    class Slow(arbiter_cls):  # the split's timings made slow: the decision is forced
        def timed(self, way, seconds, graph_seconds=0.0):
            super().timed(way, seconds * (50.0 if way == "split" else 1.0), graph_seconds)

    return Slow


def test_slower_split_runs_whole_with_eager_results(monkeypatch):
    monkeypatch.setattr("janus.runtime.SplitArbiter", _slow_split(SplitArbiter))
    f, d_e, log_e = _build()
    ref = _run(f, 20)
    f2, d_j, log_j = _build()
    g = janus.jit(f2)
    got = _run(g, 20)
    assert all(np.allclose(a, b) for a, b in zip(ref, got))
    assert (d_e.n, log_e) == (d_j.n, log_j)  # every island once, every effect once
    assert g._state.arbiter.decision == "whole", janus.explain(g)
    assert "runs whole and imperatively: its split ran slower" in janus.explain(g)
    split_calls = g.stats.split_calls
    g(np.ones(3, np.float32))
    assert g.stats.split_calls == split_calls  # no longer split


def test_split_timing_off_always_runs_split(monkeypatch):
    monkeypatch.setattr("janus.runtime.SplitArbiter", _slow_split(SplitArbiter))
    f2, _, _ = _build()
    g = janus.jit(f2, config=janus.Config(split_timing=False))
    _run(g, 20)
    assert g._state.arbiter is None
    assert g.stats.split_calls == 20 - g.stats.profiled_calls


def test_a_kept_split_that_turns_out_slower_runs_whole():
    # chosen on settled calls, then new specializations keep converting: slower after all
    arbiter = SplitArbiter(split=object())
    for _ in range(split_timing.WARMUP + split_timing.SAMPLES):
        arbiter.timed("split", 0.010)
    for _ in range(split_timing.SAMPLES):
        arbiter.timed("whole", 0.0105)
    assert arbiter.decision == "split"
    for _ in range(split_timing.REVISIT_CALLS):
        arbiter.timed(arbiter.next_way(), 0.030)
    assert arbiter.decision == "whole" and "turned out slower" in arbiter.describe()

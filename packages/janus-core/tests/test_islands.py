"""Graph islands: a function split into graph segments around host islands.

Differential against eager, with fault injection: a segment after an island whose graph
fails its speculation (or raises) re-runs alone -- the island is not run again and no
effect is lost or doubled."""

import random

import numpy as np
import pytest

import janus
from janus.errors import AssumptionFailed, JanusError


def _x(seed):
    return np.random.default_rng(seed).standard_normal(4).astype(np.float32)


class Counter:
    def __init__(self):
        self.n = 0

    def draw(self):  # an opaque host call: never in a graph
        self.n += 1
        return random.random()


def _build():
    counter, log = Counter(), []

    def f(x):
        log.append("start")
        y = np.tanh(x) * 2.0
        r = counter.draw()  # island
        log.append(round(r, 9))
        z = y * r + 1.0
        log.append("end")
        return z

    return f, counter, log


def _run(fn, n, seed=0):
    random.seed(seed)
    return [fn(_x(i)) for i in range(n)]


def _segments(g):
    split = g._state.splitter.current
    assert split is not None, janus.explain(g)
    return split.segments


def test_split_matches_eager_and_counts_islands():
    f, c_e, log_e = _build()
    ref = _run(f, 8)
    f2, c_j, log_j = _build()
    g = janus.jit(f2)
    got = _run(g, 8)
    assert all(np.array_equal(a, b) for a, b in zip(ref, got))
    assert log_e == log_j and c_e.n == c_j.n == 8
    s = g.stats
    assert s.split_calls == 6 and s.islands_run == 6  # from the conversion attempt on
    assert s.graph_calls == 6 and s.graph_calls + s.imperative_calls == s.calls


def test_explain_shows_segments_islands_and_reasons():
    f, _, _ = _build()
    g = janus.jit(f)
    _run(g, 4)
    text = janus.explain(g)
    assert "split into graph segments around host islands" in text
    assert "island at line" in text and "counter.draw()" in text
    assert "segment #0" in text and "segment #1" in text


@pytest.mark.parametrize("failure", ["assumption", "raises"])
def test_segment_failing_after_the_island_reruns_alone(failure):
    """Fault injection: the segment after the island fails; the call still matches eager,
    the island ran once, every append happened once."""
    f, c_e, log_e = _build()
    ref = _run(f, 8)
    f2, c_j, log_j = _build()
    g = janus.jit(f2)
    random.seed(0)
    got = [g(_x(i)) for i in range(5)]
    last = _segments(g)[-1]
    spec = last._state.mru
    assert spec is not None
    real_run = spec.executable.run
    fired = []

    def failing(inputs):
        if not fired:
            fired.append(1)
            if failure == "assumption":
                raise AssumptionFailed("injected", "a fault injected by the test")
            raise RuntimeError("injected fault")
        return real_run(inputs)

    spec.executable.run = failing
    got += [g(_x(i)) for i in range(5, 8)]
    assert fired
    assert all(np.array_equal(a, b) for a, b in zip(ref, got))
    assert log_e == log_j and c_e.n == c_j.n == 8


def test_segment_failing_before_the_island_does_not_run_it_twice():
    f, c_e, log_e = _build()
    ref = _run(f, 6)
    f2, c_j, log_j = _build()
    g = janus.jit(f2)
    random.seed(0)
    got = [g(_x(i)) for i in range(4)]
    first = _segments(g)[0]
    spec = first._state.mru
    spec.executable.run = lambda inputs: (_ for _ in ()).throw(AssumptionFailed("injected"))
    got += [g(_x(i)) for i in range(4, 6)]
    assert all(np.array_equal(a, b) for a, b in zip(ref, got))
    assert log_e == log_j and c_e.n == c_j.n == 6


def test_islands_off_keeps_the_whole_call_imperative():
    f, _, _ = _build()
    g = janus.jit(f, config=janus.Config(islands=False))
    _run(g, 6)
    assert g.stats.split_calls == 0 and g.stats.graph_calls == 0


def test_fallback_raise_still_names_the_island():
    f, _, _ = _build()
    g = janus.jit(f, config=janus.Config(fallback="raise"))  # strict: no split
    with pytest.raises(JanusError, match="Random.random"):
        _run(g, 4)


def test_return_break_continue_cross_segments():
    def f(x, n):
        out = []
        for i in range(n):
            if i == 1:
                continue
            v = x * float(i)
            k = random.randint(0, 3)  # island in the loop body
            out.append(v + k)
            if k == 3:
                break
            if len(out) > 3:
                return out, "early"
        return out, "done"

    def go(fn):
        random.seed(3)
        return [fn(_x(i), 6) for i in range(8)]

    ref, got = go(f), go(janus.jit(f))
    for (ra, rs), (ga, gs) in zip(ref, got):
        assert rs == gs and len(ra) == len(ga)
        assert all(np.array_equal(a, b) for a, b in zip(ra, ga))


def test_unbound_names_stay_unbound_across_segments():
    def f(x, flag):
        y = x * 2.0
        if flag:
            z = y + 1.0
        r = random.random()
        try:
            return z * r
        except UnboundLocalError:
            return y * r

    def go(fn):
        random.seed(5)
        return [fn(_x(i), i % 2 == 0) for i in range(8)]

    assert all(np.array_equal(a, b) for a, b in zip(go(f), go(janus.jit(f))))


def test_split_is_bounded():
    from janus.segments import MAX_SPLITS

    def f(x):
        a = x * 1.0
        for k in range(MAX_SPLITS + 4):
            a = a + random.random()  # one island, in a loop: one split
        return a

    g = janus.jit(f)
    random.seed(0)
    for i in range(6):
        g(_x(i))
    assert g._state.splitter.splits <= MAX_SPLITS


def test_break_from_a_segment_keeps_what_it_bound():
    """Found by the program generator: a host loop's segment that rebinds `x` and then
    breaks must hand `x` back before the host loop breaks."""
    log = []

    def f(x):
        for i in range(4):
            k = random.randint(0, 2)  # an island in the loop: the loop runs on the host
            x = x + i * k
            if np.sum(x) > 0:
                break
            log.append(f"{i}")
        return x

    def go(fn):
        random.seed(11)
        log.clear()
        out = [fn(_x(i) - 2.0) for i in range(8)]
        return out, list(log)

    (ref, log_e), (got, log_j) = go(f), go(g := janus.jit(f))
    assert all(np.array_equal(a, b) for a, b in zip(ref, got)) and log_e == log_j
    assert g.stats.split_calls == 6 and g.stats.graph_calls == 6


def test_effect_under_nested_data_dependent_ifs():
    """Found by the program generator: an append under the second of two nested graph
    conds (a loop with a data-dependent break) made a malformed graph."""
    log = []

    def f(x):
        for i in range(4):
            x = x + i
            if np.sum(x) > 0:
                break
            log.append(f"{i}")
        return x

    xs = [_x(i) - 2.0 for i in range(8)]
    ref = [f(x) for x in xs]
    log_e = list(log)
    log.clear()
    g = janus.jit(f)
    got = [g(x) for x in xs]
    assert all(np.array_equal(a, b) for a, b in zip(ref, got)) and log == log_e
    assert g.stats.graph_calls == 6 and g.stats.split_calls == 0


def test_a_name_rebound_under_a_graph_cond_then_an_island():
    """Reported from the tf.distribute work: `x` rebound on one branch of a graph `if`,
    then an island, then `x` read (a malformed graph before)."""
    import time

    def f(x):
        if np.max(x) > 4.0:
            x = np.clip(x, -4.0, 4.0)
        time.sleep(0)
        return np.sum(x)

    xs = [_x(i) * (10.0 if i % 2 else 1.0) for i in range(8)]
    g = janus.jit(f)
    assert all(np.array_equal(f(x), g(x)) for x in xs)
    assert g.stats.graph_calls == 6


def test_only_names_read_later_leave_a_segment():
    """A segment hands back only the names read after it: a value that cannot leave a
    graph (here a generator) stays inside when nothing reads it later."""

    def f(x):
        pairs = (v for v in (1, 2))  # a generator: it could not leave the graph
        y = x * sum(pairs)
        r = random.random()
        return y * r

    def go(fn):
        random.seed(2)
        return [fn(_x(i)) for i in range(8)]

    g = janus.jit(f)
    assert all(np.array_equal(a, b) for a, b in zip(go(f), go(g)))
    assert g.stats.split_calls == 6 and g.stats.graph_calls == 6


def test_split_calls_counted_per_thread():
    """Threads calling one split function at once: each call is counted once."""
    import threading

    def f(x):
        y = np.tanh(x) * 2.0
        r = random.random()
        return y + r

    g = janus.jit(f)
    for i in range(4):
        g(_x(i))
    before = g.stats

    def work():
        for i in range(20):
            g(_x(i))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = g.stats
    assert (
        s.calls - before.calls
        == 80
        == (s.graph_calls + s.imperative_calls) - (before.graph_calls + before.imperative_calls)
    )
    assert s.islands_run - before.islands_run == s.split_calls - before.split_calls


def test_a_generator_never_leaves_a_segment():
    # found by probing: `gen` (a list inside the converter) left a segment as a list and
    # the island's `next(gen)` raised TypeError on the call that split the function
    def f(x):
        gen = (v * 2.0 for v in [x, x + 1.0])
        a = next(gen)
        return a, sum(gen)

    g = janus.jit(f)
    for i in range(6):
        want, got = f(_x(i)), g(_x(i))
        assert all(np.array_equal(p, q) for p, q in zip(want, got)), (i, want, got)


def test_an_island_reading_a_value_leaves_its_computation_in_the_graph():
    # `np.tanh(y).sum().item()`: the sum is graph work; only `.item()` reads it on the host
    def f(x):
        y = x * 2.0
        s = np.tanh(y).sum().item() * 3.0
        return y * s

    g = janus.jit(f)
    for i in range(6):
        assert np.array_equal(g(_x(i)), f(_x(i)))
    islands = [line for line in janus.explain(g).splitlines() if "island at line" in line]
    assert len(islands) == 1 and ".item()" in islands[0] and "tanh" not in islands[0], islands
    assert g.stats.graph_calls >= 3

"""Deferred effects: each kind is committed once, in program order, after the graph; a
failed speculation after it leaves no trace before the imperative re-run (fault injection)."""

import contextlib
import copy
import io

import numpy as np
import pytest

import janus

COUNTER = 0


class Box:
    def __init__(self):
        self.step = 0
        self.items = []
        self.table = {"n": 0}
        self.note = "init"


def _run(fn, make_state, xs, jit):
    """Run fn over xs against a fresh state; return (outputs, state, stdout, stats)."""
    global COUNTER
    COUNTER = 0
    state = make_state()
    g = janus.jit(fn, backend="reference") if jit else fn
    buf, outs = io.StringIO(), []
    with contextlib.redirect_stdout(buf):
        for x in xs:
            try:
                outs.append(g(state, x))
            except Exception as e:
                outs.append(type(e).__name__)
    return outs, state, buf.getvalue(), (g.stats if jit else None), COUNTER


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, Box):
        return _same(vars(a), vars(b))
    return a == b


def effect_setattr(s, x):
    s.step += 1
    return x * s.step


def effect_setitem(s, x):
    s.table["n"] += 2
    s.table["last"] = x.sum()
    return x


def effect_append_extend(s, x):
    s.items.append(x * 2)
    s.items.extend([1, 2])
    return x


def effect_print(s, x):
    print("x sum", x.sum(), "as float %.3f" % float(x.sum()), f"{x.max().item():.2f}")
    return x


def effect_global(s, x):
    global COUNTER
    COUNTER = COUNTER + 1
    return x + COUNTER


def effect_del(s, x):
    s.table.setdefault("tmp", 1)
    del s.table["tmp"]
    s.note = "seen"
    return x


def effect_update(s, x):
    s.table.update(n=s.table["n"] + 1, sq=x * x)
    return x


EFFECTS = [effect_setattr, effect_setitem, effect_append_extend, effect_print, effect_global, effect_del, effect_update]


def with_speculation_after(effect):
    """The effect, then a tensor branch the profile sees one way: flipping it fails the
    in-graph assertion after the effect was (deferred) in the same call."""

    def fn(s, x):
        y = effect(s, x)
        if x.sum() > 0:
            return y + 1
        return y - 1

    fn.__name__ = f"{effect.__name__}_then_branch"
    return fn


XS = [np.ones(3, np.float32) * v for v in (1, 2, 3, 4, -1, 5, 6)]


@pytest.mark.parametrize("effect", EFFECTS, ids=lambda f: f.__name__)
def test_effect_is_committed_like_eager(effect):
    ref = _run(effect, Box, XS, jit=False)
    got = _run(effect, Box, XS, jit=True)
    assert _same(ref[0], got[0]) and _same(ref[1], got[1]) and ref[2] == got[2] and ref[4] == got[4]
    assert got[3].graph_calls == len(XS) - 2, janus.explain(janus.jit(effect))


@pytest.mark.parametrize("effect", EFFECTS, ids=lambda f: f.__name__)
def test_failed_assertion_after_effect_loses_and_doubles_nothing(effect):
    fn = with_speculation_after(effect)
    ref = _run(fn, Box, XS, jit=False)
    got = _run(fn, Box, XS, jit=True)
    assert _same(ref[0], got[0]), (ref[0], got[0])
    assert _same(ref[1], got[1]) and ref[2] == got[2] and ref[4] == got[4]
    stats = got[3]
    assert stats.assumption_failures == 1 and stats.graph_calls >= 3


def test_host_read_feeding_tensor_work_falls_back_with_reason():
    def f(x):
        s = float(x.sum())
        return x / s

    g = janus.jit(f, backend="reference", config=janus.Config(islands=False))
    for v in (1.0, 2.0, 3.0, 4.0):
        np.testing.assert_array_equal(g(np.full(2, v, np.float32)), f(np.full(2, v, np.float32)))
    assert g.stats.graph_calls == 0
    assert "host feeding tensor work" in janus.explain(g)


def test_host_read_feeding_tensor_work_becomes_an_island():
    def f(x):
        s = float(x.sum())
        return x / s

    g = janus.jit(f, backend="reference")
    for v in (1.0, 2.0, 3.0, 4.0, 5.0):
        np.testing.assert_array_equal(g(np.full(2, v, np.float32)), f(np.full(2, v, np.float32)))
    assert g.stats.split_calls == 3 and g.stats.graph_calls == 3 and g.stats.islands_run == 3
    assert "island at line" in janus.explain(g) and "host feeding tensor work" in janus.explain(g)


def test_host_read_returned_as_python_value():
    def f(x):
        return float(x.sum()), x.max().item(), [round(float(x.mean()), 2)]

    g = janus.jit(f, backend="reference")
    for v in (1.0, 2.0, 3.0, 4.0):
        assert g(np.full(2, v, np.float32)) == f(np.full(2, v, np.float32))
    assert g.stats.graph_calls == 2
    assert type(g(np.ones(2, np.float32))[0]) is float


def test_effects_on_branches_of_a_graph_cond_follow_the_branch_taken():
    log = []

    def f(x):
        if x.sum() > 0:
            log.append("pos")
            y = x * 2
        else:
            log.append("neg")
            y = x - 1
        return y

    g = janus.jit(f, backend="reference")
    xs = [np.ones(2, np.float32) * v for v in (1, -1, 2, -2, 3, -3)]
    outs = [g(x) for x in xs]
    got = list(log)
    log.clear()
    expect = [f(x) for x in xs]
    assert got == log
    assert all(np.array_equal(a, b) for a, b in zip(outs, expect))
    assert g.stats.graph_calls == 4 and "on a branch of a graph cond" in janus.explain(g)


def test_objects_returned_keep_identity_with_effect_targets():
    store = {}

    def f(x):
        out = [x * 2]
        store["last"] = out
        return out

    g = janus.jit(f, backend="reference")
    for _ in range(4):
        r = g(np.ones(2, np.float32))
        assert store["last"] is r
    assert g.stats.graph_calls == 2
    _ = copy


def test_logging_and_stream_writes_are_deferred_output(caplog):
    import logging
    import sys

    log = logging.getLogger("janus.test")

    def f(x):
        y = x * 2
        log.info("sum %.2f", float(y.sum()))
        logging.warning("max %s", y.max().item())
        sys.stdout.write(f"len {len(x)}\n")
        return y

    g = janus.jit(f, backend="reference")
    buf = io.StringIO()
    with caplog.at_level(logging.INFO), contextlib.redirect_stdout(buf):
        for v in (1.0, 2.0, 3.0, 4.0):
            g(np.full(2, v, np.float32))
    got_logs, got_out = [r.getMessage() for r in caplog.records], buf.getvalue()
    caplog.clear()
    buf = io.StringIO()
    with caplog.at_level(logging.INFO), contextlib.redirect_stdout(buf):
        for v in (1.0, 2.0, 3.0, 4.0):
            f(np.full(2, v, np.float32))
    assert got_logs == [r.getMessage() for r in caplog.records] and got_out == buf.getvalue()
    assert g.stats.graph_calls == 2


class _Acc:
    def __init__(self, scale):
        self.scale = scale
        self.parts = []

    def add(self, x):
        self.parts.append(x * self.scale)
        return self

    def total(self):
        return sum(self.parts)


def test_objects_built_in_the_call_live_in_the_graph_and_escape_rebuilt():
    import collections
    import dataclasses

    Pair = collections.namedtuple("Pair", "a b")

    @dataclasses.dataclass
    class Out:
        value: object
        tag: str = "out"

    kept = []

    def f(x):
        acc = _Acc(2.0).add(x).add(x + 1)
        kept.append(acc)  # escapes: rebuilt on commit
        return Out(acc.total()), Pair(x.sum(), acc.parts[0])

    g = janus.jit(f, backend="reference")
    for v in (1.0, 2.0, 3.0, 4.0):
        out, pair = g(np.full(2, v, np.float32))
        exp_out, exp_pair = f(np.full(2, v, np.float32))
        np.testing.assert_array_equal(out.value, exp_out.value)
        assert out.tag == "out" and type(pair).__name__ == "Pair"
        np.testing.assert_array_equal(pair.b, exp_pair.b)
    assert g.stats.graph_calls == 2
    assert isinstance(kept[2], _Acc) and len(kept[2].parts) == 2 and kept[2] is not kept[3]

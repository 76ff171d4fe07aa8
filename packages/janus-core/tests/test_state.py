"""Framework state: in-place writes to arrays that outlive the call are functionalized in
the graph and written into the real array only after the graph succeeded."""

import numpy as np

import janus

PARAM = np.zeros(4, np.float32)


def _pair(fn, make, calls):
    """Run `fn` eagerly and under JANUS on twin states; return both outcomes."""
    results = []
    for jit in (False, True):
        state = make()
        g = janus.jit(fn, backend="reference") if jit else fn
        outs = [g(state, *args) for args in calls(state)]
        results.append((outs, state, g))
    return results


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-6)


def sgd(state, g, lr):
    w = state["w"]
    w -= lr * g  # in place: the caller's array changes
    np.subtract(state["b"], g.sum() * lr, out=state["b"])
    return (w * w).sum()  # reads the new value


def test_in_place_updates_reach_the_callers_arrays():
    make = lambda: {"w": np.ones(3, np.float32), "b": np.zeros(1, np.float32)}
    calls = lambda s: [(np.full(3, i, np.float32), 0.1) for i in range(6)]
    (eo, es, _), (jo, js, g) = _pair(sgd, make, calls)
    _assert_same(eo, jo)
    _assert_same(es, js)
    assert g.stats.graph_calls == 4
    assert "assign at" in janus.explain(g)


def test_written_array_returned_is_the_callers_object():
    def f(state, g):
        state["w"] += g
        return state["w"]

    state = {"w": np.zeros(2, np.float32)}
    g = janus.jit(f, backend="reference")
    for _ in range(5):
        out = g(state, np.ones(2, np.float32))
        assert out is state["w"]
    np.testing.assert_array_equal(state["w"], np.full(2, 5.0))
    assert g.stats.graph_calls == 3


def test_item_assignment_and_global_arrays():
    def f(state, v):
        PARAM[1:3] = v
        state["seen"] = PARAM.sum()
        return PARAM * 2

    (eo, es, _), (jo, js, g) = _pair(f, dict, lambda s: [(float(i),) for i in range(5)])
    _assert_same(eo, jo)
    _assert_same(es, js)
    assert g.stats.graph_calls == 3


def test_failed_assertion_after_a_write_leaves_the_array_untouched():
    def f(state, g):
        state["w"] -= g
        if g.sum() > 0:  # profiled as always true
            return state["w"] * 2
        return state["w"]

    make = lambda: {"w": np.ones(2, np.float32)}
    calls = lambda s: [(np.full(2, v, np.float32),) for v in (1, 1, 1, 1, -1, 1)]
    (eo, es, _), (jo, js, g) = _pair(f, make, calls)
    _assert_same(eo, jo)
    _assert_same(es, js)
    assert g.stats.assumption_failures == 1 and g.stats.graph_calls == 3


def test_writes_through_views_fall_back_and_stay_correct():
    def f(state, v):
        row = state["m"][0]  # a view of the caller's array
        row += v  # eager writes through it into state["m"]
        return state["m"].sum()

    make = lambda: {"m": np.zeros((2, 2), np.float32)}
    (eo, es, _), (jo, js, g) = _pair(f, make, lambda s: [(1.0,)] * 4)
    _assert_same(eo, jo)
    _assert_same(es, js)
    # the write through the view runs on the host, as a graph island
    assert g.stats.islands_run == g.stats.split_calls == 2
    assert "view" in janus.explain(g)


def test_local_array_written_in_place_is_renamed():
    def f(x):
        y = x * 2
        y += 1
        y[0] = 7.0
        return y

    g = janus.jit(f, backend="reference")
    for _ in range(4):
        np.testing.assert_array_equal(g(np.ones(3, np.float32)), f(np.ones(3, np.float32)))
    assert g.stats.graph_calls == 2


STEPS = 0


def test_read_modify_write_guards_once_per_call():
    # the guard (the read) and the commit (the write) run under one lock; the guard is
    # evaluated once per call there, not once outside and again inside
    def f(x):
        global STEPS
        STEPS += 1
        return x * 2.0

    g = janus.jit(f, backend="reference")
    for _ in range(4):
        g(np.ones(3, np.float32))
    spec = g._state.mru
    assert spec is not None and spec.conversion.read_modify_write, janus.explain(g)
    calls = []
    guard = spec.guard

    def counting(*a, **k):
        calls.append(1)
        return guard(*a, **k)

    spec.guard = counting
    before, served = STEPS, g.stats.graph_calls
    for _ in range(5):
        g(np.ones(3, np.float32))
    assert before + 5 == STEPS and g.stats.graph_calls == served + 5
    assert len(calls) == 5


def _default_tensor_callee(x=np.zeros(2, np.float32), *, k=np.ones(2, np.float32)):
    x += 1.0  # the default array persists between calls: eager changes it in place
    k *= 2.0
    return x * 1.0, k * 1.0


def test_tensor_defaults_of_an_inlined_function_are_written_in_place():
    def f():
        return _default_tensor_callee()

    g = janus.jit(f, backend="reference")
    want = []
    for _ in range(5):
        want.append(tuple(v.copy() for v in f()))
    _default_tensor_callee.__defaults__ = (np.zeros(2, np.float32),)
    _default_tensor_callee.__kwdefaults__ = {"k": np.ones(2, np.float32)}
    for w in want:
        got = g()
        assert all(np.array_equal(a, b) for a, b in zip(w, got)), (w, got)
    assert np.array_equal(_default_tensor_callee.__defaults__[0], np.full(2, 5.0, np.float32))
    assert g.stats.graph_calls == 3, janus.explain(g)

"""Eager semantics of the call itself (issue 12): argument binding errors, changed
defaults and code, evaluation counts, generator functions, broken graphs, give-up,
bounded profiles and conversions.  Differential: the oracle is the plain function."""

import types

import numpy as np
import pytest

import janus
from janus.errors import JanusError


def ones(*shape):
    return np.ones(shape, np.float32)


def _warm(g, *args, n=4):
    for _ in range(n):
        g(*args)
    assert g.stats.graph_calls >= 1, janus.explain(g)


def _error_of(fn, *args, **kwargs):
    with pytest.raises(BaseException) as info:
        fn(*args, **kwargs)
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((ones(2),), {}),
        ((ones(2), ones(2), ones(2)), {}),
        ((ones(2), ones(2)), {"z": 1}),
        ((), {"x": ones(2), "y": ones(2)}),
    ],
    ids=["missing", "too-many", "unknown-keyword", "positional-only-by-keyword"],
)
def test_argument_errors_are_eagers(args, kwargs):
    def f(x, /, y):
        return x + y

    g = janus.jit(f)
    _warm(g, ones(2), ones(2))
    assert _error_of(g, *args, **kwargs) == _error_of(f, *args, **kwargs)


def test_changed_defaults_are_followed():
    def f(x, s=2.0, *, t=1.0):
        return x * s + t

    g = janus.jit(f)
    _warm(g, ones(2))
    f.__defaults__ = (5.0,)
    np.testing.assert_array_equal(g(ones(2)), f(ones(2)))
    f.__kwdefaults__ = {"t": -3.0}
    np.testing.assert_array_equal(g(ones(2)), f(ones(2)))
    f.__kwdefaults__["t"] = 7.0  # changed in place
    np.testing.assert_array_equal(g(ones(2)), f(ones(2)))


def test_replaced_code_is_followed():
    def f(x):
        return x * 2.0

    def h(x):
        return x - 100.0

    g = janus.jit(f)
    _warm(g, ones(2))
    f.__code__ = h.__code__
    np.testing.assert_array_equal(g(ones(2)), h(ones(2)))


class Counter:
    def __init__(self):
        self._n, self.gets, self.sets = 0.0, 0, 0

    @property
    def n(self):
        self.gets += 1
        return self._n

    @n.setter
    def n(self, v):
        self.sets += 1
        self._n = v


def test_a_property_runs_as_often_as_in_eager():
    def f(c, x):
        c.n += 1.0
        return x * 2.0

    eager, jitted = Counter(), Counter()
    g = janus.jit(f)
    for _ in range(5):
        f(eager, ones(2))
        g(jitted, ones(2))
    assert (jitted.gets, jitted.sets, jitted.n) == (eager.gets, eager.sets, eager.n)


def test_a_generator_function_returns_a_generator():
    def gen(x, n):
        for i in range(n):
            yield x * i

    g = janus.jit(gen)
    for _ in range(4):
        got = g(ones(2), 3)
        assert isinstance(got, types.GeneratorType)
        assert [list(v) for v in got] == [list(v) for v in gen(ones(2), 3)]
    assert g.stats.imperative_calls == 4 and "generator" in janus.explain(g)


class BrokenExecutable(janus.Executable):
    def run(self, inputs):
        raise RuntimeError("the backend cannot run this graph")


def _broken_backend(monkeypatch, g):
    g(ones(2))  # choose the backend
    backend = g._state.backend
    monkeypatch.setattr(backend, "compile", lambda graph, config: BrokenExecutable(), raising=False)


def test_a_graph_that_raises_where_eager_does_not_is_retired(monkeypatch):
    def f(x):
        return x * 3.0

    g = janus.jit(f)
    _broken_backend(monkeypatch, g)
    for _ in range(8):
        np.testing.assert_array_equal(g(ones(2)), f(ones(2)))
    s = g.stats
    assert s.graphs_built == 2 and s.graph_calls == 0, janus.explain(g)  # retired twice, then imperative
    assert "retired" in janus.explain(g) and "runs imperatively" in janus.explain(g)
    assert s.profiled_calls <= 4  # giving up stops profiling


def test_a_broken_graph_raises_with_fallback_raise(monkeypatch):
    def f(x):
        return x * 3.0

    g = janus.jit(f, config=janus.Config(fallback="raise"))
    _broken_backend(monkeypatch, g)
    g(ones(2))
    with pytest.raises(JanusError, match="retired"):
        g(ones(2))


def test_a_graph_raising_what_eager_raises_is_kept():
    def f(x, i):
        return x[i] * 2.0

    g = janus.jit(f)
    for i in [0, 1, 2, 0, 1]:  # the index varies: a graph input
        g(ones(3), i)
    served = g.stats.graph_calls
    with pytest.raises(IndexError):
        g(ones(3), 7)
    np.testing.assert_array_equal(g(ones(3), 2), f(ones(3), 2))
    assert g.stats.graphs_built == 1 and g.stats.graph_calls == served + 1, janus.explain(g)


def test_giving_up_stops_profiling_and_bounds_the_profile():
    def f(x, n):
        for _ in range(n):
            x = x + 1.0
        return x

    g = janus.jit(f, config=janus.Config(max_regenerations=1, max_graphs=1))
    for n in range(300):
        g(ones(2), n % 50)
    s = g.stats
    assert s.graphs_built == 1 and s.profiled_calls < 10, janus.explain(g)
    trips = [len(site.trips) for site in g._state.profile.sites.values() if site.trips]
    assert trips and max(trips) <= 32


def test_conversion_is_bounded_in_time():
    def f(x):
        for i in range(9000):
            x = x + float(i)
        return x

    g = janus.jit(f, config=janus.Config(conversion_timeout=0.2))
    for _ in range(4):
        np.testing.assert_array_equal(g(ones(2)), f(ones(2)))
    assert g.stats.graph_calls == 0 and "took more than 0.2 s" in janus.explain(g)


def test_augmented_assignment_on_a_numpy_scalar_rebinds():
    # `x -= 1` changes an ndarray in place but rebinds an np.float64 (it has no __isub__);
    # found by the fuzzer: JANUS wrote into the scalar and the commit raised TypeError
    def f(x):
        y = x
        x -= 1.0
        return x, y

    g = janus.jit(f, backend="reference")
    for k in range(8):
        make = (lambda v: np.float64(v)) if k % 3 else (lambda v: np.full((), float(v)))
        want, got = f(make(k)), g(make(k))
        assert [type(v) for v in want] == [type(v) for v in got]
        assert [float(v) for v in want] == [float(v) for v in got], (k, want, got)
    assert g.stats.graph_calls >= 4, janus.explain(g)


def test_list_repetition_of_arrays_keeps_aliases():
    # `xs *= 2` repeats the list itself (an alias sees it); `4 * [x]` is `[x] * 4`.
    # The first returned a new list under JANUS: len(m) was 1 on graph-served calls
    def f(x):
        xs = [x]
        m = xs
        xs *= 2
        return len(m), sum(4 * [x]) + sum(m)

    g = janus.jit(f, backend="reference")
    for k in range(6):
        x = np.full(2, float(k), np.float32)
        want, got = f(x), g(x)
        assert want[0] == got[0] and np.array_equal(want[1], got[1]), (k, want, got)
    assert g.stats.graph_calls == 4, janus.explain(g)


class _Holder:
    def __init__(self):
        self.items = []


def test_augmented_add_to_an_outside_list_is_an_effect():
    # `holder.items += [x]` extends the outside list after the graph (it raised a
    # TypeError inside the converter and fell back); a tuple item `t[0] += [x]` (eager:
    # the list is extended, then the tuple assignment raises) must not change the list
    # while converting (a converter value leaked into it and the next call raised)
    def f(x, holder):
        holder.items += [x * 2.0]
        t = ([x],)
        try:
            t[0] += [x]
        except TypeError:
            pass
        return len(t[0]), sum(t[0])

    g = janus.jit(f, backend="reference")
    h_e, h_j = _Holder(), _Holder()
    for k in range(6):
        x = np.full(2, float(k), np.float32)
        want, got = f(x, h_e), g(x, h_j)
        assert want[0] == got[0] and np.array_equal(want[1], got[1]), (k, want, got)
        assert len(h_e.items) == len(h_j.items) and all(np.array_equal(a, b) for a, b in zip(h_e.items, h_j.items))
    assert g.stats.graph_calls >= 3, janus.explain(g)


def test_augmented_add_to_an_outside_list_under_a_graph_cond():
    # found by the fuzzer (seed 100285): `holder.items += [...]` on one branch of a graph
    # cond lost its items -- the store back of the same list was committed as a snapshot
    # of the list taken while converting, replacing the list the extend had written to
    table = {"k": []}

    def f(x, holder):
        if np.sum(x) > 0:
            holder.items += [float(np.mean(x))]
            table["k"] += [x * 2.0]
        return x

    g = janus.jit(f, backend="reference")
    h_e, h_j = _Holder(), _Holder()
    for k in range(8):
        x = np.full(2, (-1.0) ** k * (k + 1), np.float32)
        f(x, h_e)
        g(x, h_j)
    assert h_e.items == h_j.items
    assert len(table["k"]) == 8 and all(np.array_equal(a, b) for a, b in zip(table["k"][0::2], table["k"][1::2]))
    assert g.stats.graph_calls == 6, janus.explain(g)


def test_a_counter_the_profile_does_not_see_becomes_an_input_after_one_miss():
    # `self.calls += 1` reads the attribute where the profile records nothing: it was a
    # guarded constant, so every call missed and built a graph for the next value
    class Counted:
        def __init__(self):
            self.calls = 0

        def __call__(self, x):
            self.calls += 1
            return x * 2.0 + self.calls

    m_e, m_j = Counted(), Counted()
    g = janus.jit(lambda x: m_j(x))
    for i in range(10):
        x = np.full(3, float(i), np.float32)
        np.testing.assert_array_equal(g(x), m_e(x))
    assert m_e.calls == m_j.calls == 10
    assert g.stats.guard_misses <= 2 and g.stats.graph_calls >= 6, janus.explain(g)

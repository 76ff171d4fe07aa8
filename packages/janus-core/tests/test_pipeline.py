"""The speculative pipeline end to end on the reference backend (issue acceptance)."""

import contextlib
import io

import numpy as np
import pytest

import janus

RNG = np.random.default_rng(0)
W = RNG.standard_normal((4, 4)).astype(np.float32) * 0.5


class Model:
    def __init__(self):
        self.w = RNG.standard_normal((4, 3)).astype(np.float32)
        self.scale = 0.5

    def forward(self, h):
        return np.tanh(np.matmul(h, self.w)) * self.scale


MODEL = Model()


def program(x, lr, n):
    for _ in range(n):
        x = np.tanh(np.matmul(x, W)) * lr
    return MODEL.forward(x)


def test_graph_calls_grow_by_one_per_call_after_profiling():
    g = janus.jit(program, backend="reference", config=janus.Config(profile_runs=2))
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    for i in range(8):
        np.testing.assert_allclose(g(x, 0.3, 3), program(x, 0.3, 3), rtol=1e-6)
        assert g.stats.graph_calls == max(0, i - 1)
    assert g.stats.graphs_built == 1


def test_scalar_argument_changing_every_call_builds_no_new_graph():
    g = janus.jit(program, backend="reference")
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    for i in range(12):
        lr = 0.1 + 0.05 * i
        np.testing.assert_allclose(g(x, lr, 2), program(x, lr, 2), rtol=1e-6)
    assert g.stats.graphs_built == 1 and g.stats.graph_calls == 10
    assert "%lr: float = input lr" in janus.explain(g)


def test_object_attribute_changed_between_calls_is_seen():
    m = Model()

    def f(x):
        return m.forward(x)

    g = janus.jit(f, backend="reference")
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    for i in range(10):
        if i == 5:
            m.scale = 2.0
        if i == 7:
            m.w = RNG.standard_normal((4, 6)).astype(np.float32)
        np.testing.assert_allclose(g(x), f(x), rtol=1e-6)
    assert g.stats.graph_calls >= 6


def test_fresh_but_equal_config_objects_reuse_one_graph():
    class Cfg:
        def __init__(self, k, act):
            self.k, self.act = k, act

    def f(x, cfg):
        return np.tanh(x) * cfg.k if cfg.act == "tanh" else x * cfg.k

    g = janus.jit(f, backend="reference")
    x = np.ones(3, np.float32)
    for _ in range(200):
        np.testing.assert_array_equal(g(x, Cfg(3, "tanh")), f(x, Cfg(3, "tanh")))
    assert g.stats.graphs_built == 1 and g.stats.graph_calls == 198


def test_graph_cache_is_bounded_lru():
    def f(x, mode):
        return x * len(mode)  # a string is always a guarded constant: one graph per mode

    g = janus.jit(f, backend="reference", config=janus.Config(max_graphs=3, profile_runs=1))
    x = np.ones(2, np.float32)
    for mode in ["a", "bb", "ccc", "dddd", "eeeee"] * 4:
        np.testing.assert_array_equal(g(x, mode), f(x, mode))
    assert len(g._state.cache) <= 3 and g.stats.graphs_evicted >= 1


def test_deferred_effects_commit_in_program_order():
    log, state = [], {"calls": 0}

    class Counter:
        step = 0

    c = Counter()

    def f(x):
        log.append("start")
        state["calls"] += 1
        c.step += 1
        y = x * c.step
        print("step", c.step, "calls", state["calls"])
        log.append(y)
        return y

    out_e, out_j = io.StringIO(), io.StringIO()
    g = janus.jit(f, backend="reference")
    with contextlib.redirect_stdout(out_j):
        results = [g(np.ones(2, np.float32)) for _ in range(5)]
    assert g.stats.graph_calls == 3
    log_j, state_j, step_j = list(log), dict(state), c.step
    log.clear(), state.update(calls=0)
    c.step = 0
    with contextlib.redirect_stdout(out_e):
        expect = [f(np.ones(2, np.float32)) for _ in range(5)]
    assert out_e.getvalue() == out_j.getvalue()
    assert state_j == state and step_j == c.step
    assert [type(v) for v in log_j] == [type(v) for v in log]
    for a, b in zip(results, expect):
        np.testing.assert_array_equal(a, b)
    assert results[-1] is log_j[-1]  # the returned array is the one appended, as in eager


def test_failed_speculation_leaves_no_trace_before_the_imperative_rerun():
    log = []

    def f(x):
        log.append("start")
        if x.sum() > 0:
            y = x + 1
        else:
            y = x - 1
        log.append("end")
        return y

    g = janus.jit(f, backend="reference")
    xs = [np.ones(2, np.float32)] * 5 + [-np.ones(2, np.float32), np.ones(2, np.float32)]
    outs = [g(x) for x in xs]
    assert log == ["start", "end"] * 7
    for x, o in zip(xs, outs):
        np.testing.assert_array_equal(o, f(x))
    assert g.stats.assumption_failures == 1 and g.stats.graph_calls == 4
    assert "failed 1 times" in janus.explain(g)


def test_unbound_local_raises_exactly_when_eager_does():
    def f(x):
        if x.sum() > 0:
            y = x * 2
        return y

    g = janus.jit(f, backend="reference")
    for _ in range(4):
        g(np.ones(2, np.float32))
    with pytest.raises(UnboundLocalError):
        g(-np.ones(2, np.float32))
    np.testing.assert_array_equal(g(np.ones(2, np.float32)), np.ones(2) * 2)


def test_rebinding_a_global_function_is_seen():
    global act
    g = janus.jit(uses_act, backend="reference")
    x = np.ones(2, np.float32)
    for i in range(8):
        act = np.tanh if i < 4 else np.cos
        np.testing.assert_array_equal(g(x), uses_act(x))
    assert g.stats.graph_calls >= 5


act = np.tanh


def uses_act(x):
    return act(x) + 1


def test_inlined_closures_lambdas_defaults_and_star_args():
    def scale(v, k=2.0, *rest, shift=0.0, **extra):
        return v * k + shift + sum(rest) + extra.get("bias", 0.0)

    def f(x, a):
        sq = lambda t: t * t
        parts = [sq(x), scale(x), scale(x, 3.0, 1.0, 2.0, shift=a, bias=0.5)]
        d = {"first": parts[0], "rest": tuple(parts[1:])}
        return d["first"] + d["rest"][1] * a

    g = janus.jit(f, backend="reference")
    x = np.arange(3, dtype=np.float32)
    for a in (0.5, 1.5, 2.5, 3.5):
        np.testing.assert_allclose(g(x, a), f(x, a), rtol=1e-6)
    assert g.stats.graph_calls == 2 and g.stats.graphs_built == 1


def test_python_branch_on_a_graph_input_guards_only_the_decision():
    def f(x, step):
        if step % 10 == 0:
            return x * 0
        return x * step

    g = janus.jit(f, backend="reference")
    x = np.ones(2, np.float32)
    for step in range(1, 10):
        np.testing.assert_array_equal(g(x, step), f(x, step))
    assert g.stats.graphs_built == 1 and g.stats.graph_calls == 7
    assert "bool(" in janus.explain(g)


class _Private:
    def __init__(self):
        self.__w = np.ones(3, np.float32)
        self.__n = 0

    def step(self, x):
        self.__n += 1
        return x * self.__w + self.__n


def test_private_names_are_mangled_like_the_compiler_does():
    a, b = _Private(), _Private()
    g = janus.jit(a.step, backend="reference")
    for _ in range(5):
        np.testing.assert_array_equal(g(np.ones(3, np.float32)), b.step(np.ones(3, np.float32)))
    assert a._Private__n == b._Private__n == 5 and g.stats.graph_calls == 3


def test_many_shapes_keep_the_cache_bounded():
    """Pitfall C28: serving thousands of sequence lengths neither grows the cache nor
    rebuilds per length (the varying dimension is relaxed)."""

    def f(x):
        return np.tanh(x @ W).sum(0)

    g = janus.jit(f, backend="reference", config=janus.Config(max_graphs=4))
    rng = np.random.default_rng(1)
    for n in rng.integers(1, 500, size=2000):
        x = np.ones((int(n), 4), np.float32)
        np.testing.assert_allclose(g(x), f(x), rtol=1e-5)
    assert len(g._state.cache) <= 4 and g.stats.graphs_built <= 2
    assert g.stats.graph_calls >= 1995


def test_speculating_the_else_branch_runs_from_a_graph():
    def f(x):
        if x.sum() > 0:
            return x * 2
        return x - 1

    g = janus.jit(f, backend="reference")
    for v in (-1, -1, -2, -3, 4, -5):
        x = np.full(2, v, np.float32)
        np.testing.assert_array_equal(g(x), f(x))
    assert g.stats.graph_calls == 3 and g.stats.assumption_failures == 1
    assert "expect=False" in janus.explain(g)


def test_one_tensor_reached_by_two_paths_is_one_input_guarded_as_an_alias():
    class Net:
        def __init__(self):
            self.w = np.ones(3, np.float32)
            self.params = [self.w]

    net = Net()

    def f(x):
        return x * net.w + net.params[0]

    g = janus.jit(f, backend="reference")
    for i in range(6):
        if i == 4:
            net.params = [np.full(3, 5.0, np.float32)]  # the paths now lead to two arrays
        np.testing.assert_array_equal(g(np.ones(3, np.float32)), f(np.ones(3, np.float32)))
    text = janus.explain(g)
    assert "params[0] is " in text and text.count(" is ") >= 1
    assert g.stats.graph_calls >= 3


def test_recursive_module_function_called_by_its_global_name_profiles():
    for n in (3, 4, 5, 6):
        g = janus.jit(_fact, backend="reference")
        assert g(np.float32(n)) == _fact(np.float32(n))


def _fact(x):
    if x <= 1:
        return np.float32(1)
    return x * _fact(x - 1)


class _Scaled:
    def __init__(self, k):
        self.k = k

    def forward(self, x):
        return x * self.k  # one site, a different constant per object


def test_per_object_scalars_at_one_site_stay_guarded_constants():
    """Values that differ within a call but are the same every call (a stride per layer) are
    constants guarded per object, not a graph input; changing one later is still seen."""
    layers = [_Scaled(2), _Scaled(3)]

    def f(x):
        for layer in layers:
            x = layer.forward(x)
        return x

    g = janus.jit(f, backend="reference")
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    for _ in range(5):
        np.testing.assert_allclose(g(x), f(x), rtol=1e-6)
    assert g.stats.graph_calls == 3
    text = janus.explain(g)
    assert "[0].k == 2" in text and "[1].k == 3" in text and "per object" in text
    layers[1].k = 5  # a host guard on the value sees the change
    for _ in range(6):
        np.testing.assert_allclose(g(x), f(x), rtol=1e-6)
    assert g.stats.graph_calls >= 6


def test_a_failed_speculation_retires_its_graph_for_a_cond():
    W = np.eye(3, dtype=np.float32)

    def f(x):
        y = x @ W
        if y.sum() > 0:
            y = y * 2
        return y

    g = janus.jit(f, backend="reference")
    signs = [1, 1, 1, 1, -1, 1, -1, -1, 1]
    for s in signs:
        x = np.full(3, s, np.float32)
        np.testing.assert_array_equal(g(x), f(x))
    # calls 3-4 speculate (profile: positive only); call 5 fails the assertion and runs
    # imperatively; call 6 builds a graph with a cond, which serves both directions after
    assert g.stats.assumption_failures == 1 and g.stats.graphs_built == 2, janus.explain(g)
    assert g.stats.graph_calls == len(signs) - 3
    text = janus.explain(g)
    assert "retired after a failed speculation" in text and "cond(" in text


def test_a_loop_whose_break_moves_converts_once_with_a_cond_per_iteration():
    def f(x):
        total = np.zeros((), np.float32)
        for i in range(8):
            total = total + x.sum() * i
            if total > 20.0:
                break
        return total

    g = janus.jit(f, backend="reference")
    values = [0.1, 0.1, 1.0, 0.1, 5.0, 0.2, 2.0]  # the loop breaks at different iterations
    for v in values:
        x = np.full(2, v, np.float32)
        np.testing.assert_array_equal(g(x), f(x))
    assert g.stats.graphs_built == 1 and g.stats.graph_calls == len(values) - 2, janus.explain(g)

"""The public API: jit forms, configuration, errors, JANUS_DISABLE, explain, backends."""

import numpy as np
import pytest

import janus

W = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)


def f(x, scale=1.0):
    return np.tanh(x @ W) * scale


def _x():
    return np.ones((2, 3), np.float32)


def _served(g, calls=5, *args):
    for _ in range(calls):
        np.testing.assert_allclose(g(_x(), *args), f(_x(), *args), rtol=1e-6)
    return g.stats.graph_calls


def test_three_forms_of_jit():
    bare = janus.jit(f)
    with_args = janus.jit(backend="reference", config=janus.Config(profile_runs=1))(f)
    direct = janus.jit(f, backend="reference")
    assert _served(bare) == 3 and _served(with_args) == 4 and _served(direct) == 3
    assert bare._state.backend_name == "reference"  # chosen from the NumPy arguments


class Model:
    def __init__(self):
        self.w = W.copy()

    def forward(self, x):
        return np.tanh(x @ self.w)

    def __call__(self, x):
        return self.forward(x) + 1.0

    @janus.jit
    def decorated(self, x):
        return np.tanh(x @ self.w) * 2.0


def test_bound_methods_callable_objects_and_methods_in_classes():
    m = Model()
    g = janus.jit(m.forward, backend="reference")
    c = janus.jit(m, backend="reference")
    for _ in range(4):
        np.testing.assert_allclose(g(_x()), m.forward(_x()), rtol=1e-6)
        np.testing.assert_allclose(c(_x()), m(_x()), rtol=1e-6)
    assert g.stats.graph_calls == 2 and c.stats.graph_calls == 2
    a, b = Model(), Model()
    b.w = W * 2
    for obj in (a, b, a, b, a):  # instances share one jitted method; self is a guarded input
        np.testing.assert_allclose(obj.decorated(_x()), np.tanh(_x() @ obj.w) * 2.0, rtol=1e-6)
    assert Model.decorated.stats.graph_calls == 3 and Model.decorated.stats.graphs_built == 1


def test_config_is_frozen_and_compared_by_value():
    assert janus.Config(max_graphs=3) == janus.Config(max_graphs=3)
    with pytest.raises(Exception):
        janus.Config().max_graphs = 2
    with pytest.raises(Exception):
        janus.Config(unknown_option=1)
    with pytest.raises(TypeError, match="janus.Config"):
        janus.jit(f, config={"max_graphs": 2})


def test_unknown_backend_lists_the_installed_ones():
    with pytest.raises(janus.BackendNotFound, match=r"'nope'.*installed backends: .*reference"):
        janus.jit(f, backend="nope")
    assert "reference" in janus.backends()


def test_disable_runs_everything_imperatively(monkeypatch):
    monkeypatch.setenv("JANUS_DISABLE", "1")
    g = janus.jit(f, backend="reference")
    assert _served(g) == 0 and g.stats.imperative_calls == 5
    assert "JANUS_DISABLE" in janus.explain(g)


def test_unsupported_construct_under_fallback_raise_names_construct_file_and_line():
    def uses_generator(x):
        def gen():
            yield x

        return next(gen())  # generators run lazily on the host: the converter refuses them

    g = janus.jit(uses_generator, backend="reference", config=janus.Config(fallback="raise"))
    g(_x())
    g(_x())
    with pytest.raises(janus.JanusError) as e:
        g(_x())
    assert "generator function `gen`" in str(e.value) and "test_api.py:" in str(e.value)


def test_unsupported_construct_falls_back_with_the_reason_in_explain():
    def with_match(x):
        match x.ndim:
            case 2:
                return np.tanh(x)
            case _:
                return x

    g = janus.jit(with_match, backend="reference")
    for _ in range(4):
        np.testing.assert_array_equal(g(_x()), with_match(_x()))
    assert g.stats.graph_calls == 0 and g.stats.imperative_calls == 4
    assert "`Match` statement at test_api.py:" in janus.explain(g)


def test_try_converts_the_path_without_exceptions_and_handlers_run_imperatively():
    def f(x, items):
        try:
            y = np.tanh(x) * items[0]
        except IndexError:
            y = x
        finally:
            z = 1
        return y + z

    g = janus.jit(f, backend="reference")
    for items in ([2.0], [2.0], [2.0], [], [2.0]):
        np.testing.assert_array_equal(g(_x(), items), f(_x(), items))
    assert g.stats.graph_calls == 2 and g.stats.guard_misses == 1  # [] fails the guard on items[0]


def test_function_without_source_runs_imperatively_with_that_reason():
    ns = {"np": np}
    exec("def made(x):\n    return np.tanh(x) + 1\n", ns)
    g = janus.jit(ns["made"], backend="reference")
    for _ in range(4):
        np.testing.assert_array_equal(g(_x()), np.tanh(_x()) + 1)
    assert g.stats.graph_calls == 0
    assert "cannot be retrieved" in janus.explain(g)
    b = janus.jit(len)
    assert b([1, 2, 3]) == 3 and b.stats.imperative_calls == 1
    assert "not a Python function" in janus.explain(b)


def test_explain_shows_guards_with_source_lines_and_the_graph():
    g = janus.jit(f, backend="reference")
    _served(g, 3, 0.5)
    text = janus.explain(g)
    assert "specialization #1" in text and "test_api.py:" in text
    assert "x is a float32[2,3] tensor  (fails on another dtype, device or shape)" in text
    assert "call numpy.tanh" in text
    with pytest.raises(TypeError, match="janus.jit"):
        janus.explain(f)


def test_user_exceptions_pass_through_unchanged():
    def boom(x, k):
        return x[k]

    g = janus.jit(boom, backend="reference")
    for k in (0, 1, 0):
        np.testing.assert_array_equal(g(_x(), k), boom(_x(), k))
    with pytest.raises(IndexError):
        g(_x(), 7)

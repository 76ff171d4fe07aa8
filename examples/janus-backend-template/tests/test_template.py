"""The template backend's own tests.  Its conformance is checked by `janus.testing`:

pytest --janus-backend template
"""

import numpy as np
import pytest

import janus
from janus.plugin import plugins


def test_registered_through_its_entry_point():
    assert "template" in janus.backends()
    assert type(plugins.get("template")).__name__ == "TemplateBackend"


def test_numpy_arrays_stay_with_reference_unless_selected_by_name():
    assert plugins.claim(np.ones(2)) == "reference"
    f = janus.jit(lambda x: x * 2.0, backend="template")
    for _ in range(3):
        f(np.ones(2))
    assert "backend=template" in janus.explain(f)


def test_graphs_run_as_closures():
    W = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)

    @janus.jit(backend="template")
    def step(x, lr, n):
        for _ in range(n):
            x = np.tanh(x @ W) * lr
        return x

    x = np.ones((2, 4), np.float32)
    for i in range(6):
        np.testing.assert_allclose(step(x, 0.1 * i, 3), step.__wrapped__(x, 0.1 * i, 3), rtol=1e-6)
    assert step.stats.graph_calls >= 3
    assert "template closures" in janus.explain(step)


def test_control_flow_and_speculation():
    def f(x):
        total = x * 0.0
        while np.sum(total) < 10.0:
            total = total + x
        if np.sum(x) > 2.0:
            return total * 2.0
        return total

    g = janus.jit(f, backend="template")
    for v in [1.0, 1.0, 1.0, 0.5, 3.0, 0.5, 3.0]:
        x = np.full(2, v, np.float32)
        np.testing.assert_allclose(g(x), f(x))
    assert g.stats.graph_calls >= 3


def test_in_place_writes_are_committed_after_the_graph():
    def f(v, g):
        np.subtract(v, 0.5 * g, out=v)
        v[0] = 1.0
        return v.sum()

    g = janus.jit(f, backend="template")
    a, b = np.zeros(3, np.float32), np.zeros(3, np.float32)
    for _ in range(5):
        assert g(a, np.ones(3, np.float32)) == pytest.approx(f(b, np.ones(3, np.float32)))
        np.testing.assert_array_equal(a, b)
    assert g.stats.graph_calls == 3

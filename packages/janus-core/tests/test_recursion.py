"""Recursion over trees that differ on every call: one graph, the tree as data."""

import dataclasses

import numpy as np
import pytest

import janus

R = np.random.default_rng(0)
H = 8
EMB = R.standard_normal((50, H)).astype(np.float32)
W = (R.standard_normal((H, 2 * H)) * 0.3).astype(np.float32)
B = np.zeros(H, np.float32)


def random_tree(n):
    if n == 1:
        return int(R.integers(50))
    k = int(R.integers(1, n))
    return (random_tree(k), random_tree(n - k))


class TreeRNN:
    def __init__(self):
        self.emb, self.W, self.b = EMB, W, B

    def node(self, t):
        if isinstance(t, int):
            return self.emb[t]
        left = self.node(t[0])
        right = self.node(t[1])
        return np.tanh(self.W @ np.concatenate([left, right]) + self.b)

    def __call__(self, tree):
        return self.node(tree).sum()


def test_a_new_tree_every_call_is_served_by_one_graph():
    model = TreeRNN()
    g = janus.jit(model, backend="reference")
    trees = [random_tree(int(R.integers(2, 24))) for _ in range(100)]
    for t in trees:
        np.testing.assert_allclose(g(t), model(t), rtol=1e-5)
    assert g.stats.graphs_built <= g.config.max_graphs
    assert g.stats.graph_calls >= 90, janus.explain(g)
    text = janus.explain(g)
    assert "schedule(tree)" in text and "while(" in text


def test_leaf_only_tree_and_unseen_kind_fall_back_correctly():
    model = TreeRNN()
    g = janus.jit(model, backend="reference")
    for t in [((1, 2), 3), (4, (5, 6)), ((7, 8), (9, 10)), 11, (12, 13), ((1.5, 2), 3), (3, 4)]:
        try:
            expect = model(t)
        except Exception as e:
            with pytest.raises(type(e)):
                g(t)
            continue
        np.testing.assert_allclose(g(t), expect, rtol=1e-5)
    assert g.stats.graph_calls >= 3


def test_schedule_mode_can_be_switched_off():
    model = TreeRNN()
    g = janus.jit(model, backend="reference", config=janus.Config(recursion="inline"))
    trees = [random_tree(6) for _ in range(6)]
    for t in trees:
        np.testing.assert_allclose(g(t), model(t), rtol=1e-5)
    assert "schedule(" not in janus.explain(g)


def test_tensor_dependent_base_case_is_correct():
    def countdown(x):
        return x if x.item() <= 0 else countdown(x - 1) * 1.01

    g = janus.jit(countdown, backend="reference")
    for v in (3.0, 5.0, 1.0, 4.0):
        np.testing.assert_allclose(g(np.float64(v)), countdown(np.float64(v)))


class TreeLSTMish:
    """Nodes return (h, c) pairs, like a TreeLSTM."""

    def node(self, t):
        if isinstance(t, int):
            x = EMB[t]
            return np.tanh(x), x
        hl, cl = self.node(t[0])
        hr, cr = self.node(t[1])
        c = np.tanh(W @ np.concatenate([hl, hr])) + cl * 0.5 + cr * 0.5
        return np.tanh(c), c

    def __call__(self, tree):
        h, c = self.node(tree)
        return (h * c).sum()


def test_nodes_returning_tuples_use_one_buffer_per_result():
    model = TreeLSTMish()
    g = janus.jit(model, backend="reference")
    for _ in range(30):
        t = random_tree(int(R.integers(2, 16)))
        np.testing.assert_allclose(g(t), model(t), rtol=1e-5)
    assert g.stats.graph_calls >= 25 and g.stats.graphs_built <= 2
    assert "schedule(tree).buffer1" in janus.explain(g)


@pytest.mark.parametrize("levelwise", [True, False], ids=["level-by-level", "node-by-node"])
def test_both_schedule_forms_match_eager(levelwise):
    # backends with `map_regions` run a tree level by level (a batched `map` per height and
    # kind); the others run one loop iteration per node: both are exact
    model = TreeRNN()
    g = janus.jit(model, backend="reference")
    g(random_tree(3))  # the first call picks the backend instance
    backend = g._state.backend
    saved = backend.capabilities
    backend.capabilities = dataclasses.replace(saved, map_regions=levelwise)
    try:
        trees = [random_tree(int(R.integers(1, 20))) for _ in range(40)] + [7, (1, 2), ((1, 2), 3)]
        for t in trees:
            np.testing.assert_allclose(g(t), model(t), rtol=1e-5)
    finally:
        backend.capabilities = saved
    assert g.stats.graph_calls >= 35, janus.explain(g)
    assert ("map(" in janus.explain(g)) == levelwise


def test_map_node_verifies_and_interprets_row_by_row():
    from janus.ir.graph import Graph, Node, Region, Value
    from janus.ir.interpret import Interpreter
    from janus.ir.spec import TensorSpec
    from janus.ir.verifier import verify

    g = Graph("rows")
    x = g.add(Node("input", "x")).add_output(TensorSpec("float32", (None, 3)))
    s = g.add(Node("input", "s")).add_output(TensorSpec("float32", ()))
    row, scale = Value(TensorSpec("float32", (3,))), Value(TensorSpec("float32", ()))
    body = Region([row, scale])
    y = body.add(Node("call", np.multiply, (row, scale))).add_output(TensorSpec("float32", (3,)))
    body.add(Node("output", None, (y,)))
    stack = lambda rows, spec: np.stack(rows) if rows else np.zeros((0,) + spec.shape, spec.dtype)
    m = g.add(Node("map", stack, (x, s), {"batched": 1}, regions=[body]))
    out = m.add_output(TensorSpec("float32", (None, 3)))
    g.add(Node("output", None, (out,)))
    verify(g)
    xs = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(Interpreter(g).run([xs, np.float32(2)])[0], xs * 2)
    assert Interpreter(g).run([xs[:0], np.float32(2)])[0].shape == (0, 3)
    m.kwargs["batched"] = 3
    with pytest.raises(Exception, match="map"):
        verify(g)

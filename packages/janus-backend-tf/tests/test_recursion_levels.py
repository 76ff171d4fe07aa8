"""Recursion as data on TensorFlow: level by level, every node of one height and kind in
one `tf.vectorized_map`; the oracle is the same recursion run eagerly."""
import numpy as np
import tensorflow as tf

import janus

R = np.random.default_rng(5)
H = 6
EMB = tf.Variable(R.standard_normal((30, H)).astype(np.float32))
W = tf.Variable((R.standard_normal((H, 2 * H)) * 0.4).astype(np.float32))
U = tf.Variable((R.standard_normal((2 * H, 2 * H)) * 0.4).astype(np.float32))


def tree(n, lo=0):
    if n == 1:
        return int(R.integers(lo, 30))
    k = int(R.integers(1, n))
    return (tree(k, lo), tree(n - k, lo))


def close(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y)
        return
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def treernn():
    def node(t):
        if isinstance(t, int):
            return EMB[t]
        return tf.tanh(tf.linalg.matvec(W, tf.concat([node(t[0]), node(t[1])], 0)))

    def f(t):
        return node(t)
    return f


def test_level_by_level_matches_eager_with_one_graph():
    f = treernn()
    g = janus.jit(f, backend="tf")
    # negative word ids index from the end, as `EMB[t]` does eagerly; (1, -1) has height 1
    trees = [tree(int(R.integers(2, 20)), lo=-30) for _ in range(25)] + [(1, -1), ((2, 3), 4)]
    for t in trees:
        close(f(t), g(t))
    assert g.stats.graphs_built == 1 and g.stats.graph_calls == len(trees) - 2, janus.explain(g)
    text = janus.explain(g)
    assert text.count("map(") == 2  # the leaf kind before the loop, the inner kind in it


def test_tuple_results_and_two_payload_kinds():
    # a TreeLSTM-like node returning (h, c); leaves carry a word id, inner nodes a float gate
    def node(t):
        if isinstance(t, int):
            e = EMB[t]
            return tf.tanh(e), e
        (hl, cl), (hr, cr) = node(t[1]), node(t[2])
        z = tf.linalg.matvec(U, tf.concat([hl, hr], 0))
        i, o = tf.split(tf.sigmoid(z), 2)
        c = i * (cl + cr) * t[0]
        return o * tf.tanh(c), c

    def f(t):
        return node(t)

    def gated(n):
        if n == 1:
            return int(R.integers(30))
        k = int(R.integers(1, n))
        return (float(R.uniform(0.5, 1.5)), gated(k), gated(n - k))

    g = janus.jit(f, backend="tf")
    trees = [gated(int(R.integers(2, 12))) for _ in range(12)]
    for t in trees:
        close(f(t), g(t))
    assert g.stats.graphs_built == 1 and g.stats.graph_calls == 10, janus.explain(g)
    assert "map(" in janus.explain(g)

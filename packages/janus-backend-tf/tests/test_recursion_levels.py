"""Recursion as data on TensorFlow: level by level, every node of one height and kind in
one `tf.vectorized_map`; the oracle is the same recursion run eagerly."""

import operator

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


def test_batching_rules_agree_with_row_by_row_and_defer_unknown_ops():
    from janus.ir.graph import Node, Region, Value
    from janus.ir.spec import PySpec, TensorSpec
    from janus_tf.batching import run_batched

    row, word, gate, table = (
        Value(TensorSpec("float32", (6,))),
        Value(PySpec(int)),
        Value(PySpec(float)),
        Value(TensorSpec("float32", (30, 6))),
    )
    body = Region([row, word, gate, table])
    e = body.add(Node("call", operator.getitem, (table, word))).add_output(TensorSpec("float32", (6,)))
    cat = body.add(Node("call", tf.concat, ([row, e], 0))).add_output(TensorSpec("float32", (12,)))
    z = body.add(Node("call", tf.linalg.matvec, (W, cat))).add_output(TensorSpec("float32", (6,)))
    y = body.add(Node("call", operator.mul, (z, gate))).add_output(TensorSpec("float32", (6,)))
    body.add(Node("output", None, (y,)))
    rows = tf.constant(R.standard_normal((5, 6)).astype(np.float32))
    words = tf.constant([1, -1, 4, 29, 0], tf.int64)
    gates = tf.constant([0.5, 1.0, 2.0, -1.0, 0.0], tf.float64)  # Python floats ride as float64
    table = tf.convert_to_tensor(EMB)
    got = run_batched(body, [rows, words, gates], [table], None)[0]
    for i in range(5):
        want = tf.linalg.matvec(W, tf.concat([rows[i], EMB[int(words[i])]], 0)) * float(gates[i])
        close(want, got[i])
    body.nodes.insert(-1, Node("call", tf.math.cumsum, (y,)))  # no rule: pfor's job
    body.nodes[-2].add_output(TensorSpec("float32", (6,)))
    assert run_batched(body, [rows, words, gates], [table], None) is None

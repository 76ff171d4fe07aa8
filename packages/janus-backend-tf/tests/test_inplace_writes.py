"""Variable writes made in place in the graph (janus_tf/inplace.py), differentially against
eager TensorFlow: sparse and dense updates give eager's values to the last bit, the graph
holds the in-place op (not a whole-variable copy), and a write is made only when the call
succeeds (a failed speculation or an op error re-runs the call eagerly: one write, not two).
Each test asserts the calls a graph served (so a silent fallback fails)."""

import contextlib
import io

import numpy as np
import pytest
import tensorflow as tf

import janus

R = np.random.default_rng(11)
RAISE = janus.Config(fallback="raise")


def rand(*shape):
    return tf.constant(R.standard_normal(shape).astype(np.float32))


def same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def op_types(j):
    (spec,) = j._state.cache.values()
    return {op.type for op in spec.executable.concrete_function.graph.get_operations()}


class Embed(tf.Module):
    def __init__(self):
        super().__init__()
        r = np.random.default_rng(0)
        self.emb = tf.Variable(r.standard_normal((50, 4)).astype(np.float32))
        self.w = tf.Variable(r.standard_normal((4, 2)).astype(np.float32))


def _sgd_factory():
    model = Embed()

    def step(ids, y, lr):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.gather(model.emb, ids) @ model.w - y))
        for v, g in zip(model.trainable_variables, tape.gradient(loss, model.trainable_variables)):
            if isinstance(g, tf.IndexedSlices):
                v.scatter_sub(tf.IndexedSlices(lr * g.values, g.indices, g.dense_shape))
            else:
                v.assign_sub(lr * g)
        return loss

    return model, step


def test_sparse_and_dense_updates_are_made_in_place_with_eagers_values():
    (m1, eager), (m2, fn) = _sgd_factory(), _sgd_factory()
    j = janus.jit(fn, backend="tf", config=RAISE)
    for i in range(6):
        ids = tf.constant(R.integers(0, 50, size=8).astype(np.int32))  # repeated ids accumulate
        y, lr = rand(8, 2), 0.1 + 0.01 * i
        same(eager(ids, y, lr), j(ids, y, lr))
        for a, b in zip(m1.variables, m2.variables):
            same(a, b)
    assert j.stats.graph_calls == 4
    ops = op_types(j)
    assert {"ResourceScatterSub", "AssignSubVariableOp"} <= ops
    assert "TensorScatterSub" not in ops  # no whole-embedding copy


def test_a_write_read_later_in_the_call_keeps_its_value_and_the_old_one():
    v = tf.Variable([1.0, 2.0, 3.0])
    w = tf.Variable([1.0, 2.0, 3.0])

    def f(var, g):
        before = var * 1.0
        var.scatter_add(tf.IndexedSlices(g[:2], tf.constant([2, 0])))
        return before, var * 2.0, var.read_value()

    j = janus.jit(f, backend="tf", config=RAISE)
    for i in range(5):
        g = rand(3)
        for a, b in zip(f(v, g), j(w, g)):
            same(a, b)
        same(v, w)
    assert j.stats.graph_calls == 3


def test_a_print_of_the_variable_before_the_write_shows_the_old_value():
    v1, v2 = tf.Variable([1.0, 2.0]), tf.Variable([1.0, 2.0])

    def f(var, g):
        print("before", var.numpy())
        var.assign_add(g)
        return var

    j = janus.jit(f, backend="tf", config=RAISE)
    for _ in range(4):
        g = rand(2)
        out1, out2 = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out1):
            f(v1, g)
        with contextlib.redirect_stdout(out2):
            got = j(v2, g)
        assert out1.getvalue() == out2.getvalue()
        assert got is v2
        same(v1, v2)
    assert j.stats.graph_calls == 2


def test_a_failed_speculation_after_the_write_writes_once():
    v1, v2 = tf.Variable(np.zeros(3, np.float32)), tf.Variable(np.zeros(3, np.float32))

    def f(var, x):
        var.assign_add(x)
        if tf.reduce_sum(x) > 0:  # always true while profiling: speculated in the graph
            return x * 2.0
        return x * 3.0

    j = janus.jit(f, backend="tf")
    xs = [tf.abs(rand(3)) for _ in range(4)] + [-tf.abs(rand(3)), tf.abs(rand(3))]
    for x in xs:
        same(f(v1, x), j(v2, x))
        same(v1, v2)
    assert j.stats.assumption_failures == 1 and j.stats.graph_calls >= 2


def test_an_op_error_after_the_write_writes_once():
    v1, v2 = tf.Variable(np.zeros(3, np.float32)), tf.Variable(np.zeros(3, np.float32))

    def f(var, x, idx):
        var.assign_sub(x)
        return tf.gather(x, idx)

    j = janus.jit(f, backend="tf")
    for i in range(5):
        x = rand(3)
        idx = tf.constant([0, 7 if i == 4 else 1])  # out of range: both raise, after the write
        try:
            want = f(v1, x, idx)
        except tf.errors.InvalidArgumentError:
            with pytest.raises(tf.errors.InvalidArgumentError):
                j(v2, x, idx)
        else:
            same(want, j(v2, x, idx))
        same(v1, v2)
    assert j.stats.graph_calls == 2


def test_one_variable_by_two_parameters_is_written_as_eager_does():
    v1, v2 = tf.Variable([1.0, 2.0]), tf.Variable([1.0, 2.0])
    u1, u2 = tf.Variable([5.0, 6.0]), tf.Variable([5.0, 6.0])

    def f(a, b, g):
        a.assign_add(g)
        b.assign_sub(2.0 * g)
        return a + b

    j = janus.jit(f, backend="tf")
    for i in range(6):
        g = rand(2)
        pair1, pair2 = ((v1, u1), (v2, u2)) if i < 4 else ((v1, v1), (v2, v2))
        same(f(*pair1, g), j(*pair2, g))
        same(v1, v2)
        same(u1, u2)
    assert j.stats.graph_calls >= 2

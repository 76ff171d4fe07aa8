"""Eager semantics on TensorFlow (issue 12): shape checks of variable writes, variable
methods after a write in the graph."""

import numpy as np
import pytest
import tensorflow as tf

import janus


def test_assign_sub_of_another_shape_raises_like_eager():
    def f(w, x):
        w.assign_sub(x * 0.1)
        return w.read_value()

    g = janus.jit(f)
    w = tf.Variable([1.0, 2.0, 3.0])
    for _ in range(3):
        g(w, tf.ones([3]))
    before = w.numpy().copy()
    for _ in range(3):
        with pytest.raises(tf.errors.InvalidArgumentError):
            g(w, tf.ones([1]))
    np.testing.assert_array_equal(w.numpy(), before)


def test_variable_methods_after_a_write_in_the_graph():
    def f(v, x):
        v.assign_add(x)
        return v.read_value() * 2.0, v.value()

    g = janus.jit(f)
    a, b = tf.Variable([1.0, 2.0]), tf.Variable([1.0, 2.0])
    for _ in range(5):
        want, got = f(a, tf.ones([2])), g(b, tf.ones([2]))
        np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert g.stats.graph_calls >= 2, janus.explain(g)


def test_graphs_do_not_reassociate_float_arithmetic():
    # grappler would fold (x + 3) + 6 into x + 9, which rounds differently in float32
    def f(x):
        for _ in range(3):
            for i in range(0, 5, 2):
                x = x + i * 1.5
        return x, tf.reduce_sum(x)

    x = tf.constant([[0.245, -0.5, -0.18, -0.23]])
    g = janus.jit(f)
    for _ in range(3):
        got = g(x)
    want = f(x)
    assert g.stats.graph_calls >= 1
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

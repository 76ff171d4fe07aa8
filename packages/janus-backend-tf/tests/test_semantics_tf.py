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

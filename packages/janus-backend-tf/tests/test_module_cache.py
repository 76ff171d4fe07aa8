"""Guards over `model.trainable_variables` (janus_tf/module_cache.py): the walk over the
module tree is made once and kept until a module changes, and every kind of change —
an attribute set or deleted, a tracked list or dict mutated — is seen: the function then
runs with the new variables as eager does.  Differential against an eager twin."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.module import module as tf_module
from tensorflow.python.trackable import data_structures

import janus

R = np.random.default_rng(3)


def rand(*shape):
    return tf.constant(R.standard_normal(shape).astype(np.float32))


class Layer(tf.Module):
    def __init__(self, seed):
        super().__init__()
        self.w = tf.Variable(np.random.default_rng(seed).standard_normal((3, 3)).astype(np.float32))


class Net(tf.Module):
    def __init__(self):
        super().__init__()
        self.layers = [Layer(0), Layer(1)]
        self.table = {"a": Layer(2)}
        self.bias = tf.Variable(np.zeros(3, np.float32))


def _factory():
    net = Net()

    def step(x):
        variables = net.trainable_variables
        total = tf.add_n([tf.reduce_sum(v) for v in variables]) * 0.0 + float(len(variables))
        with tf.GradientTape() as tape:
            h = x
            for layer in net.layers:
                h = tf.tanh(h @ layer.w)
            loss = tf.reduce_sum(h) + tf.reduce_sum(net.bias)
        for v, g in zip(variables, tape.gradient(loss, variables)):
            if g is not None:
                v.assign_sub(0.1 * g)
        return loss + total

    return net, step


CHANGES = {
    "list append": lambda net, seed: net.layers.append(Layer(seed)),
    "list item replaced": lambda net, seed: net.layers.__setitem__(0, Layer(seed)),
    "list item deleted": lambda net, seed: net.layers.pop(),
    "attribute set": lambda net, seed: setattr(net, "extra", tf.Variable(np.ones(2, np.float32) * seed)),
    "attribute deleted": lambda net, seed: delattr(net, "bias") or setattr(net, "bias", tf.Variable([1.0, 2.0, 3.0])),
    "dict item set": lambda net, seed: net.table.__setitem__("b", Layer(seed)),
    "dict item popped": lambda net, seed: net.table.pop("a"),
    "submodule's attribute set": lambda net, seed: setattr(net.layers[1], "v", tf.Variable([float(seed)])),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_module_change_is_seen_by_the_next_call(change):
    (n1, eager), (n2, fn) = _factory(), _factory()
    j = janus.jit(fn, backend="tf")
    for i in range(8):
        if i == 5:
            CHANGES[change](n1, 7)
            CHANGES[change](n2, 7)
        x = rand(2, 3)
        np.testing.assert_array_equal(eager(x), j(x))
        assert [v.shape for v in n1.trainable_variables] == [v.shape for v in n2.trainable_variables]
        for a, b in zip(n1.trainable_variables, n2.trainable_variables):
            np.testing.assert_array_equal(a, b)
    assert j.stats.graph_calls >= 4


def test_the_module_walk_is_not_repeated_by_guards(monkeypatch):
    net, fn = _factory()
    j = janus.jit(fn, backend="tf")
    for _ in range(3):
        j(rand(2, 3))
    walks = []
    original = tf_module._flatten_module
    monkeypatch.setattr(tf_module, "_flatten_module", lambda *a, **k: walks.append(1) or original(*a, **k))
    before = j.stats.graph_calls
    for _ in range(5):
        j(rand(2, 3))
    assert j.stats.graph_calls == before + 5
    assert walks == []  # the graph-served calls did not walk the module tree


def test_a_module_holding_an_untracked_list_is_walked_every_time():
    net, fn = _factory()
    net2, fn2 = _factory()
    for n in (net, net2):  # stored without tracking: its changes are not counted
        n.loose = data_structures.NoDependency([])
    j = janus.jit(fn2, backend="tf")
    for i in range(7):
        if i == 4:
            net.loose.append(tf.Variable([5.0]))
            net2.loose.append(tf.Variable([5.0]))
        x = rand(2, 3)
        np.testing.assert_array_equal(fn(x), j(x))
    assert len(net2.trainable_variables) == 5

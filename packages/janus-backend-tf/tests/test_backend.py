"""TFBackend's value-level contract: specs, host guards, state-change and randomness checks."""

import random

import numpy as np
import pytest
import tensorflow as tf

from janus.ir.spec import PySpec, TensorSpec
from janus.plugin import plugins
from janus_tf.backend import VariableSpec


@pytest.fixture(scope="module")
def backend():
    return plugins.get("tf")


class _Names:
    def __init__(self):
        self.values = {}

    def __call__(self, obj):
        name = f"__k{len(self.values)}"
        self.values[name] = obj
        return name


def guard_fn(backend, spec):
    bind = _Names()
    src = backend.guard_source("x", spec, bind)
    return eval(f"lambda x: {src}", bind.values), src


def test_spec_of_tensors_and_variables(backend):
    assert backend.spec_of(tf.ones((2, 3))) == TensorSpec("float32", (2, 3), "cpu")
    assert backend.spec_of(tf.constant(3, tf.int64)) == TensorSpec("int64", (), "cpu")
    v = backend.spec_of(tf.Variable(tf.zeros((4,), tf.float64)))
    assert isinstance(v, VariableSpec) and (v.dtype, v.shape, v.device) == ("float64", (4,), "cpu")
    assert isinstance(v.relaxed({0}), VariableSpec) and v.relaxed({0}).shape == (None,)
    assert backend.owns(tf.ones(1)) and backend.owns(tf.Variable(1.0))
    assert not backend.owns(np.ones(1)) and not backend.owns(1.0)


@pytest.mark.parametrize("make", [tf.ones, lambda s: tf.Variable(tf.ones(s))], ids=["tensor", "variable"])
def test_guard_source_exact_and_relaxed(backend, make):
    exact, _ = guard_fn(backend, TensorSpec("float32", (2, 3)))
    assert exact(make((2, 3)))
    assert not exact(make((3, 3))) and not exact(make((2, 3, 1))) and not exact(make((6,)))
    assert not exact(tf.ones((2, 3), tf.float64)) and not exact(tf.Variable(tf.ones((2, 3), tf.int32)))
    relaxed, src = guard_fn(backend, TensorSpec("float32", (None, 3)))
    assert relaxed(make((7, 3))) and relaxed(make((0, 3)))
    assert not relaxed(make((7, 4))) and not relaxed(make((3,))) and not relaxed(tf.zeros((7, 3), tf.int32))
    assert "_shape_tuple" in src  # the fast path for eager tensors


def test_guard_on_scalar_and_matches_spec_of(backend):
    ok, _ = guard_fn(backend, backend.spec_of(tf.constant(1.5)))
    assert ok(tf.constant(2.5)) and not ok(tf.constant([2.5])) and not ok(tf.constant(2))


def test_is_mutating(backend):
    v = tf.Variable(1.0)
    assert backend.is_mutating(v.assign, [v, 2.0], {})
    assert backend.is_mutating(v.assign_sub, [v, 2.0], {})
    assert backend.is_mutating(v.scatter_update, [v], {})
    assert backend.is_mutating(tf.compat.v1.assign, [v, 1.0], {})
    assert backend.is_mutating(tf.raw_ops.AssignVariableOp, [], {})
    assert backend.is_mutating(tf.print, ["x"], {})
    assert not backend.is_mutating(tf.add, [1, 2], {})
    assert not backend.is_mutating(tf.tensor_scatter_nd_update, [tf.ones(2)], {})
    assert not backend.is_mutating(v.read_value, [v], {})


def test_is_random(backend):
    assert backend.is_random(tf.random.uniform) and backend.is_random(tf.random.normal)
    assert backend.is_random(tf.nn.dropout) and backend.is_random(tf.random.shuffle)
    assert backend.is_random(tf.random.Generator.from_seed(1).normal)
    assert not backend.is_random(tf.random.stateless_uniform)
    assert not backend.is_random(tf.matmul) and not backend.is_random(tf.tanh)


def test_preserve_state_restores_generators(backend):
    gen = tf.random.get_global_generator()
    random.seed(1), np.random.seed(1)
    state = gen.state.numpy().copy()
    with backend.preserve_state():
        random.random(), np.random.rand(), gen.normal([5])
    assert (gen.state.numpy() == state).all()
    after = (random.random(), np.random.rand())
    random.seed(1), np.random.seed(1)
    assert after == (random.random(), np.random.rand())


def test_to_python(backend):
    assert backend.to_python(tf.constant(0.1, tf.float64), PySpec(float)) == 0.1
    assert type(backend.to_python(tf.constant(3, tf.int64), PySpec(int))) is int
    assert backend.to_python(tf.constant(True), PySpec(bool)) is True
    assert backend.to_python(2, PySpec(float)) == 2.0

"""Lowering of hand-built IR graphs: cond, while, assertions guarding state changes,
Python-number arithmetic, and what is not lowered yet."""

import operator

import pytest
import tensorflow as tf

from janus.errors import AssumptionFailed
from janus.ir.graph import Graph, Node, Region, Value
from janus.ir.spec import PySpec, TensorSpec
from janus.plugin import plugins
from janus_tf.backend import VariableSpec

F32 = TensorSpec("float32", (3,))


def compile_(graph):
    return plugins.get("tf").compile(graph, None)


def add_input(g, name, spec):
    return g.add(Node("input", name)).add_output(spec, name)


def call(region, target, *args, spec=F32, op="call", **kwargs):
    return region.add(Node(op, target, args, kwargs)).add_output(spec)


def test_cond_picks_the_branch_at_run_time():
    g = Graph("cond")
    x = add_input(g, "x", F32)
    pred = call(
        g, operator.gt, call(g, tf.reduce_sum, x, spec=TensorSpec("float32", ())), 0.0, spec=TensorSpec("bool", ())
    )
    then_r, else_r = Region([Value(F32)]), Region([Value(F32)])
    then_r.add(Node("output", None, (call(then_r, operator.mul, then_r.params[0], 2.0),)))
    else_r.add(Node("output", None, (call(else_r, operator.sub, else_r.params[0], 100.0),)))
    node = g.add(Node("cond", None, (pred, x), regions=[then_r, else_r]))
    g.add(Node("output", None, (node.add_output(F32),)))
    exe = compile_(g)
    assert exe.describe().startswith("tf ConcreteFunction")
    assert exe.run([tf.ones(3)])[0].numpy().tolist() == [2.0, 2.0, 2.0]
    assert exe.run([-tf.ones(3)])[0].numpy().tolist() == [-101.0] * 3


def test_while_with_a_python_counter_and_bound():
    """for _ in range(n): x = x * 1.5 -- with n a Python-int graph input."""
    g = Graph("loop")
    x = add_input(g, "x", F32)
    n = add_input(g, "n", PySpec(int))
    zero = g.add(Node("const", 0)).add_output(PySpec(int))
    cond_r = Region([Value(PySpec(int)), Value(F32), Value(PySpec(int))])
    body_r = Region([Value(PySpec(int)), Value(F32), Value(PySpec(int))])
    cond_r.add(
        Node("output", None, (call(cond_r, operator.lt, cond_r.params[0], cond_r.params[2], spec=PySpec(bool)),))
    )
    i, xb, nb = body_r.params
    body_r.add(
        Node(
            "output",
            None,
            (call(body_r, operator.add, i, 1, spec=PySpec(int)), call(body_r, operator.mul, xb, 1.5), nb),
        )
    )
    node = g.add(Node("while", None, (zero, x, n), regions=[cond_r, body_r]))
    outs = [node.add_output(s) for s in (PySpec(int), F32, PySpec(int))]
    g.add(Node("output", None, (outs[1], outs[0])))
    exe = compile_(g)
    for steps in (0, 1, 4):
        y, count = exe.run([tf.ones(3), steps])
        assert y.numpy().tolist() == [1.5**steps] * 3 and int(count) == steps


def test_failed_assertion_raises_and_blocks_state_changes():
    g = Graph("guarded_write")
    x = add_input(g, "x", F32)
    v = add_input(g, "v", VariableSpec("float32", (3,)))
    pred = call(
        g, operator.gt, call(g, tf.reduce_sum, x, spec=TensorSpec("float32", ())), 0.0, spec=TensorSpec("bool", ())
    )
    g.add(Node("assert", "site.py:3: x > 0", (pred,), {"expect": True}))
    call(g, "assign_add", v, x, op="call_method")
    g.add(Node("output", None, (call(g, operator.mul, x, 2.0),)))
    exe = compile_(g)
    var = tf.Variable(tf.zeros(3))
    exe.run([tf.ones(3), var])
    assert var.numpy().tolist() == [1.0] * 3
    with pytest.raises(AssumptionFailed) as info:
        exe.run([-tf.ones(3), var])
    assert info.value.site == "site.py:3: x > 0"
    assert var.numpy().tolist() == [1.0] * 3  # the write did not happen


def test_python_number_arithmetic_promotes_like_python():
    g = Graph("scalars")
    n = add_input(g, "n", PySpec(int))
    lr = add_input(g, "lr", PySpec(float))
    half = call(g, operator.mul, n, 0.5, spec=PySpec(float))  # int * float const
    mixed = call(g, operator.add, n, lr, spec=PySpec(float))  # int input + float input
    div = call(g, operator.truediv, n, 4, spec=PySpec(float))
    fdiv = call(g, operator.floordiv, n, -4, spec=PySpec(int))
    g.add(Node("output", None, (half, mixed, div, fdiv)))
    exe = compile_(g)
    backend = plugins.get("tf")
    outs = [backend.to_python(o, v.spec) for o, v in zip(exe.run([7, 0.1]), (half, mixed, div, fdiv))]
    assert outs == [3.5, 7.1, 1.75, -2] and type(outs[3]) is int


def test_invoke_is_not_an_opcode():
    # the IR has no graph-function call: a node that claims one is refused when built
    with pytest.raises(ValueError, match="unknown IR opcode 'invoke'"):
        Node("invoke", Graph("inner"), ())

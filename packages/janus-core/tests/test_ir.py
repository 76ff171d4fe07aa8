"""The IR: stable printing, actionable verification, and the default passes."""

import operator

import numpy as np
import pytest

from janus.errors import IRError
from janus.ir import Graph, Node, PySpec, TensorSpec, format_graph, verify
from janus.ir.interpret import Interpreter
from janus.ir.passes import common_subexpression_elimination, constant_folding, dead_code_elimination

F32 = TensorSpec("float32", (2, 3))


def _graph():
    g = Graph("demo")
    x = g.add(Node("input", "x")).add_output(F32, "x")
    a = g.add(Node("call", np.tanh, (x,))).add_output(F32)
    b = g.add(Node("call", np.tanh, (x,))).add_output(F32)  # duplicate of a
    g.add(Node("call", np.exp, (x,))).add_output(F32)  # dead
    two = g.add(Node("call", operator.add, (1, 1))).add_output(PySpec(int))
    s = g.add(Node("call", operator.mul, (a, two))).add_output(F32)
    t = g.add(Node("call", operator.add, (s, b))).add_output(F32)
    g.add(Node("output", None, (t,)))
    return g


def test_printer_is_stable_and_readable():
    text = format_graph(_graph())
    assert text == format_graph(_graph())
    assert "%x: float32[2,3] = input x" in text
    assert "call numpy.tanh(%x)" in text
    assert text.splitlines()[-1].strip().startswith("return (")


def test_interpreter_runs_a_graph():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (out,) = Interpreter(_graph()).run([x])
    np.testing.assert_allclose(out, np.tanh(x) * 2 + np.tanh(x), rtol=1e-6)


def test_passes_fold_merge_and_remove():
    g = _graph()
    x = np.ones((2, 3), np.float32)
    (before,) = Interpreter(g).run([x])
    assert constant_folding(g) == 1
    assert common_subexpression_elimination(g) == 1
    dead_code_elimination(g)
    text = format_graph(g)
    assert "numpy.exp" not in text and text.count("numpy.tanh") == 1 and "const 2" in text
    verify(g)
    (after,) = Interpreter(g).run([x])
    np.testing.assert_array_equal(before, after)


def test_passes_keep_random_calls():
    g = Graph("rng")
    g.add(Node("call", np.random.rand, (3,))).add_output(TensorSpec("float64", (3,)))
    g.add(Node("output", None, ()))
    assert dead_code_elimination(g, lambda t: "rand" in getattr(t, "__name__", "")) == 0
    assert len(g.nodes) == 2


def test_verifier_reports_use_before_definition_and_missing_output():
    g = Graph("bad")
    x = Node("input", "x")
    v = x.add_output(F32)
    g.add(Node("call", np.tanh, (v,))).add_output(F32)  # x not added yet
    g.add(x)
    with pytest.raises(IRError) as e:
        verify(g)
    msg = str(e.value)
    assert "before it is defined" in msg and "no `output` node" in msg


def test_unknown_opcode_is_rejected_with_the_known_ones():
    with pytest.raises(ValueError, match="known: input, const"):
        Node("jump")


def test_cond_and_while_regions_run_in_the_interpreter():
    from janus.ir import Region

    g = Graph("loop")
    n = g.add(Node("input", "n")).add_output(PySpec(int))
    i0 = g.add(Node("const", 0)).add_output(PySpec(int))
    cond_r = Region([_v := Node("input", "p").add_output(PySpec(int))])
    lt = cond_r.add(Node("call", operator.lt, (_v, n))).add_output(PySpec(bool))
    cond_r.add(Node("output", None, (lt,)))
    body_r = Region([_w := Node("input", "q").add_output(PySpec(int))])
    inc = body_r.add(Node("call", operator.add, (_w, 1))).add_output(PySpec(int))
    body_r.add(Node("output", None, (inc,)))
    w = g.add(Node("while", None, (i0,), regions=[cond_r, body_r]))
    out = w.add_output(PySpec(int))
    g.add(Node("output", None, (out,)))
    verify(g)
    assert Interpreter(g).run([5]) == [5]
    assert "while(" in format_graph(g)

"""Variable writes made in place, in the graph, instead of written back after it.

The converter functionalizes `v.assign_sub(g)` / `v.scatter_sub(slices)`: the graph
computes the variable's new value out of place (a whole-tensor copy, even for a sparse
update of a few rows), returns it, and the runtime assigns it after the graph (a second
copy).  For a 100k-row embedding that is two full copies per step where eager writes a
few rows.

So when a graph result is the final value of a variable input, made by one write from
the variable's value at the call (no earlier write in the call), the trace also makes
that very write on the variable (`ResourceScatterSub`, `AssignSubVariableOp`: eager's
op) at the end of the graph, after every assertion and every other op (a graph that
fails or whose speculation fails has written nothing: the runtime re-runs the call
eagerly).  The result is then the variable itself; committing it into itself is a
no-op (`functional.assign_variable`), and the out-of-place value is pruned from the
graph unless a later read in the call uses it.

Not done (the write stays out of place) when the variable is fed twice (aliasing), when
the graph also returns the variable as it was (a print or host read of it before the
write, committed after the graph, must not see the new value), or when the write is
under graph control flow.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import tensorflow as tf

from janus.ir.graph import Graph, Node, Value

from .variable_spec import VariableSpec


def in_place_writes(graph: Graph, per_input: Sequence[int]) -> Dict[int, Tuple[int, Node]]:
    """result position -> (input position, write node), for the results that are a
    variable input's value after one write made in place.  `per_input[k]` is the first
    input that is the same variable as input k."""
    inputs = {n.out.id: k for k, n in enumerate(graph.inputs)}
    top = {id(n) for n in graph.nodes}
    results = list(graph.results)
    returned = {r.id for r in results if isinstance(r, Value)}
    shared = {per_input[k] for k in range(len(per_input)) if per_input[k] != k}
    found: Dict[int, Tuple[int, Node]] = {}
    written: Dict[int, Any] = {}
    for pos, value in enumerate(results):
        node = value.node if isinstance(value, Value) else None
        if node is None or id(node) not in top or node.op != "call" or not getattr(node.target, "janus_write", None):
            continue
        var = node.args[0] if node.args else None
        k = inputs.get(var.id) if isinstance(var, Value) else None
        if k is None or not isinstance(graph.inputs[k].out.spec, VariableSpec):
            continue
        if per_input[k] != k or k in shared or var.id in returned or written.get(k, node) is not node:
            continue
        written[k] = node
        found[pos] = (k, node)
    return found


def unused_elsewhere(graph: Graph, writes: Dict[int, Tuple[int, Node]]) -> set:
    """id() of the write nodes whose out-of-place value no other node reads: not lowered
    at all (their dense read of the variable would be kept alive by the write's ordering,
    and a variable accessed sparsely copies itself on every dense read)."""
    used = {v.id for n in graph.walk() if n.op != "output" for v in n.input_values()}
    return {id(node) for _, node in writes.values() if node.out.id not in used}


def state_ops(graph: Any) -> List[Any]:
    """The ops of the trace so far that change or read state (run whether or not an
    output needs them): an in-place write waits for them all."""
    return [op for op in graph.get_operations() if op._is_stateful]


def write_deps(flat: Sequence[Any], asserts: Sequence[Any]) -> List[Any]:
    """What an in-place write at the end of the graph waits for: every assertion, every
    result, every stateful op."""
    deps = [x for x in list(asserts) + list(flat) if x is not None]
    return deps + state_ops(tf.compat.v1.get_default_graph())

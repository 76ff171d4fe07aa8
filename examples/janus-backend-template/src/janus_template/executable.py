"""Lowering: a JANUS IR graph compiled once into a chain of Python closures.

`compile` walks each region once, dispatching on the opcode (docs/ir.md lists them),
and gives every value a slot in a list; running the graph then calls one closure per
node, with no dispatch left.  A backend for a real framework does the same walk, but
builds its framework's graph instead of closures (`janus.Interpreter` can be subclassed
for that, as the torch and TensorFlow backends do).

Regions reaching a backend are closed: they read only their parameters, so each region
compiles to a function from its parameters' values to its results.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence

import janus

Frame = List[Any]
Reader = Callable[[Frame], Any]


class ClosureExecutable(janus.Executable):
    def __init__(self, graph: janus.Graph) -> None:
        self.name = graph.name
        self._run = compile_region(graph, [n.out for n in graph.inputs])

    def run(self, inputs: Sequence[Any]) -> Sequence[Any]:
        # AssumptionFailed from an `assert` node reaches the runtime, which re-runs the call
        return self._run(inputs)

    def describe(self) -> str:
        return f"template closures ({self.name})"


def compile_region(region: janus.Region, params: Sequence[janus.Value]) -> Callable[[Sequence[Any]], List[Any]]:
    """A function from the values of `params` to the region's results."""
    slots: Dict[int, int] = {p.id: i for i, p in enumerate(params)}
    steps = []
    results: Reader = lambda frame: []
    for node in region.nodes:
        if node.op == "input":
            continue  # bound to the graph's parameters above
        if node.op == "output":
            results = reader(node.args, slots)
            break
        compute = LOWER[node.op](node, slots)
        outs = []
        for value in node.outputs:
            slots[value.id] = len(slots)
            outs.append(slots[value.id])
        steps.append((compute, outs))
    size = len(slots)

    def run(values: Sequence[Any]) -> List[Any]:
        frame = list(values) + [None] * (size - len(values))
        for compute, outs in steps:
            result = compute(frame)
            if len(outs) == 1:
                frame[outs[0]] = result
            elif outs:
                for slot, r in zip(outs, result):
                    frame[slot] = r
        return list(results(frame))

    return run


def reader(arg: Any, slots: Dict[int, int]) -> Reader:
    """A function reading `arg` (Values anywhere in tuples, lists, dicts, slices) from a frame."""
    if isinstance(arg, janus.Value):
        slot = slots[arg.id]
        return lambda frame: frame[slot]
    kind = type(arg)
    if kind in (tuple, list):
        parts = [reader(a, slots) for a in arg]
        return lambda frame: kind(p(frame) for p in parts)
    if kind is dict:
        items = [(k, reader(v, slots)) for k, v in arg.items()]
        return lambda frame: {k: p(frame) for k, p in items}
    if kind is slice:
        start, stop, step = (reader(x, slots) for x in (arg.start, arg.stop, arg.step))
        return lambda frame: slice(start(frame), stop(frame), step(frame))
    return lambda frame: arg  # a constant


def _results(node: janus.Node, values: List[Any]) -> Any:
    return values[0] if len(node.outputs) == 1 else values


def lower_const(node: janus.Node, slots: Dict[int, int]) -> Reader:
    value = node.target
    return lambda frame: value


def lower_call(node: janus.Node, slots: Dict[int, int]) -> Reader:
    target, args, kwargs = node.target, reader(node.args, slots), reader(node.kwargs, slots)
    return lambda frame: target(*args(frame), **kwargs(frame))


def lower_call_method(node: janus.Node, slots: Dict[int, int]) -> Reader:
    name, args, kwargs = node.target, reader(node.args, slots), reader(node.kwargs, slots)

    def call(frame: Frame) -> Any:
        receiver, *rest = args(frame)
        return getattr(receiver, name)(*rest, **kwargs(frame))

    return call


def lower_cond(node: janus.Node, slots: Dict[int, int]) -> Reader:
    args = reader(node.args, slots)
    then, orelse = (compile_region(r, r.params) for r in node.regions)

    def cond(frame: Frame) -> Any:
        predicate, *operands = args(frame)
        return _results(node, (then if bool(predicate) else orelse)(operands))

    return cond


def lower_while(node: janus.Node, slots: Dict[int, int]) -> Reader:
    args = reader(node.args, slots)
    condition, body = (compile_region(r, r.params) for r in node.regions)

    def loop(frame: Frame) -> Any:
        carried = args(frame)
        while bool(condition(carried)[0]):
            carried = body(carried)
        return _results(node, list(carried))

    return loop


def lower_assert(node: janus.Node, slots: Dict[int, int]) -> Reader:
    predicate, expect, site = reader(node.args[0], slots), node.kwargs.get("expect", True), node.target

    def check(frame: Frame) -> None:
        if bool(predicate(frame)) is not expect:
            raise janus.AssumptionFailed(site)

    return check


def lower_map(node: janus.Node, slots: Dict[int, int]) -> Reader:
    # only reaches backends declaring Capabilities(map_regions=True); say so if it ever does
    raise janus.Unsupported("a `map` node", node.site or "", "the template backend does not lower map regions")


#: one lowering per opcode of janus.OPCODES (input and output are handled by compile_region)
LOWER: Dict[str, Callable[[janus.Node, Dict[int, int]], Reader]] = {
    "const": lower_const,
    "call": lower_call,
    "call_method": lower_call_method,
    "cond": lower_cond,
    "while": lower_while,
    "assert": lower_assert,
    "map": lower_map,
}

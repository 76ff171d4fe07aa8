"""The JANUS IR: a structured SSA dataflow graph with regions for control flow.

Every opcode is defined here, in `OPCODES`, with what it means; the verifier, the
printer and every backend's lowering dispatch on `Node.op`.  A `call` node keeps the
real callable (``torch.tanh``, ``operator.add``), so lowering a node means calling its
target on the backend's symbolic values.
"""

from __future__ import annotations

import itertools
import keyword
import re
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

OPCODES: Dict[str, str] = {
    "input": "a graph input; `target` is its source (argument, global, closure cell, attribute path)",
    "const": "a constant; `target` is the value",
    "call": "call `target` (a framework callable or a Python operator) on `args`/`kwargs`",
    "call_method": "call the method named `target` on `args[0]` with the rest of `args`/`kwargs`",
    "cond": "if `args[0]` then region 0 else region 1, each called with `args[1:]`",
    "while": "loop-carried `args`; region 0 maps them to a predicate, region 1 to the next values",
    "map": "region 0 applied to each row of the first `kwargs['batched']` args (the rest passed whole); "
    "the outputs stack its per-row results; `target(rows, spec)` stacks rows (reference semantics)",
    "assert": "speculation checked on the device: `args[0]` must be true; `target` names the site",
    "output": "the results of a graph or region",
}

#: opcodes whose nodes may be removed when their results are unused
PURE_OPCODES = frozenset({"input", "const", "call", "call_method", "cond", "while", "map"})


class Value:
    """One SSA value: produced by exactly one node (or a region parameter)."""

    __slots__ = ("id", "spec", "node", "name", "__weakref__")
    _ids = itertools.count()

    def __init__(self, spec: Any, node: Optional[Node] = None, name: Optional[str] = None):
        self.id = next(Value._ids)
        self.spec = spec
        self.node = node
        self.name = name

    def __repr__(self) -> str:
        return f"%{self.name or self.id}"


class Node:
    __slots__ = ("op", "target", "args", "kwargs", "outputs", "regions", "site", "meta")

    def __init__(
        self,
        op: str,
        target: Any = None,
        args: Sequence = (),
        kwargs: Optional[dict] = None,
        regions: Sequence[Region] = (),
        site: Optional[str] = None,
    ):
        if op not in OPCODES:
            raise ValueError(f"unknown IR opcode {op!r}; known: {', '.join(OPCODES)}")
        self.op = op
        self.target = target
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.outputs: List[Value] = []
        self.regions = list(regions)
        self.site = site
        self.meta: Dict[str, Any] = {}

    @property
    def out(self) -> Value:
        return self.outputs[0]

    def add_output(self, spec: Any, name: Optional[str] = None) -> Value:
        v = Value(spec, self, name)
        self.outputs.append(v)
        return v

    def input_values(self) -> List[Value]:
        """Every Value this node reads in its args and kwargs."""
        found: List[Value] = []

        def note(v: Value) -> Value:
            found.append(v)
            return v

        map_values((self.args, self.kwargs), note)
        return found

    def __repr__(self) -> str:
        return f"<Node {self.op} {target_name(self.target)}>"


class Region:
    """A block of nodes with parameters and results (a graph body, a branch, a loop body)."""

    def __init__(self, params: Sequence[Value] = ()):
        self.params: List[Value] = list(params)
        self.nodes: List[Node] = []

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    @property
    def results(self) -> tuple:
        for n in reversed(self.nodes):
            if n.op == "output":
                return n.args
        return ()

    def walk(self) -> Iterator[Node]:
        """Every node, including those inside nested regions, in program order."""
        for n in self.nodes:
            yield n
            for r in n.regions:
                yield from r.walk()


class Graph(Region):
    """A top-level graph: its `input` nodes read from sources, its `output` node returns.

    `name` is a Python identifier (backends name generated functions and modules after
    it): `Graph("Model.<locals>.step")` is named `Model_locals_step`; `title` keeps the
    text it was given."""

    def __init__(self, name: str = "graph"):
        super().__init__()
        self.title = name
        self.name = identifier(name)

    @property
    def inputs(self) -> List[Node]:
        return [n for n in self.nodes if n.op == "input"]

    @property
    def input_values(self) -> List[Value]:
        return [n.out for n in self.inputs]


def identifier(text: str) -> str:
    """`text` as a Python identifier: runs of other characters become one `_`."""
    name = re.sub(r"\W+", "_", text).strip("_") or "graph"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "_" + name
    return name


def map_values(arg: Any, fn: Callable[[Value], Any]) -> Any:
    """Apply `fn` to every Value inside a (nested) node argument, like fx's `map_arg`."""
    if isinstance(arg, Value):
        return fn(arg)
    t = type(arg)
    if t is tuple or t is list:
        return t(map_values(a, fn) for a in arg)
    if t is dict:
        return {k: map_values(v, fn) for k, v in arg.items()}
    if t is slice:
        return slice(map_values(arg.start, fn), map_values(arg.stop, fn), map_values(arg.step, fn))
    return arg


def target_name(target: Any) -> str:
    """A stable, readable name for a call target (used by the printer and in messages)."""
    if isinstance(target, str):
        return target
    if isinstance(target, Graph):
        return f"@{target.name}"
    mod = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    if name is None:
        return repr(target)
    if mod in (None, "builtins", "_operator", "operator"):
        return ("operator." if mod in ("_operator", "operator") else "") + name
    short = mod.split(".")[0]
    return f"{short}.{name}"

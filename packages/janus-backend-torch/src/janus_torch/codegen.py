"""Control flow for the fx tier as generated straight-line Python.

A `cond` or `while` node of the IR (with everything nested in its regions) becomes ONE
generated Python function: branches are `if`/`else` blocks, loops are `while` loops,
region parameters are plain local variables and every call is a direct call of its
target.  So a loop iteration costs only the ops it runs (no sub-GraphModule call, no
tuple packing per region).  The fx graph calls the generated function as one node.

Two peepholes matter for recursion as data (host schedules are Python lists, see
`TorchBackend.from_numpy`): `lst[(i, j)]` on a list-typed value becomes `lst[i][j]`, and
the loop buffer write `setitem_functional(buf, i, r)` on a list becomes `buf[i] = r`
(the buffer is a fresh list per call, never seen by anyone else).
"""

from __future__ import annotations

import itertools
import math
import operator
from typing import Any, Callable, Dict, List, Sequence

import torch

from janus.errors import AssumptionFailed, Unsupported
from janus.ir.graph import Node, Region, Value
from janus.ir.spec import PySpec

from .call_effects import draws_random

_counter = itertools.count()
_OPS = {
    operator.add: "+",
    operator.sub: "-",
    operator.mul: "*",
    operator.truediv: "/",
    operator.floordiv: "//",
    operator.mod: "%",
    operator.matmul: "@",
    operator.pow: "**",
    operator.lt: "<",
    operator.le: "<=",
    operator.gt: ">",
    operator.ge: ">=",
    operator.eq: "==",
    operator.ne: "!=",
    operator.and_: "&",
    operator.or_: "|",
    operator.xor: "^",
}
_UNARY = {operator.neg: "-", operator.pos: "+", operator.invert: "~"}


def _is_list_value(v: Any) -> bool:
    return (
        isinstance(v, Value)
        and isinstance(v.spec, PySpec)
        and isinstance(v.spec.type, type)
        and issubclass(v.spec.type, (list, tuple))
    )


class RegionCodegen:
    def __init__(self, setitem_functional: Callable = None):
        self.ns: Dict[str, Any] = {"AssumptionFailed": AssumptionFailed, "torch": torch}
        self.names: Dict[int, str] = {}
        self.lines: List[str] = []
        self.setitem_functional = setitem_functional
        self.n_ops = 0
        self.random = False
        self._bound: Dict[int, str] = {}

    # -- names ---------------------------------------------------------------------------
    def bind(self, obj: Any, hint: str = "c") -> str:
        key = id(obj)
        if key in self._bound:
            return self._bound[key]
        name = f"_{hint}{len(self.ns)}"
        self.ns[name] = obj
        self._bound[key] = name
        return name

    def var(self, v: Value) -> str:
        name = self.names.get(v.id)
        if name is None:
            name = f"v{len(self.names)}"
            self.names[v.id] = name
        return name

    def arg(self, a: Any) -> str:
        if isinstance(a, Value):
            if a.id not in self.names:
                raise Unsupported("control flow reading an unknown value", "", f"internal: {a!r} is not bound")
            return self.names[a.id]
        t = type(a)
        if t is tuple:
            inner = ", ".join(self.arg(x) for x in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        if t is list:
            return "[" + ", ".join(self.arg(x) for x in a) + "]"
        if t is dict and all(type(k) is str for k in a):
            return "{" + ", ".join(f"{k!r}: {self.arg(v)}" for k, v in a.items()) + "}"
        if t is slice:
            return f"slice({self.arg(a.start)}, {self.arg(a.stop)}, {self.arg(a.step)})"
        if t in (bool, int, str, type(None)) or (t is float and math.isfinite(a)):
            return repr(a)
        return self.bind(a)

    # -- code ----------------------------------------------------------------------------
    def emit(self, nodes: Sequence[Node], ind: str) -> List[Any]:
        """Lines for `nodes` at indentation `ind`; returns the region's output args."""
        for node in nodes:
            op = node.op
            if op == "input":
                continue
            if op == "output":
                return list(node.args)
            if op == "const":
                self.lines.append(f"{ind}{self.var(node.out)} = {self.arg(node.target)}")
            elif op in ("call", "call_method"):
                self.n_ops += 1
                self.random = self.random or draws_random(node.target)
                self.call(node, ind)
            elif op == "assert":
                expect = bool(node.kwargs.get("expect", True))
                self.lines.append(
                    f"{ind}if bool({self.arg(node.args[0])}) is not {expect!r}: "
                    f"raise AssumptionFailed({str(node.target)!r})"
                )
            elif op == "cond":
                self.cond(node, ind)
            elif op == "while":
                self.while_(node, ind)
            else:
                raise Unsupported(
                    f"IR opcode {op!r} inside control flow", node.site or "", "unknown to the torch backend"
                )
        return []

    def call(self, node: Node, ind: str) -> None:
        args, kwargs, target = node.args, node.kwargs, node.target
        if node.op == "call_method":
            rest = [self.arg(a) for a in args[1:]] + [f"{k}={self.arg(v)}" for k, v in kwargs.items()]
            expr = f"{self.arg(args[0])}.{target}({', '.join(rest)})"
        elif target is operator.getitem and not kwargs and len(args) == 2:
            obj, idx = args
            if _is_list_value(obj) and type(idx) is tuple:  # list.__getitem__: skips Rows' Python method
                expr = f"{self.bind(list.__getitem__, 'lget')}({self.arg(obj)}, {self.arg(idx[0])})" + "".join(
                    f"[{self.arg(i)}]" for i in idx[1:]
                )
            else:
                expr = f"{self.arg(obj)}[{self.arg(idx)}]"
        elif target is self.setitem_functional and self.setitem_functional is not None and _is_list_value(args[0]):
            buf = self.arg(args[0])
            self.lines.append(f"{ind}{buf}[{self.arg(args[1])}] = {self.arg(args[2])}")
            expr = buf
        elif not kwargs and len(args) == 2 and target in _OPS:
            expr = f"({self.arg(args[0])} {_OPS[target]} {self.arg(args[1])})"
        elif not kwargs and len(args) == 1 and target in _UNARY:
            expr = f"({_UNARY[target]}{self.arg(args[0])})"
        else:
            parts = [self.arg(a) for a in args] + [f"{k}={self.arg(v)}" for k, v in kwargs.items()]
            expr = f"{self.bind(target, 'f')}({', '.join(parts)})"
        self.assign(node, expr, ind)

    def assign(self, node: Node, expr: str, ind: str) -> None:
        if not node.outputs:
            self.lines.append(f"{ind}{expr}")
        elif len(node.outputs) == 1:
            self.lines.append(f"{ind}{self.var(node.out)} = {expr}")
        else:
            tmp = f"_t{next(_counter)}"
            self.lines.append(f"{ind}{tmp} = {expr}")
            for i, v in enumerate(node.outputs):
                self.lines.append(f"{ind}{self.var(v)} = {tmp}[{i}]")

    def cond(self, node: Node, ind: str) -> None:
        pred, *operands = node.args
        outs = [self.var(v) for v in node.outputs]
        self.lines.append(f"{ind}if {self.arg(pred)}:")
        for k, region in enumerate(node.regions):
            if k == 1:
                self.lines.append(f"{ind}else:")
            self.alias_params(region, operands)
            start = len(self.lines)
            results = self.emit(region.nodes, ind + "    ")
            if len(outs) == 1:
                self.lines.append(f"{ind}    {outs[0]} = {self.arg(results[0])}")
            elif outs:
                self.lines.append(f"{ind}    {', '.join(outs)} = {', '.join(self.arg(r) for r in results)}")
            elif len(self.lines) == start:
                self.lines.append(f"{ind}    pass")

    def alias_params(self, region: Region, operands: Sequence[Any]) -> None:
        for p, a in zip(region.params, operands):
            if isinstance(a, Value):
                self.names[p.id] = self.arg(a)
            else:  # a constant operand
                self.names[p.id] = self.arg(a)

    def _simple_test(self, cond_r: Region):
        """The loop test as one expression when the condition region is one comparison."""
        calls = [n for n in cond_r.nodes if n.op != "output"]
        if (
            len(calls) != 1
            or calls[0].op != "call"
            or calls[0].target not in _OPS
            or calls[0].kwargs
            or len(calls[0].args) != 2
            or cond_r.results != (calls[0].out,)
        ):
            return None
        a, b = calls[0].args
        self.n_ops += 1
        return f"{self.arg(a)} {_OPS[calls[0].target]} {self.arg(b)}"

    def while_(self, node: Node, ind: str) -> None:
        cond_r, body_r = node.regions
        loop = [f"w{next(_counter)}_{i}" for i in range(len(node.args))]
        if loop:
            self.lines.append(
                f"{ind}{', '.join(loop)}{',' if len(loop) == 1 else ''} = "
                f"{', '.join(self.arg(a) for a in node.args)}{',' if len(node.args) == 1 else ''}"
            )
        for region in (cond_r, body_r):
            for p, name in zip(region.params, loop):
                self.names[p.id] = name
        test = self._simple_test(cond_r)
        if test is not None:  # `while i < n:` — no temporary, no break
            self.lines.append(f"{ind}while {test}:")
        else:
            self.lines.append(f"{ind}while True:")
            res = self.emit(cond_r.nodes, ind + "    ")
            self.lines.append(f"{ind}    if not {self.arg(res[0])}: break")
        res = self.emit(body_r.nodes, ind + "    ")
        # loop-invariant values (passed through unchanged) are not reassigned every iteration
        moved = [(name, self.arg(r)) for name, r in zip(loop, res) if self.arg(r) != name]
        if moved:
            self.lines.append(
                f"{ind}    {', '.join(n for n, _ in moved)}{',' if len(moved) == 1 else ''} = "
                f"{', '.join(e for _, e in moved)}{',' if len(moved) == 1 else ''}"
            )
        for v, name in zip(node.outputs, loop):
            self.lines.append(f"{ind}{self.var(v)} = {name}")


def compile_control(node: Node, free: List[Value], setitem_functional=None):
    """A Python function `(node.args values..., free values...) -> tuple(node outputs)`
    running the cond/while `node`; also returns (n_ops, draws_random)."""
    gen = RegionCodegen(setitem_functional)
    params = []
    arg_vals = [a for a in node.args if isinstance(a, Value)]
    seen = set()
    for v in arg_vals + list(free):
        if v.id in seen:
            continue
        seen.add(v.id)
        params.append(gen.var(v))
    if node.op == "cond":
        gen.cond(node, "    ")
    else:
        gen.while_(node, "    ")
    outs = [gen.var(v) for v in node.outputs]
    name = f"janus_{node.op}_{next(_counter)}"
    src = (
        [f"def {name}({', '.join(params)}):"]
        + gen.lines
        + [f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})"]
    )
    code = "\n".join(src)
    ns = dict(gen.ns)
    exec(compile(code, f"<janus {name}>", "exec"), ns)
    fn = ns[name]
    fn.__janus_source__ = code
    order = []
    seen = set()
    for v in arg_vals + list(free):
        if v.id not in seen:
            seen.add(v.id)
            order.append(v)
    return fn, order, gen.n_ops, gen.random

"""An interpreter that runs an IR graph by dispatching on each node's opcode.

The reference backend executes graphs with it directly; other backends subclass it to
lower a graph (calling each target on symbolic values), like `torch.fx.Interpreter`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence

from ..errors import AssumptionFailed, Unsupported
from .graph import Graph, Node, Region, map_values


def spec_of_row(spec: Any) -> Any:
    """The spec of one row of a batched value (its first dimension dropped)."""

    return replace(spec, shape=tuple(spec.shape[1:])) if hasattr(spec, "shape") else spec


class Interpreter:
    def __init__(self, graph: Graph, deadline: Optional[float] = None):
        self.graph = graph
        #: a `time.monotonic()` after which a loop stops with `Unsupported` (the converter
        #: runs loops on example values: a loop that does not end must not hang it)
        self.deadline = deadline

    def run(self, inputs: Sequence[Any]) -> List[Any]:
        env: Dict[int, Any] = {}
        inputs = list(inputs)
        for node, value in zip(self.graph.inputs, inputs):
            env[node.out.id] = value
        if len(inputs) != len(self.graph.inputs):
            raise TypeError(f"graph {self.graph.name} takes {len(self.graph.inputs)} inputs, got {len(inputs)}")
        return self.run_region(self.graph, env, skip_inputs=True)

    def run_region(self, region: Region, env: Dict[int, Any], skip_inputs: bool = False) -> List[Any]:
        for node in region.nodes:
            if node.op == "input" and skip_inputs:
                continue
            if node.op == "output":
                return [self.read(a, env) for a in node.args]
            result = getattr(self, "op_" + node.op)(node, env)
            if node.outputs:
                if len(node.outputs) == 1:
                    env[node.out.id] = result
                else:
                    for v, r in zip(node.outputs, result):
                        env[v.id] = r
        return []

    def read(self, arg: Any, env: Dict[int, Any]) -> Any:
        return map_values(arg, lambda v: env[v.id])

    def call_region(self, region: Region, values: Sequence[Any], env: Dict[int, Any]) -> List[Any]:
        inner = dict(env)
        for p, v in zip(region.params, values):
            inner[p.id] = v
        return self.run_region(region, inner)

    # -- one method per opcode ----------------------------------------------
    def op_input(self, node: Node, env):
        raise RuntimeError("input nodes are bound by run()")

    def op_const(self, node: Node, env):
        return node.target

    def op_call(self, node: Node, env):
        return node.target(*self.read(node.args, env), **self.read(node.kwargs, env))

    def op_call_method(self, node: Node, env):
        self_, *rest = self.read(node.args, env)
        return getattr(self_, node.target)(*rest, **self.read(node.kwargs, env))

    def truth(self, value: Any) -> bool:
        return bool(value)

    def op_cond(self, node: Node, env):
        pred, *operands = self.read(node.args, env)
        res = self.call_region(node.regions[0 if self.truth(pred) else 1], operands, env)
        return res if len(node.outputs) != 1 else res[0]

    def op_while(self, node: Node, env):
        carried = self.read(node.args, env)
        cond_r, body_r = node.regions
        while self.truth(self.call_region(cond_r, carried, env)[0]):
            carried = self.call_region(body_r, carried, env)
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise Unsupported(
                    "a graph `while` loop", node.site or "", "it did not end on the example values in time"
                )
        return carried if len(node.outputs) != 1 else carried[0]

    def op_map(self, node: Node, env):
        """Row by row; `node.target(rows, spec)` stacks each output's rows."""
        args = self.read(node.args, env)
        k = node.kwargs["batched"]
        batched, whole = args[:k], args[k:]
        region = node.regions[0]
        per_output: List[List[Any]] = [[] for _ in node.outputs]
        scalar = [
            getattr(p.spec, "type", None) if getattr(p.spec, "type", None) in (int, float, bool) else None
            for p in region.params[:k]
        ]
        for i in range(len(batched[0])):
            # a row of a Python-number column is that Python number again (as the node saw it)
            row = [b[i] if t is None else t(b[i]) for b, t in zip(batched, scalar)]
            res = self.call_region(region, row + list(whole), env)
            for acc, r in zip(per_output, res):
                acc.append(r)
        out = [node.target(rows, spec_of_row(v.spec)) for rows, v in zip(per_output, node.outputs)]
        return out if len(node.outputs) != 1 else out[0]

    def op_assert(self, node: Node, env):
        if self.truth(self.read(node.args[0], env)) is not node.kwargs.get("expect", True):
            raise AssumptionFailed(node.target)

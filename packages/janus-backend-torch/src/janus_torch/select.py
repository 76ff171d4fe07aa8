"""If-conversion: a small tensor `cond` whose branches are pure pointwise arithmetic is
lowered as both branches plus `torch.where(pred, then, else)`.

Why: on the fx tier a `cond` reads its predicate on the host (`bool(pred)`), and a graph
with control flow reaches Inductor only through `torch.cond`, which keeps the branch
as a sub-graph call.  Straight-line, the whole graph compiles with Inductor and the
branch fuses with its neighbours (branchy: `tanh`, `sum`, `>`, `*2`, `-1`, `where`
become one kernel per step).

It is exact: `where` returns, element for element, the value the taken branch computed,
and the untaken branch's ops cannot raise or change state (pointwise float ops only,
no effects, no assertions).  It is skipped when anything involved requires grad: the
untaken branch would take part in autograd (`0 * inf = nan` gradients).
"""

from __future__ import annotations

import operator
from typing import List

import torch

from janus.ir.graph import Node, Region, Value
from janus.ir.spec import PySpec, TensorSpec

#: at most this many ops per branch are computed unconditionally
MAX_BRANCH_OPS = 8

_POINTWISE_FUNCTIONS = {
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.neg,
    operator.pos,
    torch.add,
    torch.sub,
    torch.mul,
    torch.div,
    torch.neg,
    torch.abs,
    torch.tanh,
    torch.sigmoid,
    torch.relu,
    torch.exp,
    torch.square,
    torch.maximum,
    torch.minimum,
    torch.clamp,
    torch.where,
    torch.nn.functional.relu,
    torch.nn.functional.gelu,
    torch.nn.functional.silu,
}
_POINTWISE_METHODS = {
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "abs",
    "tanh",
    "sigmoid",
    "relu",
    "exp",
    "square",
    "clamp",
    "maximum",
    "minimum",
    "__add__",
    "__sub__",
    "__mul__",
    "__truediv__",
    "__neg__",
    "__radd__",
    "__rsub__",
    "__rmul__",
}
_FLOAT_DTYPES = {"float16", "bfloat16", "float32", "float64"}


def _unwrap(target):
    return getattr(target, "__wrapped__", target)


def _float_tensor(spec) -> bool:
    return (
        isinstance(spec, TensorSpec)
        and spec.dtype in _FLOAT_DTYPES
        and not spec.requires_grad
        and None not in spec.shape
    )


def _plain_arg(a) -> bool:
    if isinstance(a, Value):
        return _float_tensor(a.spec) or (isinstance(a.spec, PySpec) and a.spec.type in (int, float))
    return type(a) in (int, float, bool)


def _region_ok(region: Region) -> bool:
    n = 0
    for node in region.nodes:
        if node.op == "output":
            continue
        if node.op not in ("call", "call_method") or node.meta.get("impure") or node.meta.get("opaque"):
            return False
        if node.op == "call" and _unwrap(node.target) not in _POINTWISE_FUNCTIONS:
            return False
        if node.op == "call_method" and node.target not in _POINTWISE_METHODS:
            return False
        if node.kwargs or not all(_plain_arg(a) for a in node.args):
            return False
        if len(node.outputs) != 1 or not _float_tensor(node.out.spec):
            return False
        n += 1
    return n <= MAX_BRANCH_OPS


def convertible(node: Node) -> bool:
    """Can this `cond` node run as both branches and a `where`?"""
    if node.op != "cond" or len(node.regions) != 2 or not node.args:
        return False
    pred = node.args[0]
    if not (
        isinstance(pred, Value)
        and isinstance(pred.spec, TensorSpec)
        and pred.spec.dtype == "bool"
        and pred.spec.shape == ()
        and not pred.spec.requires_grad
    ):
        return False
    if not all(_plain_arg(a) for a in node.args[1:]):
        return False
    if not node.outputs or not all(_float_tensor(v.spec) for v in node.outputs):
        return False
    for region in node.regions:
        if not _region_ok(region):
            return False
        results = region.results
        if len(results) != len(node.outputs):
            return False
        for r, out in zip(results, node.outputs):
            # each branch's result must already have the cond's shape and dtype: `where`
            # would otherwise broadcast or promote where the branch did not
            if not (
                isinstance(r, Value)
                and isinstance(r.spec, TensorSpec)
                and r.spec.dtype == out.spec.dtype
                and tuple(r.spec.shape) == tuple(out.spec.shape)
            ):
                return False
    return True


def lower_select(lowering, node: Node, env) -> List:
    """Both branches inline, then one `torch.where` per result; returns the fx nodes.
    `lowering` is the `FxLowering` interpreting the graph."""
    pred = lowering.read(node.args[0], env)
    operands = [lowering.read(a, env) for a in node.args[1:]]
    then_vals, else_vals = [lowering.inline_region(region, operands, env) for region in node.regions]
    lowering.n_ops += len(then_vals)
    return [lowering.fx.call_function(torch.where, (pred, t, e)) for t, e in zip(then_vals, else_vals)]

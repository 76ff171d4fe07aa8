"""The Python operators the converter evaluates, by AST node type.  A leaf module."""

from __future__ import annotations

import ast
import operator

BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}
UNARYOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
INPLACE = {
    operator.add: operator.iadd,
    operator.sub: operator.isub,
    operator.mul: operator.imul,
    operator.truediv: operator.itruediv,
    operator.floordiv: operator.ifloordiv,
    operator.mod: operator.imod,
    operator.pow: operator.ipow,
    operator.matmul: operator.imatmul,
    operator.lshift: operator.ilshift,
    operator.rshift: operator.irshift,
    operator.and_: operator.iand,
    operator.or_: operator.ior,
    operator.xor: operator.ixor,
}
CMPOPS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
#: operations whose result may share memory with their first argument (a write through
#: one is seen by the other)
VIEW_OPS = frozenset(
    {
        "getitem",
        "view",
        "view_as",
        "reshape",
        "transpose",
        "T",
        "mT",
        "permute",
        "expand",
        "expand_as",
        "squeeze",
        "unsqueeze",
        "narrow",
        "select",
        "flatten",
        "unflatten",
        "detach",
        "as_strided",
        "split",
        "chunk",
        "unbind",
        "t",
        "diagonal",
        "movedim",
        "swapaxes",
        "real",
        "imag",
        "view_as_real",
        "view_as_complex",
        "unfold",
        "getattr",
        "ravel",
        "asarray",
    }
)


def op_name(target) -> str:
    """The name a call target goes by (a method name, or a callable's `__name__`)."""
    return target if isinstance(target, str) else (getattr(target, "__name__", "") or "")

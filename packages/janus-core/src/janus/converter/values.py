"""The Python-level values of converted code that stand for something else: functions
defined inside it, and methods looked up on tensors.  Python's introspection builtins
(`callable`, `type`, `isinstance`) must see them as what they stand for."""

from __future__ import annotations

import ast
import types
from typing import Any

from ..errors import Unsupported
from ..source import scope_of
from .deferred import Deferred
from .sym import Sym


class ConvFunction:
    """A function defined (by `def` or `lambda`) inside converted code."""

    def __init__(self, node, frame, defaults: list, kw_defaults: dict):
        self.node, self.frame = node, frame
        self.defaults, self.kw_defaults = defaults, kw_defaults
        self.scope = scope_of(node)
        self.__name__ = getattr(node, "name", "<lambda>")
        self.is_generator = _is_generator(node)

    def __call__(self, *args, **kwargs):  # so `callable()` holds; library code cannot run it
        raise Unsupported(
            f"calling `{self.__name__}` from library code",
            "",
            "functions defined in the jitted code run only where the converter calls them",
        )


def _is_generator(node) -> bool:
    body = node.body if isinstance(node.body, list) else [node.body]
    stack = list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(n))
    return False


class SymMethod:
    """A method looked up on a tensor value, waiting to be called."""

    def __init__(self, sym: Sym, name: str):
        self.sym, self.name = sym, name

    def __call__(self, *args, **kwargs):  # so `callable()` holds
        raise Unsupported(f"calling the tensor method `.{self.name}` from library code")


def python_type(value: Any) -> type:
    """The type `value` has in eager Python."""
    if isinstance(value, (Sym, Deferred)):
        return type(value.example)
    if isinstance(value, ConvFunction):
        return types.FunctionType
    if isinstance(value, SymMethod):
        return type(getattr(value.sym.example, value.name))
    return type(value)

"""`Sym`: a value computed in the graph, with the concrete example this call produced,
so the converter can read specs and evaluate the Python around tensors (partial
evaluation).  Helpers to map Syms inside nested containers.  A leaf of the converter."""

from __future__ import annotations

from typing import Any

from ..ir.graph import Value


class Sym:
    """A value computed in the graph, with the concrete example this call produced."""

    __slots__ = ("value", "example")

    def __init__(self, value: Value, example: Any):
        self.value = value
        self.example = example

    @property
    def spec(self) -> Any:
        return self.value.spec

    def __repr__(self) -> str:
        return f"Sym({self.value!r}: {self.value.spec})"

    def __bool__(self):  # a Sym reaching Python truthiness is a converter bug
        raise TypeError("internal: truth value of a symbolic graph value requested")


def _map(arg: Any, fn) -> Any:
    if isinstance(arg, Sym):
        return fn(arg)
    t = type(arg)
    if t is tuple or t is list:
        return t(_map(a, fn) for a in arg)
    if t is dict:
        return {k: _map(v, fn) for k, v in arg.items()}
    if t is slice:
        return slice(_map(arg.start, fn), _map(arg.stop, fn), _map(arg.step, fn))
    return arg


def unwrap_examples(arg: Any) -> Any:
    """Replace every Sym inside nested containers by its example value."""
    return _map(arg, lambda s: s.example)


def to_node_arg(arg: Any) -> Any:
    """Replace every Sym inside nested containers by its IR value."""
    return _map(arg, lambda s: s.value)


def contains_sym(arg: Any, depth: int = 0) -> bool:
    if isinstance(arg, Sym):
        return True
    t = type(arg)
    if depth < 6 and (t is tuple or t is list):
        return any(contains_sym(a, depth + 1) for a in arg)
    if depth < 6 and t is dict:
        return any(contains_sym(v, depth + 1) for v in arg.values())
    if t is slice:
        return any(contains_sym(a, depth + 1) for a in (arg.start, arg.stop, arg.step))
    return False

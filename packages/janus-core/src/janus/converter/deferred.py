"""Host reads computed after the graph.

`float(loss)`, `t.item()`, `t.tolist()` need a tensor's value on the host.  When that
value only feeds effects (a print, a list append, an attribute) or the returned Python
value, the converter does not stop the graph for it: it returns a `Deferred`, a small
expression over graph outputs that the runtime evaluates after the graph succeeded.
A `Deferred` that would feed tensor work or a control-flow decision is unsupported (the
call falls back), never silently wrong.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Dict, Tuple

from .sym import unwrap_examples


class Deferred:
    __slots__ = ("fn", "args", "example", "what", "origin")

    def __init__(self, fn: Callable, args: Tuple, example: Any, what: str):
        self.fn, self.args, self.example, self.what = fn, args, example, what
        self.origin: Any = None  # the call of the jitted function that read the tensor

    def __repr__(self) -> str:
        return f"Deferred({self.what})"

    def __bool__(self):
        raise TypeError("internal: truth value of a deferred host read requested")


def origin_of(arg: Any, depth: int = 0) -> Any:
    """The call that made a (nested) deferred host read, if known."""
    if isinstance(arg, Deferred):
        return arg.origin if arg.origin is not None else origin_of(arg.args, depth + 1)
    if depth < 6 and type(arg) in (tuple, list):
        return next((o for o in (origin_of(a, depth + 1) for a in arg) if o is not None), None)
    if depth < 6 and type(arg) is dict:
        return origin_of(list(arg.values()), depth + 1)
    return None


def contains_deferred(arg: Any, depth: int = 0) -> bool:
    if isinstance(arg, Deferred):
        return True
    if depth < 6 and type(arg) in (tuple, list):
        return any(contains_deferred(a, depth + 1) for a in arg)
    if depth < 6 and type(arg) is dict:
        return any(contains_deferred(v, depth + 1) for v in arg.values())
    return False


def example_of(arg: Any) -> Any:
    if isinstance(arg, Deferred):
        return arg.example
    if type(arg) in (tuple, list):
        return type(arg)(example_of(a) for a in arg)
    if type(arg) is dict:
        return {k: example_of(v) for k, v in arg.items()}
    return unwrap_examples(arg)


def defer(fn: Callable, args: tuple, what: str) -> Deferred:
    """A host computation of `fn(*args)` after the graph; its example is computed now."""
    return Deferred(fn, tuple(args), fn(*example_of(list(args))), what)


def call_method(name: str):
    return operator.methodcaller(name)


def joined_str(*parts) -> str:
    return "".join(parts)


_CONVERSIONS: Dict[int, Callable[[Any], Any]] = {115: str, 114: repr, 97: ascii}  # !s !r !a


def format_value(value, conversion: int, spec: str) -> str:
    conv = _CONVERSIONS.get(conversion)
    return format(value if conv is None else conv(value), spec)


HOST_READ_METHODS = frozenset({"item", "tolist", "numpy", "__float__", "__int__", "__index__"})

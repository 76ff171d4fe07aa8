"""How the values a graph relies on are reached from a call, and how they are pictured.

A `Path` says how an outside object is reached from the function's roots (an argument,
a module's globals, a closure cell, a Python number the host computes from others)
through attributes, items and cells.  Guards and graph inputs are paths, evaluated
again on every call, so no cached graph holds a caller's object by identity.  Shared by
the converter (which records paths), the guard compiler and the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple


@dataclass(frozen=True)
class Path:
    """`root` is ("arg", name) | ("global", module_dict_key, name) | ("gdict", key) |
    ("obj", index, label) | ("node",) | ("derived", builder, base, field) | ("expr", tree);
    `steps` are ("attr", name) | ("item", key) | ("cell", index)."""

    root: Tuple
    steps: Tuple = ()

    def attr(self, name: str) -> Path:
        return Path(self.root, self.steps + (("attr", name),))

    def item(self, key: Any) -> Path:
        return Path(self.root, self.steps + (("item", key),))

    def cell(self, index: int) -> Path:
        return Path(self.root, self.steps + (("cell", index),))

    def __str__(self) -> str:
        text = _ROOT_TEXT[self.root[0]](self.root)
        for kind, arg in self.steps:
            if kind == "attr":
                text += "." + arg
            elif kind == "item":
                text += f"[{arg!r}]"
            else:
                text += f".<cell {arg}>"
        return text


_ROOT_TEXT = {
    "arg": lambda r: r[1],
    "global": lambda r: f"{r[2]}",
    "gdict": lambda r: "globals()",
    "obj": lambda r: r[2],
    "node": lambda r: "<node>",
    "derived": lambda r: f"schedule({r[2]}).{r[3]}",
    "expr": lambda r: render_expr(r[1]),
}


def render_expr(expr: tuple) -> str:
    """Readable text of a host expression ("path" | "const" | "call" tree)."""
    if expr[0] == "path":
        return str(expr[1])
    if expr[0] == "const":
        return repr(expr[1])
    name = getattr(expr[1], "__name__", str(expr[1]))
    return f"{name}({', '.join(render_expr(a) for a in expr[2])})"


_PLAIN_CONTAINERS = (list, tuple, dict, set, frozenset)


def typed_snapshot(value: Any, depth: int = 0) -> Any:
    """A comparable picture of plain data (constants in lists, tuples, dicts and sets)
    that tells `1`, `1.0` and `True` apart; None when `value` holds anything else."""
    t = type(value)
    if t in (bool, int, float, complex, str, bytes, type(None)):
        return (t, value)
    if t not in _PLAIN_CONTAINERS or depth > 8:
        return None
    if t is dict:
        items = [(typed_snapshot(k, depth + 1), typed_snapshot(v, depth + 1)) for k, v in value.items()]
        return None if any(k is None or v is None for k, v in items) else (t, tuple(items))
    parts = [typed_snapshot(v, depth + 1) for v in value]
    if any(v is None for v in parts):
        return None
    return (t, frozenset(parts) if t in (set, frozenset) else tuple(parts))


def untyped(snapshot: Any) -> Any:
    """The plain value a `typed_snapshot` pictures."""
    t, v = snapshot
    if t is dict:
        return {untyped(k): untyped(x) for k, x in v}
    if t in (list, tuple, set, frozenset):
        return t(untyped(x) for x in v)
    return v

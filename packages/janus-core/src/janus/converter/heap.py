"""What the converter knows about the world outside the function.

* `Sym`: a graph value plus an *example* (the concrete value this call has), so the
  converter can read specs and evaluate Python-level code (partial evaluation).
* `Path`: how an outside object is reached from the function's roots (an argument, a
  module's globals, a closure cell) through attributes, items and cells.  Guards and
  graph inputs are expressed as paths, re-evaluated on every call, so no cache entry
  holds a fresh object by identity.
* `Guard`: one assumption the graph relies on, with the source site it came from.
* `Heap`: the origins of outside objects, their shadows (writes this call has made,
  visible to later reads of the same call) and the deferred effects in program order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..ir.graph import Value


class Sym:
    """A value computed in the graph, with the concrete example this call produced."""

    __slots__ = ("value", "example")

    def __init__(self, value: Value, example: Any):
        self.value = value
        self.example = example

    @property
    def spec(self):
        return self.value.spec

    def __repr__(self) -> str:
        return f"Sym({self.value!r}: {self.value.spec})"

    def __bool__(self):  # a Sym reaching Python truthiness is a converter bug
        raise TypeError("internal: truth value of a symbolic graph value requested")


@dataclass(frozen=True)
class Path:
    """`root` is ("arg", name) | ("global", module_dict_key, name) | ("self",) ...;
    `steps` are ("attr", name) | ("item", key) | ("cell", index)."""

    root: Tuple
    steps: Tuple = ()

    def attr(self, name: str) -> "Path":
        return Path(self.root, self.steps + (("attr", name),))

    def item(self, key: Any) -> "Path":
        return Path(self.root, self.steps + (("item", key),))

    def cell(self, index: int) -> "Path":
        return Path(self.root, self.steps + (("cell", index),))

    def __str__(self) -> str:
        kind = self.root[0]
        text = {"arg": lambda: self.root[1], "global": lambda: f"{self.root[2]}",
                "gdict": lambda: "globals()", "obj": lambda: self.root[2], "node": lambda: "<node>",
                "derived": lambda: f"schedule({self.root[2]}).{self.root[3]}",
                "expr": lambda: render_expr(self.root[1])}[kind]()
        for step in self.steps:
            if step[0] == "attr":
                text += "." + step[1]
            elif step[0] == "item":
                text += f"[{step[1]!r}]"
            else:
                text += f".<cell {step[1]}>"
        return text


@dataclass
class Guard:
    kind: str            # type | value | tensor | code | identity | len | keys | contains | expr
    path: Optional[Path]
    expect: Any
    site: str = ""       # "file:line: expression"
    relax: Optional[Tuple] = None  # the profile site whose assumption this guards

    def key(self):
        exp = self.expect
        if self.kind in ("type", "identity", "code"):
            exp = id(exp)
        elif self.kind == "value":
            exp = (type(exp), exp)
        elif self.kind == "equals":
            exp = repr(exp)
        elif self.kind in ("expr", "alias"):
            exp = repr(exp) if self.kind == "expr" else exp
        return (self.kind, self.path, exp)

    def describe(self) -> str:
        what = {
            "type": lambda: f"type({self.path}) is {getattr(self.expect, '__qualname__', self.expect)}",
            "value": lambda: f"{self.path} == {self.expect!r}",
            "tensor": lambda: f"{self.path} fits {self.expect}",
            "code": lambda: f"{self.path} runs the code of {self.expect.co_name} (line {self.expect.co_firstlineno})",
            "identity": lambda: f"{self.path} is {getattr(self.expect, '__name__', type(self.expect).__name__)}",
            "len": lambda: f"len({self.path}) == {self.expect}",
            "keys": lambda: f"keys of {self.path} == {list(self.expect)}",
            "contains": lambda: f"({self.expect[0]!r} in {self.path}) is {self.expect[1]}",
            "equals": lambda: f"{self.path} == {_untyped(self.expect)!r:.80}",
            "alias": lambda: f"{self.path} is {self.expect}",
            "expr": lambda: (f"bool({render_expr(self.expect[0])}) is {self.expect[2]}" if self.expect[1]
                             else f"{render_expr(self.expect[0])} == {self.expect[2]!r}"),
        }[self.kind]()
        return what + (f"    [{self.site}]" if self.site else "")


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
    items = [typed_snapshot(v, depth + 1) for v in value]
    if any(v is None for v in items):
        return None
    return (t, frozenset(items) if t in (set, frozenset) else tuple(items))


def _untyped(snapshot: Any) -> Any:
    t, v = snapshot
    if t is dict:
        return {_untyped(k): _untyped(x) for k, x in v}
    if t in (list, tuple, set, frozenset):
        return t(_untyped(x) for x in v)
    return v


def render_expr(expr: tuple) -> str:
    """Readable text of a host expression ("path"|"const"|"call" tree)."""
    if expr[0] == "path":
        return str(expr[1])
    if expr[0] == "const":
        return repr(expr[1])
    name = getattr(expr[1], "__name__", str(expr[1]))
    return f"{name}({', '.join(render_expr(a) for a in expr[2])})"


@dataclass
class Effect:
    """A deferred write or output.  Operands are templates (see `templates.py`)."""

    kind: str   # setattr | delattr | setitem | delitem | append | extend | print | call
    target: Any
    args: Tuple
    site: str = ""
    conds: Tuple = ()   # ((predicate Sym, expected bool), ...) for effects inside a graph cond


@dataclass
class Heap:
    #: id(obj) -> (obj, path) for every outside object the conversion touched
    origins: Dict[int, Tuple[Any, Path]] = field(default_factory=dict)
    #: (id(obj), ("attr", name) | ("item", key)) -> value written earlier in this call
    shadows: Dict[Tuple[int, Tuple], Any] = field(default_factory=dict)
    #: ids of outside containers with pending structural writes (append, del ...)
    dirty: Dict[int, str] = field(default_factory=dict)
    effects: List[Effect] = field(default_factory=list)

    def path_of(self, obj: Any) -> Optional[Path]:
        entry = self.origins.get(id(obj))
        return entry[1] if entry is not None and entry[0] is obj else None

    def note(self, obj: Any, path: Path) -> None:
        if id(obj) not in self.origins:
            self.origins[id(obj)] = (obj, path)

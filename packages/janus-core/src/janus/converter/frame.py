"""One activation of a converted function, and how the converter names places in it."""

from __future__ import annotations

import ast
from typing import Any, Dict, Optional

from ..errors import Unsupported
from ..source import Scope, site_key, site_of
from .deferred import origin_of


class FrameLocals(dict):
    """The local names of a converted frame: a name bound on one branch of a graph `cond`
    only is unbound after it (not a conflict to merge)."""

    def missing(self, key: Any) -> Any:
        return UNBOUND


#: what a name, slot or value is on a branch that does not bind it
UNBOUND = object()


class InGraphOnly:
    """A variable bound only inside a graph region (one branch of a cond, a loop body):
    reading it afterwards is unsupported, with `why`."""

    def __init__(self, why: str):
        self.why = why


class Frame:
    """One activation of a converted function."""

    def __init__(
        self,
        name: str,
        filename: str,
        scope: Scope,
        fn_globals: dict,
        gid: int,
        cells: Optional[Dict[str, tuple]] = None,
        enclosing: Optional[Frame] = None,
    ):
        self.name, self.filename, self.scope = name, filename, scope
        self.fn_globals, self.gid = fn_globals, gid
        self.cells = cells or {}  # name -> (cell, Path|None) for real closures
        self.enclosing = enclosing  # defining frame, for functions defined in converted code
        self.locals: Dict[str, Any] = FrameLocals()


def where(frame: Frame, node: Optional[ast.AST]) -> str:
    """`file.py:12` of `node` in `frame`."""
    return site_of(frame.filename, node) if node is not None else frame.filename.rsplit("/", 1)[-1]


def key(frame: Frame, node: ast.AST):
    """The profile site of `node` in `frame`."""
    return site_key(frame.filename, node)


def unsupported(construct: str, frame: Frame, node: Optional[ast.AST], why: str = "") -> Unsupported:
    return Unsupported(construct, where(frame, node), why)


def host_read_feeds(what: str, frame: Frame, node: ast.AST, values: Any = None) -> Unsupported:
    """A tensor read on the host (`float(t)`) feeding `what`: the call that read it is
    where the function can be split around a host island."""
    e = unsupported(
        f"a tensor value read on the host feeding {what}",
        frame,
        node,
        "it needs the value on the host while the graph runs",
    )
    e.island = origin_of(values)
    return e

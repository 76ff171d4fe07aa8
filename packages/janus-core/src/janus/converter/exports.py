"""Values an effect on one branch of a graph `cond` carries out of that branch.

An effect made inside a branch (`print(float(y))`, `log.append(y)` where `y` is computed
in the branch) is committed after the graph, only when its branch ran, so the values it
uses must leave the cond: each becomes an extra result of the cond, whose other branch
returns a placeholder of the same spec (never looked at: the effect is not committed
when that branch did not run).  `escaping` finds them; `rebind` points the effects at
the cond's results.
"""

from __future__ import annotations

from typing import Any, Dict, List

from ..ir.graph import Region, Value
from ..ir.regions import defined_in
from .deferred import Deferred
from .sym import Sym


def syms_in(value: Any, found: List[Sym], depth: int = 0) -> List[Sym]:
    """Every Sym inside a converter value (containers, deferred host reads, objects)."""
    if isinstance(value, Sym):
        found.append(value)
    elif isinstance(value, Deferred):
        syms_in(value.args, found, depth + 1)
    elif depth < 8 and isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            syms_in(v, found, depth + 1)
    elif depth < 8 and isinstance(value, dict):
        for v in value.values():
            syms_in(v, found, depth + 1)
    return found


def escaping(region: Region, effect_values: List[Any], template_values: List[Value]) -> Dict[int, Value]:
    """The values defined in `region` that effects or print snapshots made in it use."""
    inner = defined_in(region)
    out: Dict[int, Value] = {}
    for sym in syms_in(effect_values, []):
        if sym.value.id in inner:
            out.setdefault(sym.value.id, sym.value)
    for v in template_values:
        if v.id in inner:
            out.setdefault(v.id, v)
    return out


def rebind(value: Any, mapping: Dict[int, Sym], depth: int = 0) -> Any:
    """`value` with each Sym whose value is in `mapping` replaced by the mapped Sym."""
    if isinstance(value, Sym):
        return mapping.get(value.value.id, value)
    if isinstance(value, Deferred):
        return Deferred(value.fn, rebind(value.args, mapping, depth + 1), value.example, value.what)
    if depth < 8 and type(value) in (list, tuple):
        return type(value)(rebind(v, mapping, depth + 1) for v in value)
    if depth < 8 and type(value) is dict:
        return {k: rebind(v, mapping, depth + 1) for k, v in value.items()}
    return value

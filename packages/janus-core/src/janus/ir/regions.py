"""Region utilities shared by everything that builds or rewrites graphs."""

from __future__ import annotations

from typing import Dict, List

from .graph import Region, Value, map_values


def replace_uses(region: Region, old: Value, new: Value) -> None:
    """Read `new` wherever `region` (and the regions nested in it) reads `old`."""

    def swap(v: Value) -> Value:
        return new if v is old else v

    for node in region.walk():
        node.args = map_values(node.args, swap)
        node.kwargs = map_values(node.kwargs, swap)


def defined_in(region: Region) -> set:
    """Ids of the values a region (and the regions nested in it) defines."""
    ids = {p.id for p in region.params}
    for node in region.walk():
        ids.update(v.id for v in node.outputs)
        for sub in node.regions:
            ids.update(p.id for p in sub.params)
    return ids


def free_values(region: Region) -> List[Value]:
    """Values a region (and the regions nested in it) uses but does not define."""
    defined: set = set()
    used: Dict[int, Value] = {}

    def visit(r: Region) -> None:
        defined.update(p.id for p in r.params)
        for node in r.nodes:
            for v in node.input_values():
                if v.id not in defined:
                    used.setdefault(v.id, v)
            for sub in node.regions:
                visit(sub)
            defined.update(v.id for v in node.outputs)

    visit(region)
    return [v for vid, v in used.items() if vid not in defined]


def lift_captures(regions: List[Region], leading: int = 0) -> List[Value]:
    """Make every outside value the regions read an explicit parameter (after the
    first `leading` parameters, which they already have); return those outside values,
    so every backend sees closed regions."""
    captures: Dict[int, Value] = {}
    for r in regions:
        for v in free_values(r):
            captures.setdefault(v.id, v)
    outer = list(captures.values())
    for r in regions:
        params = [Value(v.spec, None, v.name) for v in outer]
        r.params = r.params[:leading] + params
        for old, new in zip(outer, params):
            replace_uses(r, old, new)
    return outer

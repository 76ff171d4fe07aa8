"""Checks a graph's well-formedness, with messages that say what to fix."""

from __future__ import annotations

from typing import List, Set

from ..errors import IRError
from .graph import OPCODES, Graph, Region


def verify(graph: Graph) -> None:
    """Raise `IRError` listing every problem found; return None for a valid graph."""
    problems: List[str] = []
    _verify_region(graph, set(), problems, top=True)
    if problems:
        raise IRError(f"graph {graph.name!r} is malformed:\n  - " + "\n  - ".join(problems))


def _verify_region(region: Region, outer: Set[int], problems: List[str], top: bool = False) -> None:
    defined = set(outer) | {p.id for p in region.params}
    seen_output = False
    for i, node in enumerate(region.nodes):
        where = f"node {i} ({node.op} {node.target!r:.40})"
        if node.op not in OPCODES:
            problems.append(f"{where}: unknown opcode; use one of {sorted(OPCODES)}")
        if seen_output:
            problems.append(f"{where}: follows the region's `output`; move it before the output node")
        if node.op == "input" and not top:
            problems.append(
                f"{where}: `input` nodes belong to the top-level graph; pass the value as a region parameter"
            )
        for v in node.input_values():
            if v.id not in defined:
                problems.append(
                    f"{where}: uses {v!r} before it is defined (or from another region); "
                    f"define it earlier or pass it in as a region parameter"
                )
        for r in node.regions:
            _verify_region(r, defined, problems)
            if not any(n.op == "output" for n in r.nodes):
                problems.append(f"{where}: a region has no `output` node; end every region with one")
        if node.op == "cond" and len(node.regions) != 2:
            problems.append(f"{where}: `cond` needs exactly two regions (then, else)")
        if node.op == "while" and len(node.regions) != 2:
            problems.append(f"{where}: `while` needs exactly two regions (condition, body)")
        if node.op == "map":
            k = node.kwargs.get("batched")
            if len(node.regions) != 1 or not isinstance(k, int) or not 0 < k <= len(node.args):
                problems.append(f"{where}: `map` needs one region and kwargs['batched'] between 1 and its arg count")
            elif len(node.regions[0].params) != len(node.args) or len(node.regions[0].results) != len(node.outputs):
                problems.append(f"{where}: the region takes one parameter per arg and returns one value per output")
        if node.op == "cond" and len(node.regions) == 2:
            a, b = (len(r.results) for r in node.regions)
            if a != b or a != len(node.outputs):
                problems.append(f"{where}: branches return {a} and {b} values for {len(node.outputs)} outputs")
        if node.op == "assert" and len(node.args) != 1:
            problems.append(f"{where}: `assert` takes exactly one predicate")
        for v in node.outputs:
            if v.id in defined:
                problems.append(f"{where}: redefines {v!r}; SSA values are defined once")
            defined.add(v.id)
        if node.op == "output":
            seen_output = True
    if top and not seen_output:
        problems.append("the graph has no `output` node; add one returning the graph's results")

"""Graph passes: dead-code elimination, common-subexpression elimination, constant folding.

Every pass keeps `input` nodes (their order is the executable's calling convention) and
never merges, removes or folds a node the converter marked as run for its effect
(`meta["impure"]`), drawing random numbers (`meta["random"]`) or opaque.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from .graph import PURE_OPCODES, Graph, Node, Region, Value, map_values
from .regions import replace_uses
from .spec import PySpec, is_const_like

IsRandom = Callable[[Any], bool]


def _never(_target) -> bool:
    return False


def _used_ids(region: Region) -> set:
    used: set = set()
    for node in region.walk():
        used.update(v.id for v in node.input_values())
    return used


def _kept(node: Node, is_random: IsRandom) -> bool:
    """A node the passes never remove, merge or fold: one run for its effect on framework
    state (`impure`), one that draws random numbers (`random`), an opaque object."""
    meta = node.meta
    if meta.get("impure") or meta.get("random") or meta.get("opaque"):
        return True
    return node.op in ("call", "call_method") and is_random(node.target)


def _removable(node: Node, is_random: IsRandom) -> bool:
    if node.op not in PURE_OPCODES or node.op == "input" or _kept(node, is_random):
        return False
    if (
        node.op == "call_method"
        and node.args
        and isinstance(getattr(node.args[0], "spec", None), PySpec)
        and node.args[0].spec.type not in (int, float, bool, complex)
    ):
        return False  # a method of an opaque graph object (tape.watch): may change that object
    return not any(n.op == "assert" for r in node.regions for n in r.walk())


def dead_code_elimination(graph: Graph, is_random: IsRandom = _never) -> int:
    removed = 0
    changed = True
    while changed:
        changed = False
        used = _used_ids(graph)
        for region in [graph] + [r for n in graph.walk() for r in n.regions]:
            keep = []
            for node in region.nodes:
                if node.outputs and _removable(node, is_random) and not any(v.id in used for v in node.outputs):
                    removed += 1
                    changed = True
                    continue
                keep.append(node)
            region.nodes = keep
    return removed


def _key(node: Node) -> Optional[tuple]:
    def freeze(a):
        if isinstance(a, Value):
            return ("v", a.id)
        if type(a) in (tuple, list):
            return (type(a).__name__,) + tuple(freeze(x) for x in a)
        if type(a) is dict:
            return ("d",) + tuple((k, freeze(v)) for k, v in sorted(a.items(), key=lambda kv: repr(kv[0])))
        if type(a) is slice:
            return ("s", freeze(a.start), freeze(a.stop), freeze(a.step))
        hash(a)
        return ("c", type(a), a)

    try:
        return (
            node.op,
            node.target if node.op == "call_method" else id(node.target),
            freeze(node.args),
            freeze(node.kwargs),
        )
    except TypeError:
        return None


def common_subexpression_elimination(graph: Graph, is_random: IsRandom = _never) -> int:
    merged = 0
    # two results the function hands out are two objects in eager (`a + b, a + b`): never one
    results = {v.id for n in graph.nodes if n.op == "output" for v in n.input_values()}
    for region in [graph] + [r for n in graph.walk() for r in n.regions]:
        seen: Dict[tuple, Node] = {}
        for node in list(region.nodes):
            if node.meta.get("impure"):
                seen.clear()  # e.g. entering no_grad: the same op before and after differs
                continue
            if node.op not in ("call", "call_method") or len(node.outputs) != 1 or _kept(node, is_random):
                continue
            k = _key(node)
            if k is None:
                continue
            first = seen.get(k)
            if first is None:
                seen[k] = node
                continue
            if node.out.id in results and first.out.id in results:
                continue
            replace_uses(graph, node.out, first.out)
            merged += 1
    if merged:
        dead_code_elimination(graph, is_random)
    return merged


def constant_folding(graph: Graph, is_random: IsRandom = _never) -> int:
    """Fold calls on constants whose result is a Python value (tensors stay computed in
    the graph: folding them would share one tensor between calls)."""
    folded = 0
    consts: Dict[int, Any] = {}
    for node in graph.nodes:
        if node.op == "const" and node.outputs:
            consts[node.out.id] = node.target
            continue
        if node.op != "call" or len(node.outputs) != 1 or _kept(node, is_random):
            continue
        if not all(v.id in consts for v in node.input_values()):
            continue
        spec = node.out.spec
        if not (isinstance(spec, PySpec) and spec.type in (int, float, bool)):
            continue
        try:
            value = node.target(
                *map_values(node.args, lambda v: consts[v.id]), **map_values(node.kwargs, lambda v: consts[v.id])
            )
        except Exception:
            continue
        if not is_const_like(value):
            continue
        node.op, node.target, node.args, node.kwargs = "const", value, (), {}
        node.outputs[0].spec = PySpec(type(value), value)
        consts[node.out.id] = value
        folded += 1
    return folded


def prune_inputs(graph: Graph) -> List[int]:
    """Remove input nodes nothing in the graph reads (a Python number only the host
    needs); returns their positions among the inputs, so the caller drops their sources."""
    used = _used_ids(graph)
    inputs = graph.inputs
    dropped = [i for i, n in enumerate(inputs) if n.out.id not in used]
    gone = {id(inputs[i]) for i in dropped}
    graph.nodes = [n for n in graph.nodes if id(n) not in gone]
    return dropped


def run_default_passes(graph: Graph, is_random: IsRandom = _never) -> Dict[str, int]:
    return {
        "constant_folding": constant_folding(graph, is_random),
        "cse": common_subexpression_elimination(graph, is_random),
        "dce": dead_code_elimination(graph, is_random),
    }

"""One stable text form for every IR object (used by `janus.explain` and in tests)."""

from __future__ import annotations

from typing import Any, Dict, List

from .graph import Graph, Node, Region, Value, target_name


class _Names:
    """Renumbers values densely per printed graph so the text is stable across runs."""

    def __init__(self):
        self.names: Dict[int, str] = {}

    def __call__(self, v: Value) -> str:
        if v.id not in self.names:
            self.names[v.id] = f"%{v.name}" if v.name else f"%{len(self.names)}"
            if v.name and list(self.names.values()).count(self.names[v.id]) > 1:
                self.names[v.id] = f"%{v.name}.{len(self.names)}"
        return self.names[v.id]


def format_arg(a: Any, names: _Names) -> str:
    if isinstance(a, Value):
        return names(a)
    if type(a) is tuple:
        inner = ", ".join(format_arg(x, names) for x in a)
        return f"({inner}{',' if len(a) == 1 else ''})"
    if type(a) is list:
        return "[" + ", ".join(format_arg(x, names) for x in a) + "]"
    if type(a) is dict:
        return "{" + ", ".join(f"{k!r}: {format_arg(v, names)}" for k, v in a.items()) + "}"
    if type(a) is slice:
        parts = [format_arg(p, names) if p is not None else "" for p in (a.start, a.stop, a.step)]
        return ":".join(parts).rstrip(":") or ":"
    if callable(a) and not isinstance(a, type):
        return target_name(a)
    text = repr(a)
    return text if len(text) <= 60 else text[:57] + "..."


def _node_lines(node: Node, names: _Names, indent: str) -> List[str]:
    outs = ", ".join(f"{names(v)}: {v.spec}" for v in node.outputs)
    lhs = f"{outs} = " if outs else ""
    args = [format_arg(a, names) for a in node.args]
    args += [f"{k}={format_arg(v, names)}" for k, v in node.kwargs.items()]
    site = f"  # {node.site}" if node.site else ""
    if node.op == "input":
        head = f"{lhs}input {node.target}"
    elif node.op == "const":
        head = f"{lhs}const {format_arg(node.target, names)}"
    elif node.op == "output":
        head = f"return ({', '.join(args)})"
    elif node.op in ("call", "call_method", "assert"):
        tgt = node.target if node.op in ("call_method", "assert") else target_name(node.target)
        head = f"{lhs}{node.op} {tgt}({', '.join(args)})"
    else:
        head = f"{lhs}{node.op}({', '.join(args)})"
    lines = [indent + head + site]
    for i, region in enumerate(node.regions):
        lines += _region_lines(region, names, indent + "  ", f"region {i}")
    return lines


def _region_lines(region: Region, names: _Names, indent: str, title: str) -> List[str]:
    params = ", ".join(f"{names(p)}: {p.spec}" for p in region.params)
    lines = [f"{indent}{title}({params}):"]
    for n in region.nodes:
        lines += _node_lines(n, names, indent + "  ")
    return lines


def format_graph(graph: Graph) -> str:
    names = _Names()
    lines = [f"graph {graph.name}:"]
    for n in graph.nodes:
        lines += _node_lines(n, names, "  ")
    return "\n".join(lines)

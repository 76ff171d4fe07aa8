#!/usr/bin/env python3
"""Structure rules of the code base, checked in CI (`tox -e lint`).

* Layers point one way: the module import graph of each package's `src/` -- counting
  imports inside functions, which hide cycles just as well -- has no cycle.
* Functions stay readable: none in the named packages is longer than `--max-lines`.

Usage: check_structure.py [--max-lines N --long-functions PKG_SRC ...] PKG_SRC ...
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys
from typing import Dict, List, Set


def module_name(root: pathlib.Path, path: pathlib.Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported(node: ast.AST, package: str, modules: Set[str]) -> List[str]:
    """The modules an import statement loads: `from . import x` loads submodule `x` (not
    the package's own module) when there is one."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    subs = [f"{module}.{a.name}" for a in node.names]
    return subs + ([] if all(s in modules for s in subs) else [module])


def import_graph(root: pathlib.Path) -> Dict[str, Set[str]]:
    modules = {module_name(root, p): p for p in root.rglob("*.py")}
    edges: Dict[str, Set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target in _imported(node, package, set(modules)):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def long_functions(root: pathlib.Path, limit: int) -> List[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    out.append(f"{path}:{node.lineno}: {node.name} has {length} lines (at most {limit})")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", nargs="+", help="a package's src/ directory")
    parser.add_argument("--max-lines", type=int, default=60)
    parser.add_argument("--long-functions", action="append", default=[], help="src/ whose functions are measured")
    args = parser.parse_args(argv)
    problems = []
    for root in args.roots:
        for cycle in cycles(import_graph(pathlib.Path(root))):
            problems.append(
                f"{root}: import cycle among {', '.join(cycle)}: move what they share into a "
                f"lower module that none of them imports back"
            )
    for root in args.long_functions:
        problems += long_functions(pathlib.Path(root), args.max_lines)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Facts about statements the converter reads off the AST (no conversion state)."""

from __future__ import annotations

import ast
from typing import Dict, List, Optional


def assigned_names(stmts: List[ast.stmt]) -> List[str]:
    names: Dict[str, None] = {}
    for stmt in stmts:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                names[n.id] = None
            elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                names[n.name] = None
    return list(names)


def has(stmts, kinds) -> bool:
    stack = list(stmts)
    while stack:
        n = stack.pop()
        if isinstance(n, kinds):
            return True
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(n))
    return False


def has_own(node, kinds) -> bool:
    """Does `node` contain one of `kinds` that belongs to the enclosing loop (not to a loop
    or function nested in it)?  For `break`/`continue`."""
    stack = list(node.orelse) if isinstance(node, (ast.For, ast.While, ast.AsyncFor)) else [node]
    while stack:
        n = stack.pop()
        if isinstance(n, kinds):
            return True
        for child in ast.iter_child_nodes(n):
            if isinstance(child, (ast.For, ast.While, ast.AsyncFor)):
                stack.extend(child.orelse)  # a loop's else belongs to the enclosing one
            elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                stack.append(child)
    return False


def always_returns(stmts) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (ast.Return, ast.Raise)):
        return True
    if isinstance(last, ast.If):
        return always_returns(last.body) and always_returns(last.orelse)
    return False


def data_break_index(body) -> Optional[int]:
    """The position of a top-level `if <test>: break` (no else) in a loop body, when no
    other statement of the body breaks or continues this loop."""
    found = None
    for i, st in enumerate(body):
        if isinstance(st, ast.If) and len(st.body) == 1 and isinstance(st.body[0], ast.Break) and not st.orelse:
            if found is not None:
                return None
            found = i
        elif has_own(st, (ast.Break, ast.Continue)):
            return None
    return found


def continues(stmt: ast.If) -> bool:
    """An `if` one of whose branches ends in `continue`, with no other `break`/`continue`
    of the loop in it (so the rest of the iteration can move into the other branch)."""
    ends = [b for b in (stmt.body, stmt.orelse) if b and isinstance(b[-1], ast.Continue)]
    if not ends:
        return False
    others = [st for b in (stmt.body, stmt.orelse) for st in (b[:-1] if b in ends else b)]
    return not any(has_own(st, (ast.Break, ast.Continue)) for st in others) and not has([stmt], ast.Return)


def without_continue(branch: List[ast.stmt], rest: List[ast.stmt]) -> List[ast.stmt]:
    """A branch of such an `if`: its `continue` dropped, else the rest of the iteration added."""
    if branch and isinstance(branch[-1], ast.Continue):
        return branch[:-1] or [ast.copy_location(ast.Pass(), branch[-1])]
    return list(branch) + list(rest)

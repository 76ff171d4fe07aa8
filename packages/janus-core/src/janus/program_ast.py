"""What the island split (`janus.program`) reads off a function's AST: which names a run
of statements uses and binds, what Python evaluates first or always, whether a call can
be hoisted out of its statement.  Pure queries and rewrites of AST nodes; no conversion
state.  A leaf module."""

from __future__ import annotations

import ast
from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

LOOPS = (ast.For, ast.While, ast.AsyncFor)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def name_loads(stmts: Sequence[ast.AST]) -> Counter:
    """How often each name is read or deleted in `stmts` (nested functions included)."""
    found: Counter = Counter()
    for st in stmts:
        for n in ast.walk(st):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store):
                found[n.id] += 1
            elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):  # `x += 1` reads x
                found[n.target.id] += 1
    return found


def is_plain_binding(stmt: ast.stmt) -> bool:
    """`a = b`, `a, b = c, 1`, `return a, b`, `pass`: nothing a graph would speed up."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Return):
        parts = [stmt.value] if stmt.value is not None else []
    elif isinstance(stmt, ast.Assign):
        parts = [*stmt.targets, stmt.value]
    else:
        return False
    plain = (ast.Name, ast.Constant, ast.Tuple, ast.List, ast.Starred, ast.Load, ast.Store)
    return all(isinstance(n, plain) for part in parts for n in ast.walk(part))


def evaluated_first(stmt: ast.stmt) -> Optional[ast.AST]:
    """The part of `stmt` evaluated once, before anything else of it runs."""
    if isinstance(stmt, (ast.Expr, ast.Return)):
        return stmt.value
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return stmt.value
    if isinstance(stmt, ast.If):
        return stmt.test
    if isinstance(stmt, ast.For):
        return stmt.iter
    return None


HOST_CONVERSIONS = frozenset({"int", "float", "bool", "len", "str", "tuple", "list"})


def static_index(index: ast.AST) -> bool:
    """`x[0]`, `x[-1]`, `x[i]`: an index with no call in it."""
    return not any(isinstance(n, (ast.Call, ast.NamedExpr, ast.Await)) for n in ast.walk(index))


def hoistable(expr: ast.AST, call: ast.Call, pure_call: Callable[[ast.Call], bool]) -> bool:
    """Can `call` run before the rest of `expr`?  Only if nothing evaluated before it in
    `expr` could have an effect (a call other than a pure one, a walrus, an await), and
    it is not inside a lambda, comprehension or conditional branch (which might not
    evaluate it)."""
    path = path_to(expr, call)
    if path is None or not all(always_evaluates(parent, child) for parent, child in zip(path, path[1:])):
        return False
    for before in evaluated_before(expr, call):
        for n in ast.walk(before):
            if isinstance(n, (ast.NamedExpr, ast.Await, ast.Yield)) or (isinstance(n, ast.Call) and not pure_call(n)):
                return False
    return True


def always_evaluates(parent: ast.AST, child: ast.AST) -> bool:
    """Is `child` evaluated whenever `parent` is (the test of a conditional expression,
    the first operand of `and`/`or`; not a lambda's body or a comprehension's element)?"""
    if isinstance(parent, ast.IfExp):
        return child is parent.test
    if isinstance(parent, ast.BoolOp):
        return child is parent.values[0]
    return not isinstance(parent, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))


def path_to(root: ast.AST, target: ast.AST) -> Optional[List[ast.AST]]:
    if root is target:
        return [root]
    for child in ast.iter_child_nodes(root):
        found = path_to(child, target)
        if found is not None:
            return [root] + found
    return None


def evaluated_before(root: ast.AST, target: ast.AST) -> List[ast.AST]:
    """Sibling subtrees Python evaluates before `target` (fields in source order)."""
    out: List[ast.AST] = []
    node = root
    while node is not target:
        children = list(ast.iter_child_nodes(node))
        nxt = next(c for c in children if c is target or path_to(c, target) is not None)
        out += children[: children.index(nxt)]
        node = nxt
    return out


def replace_node(root: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(root):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
            elif isinstance(value, list) and any(v is old for v in value):
                setattr(parent, name, [new if v is old else v for v in value])


def has_loop_exit(stmt: ast.stmt) -> bool:
    """A `break`/`continue` belonging to an enclosing loop (not a loop inside `stmt`)."""
    stack: List[ast.AST] = [stmt]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Break, ast.Continue)):
            return True
        for child in ast.iter_child_nodes(n):
            if isinstance(child, LOOPS):
                stack.extend(child.orelse)
            elif not isinstance(child, SCOPES):
                stack.append(child)
    return False


def run_names(run: List[ast.stmt], local_names: Set[str]) -> Tuple[List[str], List[str]]:
    """(local names the run uses, local names it binds), outside nested scopes."""
    used: Dict[str, None] = {}
    bound: Dict[str, None] = {}
    stack: List[ast.AST] = list(run)
    while stack:
        n = stack.pop(0)
        if isinstance(n, ast.Name) and n.id in local_names:
            used[n.id] = None
            if not isinstance(n.ctx, ast.Load):
                bound[n.id] = None
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name in local_names:
            used[n.name] = bound[n.name] = None
        for name in bound_by(n):  # `import a.b as c`, `except E as e`: names that are no Name node
            if name in local_names:
                used[name] = bound[name] = None
        if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)):
            stack.extend(free_reads(n, local_names))
            continue
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(n))
        else:
            stack.extend(free_reads(n, local_names))
    return list(used), list(bound)


def read_before_bound(run: List[ast.stmt]) -> Set[str]:
    """Names the run may read before it binds them (conservative: only plain assignments
    and `with ... as` at the run's top level, and the bodies of those `with`s, count as
    binding first)."""
    bound: Set[str] = set()
    early: Set[str] = set()

    def loads(node: ast.AST) -> None:
        early.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id not in bound)

    def binds(target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            bound.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                binds(t)
        else:
            loads(target)

    def block(stmts: List[ast.stmt]) -> None:
        for stmt in stmts:
            if isinstance(stmt, ast.Assign):
                loads(stmt.value)
                for t in stmt.targets:
                    binds(t)
            elif isinstance(stmt, ast.With):
                for item in stmt.items:
                    loads(item.context_expr)
                    if item.optional_vars is not None:
                        binds(item.optional_vars)
                block(stmt.body)
            else:
                loads(stmt)

    block(run)
    return early


def bound_by(node: ast.AST) -> List[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    return []


def free_reads(scope_node: ast.AST, local_names: Set[str]) -> List[ast.AST]:
    """Names of the function a nested scope reads (its closure over the run's locals)."""
    return [
        n
        for n in ast.walk(scope_node)
        if isinstance(n, ast.Name) and n.id in local_names and isinstance(n.ctx, ast.Load)
    ]


def has_nonlocal_writer(root: ast.FunctionDef) -> bool:
    """Does a function defined inside rebind one of the function's names (`nonlocal`)?
    Its writes go to the function's own cell, which a segment's copy would overwrite."""
    return any(isinstance(n, ast.Nonlocal) for st in root.body for n in ast.walk(st))


def is_generator(node: ast.AST) -> bool:
    stack = list(ast.iter_child_nodes(node))
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)):
            return True
        if not isinstance(n, SCOPES):
            stack.extend(ast.iter_child_nodes(n))
    return False

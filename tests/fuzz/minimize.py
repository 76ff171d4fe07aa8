"""Delta debugging of a mismatching program.

Edits the program's AST (delete a call from `CALLS()`, delete a statement, replace a
compound statement by one of its bodies, drop an unused parameter or helper, shorten a
returned tuple, replace an operation by one operand) and keeps an edit when the program
still shows the *same kind* of mismatch first (`Verdict.kind`), until no edit helps or
the time budget is spent.
"""

from __future__ import annotations

import ast
import copy
import os
import time
from typing import Callable, List, Optional, Tuple, Union

from oracle import check, write_program

#: the prelude and the call sequence are not program statements to delete
KEEP_TOP = {"T", "np", "shim", "CALLS", "f"}
#: an edit's answer for an index where it does not apply (None: past the last index)
SKIP = "skip"
EditResult = Union[ast.Module, str, None]
#: exceptions that only an edit introduces (a name defined by a deleted statement)
EDIT_ARTIFACTS = {"NameError", "UnboundLocalError", "RecursionError"}


class Candidate:
    """Runs candidate sources and says whether they still mismatch the same way."""

    def __init__(self, backend: str, kind: str, workdir: str, timeout: float):
        self.backend, self.kind, self.workdir, self.timeout = backend, kind, workdir, timeout
        self.checks = 0

    def reproduces(self, source: str) -> bool:
        self.checks += 1
        path = write_program(source, self.workdir, "min")
        try:
            verdict = check(path, self.backend, timeout=self.timeout)
        except RuntimeError:  # the edit broke the program itself
            return False
        finally:
            os.remove(path)
        if any(o.status == "raised" and o.value in EDIT_ARTIFACTS for o in verdict.eager.outcomes):
            return False
        return verdict.kind == self.kind


# -- where edits apply ---------------------------------------------------------------------
def _function_under_test(tree: ast.Module) -> ast.FunctionDef:
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "f")


def _statement_slots(tree: ast.Module) -> List[Tuple[list, int]]:
    """(statement list, index) of every statement inside `f`, pre-order.  Helpers are
    deleted whole or not at all: a helper without its base case recurses forever, and a
    RecursionError inside TensorFlow's C++ code aborts the process."""
    slots: List[Tuple[list, int]] = []

    def visit(stmts: list) -> None:
        for i, st in enumerate(stmts):
            slots.append((stmts, i))
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(st, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    visit(inner)
            for handler in getattr(st, "handlers", []):
                visit(handler.body)

    visit(_function_under_test(tree).body)
    return slots


def _calls_list(tree: ast.Module) -> Optional[ast.List]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "CALLS":
            ret = node.body[-1]
            if isinstance(ret, ast.Return) and isinstance(ret.value, ast.List):
                return ret.value
    return None


def _fill_empty(stmts: list) -> None:
    if not stmts:
        stmts.append(ast.Pass())


# -- edits: each takes a private copy of the tree and an index k, and returns the edited
# -- tree, SKIP (nothing to do at k) or None (k is past the last index) ----------------------
def delete_statement(tree: ast.Module, k: int) -> EditResult:
    slots = _statement_slots(tree)
    if k >= len(slots):
        return None
    stmts, i = slots[k]
    if isinstance(stmts[i], (ast.Pass, ast.Global)):
        return SKIP
    del stmts[i]
    _fill_empty(stmts)
    return tree


def inline_compound(tree: ast.Module, k: int) -> EditResult:
    """Statement k (an if / for / while / try) replaced by one of its bodies; k indexes
    (statement, which body) pairs."""
    slots = _statement_slots(tree)
    if k // 2 >= len(slots):
        return None
    stmts, i = slots[k // 2]
    st = stmts[i]
    if isinstance(st, ast.Try):
        bodies = [st.body + st.finalbody, (st.handlers[0].body if st.handlers else []) + st.finalbody]
    elif isinstance(st, (ast.If, ast.For, ast.While)):
        bodies = [st.body, st.orelse]
    else:
        return SKIP
    replacement = bodies[k % 2]
    if not replacement:
        return SKIP
    stmts[i : i + 1] = replacement
    return tree


def delete_calls(tree: ast.Module, k: int) -> EditResult:
    """ddmin over the call sequence: chunks of n/2, n/4, ..., 1 calls (k enumerates them)."""
    calls = _calls_list(tree)
    if calls is None or len(calls.elts) <= 1:
        return None
    n, size = len(calls.elts), len(calls.elts) // 2
    while size >= 1:
        chunks = (n + size - 1) // size
        if k < chunks:
            del calls.elts[k * size : (k + 1) * size]
            return tree if calls.elts else SKIP
        k -= chunks
        size //= 2
    return None


def delete_top_level(tree: ast.Module, k: int) -> EditResult:
    """A module-level helper, class or global the program may not need."""
    removable = [i for i, n in enumerate(tree.body) if _top_name(n) not in KEEP_TOP and _top_name(n)]
    if k >= len(removable):
        return None
    del tree.body[removable[k]]
    return tree


def _top_name(node: ast.stmt) -> Optional[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def drop_parameter(tree: ast.Module, k: int) -> EditResult:
    """A parameter of `f` that its body never names, removed from `f` and from every call."""
    f = _function_under_test(tree)
    used = {n.id for n in ast.walk(ast.Module(body=f.body, type_ignores=[])) if isinstance(n, ast.Name)}
    unused = [i for i, a in enumerate(f.args.args) if a.arg not in used]
    calls = _calls_list(tree)
    if k >= len(unused) or calls is None:
        return None
    at = unused[k]
    if not all(isinstance(c, ast.Tuple) and len(c.elts) == len(f.args.args) for c in calls.elts):
        return SKIP
    del f.args.args[at]
    for c in calls.elts:
        del c.elts[at]
    return tree


def shorten_return(tree: ast.Module, k: int) -> EditResult:
    """A returned tuple reduced to one of its elements."""
    tuples = [
        n
        for n in ast.walk(_function_under_test(tree))
        if isinstance(n, ast.Return) and isinstance(n.value, ast.Tuple) and len(n.value.elts) > 1
    ]
    pairs = [(r, j) for r in tuples for j in range(len(r.value.elts))]
    if k >= len(pairs):
        return None
    ret, j = pairs[k]
    ret.value = ret.value.elts[j]
    return tree


def operand_for_operation(tree: ast.Module, k: int) -> EditResult:
    """A binary operation in `f` replaced by its left or right operand."""
    f = _function_under_test(tree)
    sites = []  # (container, key) of every BinOp: an attribute of its parent or a list item
    for parent in ast.walk(f):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, ast.BinOp):
                sites.append((parent, field))
            elif isinstance(value, list):
                sites += [(value, i) for i, v in enumerate(value) if isinstance(v, ast.BinOp)]
    if k // 2 >= len(sites):
        return None
    container, key = sites[k // 2]
    op = container[key] if isinstance(container, list) else getattr(container, key)
    operand = op.left if k % 2 == 0 else op.right
    if isinstance(container, list):
        container[key] = operand
    else:
        setattr(container, key, operand)
    return tree


EDITS: List[Callable[[ast.Module, int], EditResult]] = [
    delete_calls,
    delete_statement,
    inline_compound,
    delete_top_level,
    drop_parameter,
    shorten_return,
    operand_for_operation,
]


def _edit_pass(tree: ast.Module, edit, cand: Candidate, deadline: float) -> Tuple[ast.Module, bool]:
    k, progressed = 0, False
    while time.monotonic() < deadline:
        edited = edit(copy.deepcopy(tree), k)
        if edited is None:
            break
        if edited is SKIP:
            k += 1
            continue
        try:
            source = ast.unparse(ast.fix_missing_locations(edited))
        except Exception:
            k += 1
            continue
        if cand.reproduces(source):
            tree, progressed = edited, True  # the slot now holds the next element: same k
        else:
            k += 1
    return tree, progressed


def minimize(
    source: str, backend: str, kind: str, workdir: str, budget_s: float = 120.0, timeout: float = 10.0
) -> Tuple[str, int]:
    """The smallest program found that still shows mismatch `kind` first, and the checks run."""
    cand = Candidate(backend, kind, workdir, timeout)
    tree = ast.parse(source)
    deadline = time.monotonic() + budget_s
    progressed = True
    while progressed and time.monotonic() < deadline:
        progressed = False
        for edit in EDITS:
            tree, changed = _edit_pass(tree, edit, cand, deadline)
            progressed = progressed or changed
    return ast.unparse(_without_extra_pass(tree)) + "\n", cand.checks


def _without_extra_pass(tree: ast.Module) -> ast.Module:
    """`pass` left next to other statements by deletions (no change in meaning)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and len(stmts) > 1:
                kept = [st for st in stmts if not isinstance(st, ast.Pass)]
                setattr(node, field, kept or stmts[:1])
    return tree

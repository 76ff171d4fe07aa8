"""Tensor-dependent control flow as graph regions.

An `if` on a tensor whose profile saw one direction is speculated (an `assert` node, in
`interp.truth`).  When the profile saw both directions, or the speculation failed, the
converter emits a `cond`: both branches are converted into regions, the variables they
rebind become the cond's results, and heap effects inside a branch become conditional
effects (committed only when the branch was taken).  A branch that returns while the
other falls through takes the rest of the function along (tail duplication).

A `while` on a tensor whose trip count varied becomes a `while` node: the variables the
body rebinds are loop-carried; values the regions read from outside are lifted into
explicit region parameters (`lift_captures`) so every backend sees closed regions.  A
`for` over `range(n)` whose `n` is a graph input becomes the same `while` loop, so a new
`n` builds no new graph.
"""
from __future__ import annotations

import ast
import operator
from typing import Any, Dict, List, Optional, Tuple

from ..errors import Unsupported
from ..ir.graph import Node, Region, Value
from ..ir.interpret import Interpreter
from ..ir.passes import replace_uses
from ..ir.spec import PySpec, TensorSpec, is_const_like
from .core import Reconvert, contains_sym
from .heap import Sym

UNBOUND = object()


class ConditionalWrite:
    """A shadow written on one branch of a graph `cond`: its value is not known at conversion."""


class InGraphOnly:
    """A variable bound only inside a graph region (one branch of a cond, a loop body)."""

    def __init__(self, why: str):
        self.why = why


def assigned_names(stmts: List[ast.stmt]) -> List[str]:
    names: Dict[str, None] = {}
    for stmt in stmts:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                names[n.id] = None
            elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                names[n.name] = None
    return list(names)


def _has(stmts, kinds) -> bool:
    stack = list(stmts)
    while stack:
        n = stack.pop()
        if isinstance(n, kinds):
            return True
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(n))
    return False


def _has_own(node, kinds) -> bool:
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


def _always_returns(stmts) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (ast.Return, ast.Raise)):
        return True
    if isinstance(last, ast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    return False


def free_values(region: Region) -> List[Value]:
    """Values a region (and the regions nested in it) uses but does not define."""
    defined, used = set(), {}
    def visit(r: Region):
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
    first `leading` parameters, which they already have); return those outside values."""
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


def merge_spec(a: Any, b: Any, what: str, site: str) -> Any:
    if isinstance(a, TensorSpec) and isinstance(b, TensorSpec):
        if a.dtype != b.dtype or a.rank != b.rank or a.device != b.device:
            raise Unsupported(what, site, f"the branches produce {a} and {b}; a graph value has one dtype and rank")
        from dataclasses import replace
        return replace(a, shape=tuple(x if x == y else None for x, y in zip(a.shape, b.shape)),
                       requires_grad=a.requires_grad or b.requires_grad)
    if isinstance(a, PySpec) and isinstance(b, PySpec) and a.type is b.type:
        return PySpec(a.type)
    raise Unsupported(what, site, f"the branches produce {a} and {b}")


class ControlMixin:
    loop_depth = 0
    graph_loop_depth = 0

    # -- cond ------------------------------------------------------------------------------
    def wants_cond(self, test: Any, frame, node) -> bool:
        """Is this `if` on a tensor to become a graph `cond` (rather than a speculation)?"""
        if not isinstance(test, Sym) or isinstance(test.spec, PySpec):
            return False
        key = self.key(frame, node)
        direction = self.analyzer.branch_direction(key)
        if direction is not None and direction != bool(test.example) and key in self.asserts.values():
            # this conversion already speculated on this `if` (an earlier loop iteration):
            # it goes both ways, so convert again with a cond at every visit
            self.analyzer.relaxed.add(key)
            raise Reconvert()
        # after an in-graph update (backward(), an optimizer step) a failed speculation could
        # not be undone, so the branch is decided in the graph even if the profile saw one way
        if direction is not None and direction == bool(test.example) and not self.impure_emitted:
            return False
        if not self.backend.capabilities.cond:
            raise self.unsupported("data-dependent `if` on a tensor", frame, node, f"backend {self.backend.name} has no cond")
        return True

    def region_value(self, value: Any, region: Region, what: str, site: str) -> Tuple[Value, Any]:
        """A Value inside `region` standing for a branch result, and its example."""
        if isinstance(value, Sym):
            return value.value, value.example
        if type(value) in (int, float, bool):
            node = region.add(Node("const", value))
            return node.add_output(PySpec(type(value))), value
        raise Unsupported(what, site, f"a branch produces a `{type(value).__name__}`, which a graph cannot carry")

    def run_branch(self, stmts, frame, region: Region, pred: Sym, expect: bool, tail: bool):
        from .interp import ReturnSignal
        saved_region, saved_locals = self.region, dict(frame.locals)
        n_effects = len(self.heap.effects)
        saved_shadows = dict(self.heap.shadows)
        self.region = region
        try:
            self.exec_block(stmts, frame)
            outcome = ("return", None) if tail else ("fall", dict(frame.locals))
        except ReturnSignal as r:
            outcome = ("return", r.value)
        finally:
            self.region = saved_region
            branch_locals = dict(frame.locals)
            frame.locals.clear()
            frame.locals.update(saved_locals)
        for e in self.heap.effects[n_effects:]:
            e.conds = getattr(e, "conds", ()) + ((pred, expect),)
        written = {k for k, v in self.heap.shadows.items() if saved_shadows.get(k, UNBOUND) is not v}
        self.heap.shadows = saved_shadows
        for k in written:
            self.heap.shadows[k] = ConditionalWrite()
        if outcome[0] == "fall":
            outcome = ("fall", branch_locals)
        return outcome

    def emit_if_cond(self, s: ast.If, test: Sym, frame, rest: Optional[List[ast.stmt]]) -> bool:
        """Convert `s` into a graph cond.  Returns True when it consumed `rest` (tail mode)."""
        site = self.where(frame, s)
        returns = _has(s.body, ast.Return) or _has(s.orelse, ast.Return)
        if any(_has_own(st, (ast.Break, ast.Continue)) for st in s.body + s.orelse):
            raise self.unsupported("`break`/`continue` under a data-dependent `if`", frame, s, "not supported in a graph cond yet")
        tail = returns
        if tail and (rest is None or self.loop_depth):
            raise self.unsupported("`return` under a data-dependent `if` inside other control flow", frame, s)
        then_stmts = s.body if not tail or _always_returns(s.body) else s.body + rest
        else_stmts = s.orelse if not tail or _always_returns(s.orelse) else s.orelse + rest
        then_r, else_r = Region(), Region()
        t_out = self.run_branch(then_stmts, frame, then_r, test, True, tail)
        e_out = self.run_branch(else_stmts, frame, else_r, test, False, tail)
        taken = bool(test.example)
        if tail:
            merged = self.merge_into_cond(test, then_r, else_r, [t_out[1]], [e_out[1]], taken, site)[0]
            from .interp import ReturnSignal
            raise ReturnSignal(merged)
        before = frame.locals
        names = [n for n in dict.fromkeys(list(t_out[1]) + list(e_out[1]))
                 if t_out[1].get(n, UNBOUND) is not before.get(n, UNBOUND)
                 or e_out[1].get(n, UNBOUND) is not before.get(n, UNBOUND)]
        pairs, merged_names = [], []
        for n in names:
            tv, ev = t_out[1].get(n, UNBOUND), e_out[1].get(n, UNBOUND)
            if tv is UNBOUND or ev is UNBOUND:
                frame.locals[n] = InGraphOnly(f"`{n}` is bound on one branch of the data-dependent `if` at {site}")
                continue
            pairs.append((tv, ev))
            merged_names.append(n)
        merged = self.merge_into_cond(test, then_r, else_r, [p[0] for p in pairs], [p[1] for p in pairs], taken, site)
        for n, v in zip(merged_names, merged):
            frame.locals[n] = v
        return False

    def merge_into_cond(self, pred: Sym, then_r: Region, else_r: Region, tvals: list, evals: list,
                        taken: bool, site: str) -> list:
        """Emit the cond node whose results merge the branch values pairwise."""
        what = "merging the branches of a data-dependent `if`"
        leaves_t, leaves_e, rebuild = [], [], []

        def flatten(a, b):
            if a is b or (isinstance(a, Sym) and isinstance(b, Sym) and a.value is b.value):
                return ("same", a)
            if type(a) in (tuple, list) and type(a) is type(b) and len(a) == len(b):
                return (type(a), [flatten(x, y) for x, y in zip(a, b)])
            if type(a) is dict and type(b) is dict and a.keys() == b.keys():
                return (dict, [(k, flatten(a[k], b[k])) for k in a])
            if is_const_like(a) and is_const_like(b) and type(a) is type(b) and a == b:
                return ("same", a)
            if contains_sym(a) and not isinstance(a, Sym) or contains_sym(b) and not isinstance(b, Sym):
                raise Unsupported(what, site, "the branches build differently shaped containers")
            leaves_t.append(a)
            leaves_e.append(b)
            return ("leaf", len(leaves_t) - 1)

        trees = [flatten(a, b) for a, b in zip(tvals, evals)]
        t_vals = [self.region_value(v, then_r, what, site) for v in leaves_t]
        e_vals = [self.region_value(v, else_r, what, site) for v in leaves_e]
        then_r.add(Node("output", None, tuple(v for v, _ in t_vals)))
        else_r.add(Node("output", None, tuple(v for v, _ in e_vals)))
        operands = lift_captures([then_r, else_r])
        node = Node("cond", None, (pred.value,) + tuple(operands), regions=[then_r, else_r], site=site)
        self.region.add(node)
        outs = []
        for (tv, tex), (ev, eex) in zip(t_vals, e_vals):
            spec = merge_spec(tv.spec, ev.spec, what, site)
            outs.append(Sym(node.add_output(spec), tex if taken else eex))

        def build(tree):
            kind = tree[0]
            if kind == "same":
                return tree[1]
            if kind == "leaf":
                return outs[tree[1]]
            if kind is dict:
                return {k: build(t) for k, t in tree[1]}
            return kind(build(t) for t in tree[1])
        return [build(t) for t in trees]

    # -- while ---------------------------------------------------------------------------------
    def wants_graph_while(self, test: Any, frame, node) -> bool:
        if not isinstance(test, Sym) or isinstance(test.spec, PySpec):
            return False
        key = self.key(frame, node)
        stats = self.analyzer.profile.stats(key)
        counts = set(stats.trips) if stats is not None and key not in self.analyzer.relaxed else set()
        if len(counts) == 1:
            return False  # a stable trip count: unroll it with an assertion per test
        if not self.backend.capabilities.while_loop:
            raise self.unsupported("data-dependent `while` on a tensor", frame, node, f"backend {self.backend.name} has no while")
        return True

    def emit_while(self, frame, node, body: List[ast.stmt], test_expr: Optional[ast.expr],
                   counter: Optional[Tuple[ast.AST, Sym]] = None) -> None:
        """A graph `while` over `body`.  With `counter=(target, n)` it is `for target in range(n)`."""
        site = self.where(frame, node)
        what = "a loop converted to a graph `while`"
        if _has(body, (ast.Break, ast.Continue, ast.Return)):
            raise self.unsupported(what, frame, node, "`break`, `continue` or `return` in its body")
        names = [n for n in assigned_names(body) if n in frame.locals and not isinstance(frame.locals[n], InGraphOnly)]
        temps = [n for n in assigned_names(body) if n not in names]
        carried: List[Tuple[str, Any]] = [(n, frame.locals[n]) for n in names]
        if counter is not None:
            zero = self.region.add(Node("const", 0)).add_output(PySpec(int))
            carried.insert(0, ("<counter>", Sym(zero, 0)))
        init_vals = []
        for name, v in carried:
            if isinstance(v, Sym):
                init_vals.append(v)
            elif type(v) in (int, float, bool):
                c = self.region.add(Node("const", v)).add_output(PySpec(type(v)))
                init_vals.append(Sym(c, v))
            else:
                raise self.unsupported(what, frame, node, f"`{name}` holds a `{type(v).__name__}` that changes in the loop")
        specs = [v.spec for v in init_vals]
        for attempt in range(3):
            cond_r, body_r, new_specs = self._while_regions(frame, node, body, test_expr, carried, init_vals, specs, counter)
            if new_specs == specs:
                break
            specs = new_specs  # a dimension changed across iterations: relax it and convert again
        else:
            raise self.unsupported(what, frame, node, "the carried values do not settle on one spec")
        k = len(init_vals)
        operands = lift_captures([cond_r, body_r], leading=k)
        body_r.nodes[-1].args = tuple(body_r.nodes[-1].args) + tuple(body_r.params[k:])
        wnode = Node("while", None, tuple(v.value for v in init_vals) + tuple(operands),
                     regions=[cond_r, body_r], site=site)
        self.region.add(wnode)
        outs = [wnode.add_output(s) for s in specs] + [wnode.add_output(v.spec) for v in operands]
        # examples after the loop: run it on the example values
        env = {v.value.id: v.example for v in init_vals}
        env.update({v.id: self.examples[v.id] for v in operands})
        final = Interpreter(self.graph).op_while(wnode, env)
        final = final if len(outs) != 1 else [final]
        for (name, _), out, ex in zip(carried, outs, final):
            self.examples[out.id] = ex
            if name != "<counter>":
                frame.locals[name] = Sym(out, ex)
        for n in temps:
            frame.locals[n] = InGraphOnly(f"`{n}` is bound inside the graph loop at {site}")

    def _while_regions(self, frame, node, body, test_expr, carried, init_vals, specs, counter):
        cond_r = Region([Value(s, None) for s in specs])
        body_r = Region([Value(s, None) for s in specs])
        saved_locals, saved_region = dict(frame.locals), self.region
        n_effects = len(self.heap.effects)
        self.graph_loop_depth += 1
        try:
            # condition region
            self.region = cond_r
            self._bind_carried(frame, carried, cond_r.params, init_vals)
            if counter is not None:
                n_sym = counter[1]
                pred = self.emit("call", operator.lt, (Sym(cond_r.params[0], 0), n_sym), {}, self.where(frame, node))
            else:
                pred = self.eval(test_expr, frame)
            if not isinstance(pred, Sym):
                raise self.unsupported("a graph `while` whose condition is not a graph value", frame, node)
            cond_r.add(Node("output", None, (pred.value,)))
            # body region
            self.region = body_r
            self._bind_carried(frame, carried, body_r.params, init_vals)
            if counter is not None:
                i = Sym(body_r.params[0], 0)
                self.assign(counter[0], i, frame)
            self.exec_block(body, frame)
            results = []
            for (name, _), param in zip(carried, body_r.params):
                if name == "<counter>":
                    results.append(self.emit("call", operator.add, (Sym(param, 0), 1), {}, ""))
                else:
                    results.append(frame.locals.get(name, UNBOUND))
            vals = [self.region_value(r, body_r, "a loop-carried value", self.where(frame, node)) for r in results]
            body_r.add(Node("output", None, tuple(v for v, _ in vals)))
            if len(self.heap.effects) != n_effects:
                raise self.unsupported("side effects inside a data-dependent loop", frame, node, "not supported in a graph while yet")
            new_specs = [merge_spec(s, v.spec, "a loop-carried value", self.where(frame, node)) for s, (v, _) in zip(specs, vals)]
        finally:
            self.graph_loop_depth -= 1
            self.region = saved_region
            frame.locals.clear()
            frame.locals.update(saved_locals)
        return cond_r, body_r, new_specs

    def _bind_carried(self, frame, carried, params, init_vals):
        for (name, _), p, init in zip(carried, params, init_vals):
            if name != "<counter>":
                frame.locals[name] = Sym(p, init.example)

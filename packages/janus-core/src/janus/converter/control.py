"""Tensor-dependent control flow as graph regions.

An `if` on a tensor whose profile saw one direction is speculated: the graph asserts
the direction (`speculate`), and a failed assertion re-runs the call imperatively.  When
the profile saw both directions, or the speculation failed, the converter emits a
`cond`: both branches are converted into regions and everything they leave behind --
rebound names, objects built in the call, writes to outside objects, in-place tensor
writes -- is merged on the condition (`merge.py`); effects inside a branch are committed
only when the branch ran.  A branch that returns while the other falls through takes the
rest of the function along (tail duplication).

A `while` on a tensor whose trip count varied becomes a `while` node: the names the body
rebinds and the slots of objects it writes are loop-carried; values the regions read
from outside become explicit region parameters (`lift_captures`), so every backend sees
closed regions.  A `for` over `range(n)` whose `n` is a graph input becomes the same
`while` loop, so a new `n` builds no new graph.
"""

from __future__ import annotations

import ast
import dataclasses
import operator
from typing import Any, List, Optional, Tuple

from ..errors import Unsupported
from ..ir.graph import Node, Region, Value
from ..ir.interpret import Interpreter
from ..ir.regions import lift_captures
from ..ir.spec import PySpec, TensorSpec, is_const_like
from .ast_facts import always_returns, assigned_names, has, has_own
from .deferred import contains_deferred, defer
from .exports import escaping, rebind
from .frame import UNBOUND, InGraphOnly, key, unsupported, where
from .heap import DELETED, ConditionalWrite
from .journal import fetch, restore, slots, store
from .merge import BranchState, Slot, name_slots, object_slots, select, shadow_slots
from .signals import Reconvert, ReturnSignal
from .sym import Sym, contains_sym


def merge_spec(a: Any, b: Any, what: str, site: str) -> Any:
    if isinstance(a, TensorSpec) and isinstance(b, TensorSpec):
        if a.dtype != b.dtype or a.rank != b.rank or a.device != b.device:
            raise Unsupported(what, site, f"the branches produce {a} and {b}; a graph value has one dtype and rank")
        return dataclasses.replace(
            a,
            shape=tuple(x if x == y else None for x, y in zip(a.shape, b.shape)),
            requires_grad=a.requires_grad or b.requires_grad,
        )
    if isinstance(a, PySpec) and isinstance(b, PySpec) and a.type is b.type:
        return PySpec(a.type)
    raise Unsupported(what, site, f"the branches produce {a} and {b}")


COUNTER = "<counter>"


class _BranchPairs:
    """Lines up what two branches produced: parts they share are kept, Python values a
    graph cannot carry become host-side choices, and differing graph values or numbers
    become leaves (one per distinct pair), the cond's results."""

    def __init__(self, pred: Sym, what: str, site: str):
        self.pred, self.what, self.site = pred, what, site
        self.leaves_t: List[Any] = []
        self.leaves_e: List[Any] = []
        self._seen: dict = {}

    def flatten(self, a: Any, b: Any) -> tuple:
        if a is b or (isinstance(a, Sym) and isinstance(b, Sym) and a.value is b.value):
            return ("same", a)
        if type(a) in (tuple, list) and type(a) is type(b) and len(a) == len(b):
            return (type(a), [self.flatten(x, y) for x, y in zip(a, b)])
        if type(a) is dict and type(b) is dict and a.keys() == b.keys():
            return (dict, [(k, self.flatten(a[k], b[k])) for k in a])
        if is_const_like(a) and is_const_like(b) and type(a) is type(b) and a == b:
            return ("same", a)
        same_number = type(a) is type(b) and type(a) in (int, float, bool)
        if not same_number and not any(contains_sym(v) or contains_deferred(v) for v in (a, b)):
            # Python values a graph cannot carry (strings, None, objects): chosen on the
            # host after the graph ran, by the condition's value
            return ("same", defer(select, (self.pred, a, b), "a value chosen by a data-dependent `if`"))
        if contains_sym(a) and not isinstance(a, Sym) or contains_sym(b) and not isinstance(b, Sym):
            raise Unsupported(self.what, self.site, "the branches build differently shaped containers")
        pair = (_leaf_key(a), _leaf_key(b))
        if pair not in self._seen:  # one result for one pair (a name and a tensor version alike)
            self._seen[pair] = len(self.leaves_t)
            self.leaves_t.append(a)
            self.leaves_e.append(b)
        return ("leaf", self._seen[pair])


def _rebuild(tree: tuple, outs: list) -> Any:
    kind = tree[0]
    if kind == "same":
        return tree[1]
    if kind == "leaf":
        return outs[tree[1]]
    if kind is dict:
        return {k: _rebuild(t, outs) for k, t in tree[1]}
    return kind(_rebuild(t, outs) for t in tree[1])


def _leaf_key(value: Any) -> tuple:
    return ("sym", value.value.id) if isinstance(value, Sym) else ("py", type(value), value)


class Carried:
    """A loop-carried value: a local name (`owner` None) or a slot of an object built
    before the loop, with its value on entry."""

    def __init__(self, owner: Any, key: Any, value: Any):
        self.owner, self.key, self.value = owner, key, value
        self.label = key if owner is None else f"{type(owner).__name__}[{key!r}]"

    def current(self, frame) -> Any:
        if self.owner is None:
            return frame.locals.get(self.key, UNBOUND)
        return fetch(self.owner, self.key)

    def put_back(self) -> None:
        if self.owner is not None:
            store(self.owner, self.key, self.value)


def _loop_slots(written: dict, carried: List[Carried], site: str) -> List[Carried]:
    """Slots of objects built before a graph loop that its body wrote, not carried yet."""
    known = {(id(c.owner), c.key) for c in carried if c.owner is not None}
    found = []
    for obj, before, after in written.values():
        b_slots, a_slots = slots(before), slots(after)
        if isinstance(before, set) or [k for k, _ in b_slots] != [k for k, _ in a_slots]:
            raise Unsupported(
                "a loop converted to a graph `while`",
                site,
                f"its body adds to or removes from a `{type(obj).__name__}` built before the loop",
            )
        found += [
            Carried(obj, k, bv)
            for (k, bv), (_, av) in zip(b_slots, a_slots)
            if av is not bv and (id(obj), k) not in known
        ]
    return found


class Control:
    """Graph conds and loops for tensor-dependent `if` and `while`."""

    def __init__(self, cv: Any):
        self.cv = cv
        self.session = cv.session
        self.loop_depth = 0  # Python loops (unrolled) now open
        self.graph_loop_depth = 0  # graph `while` regions now open

    # -- speculation -------------------------------------------------------------------------
    def speculate(self, value: Sym, frame, node, trip: Optional[int] = None) -> bool:
        """A tensor used as a truth value, where no graph region is made: the direction
        this call takes, asserted in the graph (a failed assertion re-runs the call)."""
        actual = bool(value.example)
        site_key = key(frame, node)
        analyzer = self.session.analyzer
        stats = analyzer.profile.stats(site_key)
        if isinstance(node, (ast.If, ast.IfExp)):
            direction = analyzer.branch_direction(site_key)
            if direction is None or direction != actual:
                seen = (
                    "both directions"
                    if stats is not None and len(stats.branches) > 1
                    else "a direction it has not seen"
                )
                raise unsupported(
                    "data-dependent `if` on a tensor",
                    frame,
                    node,
                    f"the profile saw {seen}; a graph `cond` is not supported yet",
                )
        elif isinstance(node, ast.While):
            counts = set(stats.trips) if stats is not None and site_key not in analyzer.relaxed else set()
            if len(counts) != 1:
                raise unsupported(
                    "data-dependent `while` on a tensor",
                    frame,
                    node,
                    "its trip count varied in the profile; a graph `while` is not supported yet",
                )
        else:
            raise unsupported(
                "a tensor used as a Python truth value",
                frame,
                node,
                "only `if`, `while` and `assert` conditions may depend on tensors",
            )
        self.emit_assert(value, actual, frame, node, profile_site=site_key)
        return actual

    def emit_assert(self, pred: Sym, expect: bool, frame, node, profile_site) -> None:
        site = f"{where(frame, node)}: {ast.unparse(getattr(node, 'test', node))[:60]}"
        if self.session.impure_emitted:
            raise unsupported(
                "speculation after an in-graph framework update",
                frame,
                node,
                "an assertion after e.g. backward() or an optimizer step could not undo it",
            )
        a = Node("assert", site, (pred.value,), {"expect": expect}, site=where(frame, node))
        self.session.region.add(a)
        self.session.asserts[site] = profile_site

    # -- cond ------------------------------------------------------------------------------
    def wants_cond(self, test: Any, frame, node) -> bool:
        """Is this `if` on a tensor to become a graph `cond` (rather than a speculation)?"""
        if not isinstance(test, Sym) or isinstance(test.spec, PySpec):
            return False
        site_key = key(frame, node)
        direction = self.session.analyzer.branch_direction(site_key)
        if direction is not None and direction != bool(test.example) and site_key in self.session.asserts.values():
            # this conversion already speculated on this `if` (an earlier loop iteration):
            # it goes both ways, so convert again with a cond at every visit
            self.session.analyzer.relaxed.add(site_key)
            raise Reconvert()
        # after an in-graph update (backward(), an optimizer step) a failed speculation could
        # not be undone, so the branch is decided in the graph even if the profile saw one way
        if direction is not None and direction == bool(test.example) and not self.session.impure_emitted:
            return False
        if not self.session.backend.capabilities.cond:
            raise unsupported(
                "data-dependent `if` on a tensor", frame, node, f"backend {self.session.backend.name} has no cond"
            )
        return True

    def region_value(self, value: Any, region: Region, what: str, site: str) -> Tuple[Value, Any]:
        """A Value inside `region` standing for a branch result, and its example."""
        if isinstance(value, Sym):
            return value.value, value.example
        if type(value) in (int, float, bool):
            node = region.add(Node("const", value))
            return node.add_output(PySpec(type(value))), value
        raise Unsupported(what, site, f"a branch produces a `{type(value).__name__}`, which a graph cannot carry")

    def run_branch(self, stmts, frame, region: Region, pred: Sym, expect: bool, tail: bool) -> BranchState:
        """Convert one branch into `region`; put back every piece of Python state it
        changed (locals, objects built in the call, shadows) and return what it left."""
        saved_region, saved_locals = self.session.region, dict(frame.locals)
        n_effects = len(self.session.heap.effects)
        n_outputs = len(self.session.templates.outputs)
        saved_shadows = dict(self.session.heap.shadows)
        self.session.region = region
        scope = self.session.journal.enter("branch")
        try:
            self.cv.exec_block(stmts, frame)
            outcome, value = ("return", None) if tail else ("fall", None)
        except ReturnSignal as r:
            outcome, value = "return", r.value
        finally:
            self.session.journal.leave(scope)
            self.session.region = saved_region
            branch_locals = dict(frame.locals)
            frame.locals.clear()
            frame.locals.update(saved_locals)
        objects = scope.finals()
        scope.rollback()
        for e in self.session.heap.effects[n_effects:]:
            e.conds = e.conds + ((pred, expect),)
        shadows, self.session.heap.shadows = self.session.heap.shadows, saved_shadows
        return BranchState(
            outcome,
            value,
            branch_locals,
            objects,
            shadows,
            self.session.heap.effects[n_effects:],
            self.session.templates.outputs[n_outputs:],
        )

    def emit_if_cond(self, s: ast.If, test: Sym, frame, rest: Optional[List[ast.stmt]]) -> bool:
        """Convert `s` into a graph cond.  Returns True when it consumed `rest` (tail mode)."""
        site = where(frame, s)
        returns = has(s.body, ast.Return) or has(s.orelse, ast.Return)
        if any(has_own(st, (ast.Break, ast.Continue)) for st in s.body + s.orelse):
            raise unsupported(
                "`break`/`continue` under a data-dependent `if`", frame, s, "not supported in a graph cond yet"
            )
        tail = returns
        if tail and (rest is None or self.loop_depth):
            raise unsupported("`return` under a data-dependent `if` inside other control flow", frame, s)
        rest = rest or []
        then_stmts = s.body if not tail or always_returns(s.body) else s.body + rest
        else_stmts = s.orelse if not tail or always_returns(s.orelse) else s.orelse + rest
        then_r, else_r = Region(), Region()
        shadows_before = dict(self.session.heap.shadows)
        t_out = self.run_branch(then_stmts, frame, then_r, test, True, tail)
        e_out = self.run_branch(else_stmts, frame, else_r, test, False, tail)
        what = "merging the branches of a data-dependent `if`"
        slots = [Slot(None, "<return>", t_out.value, e_out.value)] if tail else name_slots(t_out, e_out, frame.locals)
        written, structures = object_slots(t_out, e_out, what, site)
        merged_shadows, one_sided = shadow_slots(
            t_out, e_out, shadows_before, lambda k: self._shadowed_before(k, shadows_before, site)
        )
        slots += written + merged_shadows
        bound = [sl for sl in slots if sl.then is not UNBOUND and sl.orelse is not UNBOUND]
        exports = self._branch_exports(t_out, then_r, else_r, True) + self._branch_exports(e_out, else_r, then_r, False)
        merged = self.merge_into_cond(
            test,
            then_r,
            else_r,
            [sl.then for sl in bound + exports],
            [sl.orelse for sl in bound + exports],
            bool(test.example),
            site,
        )
        self._rebind_exports(t_out, e_out, exports, merged[len(bound) :])
        for obj, state in structures:  # both sides agree on every object's structure
            self.session.journal.write(obj)
            restore(obj, state)
        for shadow_key in one_sided:
            self.session.heap.shadows[shadow_key] = ConditionalWrite()
        unbound = InGraphOnly(f"it is bound on one branch of the data-dependent `if` at {site}")
        for sl in slots:
            value = merged[bound.index(sl)] if sl in bound else unbound
            if sl in merged_shadows:
                self.session.heap.shadows[sl.key] = value
            elif sl.owner is not None:
                store(sl.owner, sl.key, value)
            elif not tail:
                frame.locals[sl.key] = value
        self.session.tensors.merged(test, written, merged, bound)
        if tail:
            raise ReturnSignal(merged[0])
        return False

    def ifexp_cond(self, n: ast.IfExp, test: Sym, frame) -> Any:
        """`a if t else b` on a tensor both ways: a graph cond returning either value."""
        if has([n], ast.NamedExpr):
            raise unsupported("an assignment expression in a data-dependent conditional expression", frame, n)
        then: List[ast.stmt] = [ast.copy_location(ast.Return(n.body), n.body)]
        orelse: List[ast.stmt] = [ast.copy_location(ast.Return(n.orelse), n.orelse)]
        synthetic = ast.copy_location(ast.If(test=n.test, body=then, orelse=orelse), n)
        depth, self.loop_depth = self.loop_depth, 0  # its returns leave the expression only
        try:
            self.emit_if_cond(synthetic, test, frame, [])
        except ReturnSignal as r:
            return r.value
        finally:
            self.loop_depth = depth
        raise AssertionError("internal: a conditional expression's cond returned nothing")

    def _shadowed_before(self, shadow_key: tuple, before: dict, site: str) -> Any:
        """What `obj.name` / `obj[key]` held before a graph `if` (for a branch that did not
        write it): a shadow from earlier in the call, or the outside value, read guarded."""
        if shadow_key in before:
            value = before[shadow_key]
            return UNBOUND if value is DELETED or isinstance(value, ConditionalWrite) else value
        entry = self.session.heap.origins.get(shadow_key[0])
        if entry is None:
            return UNBOUND
        obj, path = entry
        kind, name = shadow_key[1]
        try:
            value = getattr(obj, name) if kind == "attr" else obj[name]
        except (AttributeError, LookupError, TypeError):
            return UNBOUND
        step = path.attr(name) if kind == "attr" else path.item(name)
        return self.session.read_host(value, step, None, f"{site}: a value one branch writes")

    def _branch_exports(self, branch: BranchState, region: Region, other: Region, is_then: bool) -> List[Slot]:
        """Values computed on a branch that its effects use: extra cond results, paired
        with a placeholder on the other branch."""
        # an effect under a nested `if` also needs that `if`'s predicate, computed here
        used = [e.args for e in branch.effects] + [[p for p, _ in e.conds] for e in branch.effects]
        found = escaping(region, used, branch.template_values)
        out = []
        for vid, v in found.items():
            inner = Sym(v, self.session.examples.get(vid))
            if isinstance(v.spec, PySpec):
                stand_in = Sym(other.add(Node("const", v.spec.type())).add_output(PySpec(v.spec.type)), v.spec.type())
            else:
                target, args, kwargs = self.session.backend.placeholder(v.spec)
                node = other.add(Node("call", target, args, kwargs))
                stand_in = Sym(node.add_output(v.spec), target(*args, **kwargs))
            out.append(Slot(None, vid, inner, stand_in) if is_then else Slot(None, vid, stand_in, inner))
        return out

    def _rebind_exports(self, then: BranchState, orelse: BranchState, exports: List[Slot], merged: list) -> None:
        """Point the branches' effects and print snapshots at the cond's results."""
        if not exports:
            return
        mapping = {sl.key: m for sl, m in zip(exports, merged)}
        for e in then.effects + orelse.effects:
            e.args = rebind(e.args, mapping)
            e.conds = tuple((rebind(p, mapping), expect) for p, expect in e.conds)
        outputs = self.session.templates.outputs
        for i, v in enumerate(outputs):
            if v.id in mapping:
                outputs[i] = mapping[v.id].value
                self.session.templates.reindex(i)

    def merge_into_cond(
        self, pred: Sym, then_r: Region, else_r: Region, tvals: list, evals: list, taken: bool, site: str
    ) -> list:
        """Emit the cond node whose results merge the branch values pairwise."""
        what = "merging the branches of a data-dependent `if`"
        pairs = _BranchPairs(pred, what, site)
        trees = [pairs.flatten(a, b) for a, b in zip(tvals, evals)]
        t_vals = [self.region_value(v, then_r, what, site) for v in pairs.leaves_t]
        e_vals = [self.region_value(v, else_r, what, site) for v in pairs.leaves_e]
        then_r.add(Node("output", None, tuple(v for v, _ in t_vals)))
        else_r.add(Node("output", None, tuple(v for v, _ in e_vals)))
        operands = lift_captures([then_r, else_r])
        node = Node("cond", None, (pred.value,) + tuple(operands), regions=[then_r, else_r], site=site)
        self.session.region.add(node)
        outs = []
        for (tv, tex), (ev, eex), a, b in zip(t_vals, e_vals, pairs.leaves_t, pairs.leaves_e):
            spec = merge_spec(tv.spec, ev.spec, what, site)
            out = Sym(node.add_output(spec), tex if taken else eex)
            self._note_alias(pred, out, a, b)
            outs.append(out)
        return [_rebuild(t, outs) for t in trees]

    def _note_alias(self, pred: Sym, out: Sym, then: Any, orelse: Any) -> None:
        """A top-level cond result that is an input tensor passed through on one branch:
        outside the graph it is that very object when that branch ran (its identity
        matters to in-place writes after the graph, e.g. in the next graph segment)."""
        if self.session.region is not self.session.graph or isinstance(out.spec, PySpec):
            return
        for side, v in ((True, then), (False, orelse)):
            if isinstance(v, Sym) and v.value.node is not None and v.value.node.op == "input":
                self.session.alias_choices[out.value.id] = (pred, side, v)
                return

    def wants_graph_while(self, test: Any, frame, node) -> bool:
        if not isinstance(test, Sym) or isinstance(test.spec, PySpec):
            return False
        site_key = key(frame, node)
        stats = self.session.analyzer.profile.stats(site_key)
        counts = set(stats.trips) if stats is not None and site_key not in self.session.analyzer.relaxed else set()
        if len(counts) == 1:
            return False  # a stable trip count: unroll it with an assertion per test
        if not self.session.backend.capabilities.while_loop:
            raise unsupported(
                "data-dependent `while` on a tensor", frame, node, f"backend {self.session.backend.name} has no while"
            )
        return True

    def emit_while(
        self,
        frame,
        node,
        body: List[ast.stmt],
        test_expr: Optional[ast.expr],
        counter: Optional[Tuple[ast.AST, Sym]] = None,
    ) -> None:
        """A graph `while` over `body`.  With `counter=(target, n)` it is `for target in range(n)`.

        Loop-carried: the local names the body rebinds, and the slots (dict keys, list
        items, attributes) of objects built before the loop that the body writes."""
        site = where(frame, node)
        what = "a loop converted to a graph `while`"
        if has(body, (ast.Break, ast.Continue, ast.Return)):
            raise unsupported(what, frame, node, "`break`, `continue` or `return` in its body")
        names = [n for n in assigned_names(body) if n in frame.locals and not isinstance(frame.locals[n], InGraphOnly)]
        temps = [n for n in assigned_names(body) if n not in names]
        carried: List[Carried] = [Carried(None, n, frame.locals[n]) for n in names]
        if counter is not None:
            carried.insert(0, Carried(None, COUNTER, 0))
        init_vals = [self._loop_init(c, what, frame, node) for c in carried]
        specs = [v.spec for v in init_vals]
        for _attempt in range(6):
            cond_r, body_r, new_specs, found = self._while_regions(
                frame, node, body, test_expr, carried, init_vals, specs, counter
            )
            if found:  # the body writes objects built before the loop: carry those slots too
                carried += found
                init_vals += [self._loop_init(c, what, frame, node) for c in found]
                specs += [v.spec for v in init_vals[len(specs) :]]
                continue
            if new_specs == specs:
                break
            specs = new_specs  # a dimension changed across iterations: relax it and convert again
        else:
            raise unsupported(what, frame, node, "the carried values do not settle on one spec")
        self._finish_while(frame, cond_r, body_r, carried, init_vals, specs, site)
        for n in temps:
            frame.locals[n] = InGraphOnly(f"`{n}` is bound inside the graph loop at {site}")

    def _loop_init(self, c: Carried, what: str, frame, node) -> Sym:
        v = c.value
        if isinstance(v, Sym):
            return v
        if type(v) in (int, float, bool):
            return Sym(self.session.region.add(Node("const", v)).add_output(PySpec(type(v))), v)
        raise unsupported(what, frame, node, f"`{c.label}` holds a `{type(v).__name__}` that changes in the loop")

    def _finish_while(self, frame, cond_r, body_r, carried, init_vals, specs, site) -> None:
        k = len(init_vals)
        operands = lift_captures([cond_r, body_r], leading=k)
        body_r.nodes[-1].args = tuple(body_r.nodes[-1].args) + tuple(body_r.params[k:])
        wnode = Node(
            "while", None, tuple(v.value for v in init_vals) + tuple(operands), regions=[cond_r, body_r], site=site
        )
        self.session.region.add(wnode)
        outs = [wnode.add_output(s) for s in specs] + [wnode.add_output(v.spec) for v in operands]
        # examples after the loop: run it on the example values
        env = {v.value.id: v.example for v in init_vals}
        env.update({v.id: self.session.examples[v.id] for v in operands})
        final = Interpreter(self.session.graph, self.session.deadline).op_while(wnode, env)
        final = final if len(outs) != 1 else [final]
        for c, out, ex in zip(carried, outs, final):
            self.session.examples[out.id] = ex
            if c.owner is not None:
                self.session.journal.write(c.owner)
                store(c.owner, c.key, Sym(out, ex))
            elif c.key != COUNTER:
                frame.locals[c.key] = Sym(out, ex)

    def _while_regions(self, frame, node, body, test_expr, carried, init_vals, specs, counter):
        cond_r = Region([Value(s, None) for s in specs])
        body_r = Region([Value(s, None) for s in specs])
        saved_locals, saved_region = dict(frame.locals), self.session.region
        n_effects = len(self.session.heap.effects)
        self.graph_loop_depth += 1
        scope = self.session.journal.enter("loop")
        try:
            self.session.region = cond_r
            self._bind_carried(frame, carried, cond_r.params, init_vals)
            if counter is not None:
                pred = self.session.emit(
                    "call", operator.lt, (Sym(cond_r.params[0], 0), counter[1]), {}, where(frame, node)
                )
            else:
                pred = self.cv.eval_test(test_expr, frame)
            if not isinstance(pred, Sym):
                raise unsupported("a graph `while` whose condition is not a graph value", frame, node)
            cond_r.add(Node("output", None, (pred.value,)))
            self.session.region = body_r
            self._bind_carried(frame, carried, body_r.params, init_vals)
            if counter is not None:
                self.cv.assign(counter[0], Sym(body_r.params[0], 0), frame)
            self.cv.exec_block(body, frame)
            results = [
                self.session.emit("call", operator.add, (Sym(param, 0), 1), {}, "")
                if c.key == COUNTER and c.owner is None
                else c.current(frame)
                for c, param in zip(carried, body_r.params)
            ]
            vals = [self.region_value(r, body_r, "a loop-carried value", where(frame, node)) for r in results]
            body_r.add(Node("output", None, tuple(v for v, _ in vals)))
            if len(self.session.heap.effects) != n_effects:
                raise unsupported(
                    "side effects inside a data-dependent loop", frame, node, "not supported in a graph while yet"
                )
            new_specs = [
                merge_spec(s, v.spec, "a loop-carried value", where(frame, node)) for s, (v, _) in zip(specs, vals)
            ]
        finally:
            self.session.journal.leave(scope)
            self.graph_loop_depth -= 1
            self.session.region = saved_region
            frame.locals.clear()
            frame.locals.update(saved_locals)
            written = scope.finals()
            scope.rollback()
            for c in carried:
                c.put_back()
        return cond_r, body_r, new_specs, _loop_slots(written, carried, where(frame, node))

    def _bind_carried(self, frame, carried, params, init_vals):
        for c, p, init in zip(carried, params, init_vals):
            if c.owner is not None:
                store(c.owner, c.key, Sym(p, init.example))
            elif c.key != COUNTER:
                frame.locals[c.key] = Sym(p, init.example)

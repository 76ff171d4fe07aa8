"""Recursion over a Python structure (a parse tree), as data.

A recursive function over nested tuples (TreeRNN, TreeLSTM) does different work for every
tree, so a graph specialized to one tree's shape is useless for the next one.  Instead:

1. The converter recognizes the recursion (a user function calling itself on a part of
   an outside tuple/list argument) and restarts in *schedule* mode.
2. It converts the function body once per node of the example tree, with the node bound
   to a node-relative path, its recursive calls replaced by "child result" parameters and
   the values it reads from the node (leaf ids, leaf tensors) made "payload" parameters.
   Nodes whose conversions rely on the same structural guards form one *kind* (a leaf, an
   internal node): one graph region per kind.
3. On every call the host walks the actual tree once with those guards, producing a
   schedule (`schedule.py`): each node's kind, its children's positions and its payloads,
   as arrays.  The graph is a `while` loop over the schedule that evaluates the node's
   kind region (a `cond` chain) on its payloads and its children's results, kept in a
   buffer -- or, on backends with `map_regions`, one loop iteration per tree height, each
   kind's nodes of that height at once.

So a new tree is new *data* for the same graph: no conversion, no compilation, no
per-tree graph.  A tree with a node of an unseen kind fails the host check (a guard
miss): that call runs imperatively and the next graph knows the new kind.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..backend import schedule_ops
from ..guards import Guard, compile_kind_matchers
from ..ir.graph import Node, Region, Value
from ..ir.interpret import Interpreter
from ..ir.regions import free_values, lift_captures, replace_uses
from ..ir.spec import PySpec, TensorSpec
from ..paths import Path
from ..source import get_source
from .binding import bind_params
from .frame import unsupported, where
from .schedule import Kind, RowStacker, ScheduleBuilder
from .signals import PASS, ReturnSignal, ScheduleRecursion
from .sym import Sym

NODE = Path(("node",))
UNSET = object()


def _under(path: Path, prefix: Path) -> bool:
    return path.root == prefix.root and path.steps[: len(prefix.steps)] == prefix.steps


@dataclasses.dataclass
class ScheduleState:
    """The recursion being converted as data."""

    fn: Any
    args: list
    index: int  # which argument is the structure
    frame: Any
    node: Any
    kinds: Dict[tuple, Kind] = dataclasses.field(default_factory=dict)
    result_type: Any = UNSET  # the type nodes return (a tuple type, or None: one tensor)


class NodeScope:
    """Converting one node of the example tree: its reads become payload parameters of
    its kind, its structural guards the kind's guards."""

    def __init__(self, session: Any):
        self.session = session
        self.guards: List[Guard] = []
        self.payloads: List[Tuple[Path, Any, Value]] = []  # (path, spec, param)
        self.children: List[Tuple[Path, List[Value]]] = []

    def read(self, value: Any, path: Path, site: str) -> Any:
        """A value read from the current node: a payload parameter of the node's kind (or
        None: read as usual)."""
        if isinstance(value, (tuple, list)):
            self.take_guard(Guard("type", path, type(value), site))
            self.session.heap.note(value, path)
            return value
        for p, _spec, param in self.payloads:
            if p == path:
                return Sym(param, value)
        backend = self.session.backend
        if backend.owns(value):
            spec = backend.spec_of(value)
            self.guards += [Guard("type", path, type(value), site), Guard("tensor", path, spec, site)]
        elif type(value) in (int, float):
            spec = PySpec(type(value))
            self.guards.append(Guard("type", path, type(value), site))
        else:
            return None
        param = Value(spec, None, "payload")
        self.payloads.append((path, spec, param))
        self.session.examples[param.id] = value
        return Sym(param, value)

    def take_guard(self, g: Guard) -> bool:
        """A guard on the node is the kind's (checked per node by the schedule walk)."""
        if g.path is None or g.path.root != NODE.root:
            return False
        if not any(x.key() == g.key() for x in self.guards):
            self.guards.append(g)
        return True


class Recursion:
    """Recursion over a structure, converted as data (or inlined per structure)."""

    def __init__(self, cv: Any):
        self.cv = cv
        self.session = cv.session
        self.codes = dict(cv.session.mode.schedule)  # code -> structure argument, converted as data
        self.schedule: Any = None  # the ScheduleState while a recursion is converted as data
        self.builders: List[ScheduleBuilder] = []  # host schedule builders (guard paths reach them)

    def on_call(self, fn: Any, args: list, kwargs: dict, frame, node) -> Any:
        """A call of user function `fn`: a node's recursive call, the start of a recursion
        converted as data, or a recursion found now (convert again); else PASS."""
        code = getattr(fn, "__code__", None)
        if code in self.codes:
            index = self.codes[code]
            sched = self.schedule
            if sched is not None and sched.fn.__code__ is code and self.session.node_scope is not None:
                others = [a for i, a in enumerate(args) if i != index]
                if (
                    len(args) != len(sched.args)
                    or kwargs
                    or any(a is not b for a, b in zip(others, [a for i, a in enumerate(sched.args) if i != index]))
                ):
                    raise unsupported(
                        "recursion as data", frame, node, "recursive calls must pass the other arguments unchanged"
                    )
                return self.recursive_child(args[index])
            if sched is None:
                return self.schedule_call(fn, list(args), kwargs, index, frame, node)
        elif code is not None and not self.session.mode.no_schedule:
            index = self.recursion_entry(fn, list(args))
            if index is not None:
                raise ScheduleRecursion(code, index)
        return PASS

    def recursion_entry(self, fn, args: list) -> Optional[int]:
        """On a recursive call of `fn`: the index of the structure argument it recurses on."""
        code = fn.__code__
        outer = next((a for c, a in reversed(self.cv.calls.inline_stack) if c is code), None)
        session = self.session
        if (
            outer is None
            or session.config.recursion != "schedule"
            or not session.backend.capabilities.recursion
            or schedule_ops(session.backend) is None
        ):
            return None
        for i, (a, b) in enumerate(zip(outer, args)):
            if a is b:
                continue
            if isinstance(a, (tuple, list)) and session.heap.path_of(a) is not None:
                return i
            return None
        return None

    def schedule_call(self, fn, args: list, kwargs: dict, tree_index: int, frame, node) -> Sym:
        if kwargs:
            raise unsupported("recursion as data with keyword arguments", frame, node)
        root_value = args[tree_index]
        root_path = self.session.heap.path_of(root_value)
        if root_path is None:
            raise unsupported("recursion over a structure built in the call", frame, node)
        self.schedule = ScheduleState(fn, list(args), tree_index, frame, node)
        root_example = self._convert_node(root_value)
        kinds = list(self.schedule.kinds.values())
        specs = {k.result_spec for k in kinds}
        if len(specs) != 1 or not all(isinstance(sp, TensorSpec) and None not in sp.shape for sp in next(iter(specs))):
            raise unsupported(
                "recursion as data",
                frame,
                node,
                "every node must return tensors of one fixed spec (or one tuple of them)",
            )
        result_spec = next(iter(specs))
        backend = self.session.backend
        # level by level needs each kind's body as plain dataflow (no speculation or control
        # flow of its own, which a batched region could not check per node)
        levelwise = backend.capabilities.map_regions and all(
            n.op in ("call", "call_method", "const", "output") and not n.meta.get("impure")
            for k in kinds
            for n in k.region.nodes
        )
        builder = ScheduleBuilder(kinds, backend, result_spec, fn.__qualname__, levelwise)
        compile_kind_matchers(kinds, backend, self.session.globals_dicts, self.session.object_roots)
        if levelwise:
            return self._emit_level_loop(kinds, builder, root_path, root_value, result_spec)
        return self._emit_schedule_loop(kinds, builder, root_path, root_value, result_spec, root_example)

    def _convert_node(self, value) -> Any:
        """Convert the recursive body for one node; returns its example result."""
        session, sched = self.session, self.schedule
        scope, region = NodeScope(session), Region()
        saved = (session.region, session.heap.origins, session.node_scope, len(session.heap.effects))
        session.region, session.node_scope = region, scope
        session.heap.origins = dict(saved[1])
        session.heap.origins[id(value)] = (value, NODE)
        journal = session.journal.enter("node")
        try:
            result = self._run_node(value)
        finally:
            session.journal.leave(journal)
            session.region, session.heap.origins, session.node_scope = saved[0], saved[1], saved[2]
        if len(session.heap.effects) != saved[3] or journal.saved:
            raise unsupported("side effects in a recursion converted as data", sched.frame, sched.node)
        leaves = list(result) if type(result) in (tuple, list) else [result]
        if not leaves or not all(isinstance(r, Sym) and not isinstance(r.spec, PySpec) for r in leaves):
            raise unsupported(
                "recursion as data", sched.frame, sched.node, "each node must return a tensor or a tuple of tensors"
            )
        shape = type(result) if type(result) in (tuple, list) else None
        if sched.result_type is UNSET:
            sched.result_type = shape
        elif sched.result_type is not shape:
            raise unsupported("recursion as data", sched.frame, sched.node, "nodes return different structures")
        region.add(Node("output", None, tuple(r.value for r in leaves)))
        self._file_kind(scope, region, leaves)
        return result.example if shape is None else shape(r.example for r in leaves)

    def _run_node(self, value) -> Any:
        sched, cv = self.schedule, self.cv
        fn = sched.fn
        src = get_source(fn)
        callee = cv.calls.callee_frame(fn, src)
        args = list(sched.args)
        args[sched.index] = (
            value if isinstance(value, (tuple, list)) else self.session.read_host(value, NODE, None, "recursion node")
        )
        callee.locals.update(
            bind_params(src.node, list(fn.__defaults__ or ()), dict(fn.__kwdefaults__ or {}), args, {}, fn.__name__)
        )
        cv.calls.depth += 1
        try:
            cv.exec_block(src.node.body, callee, top=True)
        except ReturnSignal as r:
            return r.value
        finally:
            cv.calls.depth -= 1
        return None

    def _file_kind(self, scope: NodeScope, region: Region, leaves: list) -> None:
        """Guards and payloads under a child's path belong to the child's own kind."""
        child_paths = [p for p, _ in scope.children]
        guards = [g for g in scope.guards if g.path is None or not any(_under(g.path, c) for c in child_paths)]
        payloads = [p for p in scope.payloads if not any(_under(p[0], c) for c in child_paths)]
        key = (tuple(g.key() for g in guards), tuple(p[0] for p in payloads), tuple(child_paths))
        if key not in self.schedule.kinds:
            self.schedule.kinds[key] = Kind(
                key, region, payloads, scope.children, guards, tuple(r.spec for r in leaves)
            )

    def recursive_child(self, child: Any) -> Sym:
        """A recursive call inside schedule mode: the child's result, as a parameter."""
        session = self.session
        scope = session.node_scope
        if isinstance(child, Sym):
            path = next((p for p, _s, param in scope.payloads if param is child.value), None)
            concrete = child.example
        else:
            path = session.heap.path_of(child)
            concrete = child
        if path is None or path.root != NODE.root:
            raise unsupported(
                "recursion as data",
                self.schedule.frame,
                self.schedule.node,
                "a recursive call on something other than a part of the node",
            )
        example = self._convert_node(concrete)
        session.node_scope = scope
        leaves = list(example) if type(example) in (tuple, list) else [example]
        params = [Value(session.backend.spec_of(e), None, "child") for e in leaves]
        for p, e in zip(params, leaves):
            session.examples[p.id] = e
        scope.children.append((path, params))
        syms = [Sym(p, e) for p, e in zip(params, leaves)]
        return syms[0] if type(example) not in (tuple, list) else type(example)(syms)

    def _schedule_inputs(self, builder, root_path, root_value) -> Callable[[str], Sym]:
        """Run the builder on the example tree; returns `derived(field)`: the graph input
        fed, on every call, with that field of the call's schedule (first dim relaxed)."""
        arrays = builder(root_value)
        if arrays is None:
            raise unsupported(
                "recursion as data",
                self.schedule.frame,
                self.schedule.node,
                "internal: the example tree does not match its own kinds",
            )
        bidx = self.builders
        bidx.append(builder)
        b = len(bidx) - 1

        def derived(field: str) -> Sym:
            path = Path(("derived", b, root_path, field))
            example = arrays[field]
            spec = (
                self.session.backend.spec_of(example) if self.session.backend.owns(example) else PySpec(type(example))
            )
            if isinstance(spec, TensorSpec):
                spec = spec.relaxed({0})
            return self.session.new_input(path, spec, example)

        return derived

    def _emit_schedule_loop(self, kinds, builder, root_path, root_value, result_spec, root_example) -> Sym:
        derived = self._schedule_inputs(builder, root_path, root_value)

        n = derived("n")
        kind_ids, child_ix = derived("kinds"), derived("children")
        m = len(result_spec)
        bufs0 = [derived(f"buffer{j}") for j in range(m)]
        pay = {(k, j): derived(f"payload{k}_{j}") for k, kind in enumerate(kinds) for j in range(len(kind.payloads))}
        site = where(self.schedule.frame, self.schedule.node)
        carried_specs = [PySpec(int)] + [b.spec for b in bufs0]
        cond_r = Region([Value(sp, None, "i" if j == 0 else "buf") for j, sp in enumerate(carried_specs)])
        body_r = Region([Value(sp, None, "i" if j == 0 else "buf") for j, sp in enumerate(carried_specs)])
        i_c, i_b, bufs_b = cond_r.params[0], body_r.params[0], body_r.params[1:]
        lt = cond_r.add(Node("call", operator.lt, (i_c, n.value))).add_output(PySpec(bool))
        cond_r.add(Node("output", None, (lt,)))

        def add(region, target, args, spec):
            return region.add(Node("call", target, args)).add_output(spec)

        k_val = add(body_r, operator.getitem, (kind_ids.value, i_b), TensorSpec("int64", ()))
        # host loops (torch) read a node's payloads and children inside its kind's branch, so
        # a leaf reads nothing it does not use; graph loops keep flat reads (one gather each)
        local = self.session.backend.capabilities.host_schedules
        branches = []
        for k, kind in enumerate(kinds):
            region = kind.region
            head = Region() if local else body_r
            for j, (_path, spec, param) in enumerate(kind.payloads):
                replace_uses(region, param, add(head, operator.getitem, (pay[(k, j)].value, i_b), spec))
            for j, (_path, params) in enumerate(kind.children):
                ix = add(head, operator.getitem, (child_ix.value, (i_b, j)), TensorSpec("int64", ()))
                for leaf, param in enumerate(params):
                    replace_uses(region, param, add(head, operator.getitem, (bufs_b[leaf], ix), result_spec[leaf]))
            if local:
                region.nodes[:0] = head.nodes
            branches.append(region)
        results = self._cond_chain(body_r, k_val, branches, result_spec, site)
        new_bufs = [
            add(body_r, self.session.backend.setitem_functional, (bufs_b[leaf], i_b, results[leaf]), bufs0[leaf].spec)
            for leaf in range(m)
        ]
        nxt = add(body_r, operator.add, (i_b, 1), PySpec(int))
        body_r.add(Node("output", None, (nxt, *new_bufs)))
        zero = self.session.region.add(Node("const", 0)).add_output(PySpec(int))
        operands = lift_captures([cond_r, body_r], leading=1 + m)
        return self._run_schedule_loop(
            cond_r, body_r, operands, (zero, 0), [(b.value, b.example) for b in bufs0], carried_specs, site
        )

    def _run_schedule_loop(self, cond_r, body_r, operands, counter, bufs, carried_specs, site) -> Sym:
        """Emit the schedule's `while` (counter and buffers carried, `operands` lifted), run
        it on the examples, and return the root's result(s): the buffers' last rows."""
        m = len(bufs)
        body_r.nodes[-1].args = tuple(body_r.nodes[-1].args) + tuple(body_r.params[1 + m :])
        wnode = Node(
            "while", None, (counter[0], *(v for v, _e in bufs)) + tuple(operands), regions=[cond_r, body_r], site=site
        )
        self.session.region.add(wnode)
        outs = [wnode.add_output(sp) for sp in carried_specs] + [wnode.add_output(v.spec) for v in operands]
        env = {counter[0].id: counter[1]}
        env.update({v.id: e for v, e in bufs})
        env.update({v.id: self.session.examples[v.id] for v in operands})
        final = Interpreter(self.session.graph, self.session.deadline).op_while(wnode, env)
        roots = [
            self.session.emit("call", operator.getitem, (Sym(outs[1 + leaf], final[1 + leaf]), -1), {}, site)
            for leaf in range(m)
        ]
        rtype = self.schedule.result_type
        return roots[0] if rtype is None else rtype(roots)

    def _emit_level_loop(self, kinds, builder, root_path, root_value, result_spec) -> Sym:
        """Level by level: every node of one height and kind in one `map` (a batched region).

        The host sorts the nodes by (height, kind), so each (height, kind) is a contiguous
        segment `offsets[h, k]:offsets[h, k+1]` and results are appended to the buffers in
        node order.  Leaf kinds (no children) are height 0, computed before the loop; the
        loop runs once per height above that, so a tree costs O(height) graph iterations
        rather than O(nodes)."""
        derived = self._schedule_inputs(builder, root_path, root_value)
        site = where(self.schedule.frame, self.schedule.node)
        segments = _LevelSegments(kinds, derived, len(result_spec), self.session.backend, site)
        session = self.session
        # height 0: the leaf kinds, once, before the loop
        pre = Region()
        bufs = [b.value for b in segments.bufs0]
        for k, kind in enumerate(kinds):
            if not kind.children:
                bufs = segments.segment(pre, 0, k, bufs)
        pre.add(Node("output", None, tuple(bufs)))
        env = {v.id: session.examples[v.id] for v in free_values(pre)}
        pre_examples = Interpreter(session.graph, session.deadline).run_region(pre, env)
        for n in pre.nodes[:-1]:
            session.region.add(n)
        for v, e in zip(bufs, pre_examples):
            session.examples[v.id] = e
        return self._level_loop(kinds, segments, derived("levels"), bufs, site)

    def _level_loop(self, kinds, segments: _LevelSegments, height: Sym, bufs: list, site: str) -> Sym:
        """Heights 1..levels: the kinds with children, one loop iteration per height."""
        m = len(bufs)
        carried_specs = [PySpec(int)] + [b.spec for b in segments.bufs0]
        cond_r = Region([Value(sp, None, "h" if j == 0 else "buf") for j, sp in enumerate(carried_specs)])
        body_r = Region([Value(sp, None, "h" if j == 0 else "buf") for j, sp in enumerate(carried_specs)])
        le = _add(cond_r, operator.le, (cond_r.params[0], height.value), PySpec(bool))
        cond_r.add(Node("output", None, (le,)))
        level_b, new_bufs = body_r.params[0], list(body_r.params[1:])
        for k, kind in enumerate(kinds):
            if kind.children:
                new_bufs = segments.segment(body_r, level_b, k, new_bufs)
        nxt = _add(body_r, operator.add, (level_b, 1), PySpec(int))
        body_r.add(Node("output", None, (nxt, *new_bufs)))
        one = self.session.region.add(Node("const", 1)).add_output(PySpec(int))
        operands = lift_captures([cond_r, body_r], leading=1 + m)
        return self._run_schedule_loop(
            cond_r, body_r, operands, (one, 1), [(v, self.session.examples[v.id]) for v in bufs], carried_specs, site
        )

    def _cond_chain(self, region: Region, k_val: Value, branches: List[Region], specs, site, k: int = 0) -> List[Value]:
        """`branches[k]` selected by the kind id `k_val`, as nested conds (inside `region`)."""
        if k == len(branches) - 1:  # the last (or only) kind: its nodes inline
            for n in branches[k].nodes[:-1]:
                region.add(n)
            return list(branches[k].nodes[-1].args)
        pred = region.add(Node("call", operator.eq, (k_val, k))).add_output(TensorSpec("bool", ()))
        else_r = Region()
        rest = self._cond_chain(else_r, k_val, branches, specs, site, k + 1)
        else_r.add(Node("output", None, tuple(rest)))
        then_r = branches[k]
        operands = lift_captures([then_r, else_r])
        node = Node("cond", None, (pred,) + tuple(operands), regions=[then_r, else_r], site=site)
        region.add(node)
        return [node.add_output(sp) for sp in specs]


def _add(region: Region, target: Any, args: tuple, spec: Any) -> Value:
    return region.add(Node("call", target, args)).add_output(spec)


def _batched(spec: Any) -> TensorSpec:
    """The spec of a column of rows of `spec` (Python numbers as their carrier dtype)."""
    if isinstance(spec, TensorSpec):
        return dataclasses.replace(spec, shape=(None,) + tuple(spec.shape))
    return TensorSpec("int64" if spec.type in (int, bool) else "float64", (None,))


class _LevelSegments:
    """Emits one (height, kind) segment of a level-by-level schedule as a `map` node."""

    def __init__(self, kinds: List[Kind], derived: Callable[[str], Sym], m: int, backend: Any, site: str):
        self.kinds, self.backend, self.site, self.m = kinds, backend, site, m
        self.offsets, self.child_ix = derived("offsets"), derived("children")
        self.pay = {
            (k, j): derived(f"payload{k}_{j}") for k, kind in enumerate(kinds) for j in range(len(kind.payloads))
        }
        self.bufs0 = [derived(f"buffer{leaf}") for leaf in range(m)]

    def segment(self, region: Region, level: Any, k: int, bufs: list) -> list:
        """The buffers after kind `k`'s nodes of height `level` appended their results."""
        kind, backend, i64 = self.kinds[k], self.backend, TensorSpec("int64", ())
        start = _add(region, operator.getitem, (self.offsets.value, (level, k)), i64)
        end = _add(region, operator.getitem, (self.offsets.value, (level, k + 1)), i64)
        rows = slice(start, end)
        operands = [
            _add(region, operator.getitem, (self.pay[(k, j)].value, rows), _batched(spec))
            for j, (_p, spec, _param) in enumerate(kind.payloads)
        ]
        params = [param for _p, _s, param in kind.payloads]
        for j, (_path, child_params) in enumerate(kind.children):
            ix = _add(region, operator.getitem, (self.child_ix.value, (rows, j)), TensorSpec("int64", (None,)))
            for leaf, param in enumerate(child_params):
                operands.append(_add(region, backend.take_rows, (bufs[leaf], ix), self.bufs0[leaf].spec))
                params.append(param)
        body = kind.region
        body.params = params
        whole = lift_captures([body], leading=len(params))
        node = Node(
            "map",
            RowStacker(backend),
            tuple(operands) + tuple(whole),
            {"batched": len(operands)},
            regions=[body],
            site=self.site,
        )
        region.add(node)
        outs = [node.add_output(self.bufs0[leaf].spec) for leaf in range(self.m)]
        return [
            _add(region, backend.concat_rows, (bufs[leaf], outs[leaf]), self.bufs0[leaf].spec) for leaf in range(self.m)
        ]

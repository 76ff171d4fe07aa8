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
   post-order *schedule*: each node's kind, its children's positions and its payloads, as
   arrays.  The graph is a `while` loop over the schedule that evaluates the node's kind
   region (a `cond` chain) on its payloads and its children's results, kept in a buffer.

So a new tree is new *data* for the same graph: no conversion, no compilation, no
per-tree graph.  A tree with a node of an unseen kind fails the host check (a guard
miss): that call runs imperatively and the next graph knows the new kind.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..backend import HostRows
from ..errors import Unsupported
from ..ir.graph import Node, Region, Value
from ..ir.interpret import Interpreter
from ..ir.passes import replace_uses
from ..ir.spec import PySpec, TensorSpec
from .control import free_values, lift_captures
from .heap import Guard, Path, Sym

NODE = Path(("node",))


class ScheduleRecursion(Exception):
    """Raised when recursion over a structure is found: convert again in schedule mode."""

    def __init__(self, code, tree_index: int):
        self.code, self.tree_index = code, tree_index


class _Kind:
    def __init__(self, key, region: Region, payloads: List[Tuple[Path, Any, Value]],
                 children: List[Tuple[Path, List[Value]]], guards: List[Guard], result_spec: tuple):
        self.key, self.region, self.payloads, self.children = key, region, payloads, children
        self.guards, self.result_spec = guards, result_spec
        self.matcher: Optional[Callable] = None


class _NodeContext:
    """The state of converting one node of the example tree."""

    def __init__(self):
        self.guards: List[Guard] = []
        self.payloads: List[Tuple[Path, Any, Value]] = []   # (path, spec, param)
        self.children: List[Tuple[Path, List[Value]]] = []
        self.child_results: List[Any] = []


def _under(path: Path, prefix: Path) -> bool:
    return path.root == prefix.root and path.steps[:len(prefix.steps)] == prefix.steps


class RecursionMixin:
    def recursion_entry(self, fn, args: list) -> Optional[int]:
        """On a recursive call of `fn`: the index of the structure argument it recurses on."""
        code = fn.__code__
        stack = self.__dict__.setdefault("inline_stack", [])
        outer = next((a for c, a in reversed(stack) if c is code), None)
        if outer is None or self.config.recursion != "schedule" or not self.backend.capabilities.recursion:
            return None
        for i, (a, b) in enumerate(zip(outer, args)):
            if a is b:
                continue
            if isinstance(a, (tuple, list)) and self.heap.path_of(a) is not None:
                return i
            return None
        return None

    # -- schedule mode --------------------------------------------------------------------
    def schedule_call(self, fn, args: list, kwargs: dict, tree_index: int, frame, node) -> Sym:
        if kwargs:
            raise self.unsupported("recursion as data with keyword arguments", frame, node)
        root_value = args[tree_index]
        root_path = self.heap.path_of(root_value)
        if root_path is None:
            raise self.unsupported("recursion over a structure built in the call", frame, node)
        self.schedule = dict(fn=fn, args=list(args), index=tree_index, kinds={}, order=[], frame=frame, node=node)
        root_example = self._convert_node(root_value)
        kinds = list(self.schedule["kinds"].values())
        specs = {k.result_spec for k in kinds}
        if len(specs) != 1 or not all(isinstance(sp, TensorSpec) and None not in sp.shape for sp in next(iter(specs))):
            raise self.unsupported("recursion as data", frame, node,
                                   "every node must return tensors of one fixed spec (or one tuple of them)")
        result_spec = next(iter(specs))
        # level by level needs each kind's body as plain dataflow (no speculation or control
        # flow of its own, which a batched region could not check per node)
        levelwise = self.backend.capabilities.map_regions and all(
            n.op in ("call", "call_method", "const", "output") and not n.meta.get("impure")
            for k in kinds for n in k.region.nodes)
        builder = ScheduleBuilder(kinds, self.backend, result_spec, self.schedule["fn"].__qualname__, levelwise)
        from ..guards import compile_kind_matchers
        compile_kind_matchers(kinds, self.backend, self.globals_dicts, self.__dict__.get("object_roots", []))
        if levelwise:
            return self._emit_level_loop(kinds, builder, root_path, root_value, result_spec)
        return self._emit_schedule_loop(kinds, builder, root_path, root_value, result_spec, root_example)

    def _convert_node(self, value) -> Any:
        """Convert the recursive body for one node; returns its example result."""
        from .interp import Frame, ReturnSignal
        from .source import get_source
        sched = self.schedule
        fn = sched["fn"]
        ctx = _NodeContext()
        saved = (self.region, self.heap.origins, getattr(self, "node_ctx", None), self.heap.effects[:])
        region = Region()
        self.region, self.node_ctx = region, ctx
        self.heap.origins = dict(saved[1])
        self.heap.origins[id(value)] = (value, NODE)
        src = get_source(fn)
        fpath = self.heap.path_of(fn) or self.object_root(fn, fn.__qualname__)
        cells = {name: (cell, fpath.cell(i)) for i, (name, cell) in enumerate(zip(fn.__code__.co_freevars, fn.__closure__ or ()))}
        callee = Frame(fn.__name__, src.filename, src.scope, fn.__globals__, self.gid(fn.__globals__), cells)
        args = list(sched["args"])
        args[sched["index"]] = self.read_host(value, NODE, None, "recursion node") if not isinstance(value, (tuple, list)) else value
        from .calls import bind_params
        callee.locals.update(bind_params(src.node, list(fn.__defaults__ or ()), dict(fn.__kwdefaults__ or {}), args, {}, fn.__name__))
        self.depth += 1
        try:
            self.exec_block(src.node.body, callee, top=True)
            result = None
        except ReturnSignal as r:
            result = r.value
        finally:
            self.depth -= 1
            self.region, self.heap.origins, self.node_ctx = saved[0], saved[1], saved[2]
        if len(self.heap.effects) != len(saved[3]):
            raise self.unsupported("side effects in a recursion converted as data", sched["frame"], sched["node"])
        leaves = list(result) if type(result) in (tuple, list) else [result]
        if not leaves or not all(isinstance(r, Sym) and not isinstance(r.spec, PySpec) for r in leaves):
            raise self.unsupported("recursion as data", sched["frame"], sched["node"],
                                   "each node must return a tensor or a tuple of tensors")
        shape = type(result) if type(result) in (tuple, list) else None
        if sched.setdefault("result_type", shape) is not shape:
            raise self.unsupported("recursion as data", sched["frame"], sched["node"], "nodes return different structures")
        region.add(Node("output", None, tuple(r.value for r in leaves)))
        # guards and payloads under a child's path belong to the child's own kind
        child_paths = [p for p, _ in ctx.children]
        guards = [g for g in ctx.guards if not any(_under(g.path, c) for c in child_paths)]
        payloads = [p for p in ctx.payloads if not any(_under(p[0], c) for c in child_paths)]
        key = (tuple(g.key() for g in guards), tuple(p[0] for p in payloads), tuple(child_paths))
        if key not in sched["kinds"]:
            sched["kinds"][key] = _Kind(key, region, payloads, ctx.children, guards, tuple(r.spec for r in leaves))
        return result.example if shape is None else shape(r.example for r in leaves)

    def node_read(self, value: Any, path: Path, site: str) -> Any:
        """A value read from the current node: a payload parameter of the node's kind."""
        ctx = self.node_ctx
        for p, _spec, param in ctx.payloads:
            if p == path:
                return Sym(param, value)
        if self.backend.owns(value):
            spec = self.backend.spec_of(value)
            ctx.guards.append(Guard("type", path, type(value), site))
            ctx.guards.append(Guard("tensor", path, spec, site))
        elif type(value) in (int, float):
            spec = PySpec(type(value))
            ctx.guards.append(Guard("type", path, type(value), site))
        else:
            return None
        param = Value(spec, None, "payload")
        ctx.payloads.append((path, spec, param))
        self.examples[param.id] = value
        return Sym(param, value)

    def node_guard(self, g: Guard) -> bool:
        ctx = getattr(self, "node_ctx", None)
        if ctx is None or g.path is None or g.path.root != NODE.root:
            return False
        if not any(x.key() == g.key() for x in ctx.guards):
            ctx.guards.append(g)
        return True

    def recursive_child(self, child: Any) -> Sym:
        """A recursive call inside schedule mode: the child's result, as a parameter."""
        ctx = self.node_ctx
        if isinstance(child, Sym):
            path = next((p for p, _s, param in ctx.payloads if param is child.value), None)
            concrete = child.example
        else:
            path = self.heap.path_of(child)
            concrete = child
        if path is None or path.root != NODE.root:
            raise self.unsupported("recursion as data", self.schedule["frame"], self.schedule["node"],
                                   "a recursive call on something other than a part of the node")
        saved = self.node_ctx
        example = self._convert_node(concrete)
        self.node_ctx = saved
        leaves = list(example) if type(example) in (tuple, list) else [example]
        params = [Value(self.backend.spec_of(e), None, "child") for e in leaves]
        for p, e in zip(params, leaves):
            self.examples[p.id] = e
        ctx.children.append((path, params))
        syms = [Sym(p, e) for p, e in zip(params, leaves)]
        return syms[0] if type(example) not in (tuple, list) else type(example)(syms)

    def _schedule_inputs(self, builder, root_path, root_value) -> Callable[[str], Sym]:
        """Run the builder on the example tree; returns `derived(field)`: the graph input
        fed, on every call, with that field of the call's schedule (first dim relaxed)."""
        arrays = builder(root_value)
        if arrays is None:
            raise self.unsupported("recursion as data", self.schedule["frame"], self.schedule["node"],
                                   "internal: the example tree does not match its own kinds")
        bidx = self.__dict__.setdefault("builders", [])
        bidx.append(builder)
        b = len(bidx) - 1

        def derived(field: str) -> Sym:
            path = Path(("derived", b, root_path, field))
            example = arrays[field]
            spec = self.backend.spec_of(example) if self.backend.owns(example) else PySpec(type(example))
            if isinstance(spec, TensorSpec):
                spec = spec.relaxed({0})
            return self._new_input(path, spec, example)
        return derived

    def _emit_schedule_loop(self, kinds, builder, root_path, root_value, result_spec, root_example) -> Sym:
        derived = self._schedule_inputs(builder, root_path, root_value)

        n = derived("n")
        kind_ids, child_ix = derived("kinds"), derived("children")
        m = len(result_spec)
        bufs0 = [derived(f"buffer{j}") for j in range(m)]
        pay = {(k, j): derived(f"payload{k}_{j}") for k, kind in enumerate(kinds) for j in range(len(kind.payloads))}
        site = self.where(self.schedule["frame"], self.schedule["node"])
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
        local = self.backend.capabilities.host_schedules
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
        new_bufs = [add(body_r, self.backend.setitem_functional, (bufs_b[leaf], i_b, results[leaf]), bufs0[leaf].spec)
                    for leaf in range(m)]
        nxt = add(body_r, operator.add, (i_b, 1), PySpec(int))
        body_r.add(Node("output", None, (nxt, *new_bufs)))
        zero = self.region.add(Node("const", 0)).add_output(PySpec(int))
        operands = lift_captures([cond_r, body_r], leading=1 + m)
        return self._run_schedule_loop(cond_r, body_r, operands, (zero, 0), [(b.value, b.example) for b in bufs0],
                                       carried_specs, site)

    def _run_schedule_loop(self, cond_r, body_r, operands, counter, bufs, carried_specs, site) -> Sym:
        """Emit the schedule's `while` (counter and buffers carried, `operands` lifted), run
        it on the examples, and return the root's result(s): the buffers' last rows."""
        m = len(bufs)
        body_r.nodes[-1].args = tuple(body_r.nodes[-1].args) + tuple(body_r.params[1 + m:])
        wnode = Node("while", None, (counter[0], *(v for v, _e in bufs)) + tuple(operands),
                     regions=[cond_r, body_r], site=site)
        self.region.add(wnode)
        outs = [wnode.add_output(sp) for sp in carried_specs] + [wnode.add_output(v.spec) for v in operands]
        env = {counter[0].id: counter[1]}
        env.update({v.id: e for v, e in bufs})
        env.update({v.id: self.examples[v.id] for v in operands})
        final = Interpreter(self.graph).op_while(wnode, env)
        roots = [self.emit("call", operator.getitem, (Sym(outs[1 + leaf], final[1 + leaf]), -1), {}, site)
                 for leaf in range(m)]
        rtype = self.schedule.get("result_type")
        return roots[0] if rtype is None else rtype(roots)

    def _emit_level_loop(self, kinds, builder, root_path, root_value, result_spec) -> Sym:
        """Level by level: every node of one height and kind in one `map` (a batched region).

        The host sorts the nodes by (height, kind), so each (height, kind) is a contiguous
        segment `offsets[h, k]:offsets[h, k+1]` and results are appended to the buffers in
        node order.  Leaf kinds (no children) are height 0, computed before the loop; the
        loop runs once per height above that, so a tree costs O(height) graph iterations
        rather than O(nodes)."""
        derived = self._schedule_inputs(builder, root_path, root_value)
        site = self.where(self.schedule["frame"], self.schedule["node"])
        height, offsets, child_ix = derived("levels"), derived("offsets"), derived("children")
        pay = {(k, j): derived(f"payload{k}_{j}") for k, kind in enumerate(kinds) for j in range(len(kind.payloads))}
        m = len(result_spec)
        bufs0 = [derived(f"buffer{leaf}") for leaf in range(m)]
        backend = self.backend
        i64 = TensorSpec("int64", ())

        def add(region, target, args, spec):
            return region.add(Node("call", target, args)).add_output(spec)

        def batched(spec):
            from dataclasses import replace
            return replace(spec, shape=(None,) + tuple(spec.shape)) if isinstance(spec, TensorSpec) \
                else TensorSpec("int64" if spec.type in (int, bool) else "float64", (None,))

        def segment(region, level, k, bufs):
            kind = kinds[k]
            start = add(region, operator.getitem, (offsets.value, (level, k)), i64)
            end = add(region, operator.getitem, (offsets.value, (level, k + 1)), i64)
            rows = slice(start, end)
            operands = [add(region, operator.getitem, (pay[(k, j)].value, rows), batched(spec))
                        for j, (_p, spec, _param) in enumerate(kind.payloads)]
            params = [param for _p, _s, param in kind.payloads]
            for j, (_path, child_params) in enumerate(kind.children):
                ix = add(region, operator.getitem, (child_ix.value, (rows, j)), TensorSpec("int64", (None,)))
                for leaf, param in enumerate(child_params):
                    operands.append(add(region, backend.take_rows, (bufs[leaf], ix), bufs0[leaf].spec))
                    params.append(param)
            body = kind.region
            body.params = params
            whole = lift_captures([body], leading=len(params))
            node = Node("map", _RowStacker(backend), tuple(operands) + tuple(whole), {"batched": len(operands)},
                        regions=[body], site=site)
            region.add(node)
            outs = [node.add_output(bufs0[leaf].spec) for leaf in range(m)]
            return [add(region, backend.concat_rows, (bufs[leaf], outs[leaf]), bufs0[leaf].spec) for leaf in range(m)]

        # height 0: the leaf kinds, once, before the loop
        pre = Region()
        bufs = [b.value for b in bufs0]
        for k, kind in enumerate(kinds):
            if not kind.children:
                bufs = segment(pre, 0, k, bufs)
        pre.add(Node("output", None, tuple(bufs)))
        env = {v.id: self.examples[v.id] for v in free_values(pre)}
        pre_examples = Interpreter(self.graph).run_region(pre, env)
        for n in pre.nodes[:-1]:
            self.region.add(n)
        for v, e in zip(bufs, pre_examples):
            self.examples[v.id] = e
        # heights 1..levels: the kinds with children
        carried_specs = [PySpec(int)] + [b.spec for b in bufs0]
        cond_r = Region([Value(sp, None, "h" if j == 0 else "buf") for j, sp in enumerate(carried_specs)])
        body_r = Region([Value(sp, None, "h" if j == 0 else "buf") for j, sp in enumerate(carried_specs)])
        le = cond_r.add(Node("call", operator.le, (cond_r.params[0], height.value))).add_output(PySpec(bool))
        cond_r.add(Node("output", None, (le,)))
        level_b, new_bufs = body_r.params[0], list(body_r.params[1:])
        for k, kind in enumerate(kinds):
            if kind.children:
                new_bufs = segment(body_r, level_b, k, new_bufs)
        nxt = add(body_r, operator.add, (level_b, 1), PySpec(int))
        body_r.add(Node("output", None, (nxt, *new_bufs)))
        one = self.region.add(Node("const", 1)).add_output(PySpec(int))
        operands = lift_captures([cond_r, body_r], leading=1 + m)
        return self._run_schedule_loop(cond_r, body_r, operands, (one, 1), [(v, self.examples[v.id]) for v in bufs],
                                       carried_specs, site)

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


class _RowStacker:
    """The `map` node's reference stacking: rows -> one tensor (empty: zero rows of `spec`)."""

    def __init__(self, backend):
        self.backend = backend

    def __call__(self, rows, spec):
        return self.backend.stack_results(rows, spec)

    def __repr__(self) -> str:
        return "stack_rows"


class ScheduleBuilder:
    """Walks a tree on the host: the post-order schedule arrays, or None when a node fits no kind.
    `levelwise`: nodes sorted by (height, kind), with segment offsets (see `_emit_level_loop`)."""

    def __init__(self, kinds: List[_Kind], backend, result_spec: tuple, name: str, levelwise: bool = False):
        self.kinds, self.backend, self.result_spec, self.name = kinds, backend, result_spec, name
        self.max_children = max((len(k.children) for k in kinds), default=0)
        self.levelwise = levelwise
        self.n_children = [len(k.children) for k in kinds]

    def __repr__(self) -> str:
        return f"<schedule of {self.name}: {len(self.kinds)} node kinds>"

    def _matcher(self) -> Callable[[Any], tuple]:
        """`match(node)`: (kind, payloads, children) of the first kind whose guards hold;
        LookupError when none does (the call then runs imperatively)."""
        matchers = [(k, kind.matcher) for k, kind in enumerate(self.kinds)]

        def match(x):
            for k, kind_match in matchers:
                got = kind_match(x)
                if got is not None:
                    return k, got[0], got[1]
            raise LookupError
        return match

    def __call__(self, root) -> Optional[Dict[str, Any]]:
        if self.levelwise:
            return self._levels(root)
        # one pass over the tree, appending straight into the columns (this runs on every
        # call, in the guard: per node it is a matcher call and a few appends)
        match = self._matcher()
        width = max(self.max_children, 1)  # every row is read up to max_children (padded with 0)
        kind_col: List[int] = []
        child_rows: List[List[int]] = []
        payload_rows: List[tuple] = []

        def visit(x) -> int:
            k, payloads, children = match(x)
            ids = [visit(c) for c in children]
            if len(ids) < width:
                ids += [0] * (width - len(ids))
            kind_col.append(k)
            child_rows.append(ids)
            payload_rows.append(payloads)
            return len(kind_col) - 1

        try:
            visit(root)
        except (LookupError, RecursionError):
            return None
        n = len(kind_col)
        backend = self.backend
        if backend.capabilities.host_schedules:
            out = {"n": n, "kinds": kind_col, "children": HostRows(child_rows)}
            for leaf in range(len(self.result_spec)):
                out[f"buffer{leaf}"] = [None] * n   # row i is written before it is read
            for k, kind in enumerate(self.kinds):
                for j in range(len(kind.payloads)):
                    out[f"payload{k}_{j}"] = [p[j] if kk == k else None for kk, p in zip(kind_col, payload_rows)]
            return out
        kinds = np.fromiter(kind_col, np.int64, n)
        children = np.zeros((n, max(self.max_children, 1)), np.int64)
        for i, ids in enumerate(child_rows):
            children[i, :len(ids)] = ids
        out = {"n": n, "kinds": backend.from_numpy(kinds), "children": backend.from_numpy(children)}
        for leaf, spec in enumerate(self.result_spec):
            out[f"buffer{leaf}"] = backend.zeros((n,) + tuple(spec.shape), spec)
        for k, kind in enumerate(self.kinds):
            for j, (_path, spec, _param) in enumerate(kind.payloads):
                column = [p[j] if kk == k else None for kk, p in zip(kind_col, payload_rows)]
                out[f"payload{k}_{j}"] = backend.stack_rows(column, spec)
        return out


    def _levels(self, root) -> Optional[Dict[str, Any]]:
        """One pass that files each node under its (height, kind) bucket as it returns; the
        buckets in order are the sorted schedule, so positions are known without a sort."""
        match = self._matcher()
        n_kinds = len(self.kinds)
        buckets: List[List[List[tuple]]] = []  # [height][kind] -> (node id, payloads, child ids)
        height: List[int] = []
        where: List[Tuple[int, int, int]] = []  # node id -> (height, kind, index in bucket)

        def visit(x) -> int:
            k, payloads, children = match(x)
            ids = [visit(c) for c in children]
            h = 1 + max(height[i] for i in ids) if ids else 0
            while len(buckets) <= h:
                buckets.append([[] for _ in range(n_kinds)])
            bucket = buckets[h][k]
            me = len(height)
            height.append(h)
            where.append((h, k, len(bucket)))
            bucket.append((payloads, ids))
            return me

        try:
            visit(root)
        except (LookupError, RecursionError):
            return None
        backend, width = self.backend, max(self.max_children, 1)
        starts, offsets, total = {}, [], 0
        for h, row in enumerate(buckets):
            line = []
            for k, bucket in enumerate(row):
                starts[(h, k)] = total
                line.append(total)
                total += len(bucket)
            line.append(total)
            offsets.append(line)
        pos = [starts[(h, k)] + i for h, k, i in where]
        children: List[List[int]] = []
        columns = {(k, j): [] for k, kind in enumerate(self.kinds) for j in range(len(kind.payloads))}
        pad = [[0] * (width - c) for c in range(width + 1)]
        for row in buckets:
            for k, bucket in enumerate(row):
                if not bucket:
                    continue
                for _payloads, ids in bucket:
                    children.append([pos[i] for i in ids] + pad[len(ids)])
                for (kk, j), column in columns.items():  # every column has a row per node
                    column.extend([p[j] for p, _ids in bucket] if kk == k else [None] * len(bucket))
        out = {"levels": len(buckets) - 1, "offsets": backend.from_numpy(np.array(offsets, np.int64)),
               "children": backend.index_table(np.array(children, np.int64).reshape(len(children), width))}
        for leaf, spec in enumerate(self.result_spec):
            out[f"buffer{leaf}"] = backend.stack_results([], spec)
        for k, kind in enumerate(self.kinds):
            for j, (_path, spec, _param) in enumerate(kind.payloads):
                column = columns[(k, j)]
                if isinstance(spec, PySpec) and spec.type is int:  # word ids: a whole level indexes at once
                    out[f"payload{k}_{j}"] = backend.index_table(np.array([0 if v is None else v for v in column],
                                                                          np.int64))
                else:
                    out[f"payload{k}_{j}"] = backend.stack_rows(column, spec)
        return out

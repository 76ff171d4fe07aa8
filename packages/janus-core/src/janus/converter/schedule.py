"""The host side of recursion as data: node kinds, and the walk that turns each call's
tree into a schedule (arrays a graph loop indexes).  See `recursion.py`."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..backend import HostRows
from ..guards import Guard
from ..ir.graph import Region, Value
from ..ir.spec import PySpec
from ..paths import Path


class Kind:
    """One kind of node (a leaf, an internal node): its region, what it reads from the
    node (payloads), its children, and the structural guards a node of this kind meets."""

    def __init__(
        self,
        key,
        region: Region,
        payloads: List[Tuple[Path, Any, Value]],
        children: List[Tuple[Path, List[Value]]],
        guards: List[Guard],
        result_spec: tuple,
    ):
        self.key, self.region, self.payloads, self.children = key, region, payloads, children
        self.guards, self.result_spec = guards, result_spec
        self.matcher: Optional[Callable] = None


class RowStacker:
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

    def __init__(self, kinds: List[Kind], backend, result_spec: tuple, name: str, levelwise: bool = False):
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
                out[f"buffer{leaf}"] = [None] * n  # row i is written before it is read
            for k, kind in enumerate(self.kinds):
                for j in range(len(kind.payloads)):
                    out[f"payload{k}_{j}"] = [p[j] if kk == k else None for kk, p in zip(kind_col, payload_rows)]
            return out
        kinds = np.fromiter(kind_col, np.int64, n)
        children = np.zeros((n, max(self.max_children, 1)), np.int64)
        for i, ids in enumerate(child_rows):
            children[i, : len(ids)] = ids
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
        return self._level_arrays(buckets, where)

    def _level_arrays(self, buckets: list, where: list) -> Dict[str, Any]:
        """The sorted schedule of the buckets: segment offsets, children rows, payload columns."""
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
        columns: Dict[Tuple[int, int], list] = {
            (k, j): [] for k, kind in enumerate(self.kinds) for j in range(len(kind.payloads))
        }
        pad = [[0] * (width - c) for c in range(width + 1)]
        for row in buckets:
            for k, bucket in enumerate(row):
                if not bucket:
                    continue
                for _payloads, ids in bucket:
                    children.append([pos[i] for i in ids] + pad[len(ids)])
                for (kk, j), column in columns.items():  # every column has a row per node
                    column.extend([p[j] for p, _ids in bucket] if kk == k else [None] * len(bucket))
        out = {
            "levels": len(buckets) - 1,
            "offsets": backend.from_numpy(np.array(offsets, np.int64)),
            "children": backend.index_table(np.array(children, np.int64).reshape(len(children), width)),
        }
        for leaf, spec in enumerate(self.result_spec):
            out[f"buffer{leaf}"] = backend.stack_results([], spec)
        for k, kind in enumerate(self.kinds):
            for j, (_path, spec, _param) in enumerate(kind.payloads):
                column = columns[(k, j)]
                if isinstance(spec, PySpec) and spec.type is int:  # word ids: a whole level indexes at once
                    out[f"payload{k}_{j}"] = backend.index_table(
                        np.array([0 if v is None else v for v in column], np.int64)
                    )
                else:
                    out[f"payload{k}_{j}"] = backend.stack_rows(column, spec)
        return out

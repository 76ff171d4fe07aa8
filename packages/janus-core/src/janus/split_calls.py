"""How a jitted function runs when it is split around host islands (`segments.py`): the
split call itself, the arbiter's choice between split and whole (`split_timing.py`), and
where a segment's island goes.  A mixin of the runtime's per-function state."""

from __future__ import annotations

import time
from typing import Any, Callable

from .backend import rules_of
from .errors import Unsupported
from .segments import SplitFunction, recording
from .split_timing import SplitArbiter


class SplitCalls:
    """The split-function half of `runtime._State` (whose attributes these are)."""

    fn: Any
    config: Any
    backend: Any
    stats: Any
    splitter: Any
    split_owner: Any
    arbiter: Any
    _imperative: Callable[..., Any]

    def _split_at(self, e: Unsupported) -> bool:
        """Split the function around the island `e` found (True when a split is in place).
        A segment hands its island to the function it is part of (a segment failing as a
        whole, its first statement).  fallback="raise" asks for whole-function graphs."""
        if e.island is None and self.split_owner is not None:
            e.island = getattr(self.fn, "__janus_first_statement__", None)
        if not self.config.islands or e.island is None or not e.splittable or self.config.fallback == "raise":
            return False
        if self.split_owner is not None:
            self.split_owner.add(e.island, str(e))
            return False
        return self.splitter.add(e.island, str(e))

    def _pure_op(self, fn: Any) -> bool:
        """May a call of `fn` move after an island's call (a framework op with no effect)?"""
        backend = self.backend
        if backend is None or not backend.is_framework_callable(fn):
            return False
        rules = rules_of(backend)
        return not (rules.is_impure(fn, (), {}) or rules.is_random(fn))

    def _run_split_or_whole(self, split: SplitFunction, args, kwargs):
        """A split function's call: split, or whole and imperatively when timing showed
        that faster (split_timing.py)."""
        if not self.config.split_timing:
            return self._run_split(split, args, kwargs)
        arbiter = self.arbiter
        if arbiter is None or arbiter.split is not split:  # a new split: time it afresh
            arbiter = self.arbiter = SplitArbiter(split)
        way = arbiter.next_way()
        t0, g0 = time.perf_counter(), self.stats.graph_seconds
        with recording() as record:
            if way == "split":
                result = self._run_split(split, args, kwargs, record)
            else:
                result = self._imperative(args, kwargs, arbiter.describe(), "split-timing", profile=False)
        arbiter.timed(way, time.perf_counter() - t0, self.stats.graph_seconds - g0, settled=not record.unsettled)
        return result

    def _run_split(self, split: SplitFunction, args, kwargs, outer=None):
        stats = self.stats
        stats.split_calls += 1
        with recording(outer) as record:
            try:
                return split.host(*args, **kwargs)
            finally:
                stats.graph_seconds += record.graph_seconds
                stats.islands_run += record.islands
                if record.graph_calls:
                    stats.graph_calls += 1
                else:
                    stats.imperative_calls += 1
                    stats.reason("split around host islands: no segment ran from a graph")

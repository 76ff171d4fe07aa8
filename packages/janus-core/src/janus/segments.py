"""Running a function split around host islands (`janus.program`): the host program calls
its segments, each a jitted function of its own (profile, guards, graphs, effects and
fallbacks); islands run as written.  A segment that finds an island of its own reports it
here, and the split is made again with it (a bounded number of times)."""

from __future__ import annotations

import ast
import contextlib
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional

from .program import Position, Program, build, position

#: how many times a function is split again after a segment found another island
MAX_SPLITS = 32

_CALL = threading.local()


class CallRecord:
    """What one call of a split function ran, counted in the calling thread (replica
    threads of one strategy call the same function at once)."""

    __slots__ = ("graph_calls", "graph_seconds", "islands", "unsettled")

    def __init__(self) -> None:
        self.graph_calls, self.graph_seconds, self.islands = 0, 0.0, 0
        #: segment calls that ran imperatively (profiling, converting, a miss): a call
        #: still settling, not a sample of the split's speed
        self.unsettled = 0


def current_record() -> Optional[CallRecord]:
    """The record of the split call running in this thread, if any."""
    return getattr(_CALL, "record", None)


@contextlib.contextmanager
def recording(record: Optional[CallRecord] = None) -> Iterator[CallRecord]:
    record, outer = record or CallRecord(), current_record()
    _CALL.record = record
    try:
        yield record
    finally:
        _CALL.record = outer


class SplitFunction:
    """One split of a function: the host program and its jitted segments."""

    def __init__(self, program: Program, make_segment: Callable[[Any], Any]):
        self.program = program
        self.segments: List[Any] = [make_segment(fn) for fn in program.segments]
        self.islands_run = 0
        self._count_lock = threading.Lock()
        self.host = program.host_factory(self.segments, self._on_island)
        self.owner: Any = None  # the state that made this split (islands found later go to it)

    def _on_island(self, k: int) -> None:
        with self._count_lock:
            self.islands_run += 1
        record = current_record()
        if record is not None:
            record.islands += 1

    def describe(self) -> List[str]:
        lines = ["  split into graph segments around host islands:"]
        lines += [f"    {line}" for line in self.program.describe()]
        for k, seg in enumerate(self.segments):
            stats = seg._state.stats.snapshot()
            lines.append(
                f"    segment #{k}: calls={stats.calls} graph_calls={stats.graph_calls} "
                f"graphs_built={stats.graphs_built}"
            )
            reasons = seg._state.failures[-2:]
            lines += [f"      fell back: {r}" for r in reasons]
        return lines


class Splitter:
    """The islands of one jitted function, and its current split."""

    def __init__(
        self, fn: Any, make_segment: Callable[[Any, Splitter], Any], is_pure: Callable[[Any], bool] = lambda f: False
    ):
        self.fn, self.make_segment, self.is_pure = fn, make_segment, is_pure
        self.points: Dict[Position, str] = {}
        self.splits = 0
        self.current: Optional[SplitFunction] = None
        self._lock = threading.Lock()

    def add(self, island: Any, reason: str) -> bool:
        """Split around `island` too (an AST node of the function, or of a segment: by
        its position); True when a new split is in place."""
        if island is None or getattr(island, "_janus_generated", False) or not isinstance(island, ast.AST):
            return False
        with self._lock:
            where = position(island)
            if where in self.points or self.splits >= MAX_SPLITS:
                return False
            points = dict(self.points)
            points[where] = reason
            program = build(self.fn, points, self.is_pure)
            if program is None:
                return False
            split = SplitFunction(program, lambda segment: self.make_segment(segment, self))
            split.owner = self
            self.points, self.current = points, split
            self.splits += 1
            return True

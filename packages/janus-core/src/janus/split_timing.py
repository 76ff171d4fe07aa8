"""Split or whole: which way a function with host islands runs faster.

A split function pays a dispatch (guards, launch, commit) per graph segment and a host
hand-over per island.  When its segments are small — a host loop of tiny tensor steps
around NumPy work, as in an RL rollout — that costs more than the graphs save, and
running the whole function imperatively is faster.  So after a few warm-up calls of a
new split, the arbiter times some split calls and then some whole imperative calls on
the user's real calls, and keeps the faster way (both give eager's results; only the
speed differs).  A split that spends most of its time in graphs is kept without timing
whole calls.  The measured times are kept for `janus.explain`.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Callable, List, Optional

#: split calls run before timing starts (segments convert and settle on their first calls)
WARMUP = 5
#: timed calls of each way
SAMPLES = 5
#: split calls after the warm-up waited for ones whose segments all ran from graphs
UNSETTLED_PATIENCE = 20
#: the whole function must be this much faster to replace the split (a small noise margin:
#: when the two are that close, the graphs save nothing worth keeping them for)
MARGIN = 1.03
#: after choosing split, its next calls are timed too: slower on average than whole calls
#: by this factor (new specializations converting again and again), it runs whole
REVISIT_CALLS = 20
REVISIT_MARGIN = 1.3
#: a split whose calls spend at least this share of their time in graphs is kept without
#: timing whole calls: its graphs carry the work (a training step with its optimizer
#: update as the island), and whole imperative calls would only cost the user time
GRAPH_SHARE_KEEP = 0.8


class SplitArbiter:
    """Times the split calls and whole imperative calls of one split, then decides."""

    def __init__(self, split: object, clock: Callable[[], float] = time.perf_counter):
        self.split = split
        self.clock = clock
        self._seen = 0
        self._split_times: List[float] = []
        self._graph_seconds = 0.0
        self._whole_times: List[float] = []
        self._after: List[float] = []  # split calls after choosing split (REVISIT_CALLS)
        self.revisited = ""
        self._lock = threading.Lock()
        #: "split" or "whole" once decided
        self.decision: Optional[str] = None

    def next_way(self) -> str:
        """How the next call runs: "split" or "whole"."""
        if self.decision is not None:
            return self.decision
        with self._lock:
            if len(self._split_times) < SAMPLES:
                return "split"
            return "whole"

    def timed(self, way: str, seconds: float, graph_seconds: float = 0.0, settled: bool = True) -> None:
        """Record one successful call made `way`, `graph_seconds` of it in graphs (warm-up
        calls are not kept, nor split calls whose segments still converted or fell back,
        unless the split never settles)."""
        if self.decision is not None:
            if self.decision == "split" and way == "split" and self._whole_times:
                self._check_kept_split(seconds)
            return
        with self._lock:
            if way == "split":
                self._seen += 1
                settled = settled or self._seen > WARMUP + UNSETTLED_PATIENCE
                if self._seen > WARMUP and settled and len(self._split_times) < SAMPLES:
                    self._split_times.append(seconds)
                    self._graph_seconds += graph_seconds
                    if len(self._split_times) == SAMPLES and self.graph_share() >= GRAPH_SHARE_KEEP:
                        self.decision = "split"
            elif len(self._whole_times) < SAMPLES:
                self._whole_times.append(seconds)
            if len(self._whole_times) >= SAMPLES and self.decision is None:
                split, whole = self.medians()
                self.decision = "whole" if whole * MARGIN < split else "split"

    def _check_kept_split(self, seconds: float) -> None:
        """The split's calls after the choice, all of them (new specializations converting
        included): a split slower on average than whole calls after all runs whole."""
        with self._lock:
            if len(self._after) >= REVISIT_CALLS:
                return
            self._after.append(seconds)
            if len(self._after) == REVISIT_CALLS:
                mean, whole = statistics.fmean(self._after), statistics.median(self._whole_times)
                if mean > whole * REVISIT_MARGIN:
                    self.revisited = f"{mean * 1e3:.3f} ms per split call on average over the next {REVISIT_CALLS}"
                    self.decision = "whole"

    def graph_share(self) -> float:
        """The share of the timed split calls' time spent running graphs."""
        total = sum(self._split_times)
        return self._graph_seconds / total if total > 0 else 0.0

    def medians(self) -> tuple:
        split = statistics.median(self._split_times) if self._split_times else float("nan")
        whole = statistics.median(self._whole_times) if self._whole_times else float("nan")
        return split, whole

    def describe(self) -> str:
        split, whole = self.medians()
        times = f"split {split * 1e3:.3f} ms vs whole {whole * 1e3:.3f} ms per call (medians)"
        if self.decision == "whole" and self.revisited:
            return f"runs whole and imperatively: its split turned out slower ({self.revisited}; {times})"
        if self.decision == "whole":
            return f"runs whole and imperatively: its split ran slower than the whole function ({times})"
        if self.decision == "split" and not self._whole_times:
            return f"runs split: {self.graph_share():.0%} of its time runs in graphs (whole calls not timed)"
        if self.decision == "split":
            return f"runs split: faster than the whole function run imperatively ({times})"
        return "timing the split against the whole function run imperatively"

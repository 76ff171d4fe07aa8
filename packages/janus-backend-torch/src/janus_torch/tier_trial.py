"""Pick the faster tier on real calls: once Inductor has compiled a graph, the next calls
alternate between the fx module and the compiled one, timed, and the faster stays.

Inductor is not always faster: on a CPU, a small graph's compiled call (AOTAutograd's
runtime wrappers, a training graph's compiled forward plus eager backward) can cost more
than the fx module's few aten calls.  Both tiers were validated to give the same results,
so the trial changes speed only.  On CUDA the calls are asynchronous and a host timer
would measure launches, not work: the compiled tier is kept without a trial."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, List, Optional

#: timed calls of each tier
SAMPLES = 5
#: fx must be this much faster to replace the compiled tier (noise margin)
MARGIN = 1.1


class TierTrial:
    """The callable a graph runs during the trial; `decision` is set when it ends."""

    def __init__(self, fx: Callable, compiled: Callable, on_decided: Callable[[str, str], None]):
        self.fx, self.compiled, self.on_decided = fx, compiled, on_decided
        self.times: dict = {"fx": [], "inductor": []}
        self.decision: Optional[str] = None
        self.why = ""

    def __call__(self, *inputs: Any) -> Any:
        fx_times: List[float] = self.times["fx"]
        compiled_times: List[float] = self.times["inductor"]
        way = "fx" if len(fx_times) < len(compiled_times) else "inductor"
        fn = self.fx if way == "fx" else self.compiled
        t0 = time.perf_counter()
        out = fn(*inputs)
        self.times[way].append(time.perf_counter() - t0)
        if self.decision is None and len(fx_times) >= SAMPLES and len(compiled_times) >= SAMPLES:
            self._decide()
        return out

    def _decide(self) -> None:
        fx = statistics.median(self.times["fx"])
        compiled = statistics.median(self.times["inductor"])
        self.decision = "fx" if fx * MARGIN < compiled else "inductor"
        self.why = f"fx {fx * 1e3:.3f} ms vs inductor {compiled * 1e3:.3f} ms per call (medians of {SAMPLES})"
        self.on_decided(self.decision, self.why)

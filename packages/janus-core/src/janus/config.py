"""User-facing configuration and statistics (pydantic models)."""

from __future__ import annotations

from typing import Dict, Literal

from pydantic import BaseModel, ConfigDict, Field


class Config(BaseModel):
    """How a jitted function speculates.  Frozen and compared by value, so a fresh but
    equal `Config` reuses the graphs of the old one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile_runs: int = Field(2, ge=1, description="imperative, profiled calls before the first graph")
    max_graphs: int = Field(8, ge=1, description="specializations kept per function (LRU)")
    fallback: Literal["imperative", "raise"] = Field(
        "imperative", description="what an unsupported construct does: run imperatively, or raise JanusError"
    )
    max_scalar_values: int = Field(
        1, ge=1, description="distinct values a Python scalar may take in the profile before it becomes a graph input"
    )
    max_regenerations: int = Field(
        32, ge=0, description="graph builds per function after which it stays with what it has"
    )
    compile_mode: Literal["default", "off", "fx", "inductor", "tiered", "cudagraphs"] = Field(
        "default",
        description="backend compilation tier (torch: fx graph, Inductor, fx first then Inductor, "
        "or static CUDA graphs replayed)",
    )
    passes: bool = Field(True, description="run DCE, CSE and constant folding on each graph")
    conversion_timeout: float = Field(
        30.0, gt=0, description="seconds one conversion may take before the call runs imperatively instead"
    )
    islands: bool = Field(
        True, description="split a function that cannot be one graph into graph segments around host islands"
    )
    split_timing: bool = Field(
        True,
        description="time a split function's calls against whole imperative calls and keep the faster way "
        "(off: a split function always runs split)",
    )
    recursion: Literal["schedule", "inline"] = Field(
        "schedule",
        description="recursion over a Python structure: a graph loop over a host schedule, or "
        "inlined per structure (one graph per tree shape)",
    )


class Stats(BaseModel):
    """Counters of one jitted function.  `graph_calls + imperative_calls == calls`."""

    calls: int = 0
    graph_calls: int = 0
    imperative_calls: int = 0
    profiled_calls: int = 0
    graphs_built: int = 0
    graphs_evicted: int = 0
    guard_misses: int = 0
    assumption_failures: int = 0
    conversion_failures: int = 0
    #: calls run as graph segments around host islands (counted in graph_calls when a
    #: segment ran from a graph), and the host islands those calls ran
    split_calls: int = 0
    islands_run: int = 0
    #: seconds spent running graphs (a split function's segments included): with the
    #: caller's own wall time, the share of a step that ran in graphs
    graph_seconds: float = 0.0
    fallback_reasons: Dict[str, int] = Field(default_factory=dict)

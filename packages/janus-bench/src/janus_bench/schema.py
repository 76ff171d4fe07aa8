"""The results schema (pydantic): one `RunResult` per invocation, written as JSON."""

from __future__ import annotations

from typing import Dict, List, Literal, Optional

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1
Mode = Literal["eager", "janus", "native"]
MEMORY_METHOD = (
    "peak_mem_mb: increase of the process's ru_maxrss high-water mark (resource.getrusage) "
    "over this mode's build + warm-up (0 = stayed under the earlier peak); "
    "rss_delta_mb: change of current RSS (/proc/self/statm) over the same span"
)
ROOFLINE_METHOD = (
    "matmul_peak_gflops: best float32 square-matmul rate of each framework (torch.mm / tf.linalg.matmul), "
    "measured once per framework in this run with the run's threads; flops_per_call: matmul/conv FLOPs "
    "(forward and backward, elementwise ops not counted) of one eager torch step under "
    "torch.utils.flop_counter.FlopCounterMode (tf rows: the torch version's count); "
    "gflops = flops_per_call / seconds per call; peak_fraction = gflops / that framework's peak"
)


class RunConfig(BaseModel):
    profile: Literal["smoke", "quick", "paper"] = "quick"
    models: List[str]
    frameworks: List[str] = ["torch", "tf"]
    modes: List[Mode] = ["eager", "janus", "native"]
    device: Literal["cpu", "cuda"] = "cpu"
    repeats: int = Field(5, ge=1)
    seed: int = 0
    target_repeat_s: float = Field(0.2, gt=0, description="wall time aimed at per timed batch of calls")
    max_calls_per_repeat: int = Field(200, ge=1)
    max_warmup_calls: int = Field(30, ge=1, description="janus: calls allowed before the first graph-served one")
    compile_wait_s: float = Field(
        60.0,
        ge=0,
        description="janus: wait this long for a backend's background compile before timing the steady state",
    )
    warmup_calls: int = Field(3, ge=0, description="extra untimed calls after the first call (all modes)")
    mode_budget_s: float = Field(20.0, gt=0, description="a mode stops taking timed repeats (after one) past this")
    threads: Optional[int] = Field(None, description="intra-op threads set for torch and tf (None: their defaults)")
    torch_compile_backend: str = Field("inductor", description="backend= of torch.compile in the native mode")
    peak_budget_s: float = Field(
        1.0, ge=0, description="seconds measuring each framework's matmul peak (0: no roofline figures)"
    )


class Environment(BaseModel):
    python: str
    platform: str
    cpu: str
    cpu_count: int
    device: str
    device_name: Optional[str] = None
    versions: Dict[str, Optional[str]] = {}
    janus_backends: List[str] = []
    threads: Dict[str, int] = {}
    load_avg: List[float] = Field(default_factory=list, description="os.getloadavg() at the start (1, 5, 15 min)")
    load_avg_end: List[float] = Field(default_factory=list, description="os.getloadavg() at the end")
    matmul_peak_gflops: Dict[str, float] = Field(
        default_factory=dict, description="framework -> float32 matmul peak in GFLOP/s, measured in this run"
    )


class JanusStats(BaseModel):
    calls: int = 0
    graph_calls: int = 0
    imperative_calls: int = 0
    graphs_built: int = 0
    assumption_failures: int = 0
    conversion_failures: int = 0
    graph_fraction: Optional[float] = Field(None, description="graph_calls / calls over the whole run")
    timed_graph_fraction: Optional[float] = Field(None, description="the same, over the timed calls only")
    graph_time_share: Optional[float] = Field(
        None, description="share of the timed calls' wall time spent running graphs (split functions' segments too)"
    )
    first_graph_call: Optional[int] = Field(None, description="1-based index of the first graph-served call")
    top_fallback_reason: Optional[str] = None
    fallback_reasons: Dict[str, int] = {}
    segments: int = Field(0, description="graph segments of a function split around host islands (0: not split)")
    split_decision: Optional[str] = Field(None, description="how a split function runs, and why (janus.explain)")
    explain: Optional[str] = Field(None, description="janus.explain() at the end (truncated)")


class Row(BaseModel):
    model: str
    framework: str
    mode: Mode
    profile: str
    implementation: str = Field("", description="eager / janus.jit(backend=...) / torch.compile(...) / tf.function")
    ms_per_call: Optional[float] = Field(None, description="median over repeats of (batch wall time / calls)")
    ms_per_call_repeats: List[float] = []
    calls_per_repeat: int = 0
    samples_per_call: int = 0
    samples_per_s: Optional[float] = None
    speedup_vs_eager: Optional[float] = Field(None, description="eager ms / this ms")
    ratio_vs_native: Optional[float] = Field(None, description="native ms / this ms (>1: faster than the native graph)")
    first_call_s: Optional[float] = None
    warmup_s: Optional[float] = Field(
        None,
        description=(
            "eager: first call; native: first call (trace/compile); janus: wall time of the calls up to and "
            "including the first graph-served one (None: never graph-served during warm-up)"
        ),
    )
    warmup_calls: int = 0
    peak_mem_mb: Optional[float] = None
    rss_delta_mb: Optional[float] = None
    flops_per_call: Optional[float] = Field(None, description="matmul/conv FLOPs of one step (see roofline_method)")
    flops_source: Optional[str] = None
    gflops: Optional[float] = Field(None, description="achieved GFLOP/s: flops_per_call / seconds per call")
    peak_fraction: Optional[float] = Field(None, description="gflops / this framework's matmul peak in this run")
    janus: Optional[JanusStats] = None
    error: Optional[str] = None
    error_phase: Optional[str] = None
    error_traceback: Optional[str] = None
    notes: List[str] = []


class RunResult(BaseModel):
    schema_version: int = SCHEMA_VERSION
    tool: str = "janus-bench"
    tool_version: str
    started_at: str
    finished_at: Optional[str] = None
    duration_s: Optional[float] = None
    config: RunConfig
    environment: Environment
    memory_method: str = MEMORY_METHOD
    roofline_method: str = ROOFLINE_METHOD
    rows: List[Row] = []
    skipped: Dict[str, str] = Field(default_factory=dict, description="requested models not run, and why")

"""Roofline figures: how close each workload's throughput comes to the machine's matmul peak.

* `measure_peak(fw, device)`: the best float32 square-matmul rate of the framework itself,
  measured in the run (so it shares the run's thread settings, CPU load and clocks);
* `step_flops(workload, fw, ...)`: the FLOPs of one step, counted with torch's
  ``FlopCounterMode`` on the eager torch step (matmuls and convolutions, forward and
  backward; elementwise ops are not counted, as a roofline against matmul peak wants).
  TensorFlow rows reuse the count of the torch version: the two implementations share
  architecture and sizes (`test_torch_and_tf_compute_the_same_thing` checks they agree),
  while the TF profiler needs a traced graph (seconds for a CNN) and counts differently.

The runner turns these into ``gflops = flops / seconds per call`` and ``peak_fraction``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import frameworks as fwk

#: square matmul sizes tried per device; the peak is the best rate over them
PEAK_SIZES: Dict[str, Tuple[int, ...]] = {"cpu": (256, 512, 1024), "cuda": (1024, 2048, 4096)}

SOURCE_TORCH = "torch FlopCounterMode, one eager step"
SOURCE_FROM_TORCH = "torch FlopCounterMode on the torch version (same architecture and sizes)"

VARIES = "FLOPs vary per call"

#: calls counted at most when a step's FLOPs differ between calls (a new tree each call)
MAX_COUNTED_CALLS = 6


# --------------------------------------------------------------------------- the peak
def _torch_matmul(n: int, device: str) -> Tuple[Callable[[], Any], Callable[[Any], None]]:
    import torch

    dev = "cuda" if device == "cuda" else "cpu"
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(dev)
    b = torch.randn(n, n, generator=gen).to(dev)

    def sync(out: Any) -> None:
        if dev == "cuda":
            torch.cuda.synchronize()

    return (lambda: torch.mm(a, b)), sync


def _tf_matmul(n: int, device: str) -> Tuple[Callable[[], Any], Callable[[Any], None]]:
    # eager op: as fast as a tf.function for one large matmul, and nothing to trace
    tf = fwk.import_framework("tf")
    with tf.device("/GPU:0" if device == "cuda" else "/CPU:0"):
        a = tf.random.stateless_normal([n, n], seed=[0, 0])
        b = tf.random.stateless_normal([n, n], seed=[0, 1])

    def call():
        return tf.linalg.matmul(a, b)

    def sync(out: Any) -> None:
        if device == "cuda":  # eager CPU ops are synchronous; on a GPU read one element back
            out[0, 0].numpy()

    return call, sync


def _best_rate(call: Callable[[], Any], sync: Callable[[Any], None], n: int, budget_s: float) -> float:
    """Best FLOP/s of batches of `call` within `budget_s` (after one untimed call)."""
    sync(call())  # first call: allocation, kernel choice
    best, calls = 0.0, 1
    deadline = time.perf_counter() + budget_s
    while True:
        t = time.perf_counter()
        for _ in range(calls):
            out = call()
        sync(out)
        dt = time.perf_counter() - t
        if dt > 0:
            best = max(best, calls * 2.0 * n**3 / dt)
        if dt < budget_s / 10:  # batches long enough for the clock, short enough for a few repeats
            calls *= 2
        if time.perf_counter() >= deadline:
            return best


def measure_peak(fw: str, device: str = "cpu", budget_s: float = 1.0) -> Optional[float]:
    """The framework's float32 square-matmul peak in GFLOP/s on `device`, best over
    `PEAK_SIZES` with about `budget_s` seconds in all; threads are whatever the framework
    is set to (the run's --threads, else its defaults).  None when it cannot run."""
    make = {"torch": _torch_matmul, "tf": _tf_matmul}.get(fw)
    if make is None or not fwk.framework_available(fw):
        return None
    sizes = PEAK_SIZES["cuda" if device == "cuda" else "cpu"]
    best = 0.0
    try:
        for n in sizes:
            call, sync = make(n, device)
            best = max(best, _best_rate(call, sync, n, budget_s / len(sizes)))
    except Exception:  # no device, out of memory: no roofline rather than a failed run
        return None
    return best / 1e9 if best > 0 and math.isfinite(best) else None


# --------------------------------------------------------------------------- FLOPs of a step
def _mv_flops(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0] * a_shape[1]


def _addmv_flops(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0] * a_shape[1]


def _dot_flops(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0]


def _extra_formulas() -> Dict[Any, Callable[..., int]]:
    """Matrix-vector products, which torch's counter leaves out (W @ v in the tree models)."""
    import torch

    aten = torch.ops.aten
    return {aten.mv: _mv_flops, aten.addmv: _addmv_flops, aten.dot: _dot_flops}


@dataclass
class StepFlops:
    """FLOPs of one step (the mean over the counted calls), or None and why not."""

    flops: Optional[float]
    origin: str = SOURCE_TORCH
    calls: int = 0
    varies: bool = False  # the counted calls did not all have the same FLOPs
    note: Optional[str] = None  # why there is no count

    @property
    def source(self) -> str:
        return self.origin + (f"; mean of {self.calls} calls, {VARIES}" if self.varies else "")


def count_torch_flops(step: Callable, make_batch: Callable[[], tuple]) -> StepFlops:
    """Count one eager call; count more (the mean of up to MAX_COUNTED_CALLS) when a
    second call has other FLOPs, as with a new random tree per call."""
    from torch.utils.flop_counter import FlopCounterMode

    extra = _extra_formulas()
    counts: List[int] = []
    while len(counts) < MAX_COUNTED_CALLS:
        batch = make_batch()
        with FlopCounterMode(display=False, custom_mapping=extra) as counter:
            step(*batch)
        counts.append(counter.get_total_flops())
        if len(counts) == 2 and counts[0] == counts[1]:
            break
    mean = sum(counts) / len(counts)
    varies = len(set(counts)) > 1
    if mean <= 0:
        return StepFlops(None, calls=len(counts), note="no matmul/conv FLOPs counted")
    return StepFlops(float(mean), calls=len(counts), varies=varies)


def step_flops(
    workload,
    fw: str,
    profile: str,
    seed: int = 0,
    device: str = "cpu",
    step: Optional[Tuple[Callable, Callable[[], tuple]]] = None,
    torch_count: Optional[StepFlops] = None,
) -> StepFlops:
    """FLOPs of one step of `workload` (a registry `Workload`) in framework `fw`.

    torch: counted on `step` (``(step_fn, make_batch)`` of an eager instance the caller
    no longer times) or on a fresh build.  tf: `torch_count` when given, else a count of a
    fresh torch build; both carry SOURCE_FROM_TORCH."""
    if fw == "tf":
        if torch_count is None:
            torch_count = step_flops(workload, "torch", profile, seed, device)
        if torch_count.flops is None:
            return StepFlops(None, SOURCE_FROM_TORCH, note=torch_count.note)
        return StepFlops(torch_count.flops, SOURCE_FROM_TORCH, torch_count.calls, torch_count.varies)
    if fw != "torch":
        return StepFlops(None, note=f"no FLOP counter for {fw}")
    if "torch" not in workload.implementations:
        return StepFlops(None, note="no torch version to count FLOPs on")
    if not fwk.framework_available("torch"):
        return StepFlops(None, note="FLOPs not counted: torch is not installed")
    try:
        if step is None:
            step = workload.impl("torch").build(profile, seed, device)
        return count_torch_flops(*step)
    except Exception as e:  # a counter failure must not fail the benchmark
        return StepFlops(None, note=f"FLOPs not counted: {type(e).__name__}: {e}"[:200])


def achieved(flops: Optional[float], ms_per_call: Optional[float], peak_gflops: Optional[float]):
    """``(GFLOP/s, fraction of peak)`` of a step taking `ms_per_call`; None where unknown."""
    if not flops or not ms_per_call or ms_per_call <= 0:
        return None, None
    gflops = flops / (ms_per_call / 1e3) / 1e9
    return gflops, (gflops / peak_gflops if peak_gflops else None)


def fraction_cell(fraction: Optional[float], source: Optional[str]) -> str:
    """A "% of matmul peak" table cell: "*" marks a count taken on the torch version (tf
    rows), "~" a mean over calls whose FLOPs differ; "–" when there is no figure."""
    if fraction is None:
        return "–"
    pct = 100 * fraction
    text = f"{pct:.0f}%" if pct >= 10 else f"{pct:.1f}%" if pct >= 1 else f"{pct:.2f}%" if pct >= 0.01 else "<0.01%"
    source = source or ""
    return ("~" if VARIES in source else "") + text + ("*" if source.startswith(SOURCE_FROM_TORCH) else "")

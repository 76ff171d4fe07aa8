"""A CUDA-graphs tier for static graphs (`Config(compile_mode="cudagraphs")`).

A graph whose every input is a CUDA tensor of fixed shape (not requiring grad), with no
Python-number inputs or results, no host control flow, no random numbers and no
framework updates, launches the same kernels on every call: its fx forward is captured
once into a `torch.cuda.CUDAGraph` (after warm-up runs on a side stream, on copies of
the first inputs) and replayed; each call copies its inputs into the captured input
buffers and returns copies of the captured outputs (the next replay overwrites them).
The replay costs one launch instead of one per kernel: what small, launch-bound graphs
spend most of their time on.

Anything else stays on fx, with the reason in `describe()`; so does every graph on a
machine without CUDA.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, List, Optional, Sequence

import torch

from janus.ir.spec import TensorSpec


def ineligible(graph: Any, lowered: Any) -> Optional[str]:
    """Why `graph` cannot be replayed as a CUDA graph (None when it can)."""
    if not torch.cuda.is_available():
        return "no CUDA device"
    input_ids = set()
    for n in graph.inputs:
        spec = n.out.spec
        input_ids.add(n.out.id)
        if not isinstance(spec, TensorSpec):
            return "a Python-number input (a captured graph would keep its first value)"
        if not spec.device.startswith("cuda"):
            return f"an input on {spec.device}"
        if None in spec.shape:
            return "an input with a relaxed dimension"
        if spec.requires_grad:
            return "an input that requires grad"
    if lowered.impure or lowered.grad_mode:
        return "the graph changes framework state"
    if lowered.random_targets:
        return "the graph draws random numbers"
    if lowered.has_control_flow or lowered.fx_only:
        return "control flow decided on the host"
    for v in graph.results:
        if not isinstance(getattr(v, "spec", None), TensorSpec):
            return "a result that is not a tensor"
        if v.id in input_ids:
            return "a result that is an input (it must stay that very object)"
    return None


class CudaGraphRunner:
    """The fx forward, captured at the first call and replayed after."""

    def __init__(self, forward: Callable, warmup_runs: int = 2):
        self.forward = forward
        self.warmup_runs = warmup_runs
        self.graph: Optional[torch.cuda.CUDAGraph] = None
        self.static_inputs: List[torch.Tensor] = []
        self.static_outputs: Sequence[Any] = ()
        self._lock = threading.Lock()  # one set of buffers: replays do not overlap

    def __call__(self, *inputs):
        with self._lock:
            if self.graph is None:
                self._capture(inputs)
            for buf, x in zip(self.static_inputs, inputs):
                buf.copy_(x, non_blocking=True)
            self.graph.replay()
            return tuple(o.clone() for o in self.static_outputs)

    def _capture(self, inputs: Sequence[torch.Tensor]) -> None:
        self.static_inputs = [x.detach().clone() for x in inputs]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # lazy initialisation (cuBLAS handles) outside the capture
            for _ in range(self.warmup_runs):
                self.forward(*self.static_inputs)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.static_outputs = tuple(self.forward(*self.static_inputs))
        self.graph = graph

"""The torch Executable: runs a lowered graph, with tiered compilation.

Compile modes (`janus.Config.compile_mode`):

* ``"fx"``: run the fx GraphModule's generated Python code (`gm.forward`, no module
  call overhead).  Ready at once, ~1 us of overhead per call plus eager op dispatch.
* ``"inductor"``: compile with Inductor (`torch.compile(..., backend="inductor",
  fullgraph=True)`) synchronously on the first run; if that fails, fx.
* ``"tiered"``: serve calls from fx at once and compile with Inductor on a background
  thread; switch (one attribute store) when it is ready and validated.  A failed
  compile keeps fx (see `describe()`).
* ``"default"``/``"off"``: ``"tiered"`` for graphs with at least `TIERED_MIN_OPS`
  operations, ``"fx"`` below.  Measured on CPU: for small graphs the Inductor call
  path (dynamo guards + wrapper, ~15-30 us) costs more than the eager dispatch it saves;
  large graphs (an unrolled LSTM) gain from fusion.  Inductor never runs on a graph
  that draws random numbers in tiered mode (its warm-up run would consume the global RNG
  from another thread), and compiles with `fallback_random` so eager RNG streams are kept.
* ``"cudagraphs"``: a static graph on CUDA tensors is captured into a CUDA graph and
  replayed (`cudagraphs.py`); any other graph, or no CUDA, stays on fx.

Before switching to an Inductor callable, its outputs on the first inputs are compared
with the fx outputs (float tolerance); a mismatch keeps fx.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import weakref
from typing import Any, Callable, Optional, Sequence

import torch

import janus
from janus import logs
from janus.errors import AssumptionFailed, EffectsApplied
from janus.ir.spec import TensorSpec

from .cudagraphs import CudaGraphRunner
from .cudagraphs import ineligible as cuda_graph_ineligible
from .lowering import LoweredGraph, host_scalar_nodes, lower
from .tier_trial import TierTrial
from .training import compile_training, split_training

#: graphs with fewer call nodes than this stay on fx in the default mode
TIERED_MIN_OPS = 64
_COMPILE_LOCK = threading.Lock()
_THREADS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


@atexit.register
def _join_compiles() -> None:
    # a daemon thread killed inside Inductor at interpreter exit aborts the process
    # ("terminate called without an active exception"): let running compiles finish
    for t in list(_THREADS):
        t.join(timeout=180)  # one Inductor compile at a time (they share global state)


def resolve_mode(mode: str, lowered: LoweredGraph) -> str:
    if mode in ("default", "off"):
        big = lowered.n_ops >= TIERED_MIN_OPS
        return "tiered" if big and not lowered.random_targets and not lowered.fx_only else "fx"
    return mode


#: calls of a specialization on the fx tier before its Inductor compile starts
HOT_CALLS = 3


class TorchExecutable(janus.Executable):
    def __init__(self, graph, config, draws_random: Optional[Callable[[Any], bool]] = None):
        self.graph = graph
        self.lowered = lower(graph)
        self.requested_mode = getattr(config, "compile_mode", "default")
        self.mode = resolve_mode(self.requested_mode, self.lowered)
        self.n_results = self.lowered.n_results
        self.fx_forward = self.lowered.module.forward
        self.compiled: Optional[Callable] = None
        self.status = "fx"  # fx | compiling | inductor | failed | skipped
        self.failure: Optional[str] = None
        self.compile_seconds: Optional[float] = None
        self._done = threading.Event()
        sites, expect = self.lowered.assert_sites, self.lowered.assert_expect
        self._assert_sites = sites
        self._expect_one = expect[0] if len(sites) == 1 else None
        self._expect_all = list(expect)
        self._guarded = self.lowered.grad_mode or self.lowered.impure
        self.split = None  # a training graph's prefix/suffix, made by the compile (training.py)
        #: time fx against the compiled tier on real calls before switching (tier_trial.py)
        self.trial_tiers = self.mode == "tiered"
        self.tier_why = ""
        if self.mode == "fx":
            self._done.set()
            self._call = self.fx_forward
        elif self.mode in ("inductor", "tiered") and self.lowered.fx_only:
            self._skip("the graph runs on host schedules or under inference_mode (fx only)")
        elif self.mode in ("inductor", "tiered") and self.lowered.impure and self.lowered.random_targets:
            self._skip("the training graph draws random numbers")
        elif self.mode == "tiered" and self.lowered.random_targets:
            # the background warm-up would draw from the global RNG, racing the caller
            self._skip("the graph draws random numbers")
        elif self.mode == "cudagraphs":
            self._cuda_graphs()
        elif self.mode == "inductor":
            self._call = self._first_call_inductor
        elif self.mode == "tiered":
            self._fx_calls = 0
            self._call = self._warming_tiered
        else:
            raise janus.JanusError(f"unknown compile_mode {self.requested_mode!r} for the torch backend")

    def _skip(self, why: str) -> None:
        self.status, self.failure = "skipped", why
        self._done.set()
        self._call = self.fx_forward
        if logs.TIERS:
            self._log_tier(f"stays on fx: inductor skipped ({why})")

    def _cuda_graphs(self) -> None:
        why = cuda_graph_ineligible(self.graph, self.lowered)
        self._done.set()
        if why is not None:
            self.status, self.failure, self._call = "skipped", why, self.fx_forward
        else:
            self.status, self._call = "cudagraphs", CudaGraphRunner(self.fx_forward)

    # -- the hot path ---------------------------------------------------------------------
    def run(self, inputs: Sequence[Any]) -> Sequence[Any]:
        if self._guarded:
            flag = self.lowered.effects_flag
            flag.ran = False
            mode = torch.is_grad_enabled()
            try:
                outs = self._call(*inputs)
            except BaseException as e:
                torch._C._set_grad_enabled(mode)  # a no_grad block left by an exception
                if flag.ran and not isinstance(e, AssumptionFailed):
                    # backward()/step() already ran: eager would have raised here too, after
                    # the update; re-running the call imperatively would apply it twice
                    raise EffectsApplied(e) from e
                raise
        else:
            outs = self._call(*inputs)
        if not self._assert_sites:
            return outs
        flags = outs[-1]
        if self._expect_one is not None:
            if bool(flags) is not self._expect_one:
                raise AssumptionFailed(self._assert_sites[0])
        else:
            got = flags.tolist()  # one device->host read for every assertion
            if got != self._expect_all:
                first = next(i for i, (a, b) in enumerate(zip(got, self._expect_all)) if bool(a) is not b)
                raise AssumptionFailed(self._assert_sites[first])
        return outs[: self.n_results]

    def timing_call(self, inputs: Sequence[Any]) -> tuple:
        """`(callable, args)`: the compiled graph's own call that `run(inputs)` makes, for
        timing the dispatch overhead around it (`janus-bench --dispatch`)."""
        return self._call, tuple(inputs)

    # -- tiers ----------------------------------------------------------------------------
    def _first_call_inductor(self, *inputs):
        self._compile(inputs, validate=not self.lowered.random_targets)
        return self._call(*inputs)

    def _warming_tiered(self, *inputs):
        """The first calls run fx; a specialization called again (hot) compiles in the
        background: one served once (a rollout's rare length) never costs a compile."""
        self._fx_calls += 1
        if self._fx_calls < HOT_CALLS:
            return self.fx_forward(*inputs)
        return self._first_call_tiered(*inputs)

    def _first_call_tiered(self, *inputs):
        self._call = self.fx_forward
        self.status = "compiling"
        example = tuple(_detached_copy(x) for x in inputs)
        grad_mode = torch.is_grad_enabled()
        served = threading.Event()
        thread = threading.Thread(
            target=self._background_compile, args=(example, grad_mode, served), name="janus-inductor", daemon=True
        )
        _THREADS.add(thread)
        thread.start()
        try:
            return self.fx_forward(*inputs)
        finally:
            # the compile starts once this call has its result: dynamo's imports would
            # otherwise fight it for the GIL and delay the first graph-served result
            served.set()

    def _background_compile(self, example, grad_mode: bool, served: Optional[threading.Event] = None) -> None:
        _lower_priority()
        if served is not None:
            served.wait(timeout=60)
        with torch.set_grad_enabled(grad_mode), _one_compile_worker():  # grad mode is thread-local
            self._compile(example, validate=True)

    def _compile(self, example, validate: bool) -> None:
        """Compile with Inductor on `example`; on success route calls to it."""
        t0 = time.perf_counter()
        try:
            with _COMPILE_LOCK:
                if self.lowered.impure:
                    # compiling runs the graph again (warm-up, validation): effects would repeat,
                    # so a training graph compiles its pure forward part only
                    self.split = split_training(self.graph, self.lowered)
                    if self.split is None:
                        raise janus.Unsupported(
                            "compiling a graph that changes framework state",
                            "",
                            "no pure forward part worth compiling before backward()/step()",
                        )
                    compiled = compile_training(self.split, example, _dynamic(self.graph), _mismatch)
                    validate = False
                else:
                    compiled = compile_inductor(self.graph, self.lowered, example)
                    got = compiled(*example)
            if validate:
                want = self.fx_forward(*example)
                problem = _mismatch(want, got)
                if problem:
                    raise RuntimeError(f"Inductor changed a result: {problem}")
            self.compiled = compiled
            self.status = "inductor"
            if self.trial_tiers and not _on_cuda(self.graph):
                self.status = "trial"  # the faster of fx and inductor on real calls (tier_trial.py)
                self._call = TierTrial(self.fx_forward, compiled, self._tier_decided)
            else:
                self._call = compiled  # the switch: one attribute store, atomic under the GIL
        except Exception as e:
            self.status, self.failure = "failed", f"{type(e).__name__}: {e}".splitlines()[0][:300]
            self._call = self.fx_forward
        finally:
            self.compile_seconds = time.perf_counter() - t0
            if logs.TIERS:  # logged before waiters are released: they may read the log
                change = "fx -> inductor" if self.status == "inductor" else f"stays on fx: inductor {self.failure}"
                self._log_tier(f"{change} after {self.compile_seconds:.1f} s")
            self._done.set()

    def _tier_decided(self, tier: str, why: str) -> None:
        self.status, self.tier_why = tier, why
        self._call = self.compiled if tier == "inductor" else self.fx_forward
        if logs.TIERS:
            self._log_tier(f"serves on {tier}: {why}")

    def _log_tier(self, change: str) -> None:
        logs.emit(
            "tiers",
            f"graph {self.graph.name} ({self.mode} mode): {change}",
            graph=self.graph.name,
            mode=self.mode,
            status=self.status,
            failure=self.failure,
            seconds=self.compile_seconds,
        )

    def wait_compiled(self, timeout: Optional[float] = None) -> bool:
        """Block until the Inductor tier is decided (compiled, failed or skipped); False at
        once while the specialization is not hot yet (no compile to wait for)."""
        if self.mode == "tiered" and self.status == "fx":
            return False
        return self._done.wait(timeout)

    def compile_pending(self) -> bool:
        return self.status in ("compiling", "trial")

    def describe(self) -> str:
        if self.mode == "cudagraphs":
            return "torch cuda graph" if self.status == "cudagraphs" else f"torch fx (cuda graphs: {self.failure})"
        if self.status == "inductor":
            return "torch inductor" + (f" (faster than fx: {self.tier_why})" if self.tier_why else "")
        if self.status == "trial":
            return "torch inductor (timing fx against inductor on real calls)"
        if self.status == "fx" and self.tier_why:
            return f"torch fx (faster than inductor: {self.tier_why})"
        if self.mode == "tiered" and self.status == "fx":
            return f"torch fx (inductor after {HOT_CALLS} calls)"
        if self.status == "compiling":
            return "torch fx (inductor compiling in background)"
        if self.status == "failed":
            return f"torch fx (inductor failed: {self.failure})"
        if self.status == "skipped":
            return f"torch fx (inductor skipped: {self.failure})"
        if self.mode == "inductor":
            return "torch fx (inductor compiles on the first run)"
        return "torch fx"


def compile_inductor(graph, lowered: LoweredGraph, example: Sequence[Any]) -> Callable:
    """An Inductor-compiled callable with the fx forward's calling convention.

    Python-scalar results are computed on the host by a separate small fx module, never
    returned from the dynamo-compiled graph: dynamo may return a scalar result computed
    from an unspecialized float input as the constant it saw while compiling."""
    results = list(graph.results)
    py_idx = [i for i, v in enumerate(results) if not isinstance(v.spec, TensorSpec)]
    tensor_vals = [v for v in results if isinstance(v.spec, TensorSpec)]
    host_forward = None
    if py_idx:
        host_nodes = host_scalar_nodes(graph, [results[i] for i in py_idx])
        if host_nodes is None:
            raise janus.Unsupported(
                "a Python-scalar result computed from tensors",
                "",
                "kept on fx: such results cannot leave an Inductor graph reliably",
            )
        host_forward = lower(graph, outputs=[results[i] for i in py_idx], nodes=host_nodes).module.forward
    module = lower(graph, for_inductor=lowered.has_control_flow, outputs=tensor_vals).module
    # dynamic when a dim is relaxed or a Python number is an input: otherwise dynamo
    # specializes on the first value and recompiles (in the caller's thread) on the next
    relaxed = _dynamic(graph)
    # fallback_random: Inductor draws from torch's eager RNG, so random ops match eager
    compiled = torch.compile(
        module.forward, backend="inductor", fullgraph=True, dynamic=relaxed, options={"fallback_random": True}
    )
    if host_forward is None:
        return compiled
    n_tensor = len(tensor_vals)

    def merged(*inputs):
        touts = compiled(*inputs)
        outs = list(touts[:n_tensor])
        for i, value in zip(py_idx, host_forward(*inputs)):
            outs.insert(i, value)
        outs.extend(touts[n_tensor:])  # assertion predicates stay last
        return outs

    return merged


def _on_cuda(graph) -> bool:
    """Does the graph take a CUDA tensor (asynchronous calls: a host timer cannot compare tiers)?"""
    return any(isinstance(n.out.spec, TensorSpec) and n.out.spec.device.startswith("cuda") for n in graph.inputs)


def _dynamic(graph) -> Optional[bool]:
    """dynamic=True when a dim is relaxed or a Python number is an input: otherwise dynamo
    specializes on the first value and recompiles (in the caller's thread) on the next."""
    relaxed = any(
        None in n.out.spec.shape if isinstance(n.out.spec, TensorSpec) else n.out.spec.type in (int, float)
        for n in graph.inputs
    )
    return True if relaxed else None


def _detached_copy(x: Any) -> Any:
    """A private copy of a tensor input for the background compile (values matter only
    for validation; the caller may change its tensors meanwhile).  Same tensor type:
    dynamo guards on it (a plain copy of a Parameter recompiles at the first real call)."""
    if isinstance(x, torch.nn.Parameter):
        return torch.nn.Parameter(x.detach().clone(), requires_grad=x.requires_grad)
    if isinstance(x, torch.Tensor):
        copy = x.detach().clone()
        if x.requires_grad:
            copy.requires_grad_(True)
        return copy
    return x


def _mismatch(want: Any, got: Any, path: str = "output") -> Optional[str]:
    if want is None or got is None:
        return None if want is got else f"{path}: {type(want).__name__} vs {type(got).__name__}"
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(want) != len(got):
            return f"{path}: structure differs"
        for i, (a, b) in enumerate(zip(want, got)):
            p = _mismatch(a, b, f"{path}[{i}]")
            if p:
                return p
        return None
    if isinstance(want, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            got = torch.as_tensor(got)
        if want.shape != got.shape or want.dtype != got.dtype:
            return f"{path}: {want.dtype}{list(want.shape)} vs {got.dtype}{list(got.shape)}"
        if want.is_floating_point() or want.is_complex():
            ok = torch.allclose(want.detach(), got.detach(), rtol=1e-4, atol=1e-5, equal_nan=True)
        else:
            ok = torch.equal(want, got)
        return None if ok else f"{path}: values differ"
    if isinstance(got, torch.Tensor):
        got = got.item()
    if isinstance(want, float):
        return (
            None
            if abs(want - got) <= 1e-5 + 1e-4 * abs(want) or (want != want and got != got)
            else f"{path}: {want} vs {got}"
        )
    return None if want == got else f"{path}: {want!r} vs {got!r}"


def _lower_priority() -> None:
    """Run this background compile thread (and the C++ compiler processes it starts, which
    inherit a thread's niceness on Linux) below the user's calls: on a small machine a
    compile must not slow the calls it is meant to speed up."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted: normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _one_compile_worker():
    """Inductor compiles this graph's kernels with one worker (while it compiles)."""
    try:
        import torch._inductor.config as inductor_config

        return inductor_config.patch(compile_threads=1)
    except Exception:  # an Inductor without the option: its default
        return contextlib.nullcontext()

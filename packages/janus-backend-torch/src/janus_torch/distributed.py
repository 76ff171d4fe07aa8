"""`DistributedDataParallel` inside jitted steps.

A call of a DDP-wrapped model is inlined like any module call, but DDP's own bookkeeping
stays DDP's: the graph calls `ddp._pre_forward()` where the call starts and
`ddp._post_forward(...)` where it ends, as impure nodes in program order (run by the
graph, never during conversion).  Between them the wrapped module's forward is inlined
(its parameters become graph inputs, so the Inductor tier can compile it).  What DDP
does at run time is therefore exactly what eager DDP does:

* `_pre_forward`: `reducer.prepare_for_forward()`, the one-time bucket rebuild (a
  broadcast), buffer broadcasting from rank 0 (`broadcast_buffers`), the `Join` hooks;
* `_post_forward`: `reducer.prepare_for_backward(...)`, which arms the reducer's
  autograd hooks: the gradient all-reduce then runs in `loss.backward()` as in eager,
  bucket by bucket, whichever tier computed the backward (fx: eager autograd; Inductor:
  the compiled backward's gradients reach the parameters' accumulators, where DDP's
  hooks sit);
* `no_sync()`: both read `require_backward_grad_sync` when they run, so one graph serves
  synchronised and accumulating steps alike.

Collectives and speculation: `_pre_forward` counts as an in-graph framework update, so
the converter allows no speculation after it (a later data-dependent `if` becomes a
graph `cond`); assertions before it are checked before it runs.  A failed assumption
therefore re-runs the step imperatively before any collective of the step was issued,
and every rank issues the same collectives in the same order whether its step ran from a
graph or imperatively (guards and assumptions are per rank).

Not inlined (the call runs as a host island, exactly eager): mixed precision (the inputs
are cast by `_pre_forward`), a buffer communication hook, and DDPs whose wrapped module
has hooks.  A module JANUS cannot inline inside DDP falls back like anywhere else.
"""

from __future__ import annotations

import types
from typing import Any, Callable, Optional

import torch

from .modules import _no_hooks

try:  # importable on every build; None where torch has no distributed support
    from torch.nn.parallel import DistributedDataParallel as DDP
except ImportError:  # pragma: no cover
    DDP = None  # type: ignore[assignment,misc]

#: DDP's methods the graph calls for their effect on the reducer (impure nodes)
DDP_HOOK_METHODS = ("_pre_forward", "_post_forward")


def is_ddp(value: Any) -> bool:
    return DDP is not None and isinstance(value, DDP)


def ddp_hook_name(target: Any, args) -> Optional[str]:
    """`_pre_forward`/`_post_forward` when `target` is that method of a DDP (bound, or
    unbound with the DDP first), else None."""
    name = getattr(target, "__name__", "")
    if name not in DDP_HOOK_METHODS:
        return None
    owner = getattr(target, "__self__", None)
    if owner is None and args:
        owner = args[0]
    return name if is_ddp(owner) else None


def is_ddp_hook_node(node: Any) -> bool:
    """An IR node calling DDP's `_pre_forward`/`_post_forward` (for the training split)."""
    return bool(node.meta.get("impure")) and node.op == "call" and ddp_hook_name(node.target, node.args) is not None


# -- the function the converter inlines (plain: the converter reads its AST) ---------------
def needs_sink(self):
    # DDP routes the outputs through `_DDPSink` (unused-parameter detection, static graphs'
    # first iteration): `_post_forward`'s result is then the output the loss must use
    return (self.find_unused_parameters and not self.static_graph) or (
        self.static_graph and not self._static_graph_delay_allreduce_enqueued
    )


def move_inputs(inputs, device):
    moved = []
    for x in inputs:
        if isinstance(x, torch.Tensor):
            x = x.to(device)
        moved.append(x)
    return tuple(moved)


def ddp_forward(self, *inputs, **kwargs):
    """`DistributedDataParallel.forward`, with its bookkeeping as graph nodes."""
    _no_hooks(self)
    self._pre_forward()
    if self.device_ids:
        inputs = move_inputs(inputs, torch.device(self.device_type, self.device_ids[0]))
    output = self.module(*inputs, **kwargs)
    if needs_sink(self):
        return self._post_forward(output)
    self._post_forward(None)  # without the sink, DDP's post-forward never reads the output
    return output


def ddp_inline_target(fn: Any) -> Optional[Callable]:
    """The function to inline for a call of a DDP module, or None (not a DDP, or one
    whose forward JANUS leaves to DDP: see the module docstring)."""
    if not is_ddp(fn):
        return None
    if type(fn).forward is not DDP.forward or "forward" in fn.__dict__:
        return None  # a subclass with its own forward
    if getattr(fn, "mixed_precision", None) is not None or hasattr(fn, "buffer_hook"):
        return None
    if getattr(fn, "_use_python_reducer", False):
        return None  # compiled autograd's reducer: dynamo's business
    return types.MethodType(ddp_forward, fn)


def ddp_impure_result(target: Any, args) -> Any:
    """The conversion-time example of a DDP hook's result: `_post_forward(output)` returns
    (a pass-through of) the output."""
    if ddp_hook_name(target, args) == "_post_forward":
        rest = list(args[1:]) if getattr(target, "__self__", None) is None else list(args)
        return rest[0] if rest else None
    return None

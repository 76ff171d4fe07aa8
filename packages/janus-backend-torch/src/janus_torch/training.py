"""Training graphs (`loss.backward()`, `optimizer.step()` run in the graph, in order) on
the Inductor tier.

The graph is split at its first impure node: the *prefix* (the forward pass up to the
loss: pure, no assertions, no control flow; grad-mode blocks are fine, and at most one of
its results may require grad, see `split_training`) is compiled with `torch.compile`
(AOTAutograd + Inductor: a fused forward and, when `backward()` runs, a fused backward);
the *suffix* (backward, the optimizer step, what follows) stays an fx module calling
torch's own autograd and optimizer, so the update is exactly eager's.

Compiling never runs a training step: the prefix is warmed up, and its backward
compiled, on private detached copies of the inputs (gradients land in the copies), and
validated against the fx prefix, values and gradients, before calls switch to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence

import torch

from janus.ir.graph import Graph, Node, Value
from janus.ir.spec import TensorSpec

from .distributed import is_ddp_hook_node
from .lowering import LoweredGraph, lower
from .runtime import GRAD_CONTEXTS


@dataclass
class TrainingSplit:
    prefix: LoweredGraph
    suffix: LoweredGraph
    n_mid: int
    #: DDP's `_pre_forward` (distributed.py), run on fx before the compiled prefix
    head: Optional[LoweredGraph] = None


def _is_context(node: Node) -> bool:
    return (node.op == "call" and isinstance(node.target, type) and node.target in GRAD_CONTEXTS) or (
        node.op == "call_method" and node.target in ("__enter__", "__exit__")
    )


def split_training(graph: Graph, lowered: LoweredGraph) -> Optional[TrainingSplit]:
    """The prefix/suffix split of a graph with impure nodes, or None when the part before
    the first impure node is not a plain tensor computation worth compiling."""
    body = [n for n in graph.nodes if n.op not in ("input", "output")]
    head, body, moved = _ddp_hooks_aside(body)
    first = next((i for i, n in enumerate(body) if n.meta.get("impure") and not _is_context(n)), None)
    if first is None:
        return None
    prefix, suffix = body[:first], moved + body[first:]
    if not prefix or any(
        n.op not in ("const", "call", "call_method")
        or (n.meta.get("opaque") and not _is_context(n))
        or (_is_context(n) and n.op == "call" and n.target is torch.inference_mode)
        for n in prefix
    ):
        return None
    defined = {o.id for n in prefix for o in n.outputs}
    mids: List[Value] = []
    seen = set()
    readers = [v for n in suffix for m in [n] + [x for r in n.regions for x in r.walk()] for v in m.input_values()]
    in_head = {o.id for n in head for o in n.outputs}
    results = [v for v in graph.results if isinstance(v, Value)]
    if in_head and any(v.id in in_head for v in readers + results + [v for n in prefix for v in n.input_values()]):
        return None  # the head computes a value the rest reads: one piece of fx
    for v in readers + [v for v in graph.results if isinstance(v, Value)]:
        if v.id in defined and v.id not in seen:
            seen.add(v.id)
            mids.append(v)
    if not all(isinstance(v.spec, TensorSpec) for v in mids):
        return None  # Python scalars do not leave a dynamo graph reliably
    if sum(bool(v.spec.requires_grad) for v in mids) > 1:
        # the compiled prefix is one autograd node: the first backward() frees it whole,
        # so a later backward through another of its outputs (a GAN's generator loss
        # after the discriminator's) would fail where eager's finer graph does not
        return None
    pre = lower(graph, outputs=mids, nodes=prefix)
    if pre.n_ops < 8:
        return None
    suf = lower(graph, nodes=suffix, extra_inputs=mids, effects_flag=lowered.effects_flag)
    top = lower(graph, outputs=[], nodes=head, effects_flag=lowered.effects_flag) if head else None
    return TrainingSplit(pre, suf, len(mids), top)


def _pure_node(n: Node) -> bool:
    return n.op in ("const", "call", "call_method") and not n.meta.get("impure") and not n.meta.get("opaque")


def _ddp_hooks_aside(body: List[Node]):
    """DDP's bookkeeping around an inlined forward (distributed.py).  The *head*: the
    graph up to its first update when that is DDP's `_pre_forward` and only pure work and
    assertions precede it; it runs first, on fx (its assertions are checked before
    `_pre_forward` runs, and the compiled prefix sees the buffers it broadcasts).  A
    `_post_forward` that reads no graph value (it only arms the reducer for backward)
    moves to the start of the suffix, out of the forward.
    Returns (head, body without head and moved nodes, moved)."""
    first = next((i for i, n in enumerate(body) if n.meta.get("impure") and not _is_context(n)), None)
    head: List[Node] = []
    if first is not None and is_ddp_hook_node(body[first]) and not body[first].input_values():
        before = body[:first]
        if all(n.op == "assert" or _pure_node(n) for n in before):
            head, body = body[: first + 1], body[first + 1 :]
    # `_post_forward(None)` before the next update: its result is the Python None, never
    # a graph value; later DDP hooks (a second DDP model's) keep their place
    moved: List[Node] = []
    for n in body:
        if is_ddp_hook_node(n) and not n.input_values() and n.target.__name__ == "_post_forward":
            moved.append(n)
        elif n.meta.get("impure") and not _is_context(n):
            break
    return head, [n for n in body if not any(n is m for m in moved)], moved


def _copy(x: Any) -> Any:
    """A private copy of an example input, of the same tensor type: dynamo guards on the
    type, so a plain-tensor copy of a Parameter makes the first real call recompile."""
    if isinstance(x, torch.nn.Parameter):
        return torch.nn.Parameter(x.detach().clone(), requires_grad=x.requires_grad)
    if isinstance(x, torch.Tensor):
        c = x.detach().clone()
        return c.requires_grad_(True) if x.requires_grad else c
    return x


def _backward_on(outs: Sequence[Any]) -> None:
    """Backward from every output with the same seeded random cotangents (ones would
    give a batch-norm input a zero gradient: comparing those compares rounding noise)."""
    tensors = [o for o in outs if isinstance(o, torch.Tensor) and o.requires_grad]
    if tensors:
        gen = torch.Generator(device=tensors[0].device).manual_seed(0)  # never the global RNG
        torch.autograd.backward(
            tensors, [torch.randn(t.shape, generator=gen, dtype=t.dtype, device=t.device) for t in tensors]
        )


def _grad_mismatch(want: Sequence[Any], got: Sequence[Any]) -> Optional[str]:
    """Gradients agree to a tolerance relative to their norm (a fused backward sums in
    another order; elementwise tolerances fail on entries near zero)."""
    for i, (a, b) in enumerate(zip(want, got)):
        if (a is None) != (b is None):
            return f"gradient[{i}]: present in one only"
        if a is None:
            continue
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"gradient[{i}]: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
        err, scale = float((a - b).double().norm()), float(a.double().norm())
        if not err <= 1e-3 * scale + 1e-6:
            return f"gradient[{i}]: values differ (|diff| {err:.3g}, |grad| {scale:.3g})"
    return None


def compile_training(split: TrainingSplit, example: Sequence[Any], dynamic, mismatch: Callable) -> Callable:
    """Compile and validate the prefix on copies of `example`; returns the merged callable."""
    compiled = torch.compile(split.prefix.module.forward, backend="inductor", fullgraph=True, dynamic=dynamic)
    ex_c = [_copy(x) for x in example]
    ex_f = [_copy(x) for x in example]
    got = compiled(*ex_c)
    want = split.prefix.module.forward(*ex_f)
    problem = mismatch(tuple(want), tuple(got))
    if problem:
        raise RuntimeError(f"Inductor changed a result: {problem}")
    _backward_on(got)  # compiles the backward graph now, into the copies' .grad
    _backward_on(want)
    grads_c = [x.grad for x in ex_c if isinstance(x, torch.Tensor) and x.requires_grad]
    grads_f = [x.grad for x in ex_f if isinstance(x, torch.Tensor) and x.requires_grad]
    problem = _grad_mismatch(grads_f, grads_c)
    if problem:
        raise RuntimeError(f"Inductor changed a gradient: {problem}")
    suffix = split.suffix.module.forward
    if split.head is not None:
        head = split.head.module.forward

        def with_head(*inputs):
            head(*inputs)
            return suffix(*inputs, *compiled(*inputs))

        return with_head

    def merged(*inputs):
        return suffix(*inputs, *compiled(*inputs))

    return merged

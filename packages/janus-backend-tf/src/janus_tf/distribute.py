"""Jitted steps under `tf.distribute` strategies (`strategy.run(jitted_step, ...)`).

Eager `strategy.run` (MirroredStrategy, MultiWorkerMirroredStrategy) calls the step once
per local replica, each in its own thread under a replica context, with the replica's
device as the default device.  JANUS serves each call from a graph built for that
replica (its inputs' device is part of the specs, so each replica device gets its own
specialization; mirrored variables read in a replica context are that replica's copy).

What synchronises replicas cannot be in such a graph: TensorFlow allows `merge_call`
(Keras optimizers' `apply_gradients`, `ReplicaContext.all_reduce`) only in the replica
threads' own graph, never in a function traced inside one ("`merge_call` called while
defining a new graph").  So in a replica context whose strategy uses merge calls, an
optimizer update is not an in-graph update: the converter finds it needs the host, and
the step is split (graph islands) into a graph segment for the forward pass and the
gradients, the update run as written (eager, exactly as under eager `strategy.run`),
and a segment for what follows.  Every replica therefore issues the same cross-replica
calls, in the same order, whether its segments ran from graphs or imperatively.

Graphs are specialised to the distribution mode they were built in (`replica_mode`,
a host guard): a graph built inside `strategy.run` is never used outside it, nor the
other way round.  Inside it, a value on the replica's own device has the device
`REPLICA_DEVICE` in its spec (guarded as "on the device of the replica running the
call"): one graph serves every replica, each running it on its own device (a graph runs
on the calling thread's default device), from the third step on.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

from tensorflow.python.eager import context
from tensorflow.python.framework import ops as tf_ops

from .call_effects import OPTIMIZER_UPDATES

#: the device of a spec for a value on the device of the replica that runs the call
REPLICA_DEVICE = "replica"
#: ReplicaContext methods that synchronise the replicas (merge calls or collectives)
REPLICA_SYNC_METHODS = frozenset({"merge_call", "all_reduce", "all_gather", "_batch_all_reduce"})


def replica_mode() -> Optional[Tuple[int, bool]]:
    """None outside any strategy (the common case: one list read); else (id of the
    strategy, whether the thread is in a replica context).  A host guard of every graph."""
    stack = tf_ops.get_default_graph()._distribution_strategy_stack
    if not stack:
        return None
    mode = stack[-1]
    return (id(mode.strategy), mode.replica_context is not None)


def merge_calls_here() -> bool:
    """Is this thread in a replica context whose cross-replica calls are merge calls (so
    they cannot run inside a graph traced here)?"""
    stack = tf_ops.get_default_graph()._distribution_strategy_stack
    if not stack or stack[-1].replica_context is None:
        return False
    use_merge_call = getattr(stack[-1].strategy.extended, "_use_merge_call", None)
    return True if use_merge_call is None else bool(use_merge_call())


def is_replica_context(value: Any) -> bool:
    mode = type(value).__module__ or ""
    return mode.startswith("tensorflow.python.distribute") and hasattr(value, "merge_call")


def host_only_reason(target: Any, args) -> Optional[str]:
    """Why a call synchronising replicas must run on the host here (None if it need not)."""
    if not merge_calls_here():
        return None
    owner = getattr(target, "__self__", None)
    name = getattr(target, "__name__", "") or ""
    if is_replica_context(owner) and name in REPLICA_SYNC_METHODS:
        return f"ReplicaContext.{name} synchronises the replicas (a merge call)"
    return None


def update_needs_host(target: Any, args) -> bool:
    """An optimizer update (`apply_gradients`) in a merge-call replica context: it must
    run on the host (the caller has established it is an optimizer update)."""
    name = getattr(target, "__name__", "") or ""
    return name in OPTIMIZER_UPDATES and merge_calls_here()


def replica_device(canonical: Callable[[str], str]) -> Optional[str]:
    """The (canonical) device of the replica this thread runs, None outside a replica
    context of a strategy."""
    mode = replica_mode()
    if mode is None or not mode[1]:
        return None
    return canonical(context.context().device_name)


def current_device(canonical: Callable[[str], str]) -> Callable[[], str]:
    """A guard helper: the canonical name of the calling thread's default device."""

    def device() -> str:
        return canonical(context.context().device_name)

    return device

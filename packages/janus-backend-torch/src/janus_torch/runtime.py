"""Functions the lowered fx graphs call at run time: assertion checks, impure calls that
note they ran, inference-mode switches, and `torch.cond`/`while_loop` for Inductor.

A leaf module, so the lowering and whatever runs its graphs share these without a cycle.
"""

from __future__ import annotations

from typing import Any, Dict

import torch
from torch._higher_order_ops import while_loop

from janus.errors import AssumptionFailed

#: context classes lowered to grad-mode switches: class -> the mode it enters
GRAD_CONTEXTS: Dict[type, Any] = {
    torch.no_grad: False,
    torch.enable_grad: True,
    torch.set_grad_enabled: None,
    torch.inference_mode: None,
}


def check_assert(pred, expect: bool, site: str) -> None:
    """An assertion inside a cond/while region (checked where it stands)."""
    if bool(pred) is not expect:
        raise AssumptionFailed(site)


def assert_flags(*preds):
    """Several top-level predicates as one bool vector, so the host reads them once."""
    return torch.stack([torch.as_tensor(p).reshape(()).bool() for p in preds])


def check_asserts(preds, expects, sites) -> None:
    """Top-level speculations checked before the first node that changes framework state
    (backward(), an optimizer step), so a failed one leaves parameters untouched."""
    for p, e, s in zip(preds, expects, sites):
        if bool(p) is not e:
            raise AssumptionFailed(s)


class EffectsFlag:
    """`.ran`: set when an impure call (backward(), step()) ran during the current run."""

    __slots__ = ("ran",)

    def __init__(self):
        self.ran = False


def run_impure(flag, fn, *args, **kwargs):
    flag.ran = True
    return fn(*args, **kwargs)


def run_impure_method(flag, name, obj, *args, **kwargs):
    flag.ran = True
    return getattr(obj, name)(*args, **kwargs)


def inference_enter(mode: bool):
    guard = torch._C._InferenceMode(mode)
    guard.__enter__()
    return guard


def inference_exit(guard) -> None:
    guard.__exit__(None, None, None)


def torch_cond(pred, then_fn, else_fn, *operands):
    return torch.cond(pred, then_fn, else_fn, tuple(operands))


def torch_while(cond_fn, body_fn, n_carried: int, *values):
    carried, free = tuple(values[:n_carried]), tuple(values[n_carried:])
    return while_loop(lambda *c: cond_fn(*c, *free)[0], lambda *c: tuple(body_fn(*c, *free)), carried)

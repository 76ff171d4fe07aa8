"""What a torch call does besides computing its result: draw random numbers, write into
its arguments, or change autograd/optimizer state.

A leaf module: the backend classifies calls with it during conversion, the lowering and
the fx-tier code generator note which graphs draw random numbers.
"""

from __future__ import annotations

import operator
from typing import Any, Optional

import torch

from janus.backend import closure_owner

from .functional import ON_COPY

#: names of torch callables and tensor methods that draw random numbers
RANDOM_NAMES = frozenset(
    {
        "rand",
        "rand_like",
        "randn",
        "randn_like",
        "randint",
        "randint_like",
        "randperm",
        "normal",
        "bernoulli",
        "multinomial",
        "poisson",
        "dropout",
        "dropout1d",
        "dropout2d",
        "dropout3d",
        "alpha_dropout",
        "feature_alpha_dropout",
        "feature_dropout",
        "native_dropout",
        "rrelu",
        "rrelu_",
        "gumbel_softmax",
        "uniform_",
        "normal_",
        "bernoulli_",
        "exponential_",
        "geometric_",
        "cauchy_",
        "log_normal_",
        "random_",
        "fused_dropout",
        "_fused_dropout",
        "binomial",
        "standard_gamma",
        "_standard_gamma",
        "_sample_dirichlet",
        "dropout_",
        "alpha_dropout_",
        "feature_alpha_dropout_",
        "rrelu_with_noise",
    }
)
#: calls that change state outside their result although their names do not end in "_"
MUTATING_NAMES = {
    "backward": "accumulates gradients into the .grad of leaf tensors",
    "register_hook": "registers a hook on a tensor",
    "retain_grad": "changes how autograd treats a tensor",
    "manual_seed": "reseeds torch's global random number generator",
    "seed": "reseeds torch's global random number generator",
    "set_rng_state": "changes torch's global random number generator",
    "set_grad_enabled": "changes the global autograd mode",
    "set_default_dtype": "changes torch's default dtype",
    "set_default_device": "changes torch's default device",
}
OPERATOR_INPLACE = frozenset(
    {
        operator.setitem,
        operator.delitem,
        operator.iadd,
        operator.isub,
        operator.imul,
        operator.itruediv,
        operator.ifloordiv,
        operator.imod,
        operator.ipow,
        operator.iand,
        operator.ior,
        operator.ixor,
        operator.ilshift,
        operator.irshift,
        operator.imatmul,
    }
)
_DUNDER_INPLACE = frozenset(
    {
        "__setitem__",
        "__delitem__",
        "__iadd__",
        "__isub__",
        "__imul__",
        "__itruediv__",
        "__idiv__",
        "__ifloordiv__",
        "__imod__",
        "__ipow__",
        "__iand__",
        "__ior__",
        "__ixor__",
        "__ilshift__",
        "__irshift__",
        "__imatmul__",
    }
)
_WRITES_ARGUMENTS = frozenset({torch.batch_norm, torch.nn.functional.batch_norm, torch.native_batch_norm})
_OPTIMIZER_IMPURE = frozenset({"step", "zero_grad"})
#: gradient clipping: rewrites `.grad` of the given parameters in place, between
#: backward() and step(); run in the graph in program order, like them
_GRAD_UPDATES = {
    f
    for f in (
        getattr(torch.nn.utils, n, None) for n in ("clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_")
    )
    if f is not None
}


def name_of(target: Any) -> str:
    if isinstance(target, str):
        return target
    return getattr(target, "__name__", "") or ""


def is_inplace_name(name: str) -> bool:
    """torch's convention: `add_`, `copy_`, `relu_` write into their first argument;
    `__iadd__`/`__setitem__` are the dunder forms."""
    if name.startswith("__") and name.endswith("__"):
        return name in _DUNDER_INPLACE
    return name.endswith("_") and name.strip("_") != ""


def draws_random(target: Any) -> bool:
    """Does calling `target` consume torch's random number generator?"""
    name = name_of(target)
    return (name[: -len(ON_COPY)] if name.endswith(ON_COPY) else name) in RANDOM_NAMES


def writes_arguments(target: Any) -> bool:
    try:
        return target in _WRITES_ARGUMENTS
    except TypeError:  # unhashable callables
        return False


def impure_call(target: Any, args) -> Optional[str]:
    """Calls run in the graph only for their effect on autograd/optimizer state."""
    try:
        if target in _GRAD_UPDATES:
            return "clip"
    except TypeError:  # unhashable callables
        pass
    name = name_of(target)
    if name == "backward":
        owner = getattr(target, "__self__", None)
        if (
            isinstance(owner, torch.Tensor)
            or target is torch.autograd.backward
            or (args and isinstance(args[0], torch.Tensor) and target is torch.Tensor.backward)
        ):
            return "backward"
        return None
    if name in _OPTIMIZER_IMPURE:
        owner = getattr(target, "__self__", None)
        if owner is None:  # an LR scheduler's wrapper of `opt.step` holds the optimizer
            owner = closure_owner(target, lambda v: isinstance(v, torch.optim.Optimizer))
        if owner is None and args:
            owner = args[0]
        if isinstance(owner, (torch.optim.Optimizer, torch.nn.Module)):
            return name
    return None

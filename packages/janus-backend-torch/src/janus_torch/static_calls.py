"""torch functions of Python values that return Python values, and torch objects the
converted code may build: what the converter evaluates during conversion.

* pure: `torch.finfo(dtype)`, `torch.device("cpu")`, `torch.promote_types(a, b)` -- a
  function of their (static) arguments;
* state: `torch.get_default_dtype()`, `torch.cuda.is_available()` -- read process state,
  so a guard reads them again on every call;
* stateless modules (`nn.ReLU()`, `nn.Flatten(1)`, `nn.Sequential` of such): no
  parameters, buffers or random numbers at construction, so building one during
  conversion is indistinguishable from building it on every call.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import torch
from torch import nn

_PURE = {torch.finfo, torch.iinfo, torch.device, torch.Size, torch.promote_types, torch.can_cast}
# not torch.is_grad_enabled / is_autocast_enabled: `with torch.no_grad()` is a graph
# region, so the value during conversion is not the value inside it
_STATE = {
    torch.get_default_dtype,
    torch.are_deterministic_algorithms_enabled,
    torch.cuda.is_available,
    torch.cuda.device_count,
    torch.get_num_threads,
}
for _name in ("get_default_device",):  # newer torch releases only
    if hasattr(torch, _name):
        _STATE.add(getattr(torch, _name))

#: torch.nn modules whose classes build no parameters, buffers or random numbers
_STATELESS_MODULES = (
    "activation",
    "pooling",
    "dropout",
    "flatten",
    "padding",
    "pixelshuffle",
    "upsampling",
    "channelshuffle",
    "container",
    "linear",
)


def static_call(fn: Any) -> Optional[str]:
    if fn in _PURE:
        return "pure"
    if fn in _STATE:
        return "state"
    return None


def local_object(cls: Any, args: Sequence, kwargs: Dict) -> Any:
    """A stateless torch module built now, or None."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        return None
    module = cls.__module__ or ""
    if not module.startswith("torch.nn.modules.") or module.rsplit(".", 1)[-1] not in _STATELESS_MODULES:
        return None
    if cls is nn.Linear or cls is nn.Bilinear or cls is nn.LazyLinear:  # `linear` holds Identity too
        return None
    if any(isinstance(a, nn.Module) and _has_state(a) for a in list(args) + list(kwargs.values())):
        return None  # a container of modules with parameters: those came from outside, keep eager
    obj = cls(*args, **kwargs)
    return None if _has_state(obj) else obj


def _has_state(module: nn.Module) -> bool:
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())

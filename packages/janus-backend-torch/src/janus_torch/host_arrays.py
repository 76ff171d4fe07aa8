"""Which torch calls take a NumPy array from outside the function as a graph input
(`janus.backend.ConversionRules.host_array_call`): the array's tensor is made on every
call by `torch.from_numpy`, sharing its memory as eager's `from_numpy` does."""

from __future__ import annotations

import operator
from typing import Any, Optional, Sequence, Tuple

import torch

#: calls that only make a tensor sharing the array's memory
_SAME = (torch.from_numpy, torch.as_tensor)


def host_array_call(target: Any, position: Any, args: Sequence, kwargs: dict) -> Optional[Tuple[str, Any]]:
    if position == 0 and not kwargs:
        if any(target is f for f in _SAME):
            return ("same", None)
        if target is torch.tensor:  # a copy
            return ("apply", torch.clone)
    indexes = target is operator.getitem and position == 1 and isinstance(args[0], torch.Tensor)
    if indexes and args[1].dtype.kind in "bi":  # `t[idx]`: torch indexes by the array as by its tensor
        return ("pass", None)
    return None


def host_array_tensor(array: Any) -> torch.Tensor:
    return torch.from_numpy(array)

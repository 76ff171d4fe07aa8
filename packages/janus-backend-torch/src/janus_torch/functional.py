"""Out-of-place forms of torch's in-place writes: the graph computes them on copies and
the runtime commits the results, so a failed speculation has written nothing.

A leaf module: the backend, the lowering and the fx-tier code generator all use it.
"""

from __future__ import annotations

import functools

import torch

#: the name suffix of a method run on a copy (`add_on_copy`): randomness checks strip it
ON_COPY = "on_copy"
#: in-place methods whose out-of-place form on a copy would not mean the same
NOT_FUNCTIONALIZABLE = frozenset(
    {
        "requires_grad_",
        "set_",
        "share_memory_",
        "resize_",
        "resize_as_",
        "retain_grad",
        "record_stream",
        "detach_",
        "pin_memory",
        "backward",
        "register_hook",
    }
)


@functools.cache
def on_copy(name: str):
    """`x.add_(y)` out of place: the same in-place method applied to a copy of x, so
    dtype, broadcasting and error behaviour are exactly eager's."""
    if name == "copy_":
        return copy_on_copy

    def method_on_copy(self, *args, **kwargs):
        return getattr(self.clone(), name)(*args, **kwargs)

    method_on_copy.__name__ = method_on_copy.__qualname__ = name + ON_COPY
    return method_on_copy


def copy_on_copy(self, src, non_blocking=False):
    """`x.copy_(src)` out of place: a copy of src when it already has x's form (one
    kernel instead of two; the commit writes it into x)."""
    if (
        type(src) is torch.Tensor
        and src.shape == self.shape
        and src.dtype == self.dtype
        and src.device == self.device
        and not (src.requires_grad and torch.is_grad_enabled())
    ):
        return src.clone()
    return self.clone().copy_(src, non_blocking)


def setitem_functional(tensor, index, value):
    """`tensor[index] = value` out of place (`TorchBackend.setitem_functional`); the fx-tier
    code generator recognizes it by identity to write a host schedule's buffer in place."""
    if type(tensor) is list:  # the per-call result buffer of recursion as data (fresh each call)
        tensor[index] = value
        return tensor
    out = tensor.clone()
    out[index] = value
    return out

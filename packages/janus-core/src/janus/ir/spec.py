"""Abstract values: what the IR knows about a value without holding it.

A `TensorSpec` describes a framework tensor (dtype, shape with `None` for a relaxed
dimension, device); a `PySpec` describes a Python value (its type, and the constant when
the analyzer specialized it).  Specs are immutable and hashable so they can key caches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional, Tuple

_NO_CONST = object()


@dataclass(frozen=True)
class TensorSpec:
    dtype: str
    shape: Tuple[Optional[int], ...]
    device: str = "cpu"
    requires_grad: bool = False

    @property
    def rank(self) -> int:
        return len(self.shape)

    def relaxed(self, dims) -> TensorSpec:
        """This spec with the given dimensions made unknown."""
        shape = tuple(None if i in dims else d for i, d in enumerate(self.shape))
        return replace(self, shape=shape)  # keeps a backend's TensorSpec subclass

    def matches(self, other: TensorSpec) -> bool:
        """Does a concrete spec `other` fit this (possibly relaxed) spec?"""
        if self.dtype != other.dtype or self.device != other.device:
            return False
        if len(self.shape) != len(other.shape):
            return False
        return all(a is None or a == b for a, b in zip(self.shape, other.shape))

    def __str__(self) -> str:
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        dev = "" if self.device == "cpu" else f"@{self.device}"
        grad = "" if not self.requires_grad else "+grad"
        return f"{self.dtype}[{dims}]{dev}{grad}"


@dataclass(frozen=True)
class PySpec:
    """A Python value: its type, and its value when it is a specialized constant."""

    type: type
    const: Any = _NO_CONST

    @property
    def is_const(self) -> bool:
        return self.const is not _NO_CONST

    def __str__(self) -> str:
        if self.is_const:
            return f"{self.type.__name__}={self.const!r}"
        return self.type.__name__


Spec = Any  # TensorSpec | PySpec; backends may subclass TensorSpec

SCALAR_TYPES = (bool, int, float, complex)
CONST_TYPES = (bool, int, float, complex, str, bytes, type(None), type(Ellipsis))


def is_python_scalar(value: Any) -> bool:
    return type(value) in SCALAR_TYPES


def is_const_like(value: Any, depth: int = 0) -> bool:
    """Immutable Python values that are safe to embed in a graph or a guard."""
    if type(value) in CONST_TYPES:
        return True
    if type(value) is tuple and depth < 1 and len(value) <= 16:
        # a flat tuple (a shape, a pair of flags); nested tuples are structures (trees),
        # read element by element so a recursion over them can become data
        return all(is_const_like(v, depth + 1) for v in value)
    if type(value) is slice:
        return all(is_const_like(v, depth + 1) for v in (value.start, value.stop, value.step))
    return False

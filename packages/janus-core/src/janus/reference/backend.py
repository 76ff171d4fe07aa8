"""NumPy values for the reference backend: the whole contract, in its smallest form."""

from __future__ import annotations

import contextlib
import functools
import random

import numpy as np

from .. import numpy_rules
from ..backend import Backend, Capabilities, ConversionRules, ScheduleOps
from ..ir.spec import PySpec, TensorSpec
from .executable import ReferenceExecutable


def _written_out(fn, *args, out=None, **kwargs):
    """`fn(*args, out=out)` computed out of place, with out's dtype and shape."""
    if isinstance(out, tuple) and len(out) == 1:
        out = out[0]
    return np.asarray(fn(*args, **kwargs)).astype(out.dtype, copy=False).reshape(out.shape).copy()


def _copied_into(dst, src, *args, **kwargs):
    """`np.copyto(dst, src)` out of place."""
    return np.broadcast_to(np.asarray(src, dtype=dst.dtype), dst.shape).copy()


def _filled(array, value):
    """`array.fill(value)` out of place."""
    return np.full_like(array, value)


class ReferenceBackend(Backend, ConversionRules, ScheduleOps):
    name = "reference"
    capabilities = Capabilities(devices=("cpu",), recursion=True, map_regions=True, inplace_writes=True)
    tensor_types = (np.ndarray, np.generic)
    framework_modules = ("numpy",)

    # -- the required core ----------------------------------------------------------------
    def spec_of(self, value) -> TensorSpec:
        return TensorSpec(str(value.dtype), tuple(value.shape), "cpu")

    def compile(self, graph, config):
        return ReferenceExecutable(graph)

    def guard_source(self, expr, spec, bind):
        # np.generic scalars and arrays both have .dtype and .shape
        if None in spec.shape:
            dims = " and ".join(f"_s[{i}] == {d}" for i, d in enumerate(spec.shape) if d is not None)
            shape_ok = f"len(_s := {expr}.shape) == {len(spec.shape)}" + (f" and {dims}" if dims else "")
        else:
            shape_ok = f"{expr}.shape == {spec.shape!r}"
        return f"({expr}.dtype == {bind(np.dtype(spec.dtype))} and {shape_ok})"

    @contextlib.contextmanager
    def preserve_state(self):
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)

    # -- conversion rules: NumPy's in-place writes, computed out of place -----------------
    def is_mutating(self, target, args, kwargs):
        if numpy_rules.writes(target, kwargs, args):
            return f"numpy.{getattr(target, '__name__', target)} writes into its argument"
        return None

    def functional_call(self, fn, args, kwargs):
        if "out" in kwargs and isinstance(fn, np.ufunc):
            return functools.partial(_written_out, fn), "out"
        if getattr(fn, "__name__", "") == "copyto" and len(args) >= 2 and not kwargs:
            return _copied_into, 0
        return None

    def functional_method(self, name, args, kwargs):
        if name == "fill" and len(args) == 2 and not kwargs:
            return _filled
        return None

    @staticmethod
    def setitem_functional(array, index, value):
        out = array.copy()
        out[index] = value
        return out

    def assign(self, target, value):
        np.copyto(target, value)

    # -- schedule operations (recursion as data) ------------------------------------------
    def from_numpy(self, array):
        return array

    def zeros(self, shape, spec):
        return np.zeros(shape, dtype=spec.dtype)

    @staticmethod
    def concat_rows(first, second):
        return np.concatenate([first, second])

    def stack_rows(self, rows, spec):
        if isinstance(spec, PySpec):
            return np.asarray([0 if r is None else r for r in rows], dtype=np.int64 if spec.type is int else np.float64)
        return np.stack([np.zeros(spec.shape, spec.dtype) if r is None else r for r in rows])

"""NumPy values for the reference backend."""
from __future__ import annotations

import contextlib
import random

import numpy as np

from ..backend import Backend, Capabilities
from ..ir.spec import PySpec, TensorSpec
from .executable import ReferenceExecutable

_MUTATING_NUMPY = {"copyto", "put", "place", "putmask", "fill_diagonal"}


def _cast_like(fn, args, kwargs, written):
    """`fn(*args, out=written)` computed out of place, with out='s dtype and shape."""
    return np.asarray(fn(*args, **kwargs)).astype(written.dtype, copy=False).reshape(written.shape).copy()


def _copy_into(dst, src):
    return np.broadcast_to(np.asarray(src, dtype=dst.dtype), dst.shape).copy()


def _filled(array, value):
    return np.full_like(array, value)


class ReferenceBackend(Backend):
    name = "reference"
    capabilities = Capabilities(devices=("cpu",), recursion=True, map_regions=True)
    tensor_types = (np.ndarray, np.generic)
    framework_modules = ("numpy",)

    def spec_of(self, value) -> TensorSpec:
        return TensorSpec(str(value.dtype), tuple(value.shape), "cpu")

    def guard_source(self, expr, spec, bind):
        # np.generic scalars and arrays both have .dtype and .shape
        if None in spec.shape:
            dims = " and ".join(f"_s[{i}] == {d}" for i, d in enumerate(spec.shape) if d is not None)
            shape_ok = f"len(_s := {expr}.shape) == {len(spec.shape)}" + (f" and {dims}" if dims else "")
        else:
            shape_ok = f"{expr}.shape == {spec.shape!r}"
        return f"({expr}.dtype == {bind(np.dtype(spec.dtype))} and {shape_ok})"

    def is_mutating(self, target, args, kwargs):
        name = getattr(target, "__name__", "")
        if name in _MUTATING_NUMPY or "out" in kwargs:
            return f"numpy.{name} writes into its argument"
        if name in ("fill", "sort", "resize", "itemset", "setfield", "partition") and args and isinstance(args[0], np.ndarray):
            return f"ndarray.{name} writes in place"
        return None

    @contextlib.contextmanager
    def preserve_state(self):
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)

    def functional_call(self, fn, args, kwargs):
        name = getattr(fn, "__name__", "")
        if "out" in kwargs and isinstance(fn, np.ufunc):
            written = kwargs.pop("out")
            written = written[0] if isinstance(written, tuple) and len(written) == 1 else written
            return _cast_like, [fn, args, kwargs, written], {}, written
        if name == "copyto" and len(args) >= 2 and not kwargs:
            return _copy_into, [args[0], args[1]], {}, args[0]
        return None

    def functional_method(self, name, args, kwargs):
        if name == "fill" and len(args) == 2:
            return "call", _filled, list(args), {}
        return None

    @staticmethod
    def setitem_functional(array, index, value):
        out = array.copy()
        out[index] = value
        return out

    def assign(self, target, value):
        np.copyto(target, value)

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

    def compile(self, graph, config):
        return ReferenceExecutable(graph)

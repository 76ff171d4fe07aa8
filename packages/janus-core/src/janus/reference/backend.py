"""NumPy values for the reference backend."""
from __future__ import annotations

import contextlib
import random

import numpy as np

from ..backend import Backend, Capabilities
from ..ir.spec import TensorSpec
from .executable import ReferenceExecutable

_MUTATING_NUMPY = {"copyto", "put", "place", "putmask", "fill_diagonal"}


class ReferenceBackend(Backend):
    name = "reference"
    capabilities = Capabilities(devices=("cpu",))
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

    def compile(self, graph, config):
        return ReferenceExecutable(graph)

"""The backend: what its tensors are, how to guard them, how to compile a graph.

The required core is `janus.Backend`: `name`, `tensor_types`, `framework_modules`,
`spec_of` and `compile`.  Everything else is optional; this template also implements
`janus.ConversionRules` so that in-place writes (`np.subtract(v, g, out=v)`, `v -= g`,
`v[0] = x`) run from graphs: without it they run on the host instead (never assumed
pure).  It does not implement `janus.ScheduleOps`, so recursion over trees runs
imperatively, and it declares so in its `Capabilities`.
"""

from __future__ import annotations

import contextlib
import functools
import random
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

import janus

from .executable import ClosureExecutable


class TemplateBackend(janus.Backend, janus.ConversionRules):
    name = "template"
    #: what its graphs can express; `janus.testing` expects programs needing these served
    capabilities = janus.Capabilities(cond=True, while_loop=True, recursion=False, inplace_writes=True)
    #: the classes of its tensors: `owns(value)` is `isinstance(value, tensor_types)`
    tensor_types = (np.ndarray, np.generic)
    #: calls of functions from these top-level modules become graph nodes
    framework_modules = ("numpy",)

    # -- the required core -----------------------------------------------------------------
    def spec_of(self, value: Any) -> janus.TensorSpec:
        return janus.TensorSpec(str(value.dtype), tuple(value.shape), "cpu")

    def compile(self, graph: janus.Graph, config: janus.Config) -> janus.Executable:
        return ClosureExecutable(graph)

    # -- optional: faster guards and framework state ----------------------------------------
    def guard_source(self, expr: str, spec: janus.TensorSpec, bind: Callable[[Any], str]) -> str:
        # checked on every call: attribute reads instead of calling spec_of
        if None in spec.shape:
            return f"{bind(spec)}.matches({bind(self.spec_of)}({expr}))"
        return f"({expr}.dtype == {bind(np.dtype(spec.dtype))} and {expr}.shape == {spec.shape!r})"

    @contextlib.contextmanager
    def preserve_state(self) -> Iterator[None]:
        # conversion runs the program on example values: random draws must not show
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)

    # -- optional: in-place writes, computed out of place and written back --------------------
    def functional_call(self, fn: Any, args: Sequence, kwargs: Dict) -> Optional[Tuple[Callable, Any]]:
        if isinstance(fn, np.ufunc) and kwargs.get("out") is not None and len(args) == fn.nin:
            return functools.partial(_ufunc_out_of_place, fn), "out"
        if fn is np.copyto and len(args) == 2 and not kwargs:
            return _copyto_out_of_place, 0
        return None

    def functional_method(self, name: str, args: Sequence, kwargs: Dict) -> Optional[Callable]:
        if name == "fill" and len(args) == 2 and not kwargs:
            return lambda array, value: np.full_like(array, value)
        return None

    @staticmethod
    def setitem_functional(array: Any, index: Any, value: Any) -> Any:
        out = array.copy()
        out[index] = value
        return out

    def assign(self, target: Any, value: Any) -> None:
        np.copyto(target, value)


def _ufunc_out_of_place(ufunc: np.ufunc, *args: Any, out: Any = None, **kwargs: Any) -> Any:
    """`ufunc(*args, out=out)` as a new array of out's dtype and shape."""
    if isinstance(out, tuple) and len(out) == 1:
        out = out[0]
    return np.asarray(ufunc(*args, **kwargs)).astype(out.dtype, copy=False).reshape(out.shape).copy()


def _copyto_out_of_place(dst: Any, src: Any) -> Any:
    return np.broadcast_to(np.asarray(src, dtype=dst.dtype), dst.shape).copy()

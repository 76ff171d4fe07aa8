"""PyTorch values for JANUS: specs, host guards, conversion rules for torch calls (what
they change: `call_effects.py`; their out-of-place forms: `functional.py`), module
inlining, RNG preservation, and `compile` (IR -> `TorchExecutable`).

The top of the package: it imports the executable, nothing below imports it."""

from __future__ import annotations

import contextlib
import random
import sys
from typing import Any, Optional

import numpy as np
import torch

import janus
from janus.backend import Backend, ConversionRules, HostRows, ScheduleOps
from janus.ir.spec import PySpec, TensorSpec

from . import host_arrays, static_calls
from . import modules as inline_modules
from .call_effects import (
    MUTATING_NAMES,
    OPERATOR_INPLACE,
    draws_random,
    impure_call,
    is_inplace_name,
    name_of,
    writes_arguments,
)
from .distributed import ddp_hook_name, ddp_impure_result, ddp_inline_target
from .executable import TorchExecutable
from .functional import NOT_FUNCTIONALIZABLE, on_copy, setitem_functional


def check_training_graph(graph) -> None:
    """A graph running backward()/step() in order must not read `.grad` as a host input:
    the host reads inputs before the graph runs, so it would see the previous step's
    gradients (the core reads tensor attributes of inputs on the host)."""
    impure = [n for n in graph.walk() if n.meta.get("impure") and n.target not in ("__enter__", "__exit__")]
    if not impure:
        return
    for n in graph.inputs:
        if str(n.target).endswith(".grad") or ".grad." in str(n.target):
            raise janus.Unsupported(
                f"reading `{n.target}` in a function that runs backward() or an optimizer step",
                n.site or "",
                "the graph would see gradients read before the step ran",
            )


class TorchBackend(Backend, ConversionRules, ScheduleOps):
    name = "torch"
    capabilities = janus.Capabilities(
        cond=True,
        while_loop=True,
        recursion=True,
        devices=("cpu", "cuda"),
        python_scalars_in_graph=True,
        inplace_operators=True,
        host_schedules=True,
        inplace_writes=True,
        training=True,
    )
    tensor_types = (torch.Tensor,)  # nn.Parameter is a subclass
    framework_modules = ("torch",)
    #: framework classes whose instances live in graphs as opaque values (`with torch.no_grad():`)
    graph_object_types = (torch.no_grad, torch.enable_grad, torch.set_grad_enabled, torch.inference_mode)

    # -- values -------------------------------------------------------------
    def owns(self, value: Any) -> bool:
        return isinstance(value, torch.Tensor)

    def spec_of(self, value: Any) -> TensorSpec:
        return TensorSpec(
            str(value.dtype).replace("torch.", ""), tuple(value.shape), str(value.device), bool(value.requires_grad)
        )

    def guard_source(self, expr: str, spec: TensorSpec, bind) -> str:
        # inline attribute checks, the cheapest first: .dtype/.is_cpu/.requires_grad are
        # ~80-120 ns each, .shape (builds a torch.Size) ~250 ns
        dtype = getattr(torch, spec.dtype, None)
        if not isinstance(dtype, torch.dtype):
            raise janus.JanusError(f"internal: unknown torch dtype {spec.dtype!r} in a tensor spec")
        parts = [f"{expr}.dtype is {bind(dtype)}"]
        if spec.device == "cpu":
            parts.append(f"{expr}.is_cpu")
        else:
            parts.append(f"{expr}.device == {bind(torch.device(spec.device))}")
        parts.append(f"{expr}.requires_grad is {bool(spec.requires_grad)!r}")
        if None in spec.shape:
            known = [f"__janus_shape[{i}] == {d}" for i, d in enumerate(spec.shape) if d is not None]
            parts.append(f"len(__janus_shape := {expr}.shape) == {len(spec.shape)}")
            parts.extend(known)
        else:
            parts.append(f"{expr}.shape == {tuple(spec.shape)!r}")
        return "(" + " and ".join(parts) + ")"

    def static_call(self, fn: Any) -> Optional[str]:
        return static_calls.static_call(fn)

    def local_object(self, cls: Any, args, kwargs) -> Any:
        return static_calls.local_object(cls, args, kwargs)

    def inline_target(self, fn: Any):
        return ddp_inline_target(fn) or inline_modules.inline_target(fn)

    def is_graph_object(self, value: Any) -> bool:
        # entering/leaving one is an impure node: the passes never merge across it
        return isinstance(value, self.graph_object_types)

    def is_long_lived(self, value: Any) -> bool:
        # torch's own objects (dtypes, devices, modules), and NumPy's, which torch code mixes
        # in; not NumPy arrays: data, filled anew between calls (host_arrays)
        return type(value).__module__.split(".")[0] in ("torch", "numpy") and not isinstance(value, np.ndarray)

    def is_random(self, target: Any) -> bool:
        # batch_norm in training mode writes its running-statistics arguments (copies, in
        # modules.batch_norm_forward): the passes must neither merge nor drop it
        return draws_random(target) or writes_arguments(target)

    def host_only(self, target: Any) -> Optional[str]:
        # optimizer-side Python code JANUS does not know as an update (a wrapper another
        # library put on `step`, `add_param_group`): it may change state, so it must not
        # run while converting; known updates (`step`, `zero_grad`) stay in the graph
        module = getattr(target, "__module__", None) or ""
        if module.startswith("torch.optim") and impure_call(target, ()) is None:
            return "optimizer code that is not a known update runs on the host"
        return None

    def is_impure(self, target, args, kwargs) -> bool:
        return impure_call(target, args) is not None or ddp_hook_name(target, args) is not None

    def impure_result(self, target, args, kwargs):
        if ddp_hook_name(target, args) is not None:
            return ddp_impure_result(target, args)
        if impure_call(target, args) == "clip" and name_of(target) == "clip_grad_norm_":
            # the total norm: a 0-d tensor of the parameters' dtype and device
            params = args[0] if args else kwargs.get("parameters")
            first = params if isinstance(params, torch.Tensor) else next(iter(params), None)
            if first is None:
                return torch.zeros(())
            return torch.zeros((), dtype=first.dtype, device=first.device)
        return None

    def is_mutating(self, target, args, kwargs) -> Optional[str]:
        if isinstance(target, type) and issubclass(target, self.graph_object_types):
            return None  # a grad-mode context: lowered as grad-mode switches in the graph
        if impure_call(target, args) is not None:
            return None  # run in the graph, in order (never during conversion)
        if "out" in kwargs and kwargs["out"] is not None:
            return "it writes into its out= argument"
        if kwargs.get("inplace") is True:
            return "it is called with inplace=True"
        if isinstance(target, torch.nn.Module):
            return "calling a torch module JANUS does not inline (it may update buffers or draw random numbers)"
        try:
            if target in OPERATOR_INPLACE:
                return f"operator.{target.__name__} writes into its first argument"
        except TypeError:  # unhashable callables
            pass
        name = name_of(target)
        if name in MUTATING_NAMES:
            return MUTATING_NAMES[name]
        if is_inplace_name(name):
            return f"`{name}` writes in place"
        return None

    # -- in-place writes, computed out of place and committed by the runtime --------
    def functional_method(self, name, args, kwargs):
        if not is_inplace_name(name) or name.startswith("__") or name in NOT_FUNCTIONALIZABLE:
            return None
        return on_copy(name)

    def functional_call(self, fn, args, kwargs):
        name = name_of(fn)
        if "out" in kwargs or kwargs.get("inplace") is True or name in NOT_FUNCTIONALIZABLE:
            return None
        if (
            is_inplace_name(name)
            and not name.startswith("__")
            and args
            and getattr(fn, "__module__", "") in ("torch", "torch._C._VariableFunctions", None)
        ):
            method = getattr(torch.Tensor, name, None)
            if method is not None:  # torch.relu_(x) is x.relu_()
                return on_copy(name), 0
        return None

    setitem_functional = staticmethod(setitem_functional)

    # -- recursion as data: host schedules are Python lists (indexing them costs ~30 ns) --
    def from_numpy(self, array: Any) -> Any:
        return array.tolist() if array.ndim <= 1 else HostRows(array.tolist())

    def zeros(self, shape, spec):
        return [None] * shape[0]  # the result buffer: row i is written before it is read

    def stack_rows(self, rows, spec):
        if isinstance(spec, PySpec):
            return [0 if r is None else r for r in rows]
        filler = None
        out = []
        for r in rows:
            if r is None:
                if filler is None:
                    filler = torch.zeros(spec.shape, dtype=getattr(torch, spec.dtype), device=spec.device)
                r = filler
            out.append(r)
        return out

    def host_array_call(self, target, position, args, kwargs):
        return host_arrays.host_array_call(target, position, args, kwargs)

    def host_array_tensor(self, array):
        return host_arrays.host_array_tensor(array)

    def placeholder(self, spec):
        if None in spec.shape:
            return super().placeholder(spec)
        return torch.zeros, (tuple(spec.shape),), {"dtype": getattr(torch, spec.dtype), "device": spec.device}

    def check_inplace(self, target) -> None:
        if isinstance(target, torch.Tensor) and target.is_leaf and target.requires_grad and torch.is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")

    def assign(self, target, value) -> None:
        if target.requires_grad and target.is_leaf:
            with torch.no_grad():  # eager only allowed the write under no_grad (a parameter update)
                target.copy_(value)
        else:
            target.copy_(value)

    def state_guards(self):
        # code may read .requires_grad of intermediates, which depends on the grad mode
        return ((torch.is_grad_enabled, torch.is_grad_enabled()),)

    def random_state(self):
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
        return torch.get_rng_state(), cuda

    def set_random_state(self, state) -> None:
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state_all(state[1])

    @contextlib.contextmanager
    def preserve_state(self):
        cpu_state = torch.get_rng_state()
        cuda_states = (
            torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
        )
        py_state = random.getstate()
        np = sys.modules.get("numpy")
        np_state = np.random.get_state() if np is not None else None
        try:
            yield
        finally:
            torch.set_rng_state(cpu_state)
            if cuda_states is not None:
                torch.cuda.set_rng_state_all(cuda_states)
            random.setstate(py_state)
            if np_state is not None:
                np.random.set_state(np_state)

    def to_python(self, value: Any, spec: PySpec) -> Any:
        t = spec.type
        if isinstance(value, torch.Tensor):
            value = value.item()
        if t in (bool, int, float, complex):
            return t(value)
        return value

    # -- execution ----------------------------------------------------------
    def compile(self, graph, config) -> TorchExecutable:
        check_training_graph(graph)
        return TorchExecutable(graph, config, draws_random)

    def run_imperative(self, fn, args, kwargs):
        return fn(*args, **kwargs)

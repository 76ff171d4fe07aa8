"""PyTorch values for JANUS: specs, host guards, mutation and randomness of torch calls,
module inlining, RNG preservation, and `compile` (IR -> `TorchExecutable`)."""
from __future__ import annotations

import contextlib
import functools
import operator
import random
import sys
from typing import Any, Optional

import torch

import janus
from janus.backend import Backend, ConversionRules, HostRows, ScheduleOps
from janus.ir.spec import PySpec, TensorSpec

from . import modules as inline_modules
from .executable import TorchExecutable

#: names of torch callables and tensor methods that draw random numbers
_RANDOM_NAMES = frozenset({
    "rand", "rand_like", "randn", "randn_like", "randint", "randint_like", "randperm", "normal", "bernoulli",
    "multinomial", "poisson", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "feature_dropout", "native_dropout", "rrelu", "rrelu_", "gumbel_softmax",
    "uniform_", "normal_", "bernoulli_", "exponential_", "geometric_", "cauchy_", "log_normal_", "random_",
    "fused_dropout", "_fused_dropout", "binomial", "standard_gamma", "_standard_gamma", "_sample_dirichlet",
    "dropout_", "alpha_dropout_", "feature_alpha_dropout_", "rrelu_with_noise",
})
#: calls that change state outside their result although their names do not end in "_"
_MUTATING_NAMES = {
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
_OPERATOR_INPLACE = frozenset({
    operator.setitem, operator.delitem, operator.iadd, operator.isub, operator.imul, operator.itruediv,
    operator.ifloordiv, operator.imod, operator.ipow, operator.iand, operator.ior, operator.ixor,
    operator.ilshift, operator.irshift, operator.imatmul,
})


def _name_of(target: Any) -> str:
    if isinstance(target, str):
        return target
    return getattr(target, "__name__", "") or ""


def _is_inplace_name(name: str) -> bool:
    """torch's convention: `add_`, `copy_`, `relu_` write into their first argument;
    `__iadd__`/`__setitem__` are the dunder forms."""
    if name.startswith("__") and name.endswith("__"):
        return name in _DUNDER_INPLACE
    return name.endswith("_") and name.strip("_") != ""


_DUNDER_INPLACE = frozenset({
    "__setitem__", "__delitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__idiv__", "__ifloordiv__",
    "__imod__", "__ipow__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__", "__imatmul__",
})


def draws_random(target: Any) -> bool:
    """Does calling `target` consume torch's random number generator?"""
    name = _name_of(target)
    return (name[:-len(_ON_COPY)] if name.endswith(_ON_COPY) else name) in _RANDOM_NAMES


_ON_COPY = "on_copy"
#: in-place methods whose out-of-place form on a copy would not mean the same
_NOT_FUNCTIONALIZABLE = frozenset({"requires_grad_", "set_", "share_memory_", "resize_", "resize_as_", "retain_grad",
                                   "record_stream", "detach_", "pin_memory", "backward", "register_hook"})


@functools.lru_cache(maxsize=None)
def on_copy(name: str):
    """`x.add_(y)` out of place: the same in-place method applied to a copy of x, so
    dtype, broadcasting and error behaviour are exactly eager's."""
    if name == "copy_":
        return copy_on_copy

    def method_on_copy(self, *args, **kwargs):
        return getattr(self.clone(), name)(*args, **kwargs)
    method_on_copy.__name__ = method_on_copy.__qualname__ = name + _ON_COPY
    return method_on_copy


def _writes_arguments(target: Any) -> bool:
    try:
        return target in _WRITES_ARGUMENTS
    except TypeError:  # unhashable callables
        return False


def copy_on_copy(self, src, non_blocking=False):
    """`x.copy_(src)` out of place: a copy of src when it already has x's form (one
    kernel instead of two; the commit writes it into x)."""
    if type(src) is torch.Tensor and src.shape == self.shape and src.dtype == self.dtype and \
            src.device == self.device and not (src.requires_grad and torch.is_grad_enabled()):
        return src.clone()
    return self.clone().copy_(src, non_blocking)


_WRITES_ARGUMENTS = frozenset({torch.batch_norm, torch.nn.functional.batch_norm, torch.native_batch_norm})
_OPTIMIZER_IMPURE = frozenset({"step", "zero_grad"})


#: gradient clipping: rewrites `.grad` of the given parameters in place, between
#: backward() and step(); run in the graph in program order, like them
_GRAD_UPDATES = {f for f in (getattr(torch.nn.utils, n, None) for n in
                             ("clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_")) if f is not None}


def impure_call(target: Any, args) -> Optional[str]:
    """Calls run in the graph only for their effect on autograd/optimizer state."""
    try:
        if target in _GRAD_UPDATES:
            return "clip"
    except TypeError:  # unhashable callables
        pass
    name = _name_of(target)
    if name == "backward":
        owner = getattr(target, "__self__", None)
        if isinstance(owner, torch.Tensor) or target is torch.autograd.backward or \
                (args and isinstance(args[0], torch.Tensor) and target is torch.Tensor.backward):
            return "backward"
        return None
    if name in _OPTIMIZER_IMPURE:
        owner = getattr(target, "__self__", None)
        if owner is None and args:
            owner = args[0]
        if isinstance(owner, (torch.optim.Optimizer, torch.nn.Module)):
            return name
    return None


def check_training_graph(graph) -> None:
    """A graph running backward()/step() in order must not read `.grad` as a host input:
    the host reads inputs before the graph runs, so it would see the previous step's
    gradients (the core reads tensor attributes of inputs on the host)."""
    impure = [n for n in graph.walk() if n.meta.get("impure") and n.target not in ("__enter__", "__exit__")]
    if not impure:
        return
    for n in graph.inputs:
        if str(n.target).endswith(".grad") or ".grad." in str(n.target):
            raise janus.Unsupported(f"reading `{n.target}` in a function that runs backward() or an optimizer step",
                                    n.site or "", "the graph would see gradients read before the step ran")


class TorchBackend(Backend, ConversionRules, ScheduleOps):
    name = "torch"
    capabilities = janus.Capabilities(cond=True, while_loop=True, recursion=True, devices=("cpu", "cuda"),
                                      python_scalars_in_graph=True, inplace_operators=True,
                                      host_schedules=True)
    tensor_types = (torch.Tensor,)  # nn.Parameter is a subclass
    framework_modules = ("torch",)
    #: framework classes whose instances live in graphs as opaque values (`with torch.no_grad():`)
    graph_object_types = (torch.no_grad, torch.enable_grad, torch.set_grad_enabled, torch.inference_mode)

    # -- values -------------------------------------------------------------
    def owns(self, value: Any) -> bool:
        return isinstance(value, torch.Tensor)

    def spec_of(self, value: Any) -> TensorSpec:
        return TensorSpec(str(value.dtype).replace("torch.", ""), tuple(value.shape), str(value.device),
                          bool(value.requires_grad))

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

    def inline_target(self, fn: Any):
        return inline_modules.inline_target(fn)

    def is_graph_object(self, value: Any) -> bool:
        # entering/leaving one is an impure node: the passes never merge across it
        return isinstance(value, self.graph_object_types)

    def is_long_lived(self, value: Any) -> bool:
        # torch's own objects (dtypes, devices, modules), and NumPy's, which torch code mixes in
        return type(value).__module__.split(".")[0] in ("torch", "numpy")

    def is_random(self, target: Any) -> bool:
        # batch_norm in training mode writes its running-statistics arguments (copies, in
        # modules.batch_norm_forward): the passes must neither merge nor drop it
        return draws_random(target) or _writes_arguments(target)

    def is_impure(self, target, args, kwargs) -> bool:
        return impure_call(target, args) is not None

    def impure_result(self, target, args, kwargs):
        if impure_call(target, args) == "clip" and _name_of(target) == "clip_grad_norm_":
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
            if target in _OPERATOR_INPLACE:
                return f"operator.{target.__name__} writes into its first argument"
        except TypeError:  # unhashable callables
            pass
        name = _name_of(target)
        if name in _MUTATING_NAMES:
            return _MUTATING_NAMES[name]
        if _is_inplace_name(name):
            return f"`{name}` writes in place"
        return None


    # -- in-place writes, computed out of place and committed by the runtime --------
    def functional_method(self, name, args, kwargs):
        if not _is_inplace_name(name) or name.startswith("__") or name in _NOT_FUNCTIONALIZABLE:
            return None
        return on_copy(name)

    def functional_call(self, fn, args, kwargs):
        name = _name_of(fn)
        if "out" in kwargs or kwargs.get("inplace") is True or name in _NOT_FUNCTIONALIZABLE:
            return None
        if _is_inplace_name(name) and not name.startswith("__") and args and \
                getattr(fn, "__module__", "") in ("torch", "torch._C._VariableFunctions", None):
            method = getattr(torch.Tensor, name, None)
            if method is not None:  # torch.relu_(x) is x.relu_()
                return on_copy(name), 0
        return None

    @staticmethod
    def setitem_functional(tensor, index, value):
        if type(tensor) is list:  # the per-call result buffer of recursion as data (fresh each call)
            tensor[index] = value
            return tensor
        out = tensor.clone()
        out[index] = value
        return out

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

    @contextlib.contextmanager
    def preserve_state(self):
        cpu_state = torch.get_rng_state()
        cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
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

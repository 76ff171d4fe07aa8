"""PyTorch values for JANUS: specs, host guards, mutation and randomness of torch calls,
module inlining, RNG preservation, and `compile` (IR -> `TorchExecutable`)."""
from __future__ import annotations

import contextlib
import operator
import random
import sys
from typing import Any, Optional

import torch

import janus
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
    return _name_of(target) in _RANDOM_NAMES


class TorchBackend(janus.Backend):
    name = "torch"
    capabilities = janus.Capabilities(cond=True, while_loop=True, recursion=False, devices=("cpu", "cuda"),
                                      python_scalars_in_graph=True, inplace_operators=True)
    tensor_types = (torch.Tensor,)  # nn.Parameter is a subclass
    framework_modules = ("torch",)

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

    def is_mutating(self, target, args, kwargs) -> Optional[str]:
        if "out" in kwargs and kwargs["out"] is not None:
            return "it writes into its out= argument"
        if kwargs.get("inplace") is True:
            return "it is called with inplace=True"
        if isinstance(target, torch.nn.Module):
            return "calling a torch module JANUS does not inline (it may update buffers or run hooks)"
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

    def is_random(self, target: Any) -> bool:
        # Also True for in-place tensor methods: the core's passes consult only is_random
        # before removing an unused or duplicate call, and `h.add_(1)` as a statement has
        # an unused result but must not be removed or merged (see the package README).
        if draws_random(target):
            return True
        return _is_inplace_name(_name_of(target))

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
        return TorchExecutable(graph, config, draws_random)

    def run_imperative(self, fn, args, kwargs):
        return fn(*args, **kwargs)

"""TensorFlow values for JANUS: specs, host guards, conversion rules (what calls change:
`call_effects.py`; their functional forms: `functional.py`), and `compile`.

Imported only when the backend is first used (through `janus_tf.plugin.make_backend`).
The top of the package: it imports the executable, nothing below imports it.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any, Dict, Optional

import numpy as np
import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import stateful_random_ops
from tensorflow.python.ops.resource_variable_ops import ResourceVariable

from janus.backend import Backend, Capabilities, ConversionRules, ScheduleOps
from janus.errors import Unsupported
from janus.ir.spec import PySpec, TensorSpec

from . import functional, host_arrays, module_cache
from .call_effects import RANDOM_MODULES, RANDOM_NAMES, impure_reason, mutation_reason
from .distribute import (
    REPLICA_DEVICE,
    current_device,
    host_only_reason,
    replica_device,
    replica_mode,
    update_needs_host,
)
from .executable import compile_graph
from .variable_spec import VariableSpec
from .variable_undo import undo_variable_writes

EagerTensor = tf_ops.EagerTensor


def _canonical_device(name: str) -> str:
    """'/job:localhost/replica:0/task:0/device:GPU:1' -> 'gpu:1'; CPU:0 -> 'cpu'."""
    if not name:
        return "cpu"
    tail = name.rsplit("device:", 1)[-1]
    kind, _, index = tail.partition(":")
    kind = kind.lower()
    if kind == "cpu" and index in ("", "0"):
        return "cpu"
    return f"{kind}:{index or 0}"


def _global_seed_set() -> bool:
    """Has `tf.random.set_seed` given the eager context a global seed?"""
    return context.context()._seed is not None


class TFBackend(Backend, ConversionRules, ScheduleOps):
    name = "tf"
    #: `x += 1` rebinds x in TensorFlow (tensors are immutable), so it is never an in-place write
    capabilities = Capabilities(
        cond=True,
        while_loop=True,
        recursion=True,
        devices=("cpu",),
        python_scalars_in_graph=True,
        inplace_operators=False,
        map_regions=True,
        item_assignment=False,
        inplace_writes=True,
        training=True,
    )
    tensor_types = (tf.Tensor, tf.Variable)
    framework_modules = ("tensorflow", "keras")
    #: framework classes whose instances live in graphs as opaque values (created in the trace);
    #: a name scope only names the ops built under it, so entering it in the trace is exact;
    #: IndexedSlices are the sparse gradients of gathers (embeddings), built the same in the trace
    graph_object_types = (tf.GradientTape, tf_ops.name_scope_v2, tf.IndexedSlices)
    setitem_functional = staticmethod(functional.setitem)

    def __init__(self):
        devices = tuple(_canonical_device(d.name) for d in tf.config.list_logical_devices())
        self.capabilities = Capabilities(
            cond=True,
            while_loop=True,
            recursion=True,
            devices=devices or ("cpu",),
            python_scalars_in_graph=True,
            inplace_operators=False,
            map_regions=True,
            item_assignment=False,
            inplace_writes=True,
            training=True,
        )
        # with one device every tensor lives on it: the guard need not read `.device`
        self._check_devices = len(devices) > 1
        self._device_names: Dict[str, str] = {}
        self._dims_attr = getattr(tf.TensorShape([1, None]), "_dims", None) == (1, None)
        module_cache.install()  # guards read module variable lists through it

    # -- values ---------------------------------------------------------------------------
    def device_of(self, value: Any) -> str:
        return self._canonical(value.device or "")

    def _canonical(self, full: str) -> str:
        canon = self._device_names.get(full)
        if canon is None:
            canon = self._device_names[full] = _canonical_device(full)
        return canon

    def spec_of(self, value: Any) -> TensorSpec:
        shape = value.shape
        if shape.rank is None:
            raise Unsupported("a tensor of unknown rank", "", "JANUS specializes on tensor ranks")
        dtype = value.dtype.base_dtype.name
        dims = tuple(shape.as_list())
        device = self.device_of(value)
        if self._check_devices and device == replica_device(self._canonical):
            device = REPLICA_DEVICE  # inside strategy.run: on the calling replica's device
        if isinstance(value, tf.Variable):
            return VariableSpec(
                dtype,
                dims,
                device,
                trainable=bool(value.trainable),
                ident=id(value),
                uid=str(getattr(value, "_unique_id", "") or ""),
            )
        return TensorSpec(dtype, dims, device)

    def guard_source(self, expr: str, spec: TensorSpec, bind) -> str:
        dtype = tf.as_dtype(spec.dtype)
        eager = self._fast_check(
            expr, spec, f"{expr}._datatype_enum() == {dtype.as_datatype_enum}", f"{expr}._shape_tuple()"
        )
        dims = f"{expr}.shape._dims" if self._dims_attr else f"tuple({expr}.shape.as_list())"
        other = self._fast_check(expr, spec, f"{expr}.dtype == {bind(dtype)}", dims)
        check = f"(({eager}) if type({expr}) is {bind(EagerTensor)} else ({other}))"
        if isinstance(spec, VariableSpec):  # a tape watches only trainable variables
            other = f"{other} and {expr}.trainable is {spec.trainable}"
            check = f"({other})"
            if self._dims_attr:  # a plain ResourceVariable: its fields, not its properties
                fields = self._fast_check(expr, spec, f"{expr}._dtype is {bind(dtype)}", f"{expr}._shape._dims")
                fields += f" and {expr}._trainable is {spec.trainable}"
                check = f"(({fields}) if type({expr}) is {bind(ResourceVariable)} else ({other}))"
        if self._check_devices and spec.device == REPLICA_DEVICE:
            check = f"({check} and {bind(self.device_of)}({expr}) == {bind(current_device(self._canonical))}())"
        elif self._check_devices:
            check = f"({check} and {bind(self.device_of)}({expr}) == {spec.device!r})"
        return check

    def attribute_source(self, expr: str, name: str, bind) -> Optional[str]:
        # `model.trainable_variables` walks the module tree: kept until a module changes
        if name in module_cache.CACHED:
            return f"{bind(module_cache.read)}({expr}, {name!r})"
        return None

    @staticmethod
    def _fast_check(expr: str, spec: TensorSpec, dtype_ok: str, shape_expr: str) -> str:
        if None not in spec.shape:
            return f"{dtype_ok} and {shape_expr} == {tuple(spec.shape)!r}"
        known = "".join(f" and _s[{i}] == {d}" for i, d in enumerate(spec.shape) if d is not None)
        return f"{dtype_ok} and len(_s := {shape_expr}) == {len(spec.shape)}{known}"

    # -- classification of calls ------------------------------------------------------------
    def is_mutating(self, target: Any, args, kwargs) -> Optional[str]:
        return mutation_reason(target, args, kwargs) or host_only_reason(target, args)

    # -- framework state: functionalized writes -------------------------------------------
    def functional_method(self, name, args, kwargs):
        return functional.functional_method(name, args, kwargs)

    def functional_call(self, fn, args, kwargs):
        return functional.functional_call(fn, args, kwargs)

    def assign(self, target, value) -> None:
        functional.assign_variable(target, value)

    def is_long_lived(self, value: Any) -> bool:
        # not NumPy arrays: data, filled anew between calls (host_arrays)
        return type(value).__module__.split(".")[0] in ("tensorflow", "keras", "numpy") and not isinstance(
            value, np.ndarray
        )

    def written_variable_method(self, name: str):
        return functional.VARIABLE_READS.get(name)

    @staticmethod
    def take_rows(tensor, index):
        return tf.gather(tensor, index)

    @staticmethod
    def concat_rows(first, second):
        return tf.concat([first, second], 0)

    @staticmethod
    def dim(tensor, index):
        size = tensor.shape[index]  # known on eager tensors; None in the trace when it varies
        return size if size is not None else tf.shape(tensor)[index]

    # -- recursion as data ------------------------------------------------------------------
    def from_numpy(self, array):
        return functional.from_numpy(array)

    def zeros(self, shape, spec):
        return functional.zeros(shape, spec)

    def stack_rows(self, rows, spec):
        return functional.stack_rows(rows, spec)

    # -- training: tapes and optimizers in graphs ----------------------------------------------
    def host_array_call(self, target, position, args, kwargs):
        return host_arrays.host_array_call(target, position, args, kwargs)

    def host_array_tensor(self, array):
        return host_arrays.host_array_tensor(array)

    def differentiates(self, target) -> bool:
        return isinstance(getattr(target, "__self__", None), tf.GradientTape) and getattr(target, "__name__", "") in (
            "gradient",
            "jacobian",
            "batch_jacobian",
        )

    def is_graph_object(self, value) -> bool:
        return isinstance(value, self.graph_object_types) or _is_tf_context(value)

    def is_impure(self, target, args, kwargs) -> bool:
        # an optimizer update inside `strategy.run` synchronises the replicas: host only
        return impure_reason(target, args, kwargs) is not None and not update_needs_host(target, args)

    def state_guards(self):
        # graphs built inside `strategy.run` (replica context) serve only there (distribute.py)
        return ((replica_mode, replica_mode()),)

    def random_op_guards(self):
        # a graph holding global-seed random ops was built before `tf.random.set_seed`
        # (host_only): it serves only while no global seed is set
        return ((_global_seed_set, _global_seed_set()),)

    def host_only(self, target: Any) -> Optional[str]:
        owner = getattr(target, "__self__", None)
        if not _global_seed_set() or isinstance(owner, tf.random.Generator) or not self.is_random(target):
            return None
        # eager derives each op's seed from the global seed and a per-call counter; a graph's
        # op seeds are fixed when it is traced, so it would draw other numbers
        return "a random op under tf.random.set_seed draws other numbers in a graph than eagerly"

    def is_random(self, target: Any) -> bool:
        owner = getattr(target, "__self__", None)
        if isinstance(owner, tf.random.Generator):
            return True
        name = (getattr(target, "__name__", "") or "").lower()
        if "stateless" in name:
            return False  # a pure function of its seed
        mod = getattr(target, "__module__", "") or ""
        if mod.startswith(RANDOM_MODULES):
            return True
        return any(k in name for k in RANDOM_NAMES) or super().is_random(target)

    @contextlib.contextmanager
    def preserve_state(self):
        """Conversion runs example ops eagerly: undo what that does to the random number
        generators (Python, NumPy, TF's global Generator and its global-seed op seeds) and
        to variables written inside opaque calls (Keras layers).
        Kernel-cached states of legacy stateful random ops cannot be restored."""
        py_state, np_state = random.getstate(), np.random.get_state()
        gen = stateful_random_ops.global_generator
        gen_state = gen.state.numpy().copy() if gen is not None else None
        ctx = context.context()
        seed_rng = getattr(ctx, "_rng", None)
        seed_state = seed_rng.getstate() if seed_rng is not None else None
        try:
            with undo_variable_writes():  # e.g. a Keras BatchNormalization's moving statistics
                yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
            if gen is not None and stateful_random_ops.global_generator is gen:
                gen.state.assign(gen_state)
            if seed_rng is not None and getattr(ctx, "_rng", None) is seed_rng:
                seed_rng.setstate(seed_state)

    def to_python(self, value: Any, spec: PySpec) -> Any:
        t = spec.type
        if t is float or t is int or t is bool:
            if type(value) is EagerTensor:
                return t(value._numpy())
            return t(value)
        return value

    # -- execution --------------------------------------------------------------------------
    def compile(self, graph, config):
        return compile_graph(graph, config, self)

    def run_imperative(self, fn, args, kwargs):
        return fn(*args, **kwargs)


def _is_tf_context(value: Any) -> bool:
    """A context manager made by a TensorFlow generator function (`tape.stop_recording()`):
    re-made from its (graph) arguments in the trace and entered/exited there by the `with`
    nodes, so what it changes (what the tape records) applies to the graph's ops exactly as
    eagerly.  One-shot, so never CSE-merged (the converter marks it opaque)."""
    if not isinstance(value, contextlib._GeneratorContextManager):
        return False
    func = getattr(value, "func", None)
    return (getattr(func, "__module__", "") or "").startswith("tensorflow.")

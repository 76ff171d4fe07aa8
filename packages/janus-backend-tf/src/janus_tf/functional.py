"""Out-of-place forms of TensorFlow state writes, and the helpers of recursion as data.

The converter functionalizes `v.assign_sub(g)` (and `tf.compat.v1.assign*`): the graph
computes the variable's new value with the pure functions below, later reads in the call
see that value, and the runtime writes it into the variable (`TFBackend.assign`) only
after the graph ran and every assertion held.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
from tensorflow.python import pywrap_tfe
from tensorflow.python.eager import context
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops.resource_variable_ops import BaseResourceVariable

from janus.ir.spec import PySpec


def _like(var: Any, value: Any) -> tf.Tensor:
    # eager `Variable.assign*` converts its operand to the variable's dtype the same way
    return tf.convert_to_tensor(value, dtype=var.dtype.base_dtype)


def _same_shape(var: Any, value: tf.Tensor) -> tf.Tensor:
    """`value`, checked as eager `assign_add`/`assign_sub` check it: its shape must equal
    the variable's (no broadcasting).  Known shapes are checked now; a dimension only the
    graph knows is checked there (InvalidArgumentError, like eager)."""
    have, want = value.shape, var.shape
    if have.rank is not None and want.rank is not None and have.is_fully_defined() and want.is_fully_defined():
        if have != want:
            raise tf.errors.InvalidArgumentError(
                None,
                None,
                f"Cannot update variable with shape {want.as_list()} "
                f"using a Tensor with shape {have.as_list()}, shapes must be equal.",
            )
        return value
    with tf.control_dependencies(
        [
            tf.debugging.assert_equal(
                tf.shape(value),
                tf.shape(var),
                message=("Cannot update variable using a Tensor of another shape, shapes must be equal."),
            )
        ]
    ):
        return tf.identity(value)


def assigned(var, value):
    """The value `var.assign(value)` stores (eager requires a compatible shape)."""
    value = _like(var, value)
    if not value.shape.is_compatible_with(var.shape):
        raise ValueError(
            f"Cannot assign value to variable: Shape mismatch. The variable shape {tuple(var.shape)}, "
            f"and the assigned value shape {tuple(value.shape)} are incompatible."
        )
    return tf.identity(value)


def assigned_add(var, delta):
    return tf.add(var, _same_shape(var, _like(var, delta)))


def assigned_sub(var, delta):
    return tf.subtract(var, _same_shape(var, _like(var, delta)))


def _scatter(op):
    def pure(var, indices, updates):
        return op(tf.convert_to_tensor(var), indices, _like(var, updates))

    pure.__name__ = pure.__qualname__ = op.__name__
    return pure


def _sparse(op):
    """`v.scatter_sub(tf.IndexedSlices(...))` and friends: rows `indices` of the variable
    combined with `values` (duplicates accumulate, as the resource scatter ops do)."""

    def pure(var, sparse_delta):
        if not isinstance(sparse_delta, tf.IndexedSlices):
            raise TypeError(f"sparse_delta is not IndexedSlices: {sparse_delta}")
        indices = tf.expand_dims(sparse_delta.indices, -1)
        return op(tf.convert_to_tensor(var), indices, _like(var, sparse_delta.values))

    pure.__name__ = pure.__qualname__ = "sparse_" + op.__name__
    return pure


#: method name -> pure function of (variable value, *operands) giving the stored value
PURE_WRITES = {
    "assign": assigned,
    "assign_add": assigned_add,
    "assign_sub": assigned_sub,
    "scatter_nd_update": _scatter(tf.tensor_scatter_nd_update),
    "scatter_nd_add": _scatter(tf.tensor_scatter_nd_add),
    "scatter_nd_sub": _scatter(tf.tensor_scatter_nd_sub),
    "scatter_nd_max": _scatter(tf.tensor_scatter_nd_max),
    "scatter_nd_min": _scatter(tf.tensor_scatter_nd_min),
    "scatter_update": _sparse(tf.tensor_scatter_nd_update),
    "scatter_add": _sparse(tf.tensor_scatter_nd_add),
    "scatter_sub": _sparse(tf.tensor_scatter_nd_sub),
    "scatter_max": _sparse(tf.tensor_scatter_nd_max),
    "scatter_min": _sparse(tf.tensor_scatter_nd_min),
}


def read_value(value, *args, **kwargs):
    """`v.read_value()` / `v.value()` of a variable whose new value the graph computed."""
    return tf.identity(value)


#: variable methods that read the value, as functions of the (written) value
VARIABLE_READS = {"read_value": read_value, "value": read_value, "read_value_no_copy": read_value}
#: keyword arguments of the write methods that do not change the stored value
_IGNORED_KWARGS = ("read_value", "use_locking", "name", "validate_shape")
#: operand count of each write (after the variable)
_ARITY = {
    "assign": 1,
    "assign_add": 1,
    "assign_sub": 1,
    "scatter_update": 1,
    "scatter_add": 1,
    "scatter_sub": 1,
    "scatter_max": 1,
    "scatter_min": 1,
}


def functional_method(name: str, args: Sequence, kwargs: dict) -> Optional[Callable]:
    """`v.assign_sub(g)` and friends: a function of (v, *args, **kwargs) giving v's new value."""
    if name not in PURE_WRITES:
        return None
    operand_kwargs = [k for k in kwargs if k not in _IGNORED_KWARGS]
    if not set(operand_kwargs) <= {"value", "delta", "sparse_delta"}:
        return None
    if len(args) - 1 + len(operand_kwargs) != _ARITY.get(name, 2):
        return None
    return _method_form(name)


@functools.cache
def _method_form(name: str) -> Callable:
    pure = PURE_WRITES[name]

    def form(var, *operands, **kwargs):
        return pure(var, *_operands(operands, kwargs))

    form.__name__ = form.__qualname__ = pure.__name__
    form.janus_write = name  # type: ignore[attr-defined]  # the variable method it stands for
    return form


def _operands(operands: tuple, kwargs: dict) -> tuple:
    return operands + tuple(v for k, v in kwargs.items() if k not in _IGNORED_KWARGS)


def write_in_place(name: str, var: Any, *operands, **kwargs) -> Any:
    """The write itself, `var.name(*operands)`, on a variable of the graph (inplace.py)."""
    return getattr(var, name)(*_operands(operands, kwargs))


def functional_call(fn: Any, args: Sequence, kwargs: dict) -> Optional[Tuple[Callable, int]]:
    """`tf.compat.v1.assign(ref, value)` and friends (module-level state ops)."""
    mod = getattr(fn, "__module__", "") or ""
    if not mod.startswith("tensorflow") or not args:
        return None
    form = functional_method(getattr(fn, "__name__", ""), args, kwargs)
    return None if form is None else (form, 0)


# -- committing a write ---------------------------------------------------------------------
def assign_variable(target: Any, value: Any) -> None:
    """`target.assign(value)` for the runtime's commit, through the eager fast path when the
    value already has the variable's dtype (the common case: the graph computed it)."""
    if value is target:  # the graph wrote it in place (inplace.py)
        return
    if isinstance(target, BaseResourceVariable) and getattr(value, "dtype", None) == target.dtype:
        ctx = context.context()
        if ctx.executing_eagerly():
            pywrap_tfe.TFE_Py_FastPathExecute(
                ctx, "AssignVariableOp", None, target.handle, value, "validate_shape", False
            )
            return
    target.assign(value, read_value=False)


# -- recursion as data ----------------------------------------------------------------------
# These run on every call of a schedule-served function (building the schedule of a new
# tree), so they skip tf.constant/tf.zeros' Python layers.
_EagerTensor = tf_ops.EagerTensor
#: zero tensors by (shape, dtype): eager tensors are immutable, so one can be fed to many calls
_ZEROS: Dict[Tuple, Any] = {}


def from_numpy(array: np.ndarray) -> tf.Tensor:
    return _EagerTensor(array, context.context().device_name)


def zeros(shape, spec) -> tf.Tensor:
    key = (tuple(shape), spec.dtype)
    found = _ZEROS.get(key)
    if found is None:
        if len(_ZEROS) >= 256:
            _ZEROS.clear()
        found = _ZEROS[key] = from_numpy(np.zeros(shape, tf.as_dtype(spec.dtype).as_numpy_dtype))
    return found


def stack_rows(rows, spec) -> tf.Tensor:
    """Per-node payloads stacked along a new first dimension (None rows are zeros)."""
    if isinstance(spec, PySpec):
        dtype = np.int64 if spec.type in (int, bool) else np.float64  # the carrier dtypes
        return from_numpy(np.fromiter((0 if r is None else r for r in rows), dtype, len(rows)))
    fill = None
    items = []
    for r in rows:
        if r is None:
            if fill is None:
                fill = zeros(spec.shape, spec)
            r = fill
        items.append(r)
    return tf.stack(items)


def setitem(tensor, index, value):
    """The buffer write of the schedule loop of recursion as data: `tensor` with row `index`
    replaced by `value`.  (A user's `t[i] = v` raises TypeError as in eager: TensorFlow
    tensors have no item assignment, `Capabilities.item_assignment`.)"""
    if not (isinstance(index, tf.Tensor) and index.dtype in (tf.int32, tf.int64)):
        index = tf.cast(index, tf.int32)
    index = tf.reshape(index, [1, 1])
    value = tf.expand_dims(tf.convert_to_tensor(value, dtype=tensor.dtype), 0)
    return tf.tensor_scatter_nd_update(tensor, index, value)

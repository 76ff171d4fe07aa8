"""Which TensorFlow calls take a NumPy array from outside the function as a graph input
(`janus.backend.ConversionRules.host_array_call`).  TensorFlow converts an array argument
with `convert_to_tensor`; the input is that conversion, made on every call, where it
cannot differ: the call only converts, the array is an index, or its dtype is the dtype
of the call's tensors (a binary op converts to its other operand's dtype)."""

from __future__ import annotations

import operator
from typing import Any, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from . import functional

#: calls that only convert their first argument
_CONVERT = (tf.constant, tf.convert_to_tensor)
#: calls taking integer arrays as indices or shapes (converted without a dtype hint)
_INDEX_TAKING = (tf.gather, tf.gather_nd, tf.one_hot, tf.nn.embedding_lookup, tf.reshape, tf.tile)
_OPERATORS = frozenset(
    getattr(operator, n) for n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "lt", "le", "gt", "ge")
)


def host_array_call(target: Any, position: Any, args: Sequence, kwargs: dict) -> Optional[Tuple[str, Any]]:
    array = args[position] if isinstance(position, int) else kwargs[position]
    try:
        dtype = tf.as_dtype(array.dtype)
    except TypeError:
        return None
    if any(target is f for f in _CONVERT) and position == 0:
        wanted = kwargs.get("dtype", args[1] if len(args) > 1 else None)
        if set(kwargs) <= {"dtype", "name"} and (wanted is None or tf.as_dtype(wanted) == dtype):
            return ("same", None)
        return None
    if any(target is f for f in _INDEX_TAKING) and position != 0 and dtype.is_integer:
        return ("pass", None)
    if not (target in _OPERATORS or _is_tf_function(target)):
        return None
    # converted without a hint when no tensor sets the dtype (the array's own dtype, as here)
    tensors = [v for v in list(args) + list(kwargs.values()) if isinstance(v, (tf.Tensor, tf.Variable))]
    if _is_tf_function(target) and not tensors or tensors and all(t.dtype == dtype for t in tensors):
        return ("pass", None)
    return None


def _is_tf_function(target: Any) -> bool:
    module = getattr(target, "__module__", None) or ""
    return module.split(".")[0] == "tensorflow" and not isinstance(target, str)


def host_array_tensor(array: np.ndarray) -> tf.Tensor:
    # a copy, as eager's conversion makes: a tensor made straight from the array may share
    # its memory, and a later write into the array would show through
    return functional.from_numpy(np.array(array, copy=True))

"""Batched lowering of a `map` region: each op applied once to all rows.

`tf.vectorized_map` (pfor) vectorizes any region, but pays for its generality in graph
ops: a `tf.linalg.matvec` becomes some twenty (expand, transpose, reshape, split...), and
every input row is re-gathered.  Inside a schedule loop those ops run once per tree level,
so for the ops recursive models use we apply a batching rule directly (as `jax.vmap`
does): an elementwise op broadcasts over the leading row dimension, `matvec(W, x)`
becomes one `matmul`, `concat`/`split` shift their axis, a per-row integer index becomes
a gather.  A region using anything else returns None and is vectorized by pfor.

A value here is `(tensor, batched)`: batched values have the row dimension in front.
"""

from __future__ import annotations

import operator
from typing import Any, Dict, List, Optional, Sequence, Tuple

import tensorflow as tf

from janus.ir.graph import Node, Region, Value
from janus.ir.spec import PySpec

_UNARY = {
    tf.tanh,
    tf.sigmoid,
    tf.nn.relu,
    tf.nn.sigmoid,
    tf.math.tanh,
    tf.exp,
    tf.math.exp,
    tf.math.log,
    tf.abs,
    tf.math.abs,
    tf.negative,
    tf.square,
    tf.sqrt,
    tf.nn.softplus,
    tf.nn.elu,
    tf.nn.gelu,
    operator.neg,
    operator.pos,
}
_BINARY = {
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    tf.add,
    tf.subtract,
    tf.multiply,
    tf.math.multiply,
    tf.divide,
    tf.maximum,
    tf.minimum,
    tf.math.add,
    tf.math.subtract,
}


class _NoRule(Exception):
    """An op without a batching rule here: the region goes to pfor."""


def _unwrap(fn):
    # tf's dispatch decorators keep the API function as the public object; compare both
    return getattr(fn, "__wrapped__", fn)


_UNARY_RAW = {_unwrap(f) for f in _UNARY}
_BINARY_RAW = {_unwrap(f) for f in _BINARY}
_CONCAT = {_unwrap(tf.concat)}
_SPLIT = {_unwrap(tf.split)}
_MATVEC = {_unwrap(tf.linalg.matvec)}


def run_batched(region: Region, batched: Sequence[Any], whole: Sequence[Any], params_spec) -> Optional[List[Any]]:
    """The region's results with a leading row dimension, or None if an op has no rule."""
    env: Dict[int, Tuple[Any, bool]] = {}
    k = len(batched)
    for i, (p, v) in enumerate(zip(region.params, list(batched) + list(whole))):
        env[p.id] = (v, i < k)
    n_rows = tf.shape(batched[0])[0]
    try:
        for node in region.nodes:
            if node.op == "output":
                return [_broadcast_rows(*_read(a, env), n_rows) for a in node.args]
            if node.op == "const":
                env[node.out.id] = (node.target, False)
                continue
            if node.op != "call" or node.kwargs and _unwrap(node.target) not in _CONCAT | _SPLIT:
                raise _NoRule(node.op)
            result = _apply(node, env)
            if len(node.outputs) == 1:
                env[node.out.id] = result
            else:
                value, is_batched = result
                for v, part in zip(node.outputs, value):
                    env[v.id] = (part, is_batched)
    except _NoRule:
        return None
    return None  # a region always ends with `output`


def _read(arg: Any, env) -> Tuple[Any, bool]:
    """(value, does it depend on the row) of a node argument (lists and tuples inside)."""
    if isinstance(arg, Value):
        return env[arg.id]
    if type(arg) in (list, tuple):
        parts = [_read(a, env) for a in arg]
        return type(arg)(v for v, _b in parts), any(b for _v, b in parts)
    return arg, False


def _broadcast_rows(value, is_batched: bool, n_rows):
    if is_batched:
        return value
    value = tf.convert_to_tensor(value)
    return tf.broadcast_to(value[None], tf.concat([[n_rows], tf.shape(value)], 0))


def _rank(value) -> int:
    shape = getattr(value, "shape", None)  # tensors, variables; Python numbers have none
    return len(shape) if shape is not None else 0


def _apply(node: Node, env) -> Tuple[Any, bool]:
    target = _unwrap(node.target)
    args = [_read(a, env) for a in node.args]
    if not any(b for _v, b in args) and not any(_read(v, env)[1] for v in node.kwargs.values()):
        values = [v for v, _b in args]
        kwargs = {name: _read(v, env)[0] for name, v in node.kwargs.items()}
        return node.target(*values, **kwargs), False  # no row dependence: as is
    if target in _UNARY_RAW and len(args) == 1:
        return node.target(args[0][0]), True
    if target in _BINARY_RAW and len(args) == 2:
        return _binary(node, args), True
    if target is operator.getitem and len(args) == 2:
        return _getitem(args), True
    if target in _MATVEC and len(args) == 2 and not args[0][1] and args[1][1] and _rank(args[0][0]) == 2:
        return tf.matmul(args[1][0], args[0][0], transpose_b=True), True
    if target in _CONCAT and len(args) >= 1:
        return _concat(node, args, env), True
    if target in _SPLIT:
        return _split(node, args, env)
    raise _NoRule(getattr(node.target, "__name__", node.target))


def _binary(node: Node, args) -> Any:
    (a, ab), (b, bb) = args
    a, b = _weak(node.args[0], a, b), _weak(node.args[1], b, a)
    # per row, `a op b` broadcasts over trailing dims; with rows in front that holds when
    # the row-free operand has no more dims than a row, and batched operands align ranks
    ra, rb = _rank(a) - ab, _rank(b) - bb
    if ab and bb and ra != rb:
        a, b = (_expand(a, rb - ra), b) if ra < rb else (a, _expand(b, ra - rb))
    elif ab and not bb and rb > ra:
        a = _expand(a, rb - ra)
    elif bb and not ab and ra > rb:
        b = _expand(b, ra - rb)
    return node.target(a, b)


def _weak(arg: Any, value: Any, other: Any) -> Any:
    """A Python number carried as a float64/int64 tensor takes the other operand's dtype
    (eager's weak typing of Python scalars)."""
    if (
        isinstance(arg, Value)
        and isinstance(arg.spec, PySpec)
        and isinstance(value, tf.Tensor)
        and isinstance(other, (tf.Tensor, tf.Variable))
        and value.dtype != other.dtype
    ):
        return tf.cast(value, other.dtype)
    return value


def _expand(value, n: int):
    """Trailing unit dims, so a row-scalar lines up with row tensors."""
    return tf.reshape(value, tf.concat([tf.shape(value), tf.ones([n], tf.int32)], 0))


def _getitem(args) -> Any:
    (base, bb), (index, ib) = args
    if type(base) in (list, tuple) and not ib:
        return base[index]  # a part of a split: each part already has its rows in front
    if ib and not bb and isinstance(index, tf.Tensor) and index.dtype.is_integer and index.shape.rank == 1:
        if isinstance(base, tf.Variable):
            base = tf.convert_to_tensor(base)
        size = tf.shape(base, out_type=index.dtype)[0]
        return tf.gather(base, tf.where(index < 0, index + size, index))  # a row's id: negative wraps
    if bb and not ib and (type(index) is int or type(index) is slice):
        return base[:, index]
    raise _NoRule("getitem")


def _axis(node: Node, args, env, position: int, default: int) -> int:
    if "axis" in node.kwargs:
        axis = _read(node.kwargs["axis"], env)[0]
    elif len(args) > position:
        axis = args[position][0]
    else:
        axis = default
    if type(axis) is not int:
        raise _NoRule("axis")
    return axis


def _concat(node: Node, args, env) -> Any:
    flags = [_read(p, env)[1] for p in node.args[0]] if isinstance(node.args[0], (list, tuple)) else None
    if flags is None or not all(flags):
        raise _NoRule("concat of row-free parts")
    values = [_read(p, env)[0] for p in node.args[0]]
    axis = _axis(node, args, env, 1, 0)
    return tf.concat(values, axis + 1 if axis >= 0 else axis)


def _split(node: Node, args, env) -> Tuple[Any, bool]:
    (value, vb) = args[0]
    if not vb:
        raise _NoRule("split")
    n = args[1][0] if len(args) > 1 else _read(node.kwargs.get("num_or_size_splits"), env)[0]
    if type(n) is not int:
        raise _NoRule("split sizes")
    axis = _axis(node, args, env, 2, 0)
    return tf.split(value, n, axis=axis + 1 if axis >= 0 else axis), True

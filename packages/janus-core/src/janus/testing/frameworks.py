"""Framework shims: a case is written once against `T`, whose attributes are the
framework's own functions (`T.sum` is `torch.sum`, `tf.reduce_sum` or `np.sum`), so the
converted code sees ordinary framework calls.  Also: comparison of results."""

from __future__ import annotations

import collections
import importlib.util
import os
import types
from typing import Any, Dict

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: the module each shim wraps
MODULE_OF = {"numpy": "numpy", "torch": "torch", "tf": "tensorflow"}
#: the built-in backend of each framework (the project's own stress and fuzz tests)
BACKEND_OF = {"numpy": "reference", "torch": "torch", "tf": "tf"}


def installed(fw: str) -> bool:
    """Is the framework `fw` importable?"""
    return importlib.util.find_spec(MODULE_OF[fw]) is not None


def available(fw: str) -> bool:
    """Are the framework `fw` and its built-in JANUS backend installed?"""
    backend_mod = {"numpy": "janus", "torch": "janus_torch", "tf": "janus_tf"}[fw]
    return installed(fw) and importlib.util.find_spec(backend_mod) is not None


def make_numpy():
    T = types.ModuleType("T")
    T.name = "numpy"
    T.tensor = lambda a: np.asarray(a, dtype=np.float32).copy()
    T.itensor = lambda a: np.asarray(a, dtype=np.int64).copy()
    T.zeros = lambda s: np.zeros(s, np.float32)
    T.ones = lambda s: np.ones(s, np.float32)
    T.tanh, T.exp, T.matmul, T.sum, T.mean, T.max = np.tanh, np.exp, np.matmul, np.sum, np.mean, np.max
    T.sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))
    T.relu = lambda x: np.maximum(x, 0)
    T.cat, T.stack, T.chunk, T.where, T.maximum = np.concatenate, np.stack, np.split, np.where, np.maximum
    T.square, T.sqrt, T.abs, T.mm = np.square, np.sqrt, np.abs, np.matmul
    T.Variable = lambda a: np.asarray(a, dtype=np.float32).copy()
    T.assign = lambda v, x: np.copyto(v, x)
    T.assign_sub = lambda v, x: np.subtract(v, x, out=v)
    T.is_tensor = lambda x: isinstance(x, (np.ndarray, np.generic))
    T.to_numpy = np.asarray
    T.from_host = np.asarray  # a host NumPy array as a tensor
    T.module = np
    return T


def make_torch():
    import torch

    T = types.ModuleType("T")
    T.name = "torch"
    T.tensor = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float32).copy())
    T.itensor = lambda a: torch.from_numpy(np.asarray(a, dtype=np.int64).copy())
    T.zeros, T.ones, T.tanh, T.sigmoid, T.relu, T.exp = (
        torch.zeros,
        torch.ones,
        torch.tanh,
        torch.sigmoid,
        torch.relu,
        torch.exp,
    )
    T.matmul, T.sum, T.mean, T.max, T.cat, T.stack = (
        torch.matmul,
        torch.sum,
        torch.mean,
        torch.max,
        torch.cat,
        torch.stack,
    )
    T.chunk, T.where, T.maximum, T.square, T.sqrt, T.abs = (
        torch.chunk,
        torch.where,
        torch.maximum,
        torch.square,
        torch.sqrt,
        torch.abs,
    )
    T.mm = torch.mm
    T.Variable = lambda a: T.tensor(a)
    T.assign = lambda v, x: v.copy_(x)
    T.assign_sub = lambda v, x: v.sub_(x)
    T.is_tensor = torch.is_tensor
    T.to_numpy = lambda t: t.detach().cpu().numpy()
    T.from_host = torch.from_numpy
    T.module = torch
    return T


def make_tf():
    import tensorflow as tf

    T = types.ModuleType("T")
    T.name = "tf"
    T.tensor = lambda a: tf.constant(np.asarray(a, dtype=np.float32))
    T.itensor = lambda a: tf.constant(np.asarray(a, dtype=np.int64))
    T.zeros, T.ones, T.tanh, T.sigmoid, T.relu, T.exp = tf.zeros, tf.ones, tf.tanh, tf.sigmoid, tf.nn.relu, tf.exp
    T.matmul, T.sum, T.mean, T.max, T.cat, T.stack = (
        tf.matmul,
        tf.reduce_sum,
        tf.reduce_mean,
        tf.reduce_max,
        tf.concat,
        tf.stack,
    )
    T.chunk, T.where, T.maximum, T.square, T.sqrt, T.abs = tf.split, tf.where, tf.maximum, tf.square, tf.sqrt, tf.abs
    T.mm = tf.matmul
    T.Variable = lambda a: tf.Variable(np.asarray(a, dtype=np.float32))
    T.assign = lambda v, x: v.assign(x)
    T.assign_sub = lambda v, x: v.assign_sub(x)
    T.is_tensor = tf.is_tensor
    T.to_numpy = lambda t: t.numpy()
    T.from_host = tf.convert_to_tensor
    T.module = tf
    return T


MAKERS = {"numpy": make_numpy, "torch": make_torch, "tf": make_tf}
_made: Dict[str, Any] = {}


def shim(fw: str):
    if fw not in _made:
        _made[fw] = MAKERS[fw]()
    return _made[fw]


def to_py(x, T):
    """Nested outputs -> NumPy / Python values, for comparison (container types kept)."""
    if isinstance(x, collections.deque):
        return ("deque", x.maxlen, [to_py(v, T) for v in x])
    if isinstance(x, dict) and type(x) is not dict:
        return (type(x).__name__, getattr(x, "default_factory", None), {k: to_py(v, T) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        if hasattr(x, "_fields"):
            return tuple(to_py(v, T) for v in x)
        return type(x)(to_py(v, T) for v in x)
    if isinstance(x, dict):
        return {k: to_py(v, T) for k, v in x.items()}
    if isinstance(x, np.generic):
        return np.asarray(x)
    if T.is_tensor(x) or type(x).__name__ in ("ResourceVariable", "Variable", "UninitializedVariable"):
        return np.asarray(T.to_numpy(x))
    return x


def same(a, b, rtol=1e-4, atol=1e-5, exact=False) -> bool:
    """Results agree: tensors within a tolerance, Python floats too unless `exact`."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) == type(b) and len(a) == len(b) and all(same(x, y, exact=exact) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a.keys()) == list(b.keys()) and all(same(a[k], b[k], exact=exact) for k in a)
    if isinstance(a, float) and isinstance(b, float) and not exact:
        return abs(a - b) <= atol + rtol * abs(b) or (a != a and b != b)
    if isinstance(a, float) and isinstance(b, float):
        return a.hex() == b.hex()
    return type(a) == type(b) and a == b


def same_exact(a, b) -> bool:
    return same(a, b, exact=True)

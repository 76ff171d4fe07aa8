"""Undo variable writes made while converting.

Conversion runs each node's target on the current call's example values.  A target the
converter cannot see into — a Keras layer call — may write variables as it runs:
`BatchNormalization` moves its moving statistics, `Dropout` advances its seed
generator.  The graph makes those writes again when it runs, so the conversion-time ones
must not stick: every variable written by this thread while converting is saved on its
first write and restored afterwards.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Dict, Tuple

import tensorflow as tf
from tensorflow.python.ops import resource_variable_ops

#: the methods of a resource variable that write it
WRITE_METHODS = (
    "assign",
    "assign_add",
    "assign_sub",
    "scatter_add",
    "scatter_sub",
    "scatter_max",
    "scatter_min",
    "scatter_mul",
    "scatter_div",
    "scatter_update",
    "batch_scatter_update",
    "scatter_nd_add",
    "scatter_nd_sub",
    "scatter_nd_update",
    "scatter_nd_max",
    "scatter_nd_min",
)

_lock = threading.Lock()
_active: Dict[int, Dict[int, Tuple[Any, Any]]] = {}  # thread id -> {id(var): (var, saved value)}
_originals: Dict[Tuple[type, str], Any] = {}


def _save_before(var) -> None:
    saved = _active.get(threading.get_ident())
    if saved is None or id(var) in saved or not tf.executing_eagerly():
        return
    saved[id(var)] = (var, var.numpy())


def _patched(name: str, original):

    def write(self, *args, **kwargs):
        _save_before(self)
        return original(self, *args, **kwargs)

    write.__name__ = name
    write.__wrapped__ = original
    return write


@contextlib.contextmanager
def undo_variable_writes():
    """Restore, on exit, every variable this thread wrote inside the block."""
    cls = resource_variable_ops.BaseResourceVariable
    me = threading.get_ident()
    with _lock:
        if not _active:  # first user: install the recording methods (subclasses redefine some)
            for klass in _with_subclasses(cls):
                for name in WRITE_METHODS:
                    if name in klass.__dict__:
                        _originals[(klass, name)] = klass.__dict__[name]
                        setattr(klass, name, _patched(name, klass.__dict__[name]))
        _active[me] = saved = {}
    try:
        yield
    finally:
        with _lock:
            del _active[me]
            if not _active:
                for (klass, name), original in _originals.items():
                    setattr(klass, name, original)
                _originals.clear()
        for var, value in saved.values():
            var.assign(value)


def _with_subclasses(cls):
    out, stack = [], [cls]
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.__subclasses__())
    return out

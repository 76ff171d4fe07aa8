"""A `tf.Module`'s variable lists for guards, recomputed only when a module changed.

A training step reads `model.trainable_variables`; its guard must check that the list
is the one the graph was built for.  `tf.Module.trainable_variables` walks the whole
module tree (every attribute of every submodule, through `nest`) on each read: for a
ResNet-50 that walk costs more than the graph's own Python overhead.  Guards read these
properties through `read` instead (`TFBackend.attribute_source`), which keeps the
result until a module changes.

What changes a module tree is counted in one global version: an attribute set or
deleted on any trackable object (`AutoTrackable.__setattr__`, through which every
attribute assignment of a `tf.Module` goes), and every mutation of the tracked
containers that attribute assignment wraps lists and dicts in (`ListWrapper`,
`_DictWrapper`).  `install` wraps those methods once.  A tree holding an untracked
mutable container (a list stored with tracking off, `NoDependency`) is never cached:
its contents could change without a count.  A module class that overrides the
property or `_flatten` is read as is.  (Writes that bypass Python attribute assignment
— `module.__dict__[k] = v`, `object.__setattr__` — are not seen.)
"""

from __future__ import annotations

import itertools
import threading
import weakref
from typing import Any, Dict, Tuple

import tensorflow as tf
from tensorflow.python.trackable import autotrackable, data_structures
from tensorflow.python.util import nest

#: the `tf.Module` properties that walk the module tree
CACHED = ("trainable_variables", "variables", "non_trainable_variables", "submodules")
_PROPERTIES = {name: tf.Module.__dict__[name] for name in CACHED}
_FLATTEN = tf.Module.__dict__["_flatten"]

_counter = itertools.count(1)
_version = 0
_cache: Dict[Tuple[int, str], Tuple[int, Any, Any]] = {}
_plain_classes: Dict[Tuple[type, str], bool] = {}
_install_lock = threading.Lock()
_installed = False


def _bump() -> None:
    global _version
    _version = next(_counter)  # atomic under the GIL


def read(obj: Any, name: str) -> Any:
    """`getattr(obj, name)`, kept while no module changed."""
    cls = type(obj)
    plain = _plain_classes.get((cls, name))
    if plain is None:
        plain = _plain_classes[cls, name] = _installed and isinstance(obj, tf.Module) and _uses_module_walk(cls, name)
    if not plain:
        return getattr(obj, name)
    key = (id(obj), name)
    hit = _cache.get(key)
    version = _version
    if hit is not None and hit[0] == version and hit[1]() is obj:
        return hit[2]
    value = getattr(obj, name)
    if _trackable_tree(obj):
        if len(_cache) > 512:
            _cache.clear()
        _cache[key] = (version, weakref.ref(obj), value)
    return value


def _uses_module_walk(cls: type, name: str) -> bool:
    """Does `cls` compute `name` by `tf.Module`'s walk, and set attributes the counted way?"""
    base = autotrackable.AutoTrackable
    return (
        getattr(cls, name, None) is _PROPERTIES.get(name)
        and getattr(cls, "_flatten", None) is _FLATTEN
        and cls.__setattr__ is base.__setattr__
        and cls.__delattr__ is base.__delattr__
    )


def _trackable_tree(module: Any) -> bool:
    """Does every container under the module tree report its changes (see the module doc)?
    `Trackable`'s own bookkeeping (`_self_*`: checkpoint dependencies, deferred restores)
    holds no variables or modules the walk could find."""
    ignored = module._TF_MODULE_IGNORED_PROPERTIES  # as the walk: the root's, in every module
    seen = set()
    stack = [module]
    while stack:
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        if not _uses_module_walk(type(m), "variables"):
            return False
        for key, value in vars(m).items():
            if key not in ignored and not key.startswith("_self_") and not _tracked(value, stack, 0):
                return False
    return True


_LEAVES = (tf.Variable, tf.Tensor, int, float, bool, str, bytes, type(None))
_WRAPPERS = (data_structures.ListWrapper, data_structures._DictWrapper, data_structures._TupleWrapper)


def _tracked(value: Any, modules: list, depth: int) -> bool:
    if isinstance(value, tf.Module):
        modules.append(value)
        return True
    if isinstance(value, _LEAVES) or not nest.is_nested(value):
        return True  # what `tf.Module._flatten` does not look into
    if depth > 8 or not (isinstance(value, _WRAPPERS) or type(value) is tuple):
        return False  # a mutable container no one counts changes of (or a deep one)
    items = value.values() if isinstance(value, data_structures._DictWrapper) else value
    return all(_tracked(v, modules, depth + 1) for v in items)


# -- counting changes ---------------------------------------------------------------------------
def _counted(method):
    def counted(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            _bump()  # after the change: a read racing it keeps the older version

    counted.__name__ = getattr(method, "__name__", "counted")
    counted.__wrapped__ = method
    return counted


def _forwarded(name: str):
    """A dict method `_DictWrapper` leaves to the wrapped dict (through its proxy)."""

    def forward(self, *args, **kwargs):
        return getattr(self.__wrapped__, name)(*args, **kwargs)

    forward.__name__ = name
    return forward


_MUTATORS = {
    autotrackable.AutoTrackable: ("__setattr__", "__delattr__"),
    data_structures.List: ("append", "extend", "__iadd__", "__imul__"),
    data_structures.ListWrapper: ("__setitem__", "__delitem__", "append", "extend", "__imul__", "insert", "sort"),
    data_structures.Mapping: ("__setitem__", "update"),
    data_structures._DictWrapper: ("__setitem__", "__delitem__", "update"),
}
_DICT_FORWARDS = ("pop", "popitem", "setdefault", "clear")


def install() -> None:
    """Count module changes from now on (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for cls, names in _MUTATORS.items():
            for name in names:
                if name in cls.__dict__:
                    setattr(cls, name, _counted(cls.__dict__[name]))
        for name in _DICT_FORWARDS:
            if name not in data_structures._DictWrapper.__dict__:
                setattr(data_structures._DictWrapper, name, _counted(_forwarded(name)))
        _installed = True
        _bump()

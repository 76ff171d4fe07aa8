"""Templates: how the runtime rebuilds Python values after a graph run.

A returned value or an effect's operand is a mix of graph results, constants, outside
objects and containers built in the call.  The converter turns it into a template:

    ("out", i, type|None)   graph output i (converted back to `type` for Python scalars)
    ("const", v)            an immutable constant or a long-lived object
    ("host", k)             outside object (or host-computed number) k, from the guard
    ("host_call", fn, args) fn applied after the graph (a deferred host read)
    ("list"|"dict"|"set", token, items)   a container built in the call (rebuilt fresh)
    ("object", token, cls, attrs)         an object built in the call
    ("deque", token, items, maxlen)       a deque built in the call
    ("mapping", token, cls, items, factory)   an OrderedDict/defaultdict/Counter built in the call
    ("tuple", type, items)

`Materializer.value` rebuilds one; containers that were one object in the call are one
object afterwards (`token`), so aliasing between effects and the result holds.
"""

from __future__ import annotations

import functools
from collections import deque
from typing import Any, Callable, Dict, Optional, Sequence


def rebuild_partial(func: Any, args: tuple, kwargs: dict) -> Any:
    """A `functools.partial` built in the call, rebuilt after the graph."""
    return functools.partial(func, *args, **kwargs)


def needs_outputs(template: Any) -> bool:
    """Does a (nested) template read a graph output?"""
    if isinstance(template, tuple) and template and template[0] in ("out", "host_call"):
        return True
    if isinstance(template, (tuple, list)):
        return any(needs_outputs(t) for t in template)
    return False


class Materializer:
    """Rebuilds templates from one graph run: its outputs and the guard's host values."""

    def __init__(self, outs: Optional[Sequence[Any]], hosts: Sequence[Any], to_python: Callable, backend: Any = None):
        self.outs, self.hosts, self.to_python, self.backend = outs, hosts, to_python, backend
        self.memo: Dict[int, Any] = {}

    def value(self, template: tuple) -> Any:
        """The value of `template`, sharing containers with earlier values of this run."""
        return materialize(template, self.outs, self.hosts, self.memo, self.to_python)

    def fresh(self, template: tuple) -> Any:
        """The value of a snapshot template (a print's arguments as they were then)."""
        return materialize(template, self.outs, self.hosts, {}, self.to_python)


def materialize(tpl: tuple, outs: Any, hosts: Any, memo: Dict[int, Any], to_python: Callable) -> Any:
    kind = tpl[0]
    if kind == "out":
        v = outs[tpl[1]]
        return v if tpl[2] is None else to_python(v, tpl[2])
    if kind == "const":
        return tpl[1]
    if kind == "host":
        return hosts[tpl[1]]
    if kind == "host_call":
        return tpl[1](*[materialize(t, outs, hosts, memo, to_python) for t in tpl[2]])
    if kind == "tuple":
        items = [materialize(t, outs, hosts, memo, to_python) for t in tpl[2]]
        return tuple(items) if tpl[1] is tuple else (tpl[1](*items) if hasattr(tpl[1], "_fields") else tpl[1](items))
    token = tpl[1]
    if token in memo:
        return memo[token]
    return _CONTAINERS[kind](tpl, outs, hosts, memo, to_python)


def _list(tpl: tuple, outs: Any, hosts: Any, memo: Dict[int, Any], to_python: Callable) -> Any:
    out = memo[tpl[1]] = []
    out.extend(materialize(t, outs, hosts, memo, to_python) for t in tpl[2])
    return out


def _object(tpl: tuple, outs: Any, hosts: Any, memo: Dict[int, Any], to_python: Callable) -> Any:
    out = memo[tpl[1]] = tpl[2].__new__(tpl[2])
    for k, t in tpl[3]:
        out.__dict__[k] = materialize(t, outs, hosts, memo, to_python)
    return out


def _dict(tpl: tuple, outs: Any, hosts: Any, memo: Dict[int, Any], to_python: Callable) -> Any:
    out = memo[tpl[1]] = {}
    for k, t in tpl[2]:
        out[k] = materialize(t, outs, hosts, memo, to_python)
    return out


def _set(tpl: tuple, outs: Any, hosts: Any, memo: Dict[int, Any], to_python: Callable) -> Any:
    out = memo[tpl[1]] = {materialize(t, outs, hosts, memo, to_python) for t in tpl[2]}
    return out


def _deque(tpl: tuple, outs: Any, hosts: Any, memo: Dict[int, Any], to_python: Callable) -> Any:
    out = memo[tpl[1]] = deque(maxlen=tpl[3])
    out.extend(materialize(t, outs, hosts, memo, to_python) for t in tpl[2])
    return out


def _mapping(tpl: tuple, outs: Any, hosts: Any, memo: Dict[int, Any], to_python: Callable) -> Any:
    """An OrderedDict, defaultdict (its factory kept) or Counter built in the call."""
    cls, factory = tpl[2], tpl[4]
    out = memo[tpl[1]] = cls(factory) if factory is not None else cls()
    for k, t in tpl[3]:
        out[k] = materialize(t, outs, hosts, memo, to_python)
    return out


_CONTAINERS = {"list": _list, "object": _object, "dict": _dict, "set": _set, "deque": _deque, "mapping": _mapping}

"""Templates: how the runtime rebuilds Python values after a graph run.

A returned value or an effect's operand is a mix of graph results, constants, outside
objects and containers built in the call.  At conversion time it becomes a template:

    ("out", i, type|None)   graph output i (converted back to `type` for Python scalars)
    ("const", v)            an immutable constant or a long-lived object
    ("host", k)             outside object k, fetched by the guard function on each call
    ("list"|"dict"|"set", token, items)   a container built in the call (rebuilt fresh)
    ("tuple", type, items)

`materialize` rebuilds one; containers that were the same object in the call are the
same object afterwards (`token`), so aliasing between effects and the result holds.
"""
from __future__ import annotations

import types
from typing import Any, Dict, List

from ..errors import Unsupported
from ..ir.graph import Value
from ..ir.spec import PySpec, is_const_like
from .deferred import Deferred
from .heap import Path, Sym

_LONG_LIVED = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)


class TemplateBuilder:
    def __init__(self, heap, backend, conv=None):
        self.heap = heap
        self.backend = backend
        self.conv = conv
        self.final = False  # building at the end of the call (not a print snapshot)
        self.outputs: List[Value] = []
        self._out_index: Dict[int, int] = {}
        self.host_paths: List[Path] = []
        self._host_index: Dict[Path, int] = {}

    def output(self, value: Value) -> int:
        i = self._out_index.get(value.id)
        if i is None:
            i = self._out_index[value.id] = len(self.outputs)
            self.outputs.append(value)
        return i

    def reindex(self, i: int) -> None:
        """Output `i` was replaced by another value (a branch value carried out of a cond)."""
        self._out_index[self.outputs[i].id] = i

    def host(self, obj: Any, path: Any = None) -> int:
        path = self.heap.path_of(obj) if path is None else path
        i = self._host_index.get(path)
        if i is None:
            i = self._host_index[path] = len(self.host_paths)
            self.host_paths.append(path)
        return i

    def build(self, value: Any, memo: Dict[int, Any], what: str = "the result") -> tuple:
        if isinstance(value, Deferred):
            return ("host_call", value.fn, [self.build(a, memo, what) for a in value.args])
        if isinstance(value, Sym):
            if self.conv is not None:
                if self.final and self.conv.is_written_input_version(value) is not None:
                    # a tensor written in place is still the caller's object after the commit
                    return ("host", self.host(self.conv.assign_effects[self.conv.is_written_input_version(value)].target))
                value = self.conv.current(value)
                self.conv.check_stale(value)
            spec = value.spec
            node = value.value.node
            if isinstance(spec, PySpec) and node is not None and node.op == "input" and self.conv is not None:
                # a Python number read or computed on the host: the guard function has it
                return ("host", self.host(None, self.conv.input_path_of(value.value)))
            return ("out", self.output(value.value), spec if isinstance(spec, PySpec) else None)
        if is_const_like(value):
            return ("const", value)
        if self.heap.path_of(value) is not None:
            return ("host", self.host(value))
        t = type(value)
        if t in (list, dict, set) or isinstance(value, tuple):
            if id(value) in memo:
                return memo[id(value)]
            if t is list:
                tpl = ("list", id(value), [])
                memo[id(value)] = tpl
                tpl[2].extend(self.build(v, memo, what) for v in value)
                return tpl
            if t is dict:
                tpl = ("dict", id(value), [])
                memo[id(value)] = tpl
                tpl[2].extend((k, self.build(v, memo, what)) for k, v in value.items())
                return tpl
            if t is set:
                return ("set", id(value), [self.build(v, memo, what) for v in value])
            return ("tuple", t, [self.build(v, memo, what) for v in value])
        if self.conv is not None and self.conv.is_local_object(value):
            if id(value) in memo:
                return memo[id(value)]
            tpl = ("object", id(value), type(value), [])
            memo[id(value)] = tpl
            tpl[3].extend((k, self.build(v, memo, what)) for k, v in vars(value).items())
            return tpl
        if isinstance(value, _LONG_LIVED) or (not self.backend.owns(value) and _is_framework_constant(value)):
            return ("const", value)
        raise Unsupported(f"{what} holds a `{t.__name__}` created in the call", "",
                          "only tensors, Python values and lists/tuples/dicts of them can leave a graph")


def _is_framework_constant(value: Any) -> bool:
    # dtypes, devices and similar immutable framework objects
    return type(value).__module__.split(".")[0] in ("torch", "tensorflow", "numpy")


def materialize(tpl: tuple, outs, hosts, memo: Dict[int, Any], to_python) -> Any:
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
    if kind == "list":
        out = memo[token] = []
        out.extend(materialize(t, outs, hosts, memo, to_python) for t in tpl[2])
        return out
    if kind == "object":
        out = memo[token] = tpl[2].__new__(tpl[2])
        for k, t in tpl[3]:
            out.__dict__[k] = materialize(t, outs, hosts, memo, to_python)
        return out
    if kind == "dict":
        out = memo[token] = {}
        for k, t in tpl[2]:
            out[k] = materialize(t, outs, hosts, memo, to_python)
        return out
    out = memo[token] = set(materialize(t, outs, hosts, memo, to_python) for t in tpl[2])
    return out

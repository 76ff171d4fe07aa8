"""Building templates (`janus.templates`) from converter values: which graph values
become outputs, which outside objects the guard function must hand over."""

from __future__ import annotations

import functools
import types
from collections import deque
from typing import Any, Dict, List

from ..errors import Unsupported
from ..ir.graph import Value
from ..ir.spec import PySpec, is_const_like
from ..paths import Path
from ..templates import rebuild_partial
from .deferred import Deferred
from .library import LOCAL_COLLECTIONS
from .merge import select
from .sym import Sym

_LONG_LIVED = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)


class TemplateBuilder:
    def __init__(self, session: Any):
        self.session = session
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
        path = self.session.heap.path_of(obj) if path is None else path
        i = self._host_index.get(path)
        if i is None:
            i = self._host_index[path] = len(self.host_paths)
            self.host_paths.append(path)
        return i

    def build(self, value: Any, memo: Dict[int, Any], what: str = "the result") -> tuple:
        if isinstance(value, Deferred):
            return ("host_call", value.fn, [self.build(a, memo, what) for a in value.args])
        if isinstance(value, Sym):
            return self._graph_value(value)
        if is_const_like(value):
            return ("const", value)
        session = self.session
        if session.heap.path_of(value) is not None:
            return ("host", self.host(value))
        t = type(value)
        if id(value) in session.generators:
            raise Unsupported(f"{what} holds a generator made in the call", "", "a generator cannot leave a graph")
        if t in (list, dict, set) or isinstance(value, tuple):
            return self._container(value, memo, what)
        if isinstance(value, LOCAL_COLLECTIONS):  # a deque, OrderedDict ... built in the call
            return self._collection(value, memo, what)
        if isinstance(value, functools.partial) and session.is_local_object(value):
            parts = [
                self.build(value.func, memo, what),
                self.build(tuple(value.args), memo, what),
                self.build(dict(value.keywords), memo, what),
            ]
            return ("host_call", rebuild_partial, parts)
        if session.is_local_object(value) and isinstance(getattr(value, "__dict__", None), dict):
            if id(value) in memo:
                return memo[id(value)]
            tpl: tuple = ("object", id(value), type(value), [])
            memo[id(value)] = tpl
            tpl[3].extend((k, self.build(v, memo, what)) for k, v in vars(value).items())
            return tpl
        if isinstance(value, _LONG_LIVED) or (not session.backend.owns(value) and session.backend.is_long_lived(value)):
            return ("const", value)
        raise Unsupported(
            f"{what} holds a `{t.__name__}` created in the call",
            "",
            "only tensors, Python values and lists/tuples/dicts of them can leave a graph",
        )

    def _graph_value(self, value: Sym) -> tuple:
        tensors = self.session.tensors
        root = tensors.written_version_root(value)
        if self.final and root is not None:
            # a tensor written in place is still the caller's object after the commit
            return ("host", self.host(tensors.assign_effects[root].target))
        value = tensors.current(value)
        tensors.check_stale(value)
        choice = self.session.alias_choices.get(value.value.id)
        if choice is not None:  # a cond result that is an input tensor on one path
            pred, side, alias = choice
            pair = [("host", self.host(None, self.session.input_path_of(alias.value))), self._plain_output(value)]
            return ("host_call", select, [self._graph_value(pred)] + (pair if side else pair[::-1]))
        return self._plain_output(value)

    def _plain_output(self, value: Sym) -> tuple:
        spec = value.spec
        node = value.value.node
        if isinstance(spec, PySpec) and node is not None and node.op == "input":
            # a Python number read or computed on the host: the guard function has it
            return ("host", self.host(None, self.session.input_path_of(value.value)))
        return ("out", self.output(value.value), spec if isinstance(spec, PySpec) else None)

    def _collection(self, value: Any, memo: Dict[int, Any], what: str) -> tuple:
        if id(value) in memo:
            return memo[id(value)]
        if isinstance(value, deque):
            tpl: tuple = ("deque", id(value), [], value.maxlen)
            memo[id(value)] = tpl
            tpl[2].extend(self.build(v, memo, what) for v in value)
            return tpl
        factory = getattr(value, "default_factory", None)
        tpl = ("mapping", id(value), type(value), [], factory)
        memo[id(value)] = tpl
        tpl[3].extend((k, self.build(v, memo, what)) for k, v in value.items())
        return tpl

    def _container(self, value: Any, memo: Dict[int, Any], what: str) -> tuple:
        t = type(value)
        if id(value) in memo:
            return memo[id(value)]
        if t is list:
            tpl: tuple = ("list", id(value), [])
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

"""The speculative graph generator: function AST + profile -> IR graph + guards + effects."""
from __future__ import annotations

import ast
import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

from ..errors import Unsupported
from ..ir.graph import Graph, Node
from ..ir.spec import is_const_like
from .core import Reconvert, Respecialize
from .recursion import ScheduleRecursion
from .heap import Guard, Path
from .interp import Converter, Frame, ReturnSignal
from .source import get_source, site_key, site_of
from .templates import TemplateBuilder

__all__ = ["Conversion", "convert"]


@dataclass
class Conversion:
    graph: Graph
    guards: List[Guard]
    input_paths: List[Path]
    host_paths: List[Path]
    result: tuple
    effects: List[Tuple]          # (kind, target template, operand templates, site)
    globals_dicts: List[dict]
    object_roots: List[Any]
    asserts: Dict[str, Any] = field(default_factory=dict)
    builders: List[Any] = field(default_factory=list)  # host schedule builders (recursion as data)
    #: how many of `effects` eager makes before the graph's first in-graph update (backward(),
    #: an optimizer step): committed even when the graph raises after that update
    effects_before_update: int = 0
    #: the graph reads outside Python state that its effects write (`TOTAL += 1`): the read
    #: (in the guard) and the write (the commit) must happen as one step among threads
    read_modify_write: bool = False


class RootConverter(Converter):
    def snapshot(self, value: Any) -> tuple:
        """A template of `value` as it is now (print renders its arguments at once)."""
        return self.templates.build(value, {}, "print()")

    def run_root(self, fn, args, kwargs) -> Any:
        src = get_source(fn)
        self.templates = TemplateBuilder(self.heap, self.backend, self)
        sig = inspect.signature(fn)
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        a = src.node.args
        param_nodes = {p.arg: p for p in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]}
        for i, (read, value) in enumerate(self.backend.state_guards()):
            self.guard("expr", None, (("call", read, ()), False, value), f"framework state {getattr(read, '__name__', read)}()")
        root = self.object_root(fn, fn.__name__)
        cells = {name: (cell, root.cell(i)) for i, (name, cell) in enumerate(zip(fn.__code__.co_freevars, fn.__closure__ or ()))}
        frame = Frame(fn.__name__, src.filename, src.scope, fn.__globals__, self.gid(fn.__globals__), cells)
        for name, value in bound.arguments.items():
            pnode = param_nodes[name]
            frame.locals[name] = self.read_host(value, Path(("arg", name)), site_key(src.filename, pnode),
                                                f"{site_of(src.filename, pnode)}: parameter {name}")
        try:
            if isinstance(src.node, ast.Lambda):
                return self.eval(src.node.body, frame)
            self.exec_block(src.node.body, frame, top=True)
        except ReturnSignal as r:
            return r.value
        return None

    def _conds(self, e) -> tuple:
        """Effects inside a graph `cond` branch: (predicate output, taken direction) pairs."""
        return tuple((self.templates.build(pred, {}), expect) for pred, expect in getattr(e, "conds", ()))

    def finish(self, result: Any) -> Conversion:
        tb = self.templates
        self.finish_state()
        tb.final = True
        memo: Dict[int, Any] = {}
        effects = []
        for e in self.heap.effects:
            if e.kind == "call":  # an output call: its arguments were snapshot when it ran
                fn, args_tpl, kwargs_tpl = e.args
                effects.append(("call", None, (fn, args_tpl, kwargs_tpl), e.site, self._conds(e)))
                continue
            if e.kind == "print":
                args_tpl, sep, end, flush = e.args
                effects.append(("print", None, (args_tpl, sep, end, flush), e.site, self._conds(e)))
                continue
            target = ("host", tb.host(e.target))
            if e.kind == "assign":  # the final version of a tensor written in place
                effects.append(("assign", target, (("out", tb.output(e.args[0].value), None),), e.site, self._conds(e)))
                continue
            ops = tuple(tb.build(v, memo, f"a value written at {e.site}") for v in e.args)
            effects.append((e.kind, target, ops, e.site, self._conds(e)))
        result_tpl = tb.build(result, memo)
        self.graph.add(Node("output", None, tuple(tb.outputs)))
        return Conversion(self.graph, self.guards, self.input_paths, tb.host_paths, result_tpl, effects,
                          self.globals_dicts, list(self.__dict__.get("object_roots", [])), dict(self.asserts),
                          list(self.__dict__.get("builders", [])), self.effects_before_update,
                          self._reads_what_it_writes())

    def _reads_what_it_writes(self) -> bool:
        """Does a guard or graph input read a place that an effect writes?"""
        written = set()
        for e in self.heap.effects:
            path = self.heap.path_of(e.target) if e.target is not None else None
            if path is not None:
                written.add(path)
                if e.kind in ("setitem", "setattr", "delitem", "delattr") and e.args and is_const_like(e.args[0]):
                    step = "item" if e.kind in ("setitem", "delitem") else "attr"
                    written.add(Path(path.root, path.steps + ((step, e.args[0]),)))
        if not written:
            return False
        read = [g.path for g in self.guards if g.path is not None] + list(self.input_paths)
        return any(p in written or _global_alias(p) in written for p in read)


def _global_alias(path: Path) -> Path:
    """`global:name` read as the item `name` of its module dict (how global writes go)."""
    if path.root[0] == "global" and not path.steps:
        return Path(("gdict", path.root[1]), (("item", path.root[2]),))
    return path


#: conversions of one call (restarts with exact shapes, recursion modes) before giving up
_MAX_ATTEMPTS = 24


def convert(fn, args, kwargs, backend, analyzer, config) -> Conversion:
    """Convert one call of `fn`; raises `Unsupported` for what the converter cannot express.
    Any other exception is the function's own (it raised for these arguments).

    Conversion restarts with exact shapes when Python code reads a relaxed dimension, and
    in schedule mode when it finds recursion over a structure (falling back to inlining
    the recursion when the schedule cannot express it)."""
    attempts = [dict(exact=False, schedule={}, no_schedule=False)]
    last: Exception = Unsupported("reading a relaxed tensor dimension", "", "internal: exact shapes did not settle")
    deadline = time.monotonic() + config.conversion_timeout
    for _ in range(_MAX_ATTEMPTS):
        if not attempts:
            break
        mode = attempts.pop(0)
        conv = RootConverter(fn, backend, analyzer, config)
        conv.deadline = deadline
        conv.exact_shapes = mode["exact"]
        conv.schedule_codes = mode["schedule"]
        conv.no_schedule = mode["no_schedule"]
        try:
            with backend.preserve_state():
                result = conv.run_root(fn, args, kwargs)
                return conv.finish(result)
        except Reconvert:
            restarts = mode.get("restarts", 0) + 1
            if restarts <= 8:
                attempts.insert(0, dict(mode, restarts=restarts))
            else:
                last = Unsupported("a data-dependent branch", "", "its speculation kept changing during conversion")
        except Respecialize:
            if not mode["exact"]:
                attempts.insert(0, dict(mode, exact=True))
        except ScheduleRecursion as e:
            attempts.insert(0, dict(mode, schedule={**mode["schedule"], e.code: e.tree_index}))
        except Unsupported as e:
            if mode["schedule"]:
                last = e  # recursion as data did not work out: inline it per structure
                attempts.insert(0, dict(mode, schedule={}, no_schedule=True))
            else:
                raise
    else:
        last = Unsupported("a function", "", f"its conversion did not settle in {_MAX_ATTEMPTS} attempts")
    raise last

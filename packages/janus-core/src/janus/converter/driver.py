"""Converting one call: the attempts (modes), the root frame, and the finished
`Conversion` (graph, guards, typed effects, result template)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import time
from typing import Any, Dict, List, Tuple

from .. import effects as fx
from ..errors import Unsupported
from ..guards import Guard
from ..ir.graph import Graph, Node
from ..ir.spec import is_const_like
from ..paths import Path
from ..source import get_source, site_key, site_of
from .frame import Frame
from .heap import PendingEffect
from .session import Mode, Session
from .signals import Reconvert, Respecialize, ReturnSignal, ScheduleRecursion
from .statements import Converter
from .templates import TemplateBuilder

#: conversions of one call (restarts with exact shapes, recursion modes) before giving up
MAX_ATTEMPTS = 24
#: restarts after a branch speculated earlier in the conversion went the other way
MAX_RECONVERTS = 8


@dataclasses.dataclass
class Conversion:
    graph: Graph
    guards: List[Guard]
    input_paths: List[Path]
    host_paths: List[Path]
    result: tuple
    effects: List[fx.Effect]
    globals_dicts: List[dict]
    object_roots: List[Any]
    asserts: Dict[str, Any] = dataclasses.field(default_factory=dict)
    builders: List[Any] = dataclasses.field(default_factory=list)  # host schedule builders (recursion as data)
    #: how many of `effects` eager makes before the graph's first in-graph update (backward(),
    #: an optimizer step): committed even when the graph raises after that update
    effects_before_update: int = 0
    #: the graph reads outside Python state that its effects write (`TOTAL += 1`): the read
    #: (in the guard) and the write (the commit) must happen as one step among threads
    read_modify_write: bool = False


def convert(fn, args, kwargs, backend, analyzer, config) -> Conversion:
    """Convert one call of `fn`; raises `Unsupported` for what the converter cannot express.
    Any other exception is the function's own (it raised for these arguments).

    Conversion restarts with exact shapes when Python code reads a relaxed dimension, and
    in schedule mode when it finds recursion over a structure (falling back to inlining
    the recursion when the schedule cannot express it)."""
    attempts: List[Tuple[Mode, int]] = [(Mode(), 0)]
    last: Exception = Unsupported("reading a relaxed tensor dimension", "", "internal: exact shapes did not settle")
    deadline = time.monotonic() + config.conversion_timeout
    for _ in range(MAX_ATTEMPTS):
        if not attempts:
            raise last
        mode, restarts = attempts.pop(0)
        session = Session(fn, backend, analyzer, config, mode, deadline)
        try:
            with backend.preserve_state():
                cv = Converter(session)
                result = run_root(cv, fn, args, kwargs)
                return finish(cv, result)
        except Reconvert:
            if restarts < MAX_RECONVERTS:
                attempts.insert(0, (mode, restarts + 1))
            else:
                last = Unsupported("a data-dependent branch", "", "its speculation kept changing during conversion")
        except Respecialize:
            if not mode.exact_shapes:
                attempts.insert(0, (dataclasses.replace(mode, exact_shapes=True), restarts))
        except ScheduleRecursion as e:
            schedule = dict(mode.schedule)
            schedule[e.code] = e.tree_index
            attempts.insert(0, (dataclasses.replace(mode, schedule=tuple(schedule.items())), restarts))
        except Unsupported as e:
            if not mode.schedule:
                raise
            last = e  # recursion as data did not work out: inline it per structure
            attempts.insert(0, (dataclasses.replace(mode, schedule=(), no_schedule=True), restarts))
    raise Unsupported("a function", "", f"its conversion did not settle in {MAX_ATTEMPTS} attempts")


def run_root(cv: Converter, fn, args, kwargs) -> Any:
    """Convert the body of `fn` for this call; its (converter) return value."""
    session = cv.session
    src = get_source(fn)
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    a = src.node.args
    param_nodes = {p.arg: p for p in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]}
    for read, value in session.backend.state_guards():
        session.guard(
            "expr", None, (("call", read, ()), False, value), f"framework state {getattr(read, '__name__', read)}()"
        )
    root = session.object_root(fn, fn.__name__)
    cells = {
        name: (cell, root.cell(i)) for i, (name, cell) in enumerate(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    }
    frame = Frame(fn.__name__, src.filename, src.scope, fn.__globals__, session.gid(fn.__globals__), cells)
    cv.root_frame = frame
    for name, value in bound.arguments.items():
        pnode = param_nodes[name]
        frame.locals[name] = session.read_host(
            value,
            Path(("arg", name)),
            site_key(src.filename, pnode),
            f"{site_of(src.filename, pnode)}: parameter {name}",
        )
    try:
        if isinstance(src.node, ast.Lambda):
            return cv.eval(src.node.body, frame)
        cv.exec_block(src.node.body, frame, top=True)
    except ReturnSignal as r:
        return r.value
    return None


def finish(cv: Converter, result: Any) -> Conversion:
    """The graph's outputs, the typed effects and the result as templates."""
    session = cv.session
    tb = session.templates
    session.tensors.finish()
    tb.final = True
    memo: Dict[int, Any] = {}
    effects = [_typed_effect(e, tb, memo) for e in session.heap.effects]
    result_tpl = tb.build(result, memo)
    session.graph.add(Node("output", None, tuple(tb.outputs)))
    return Conversion(
        session.graph,
        session.guards,
        session.input_paths,
        tb.host_paths,
        result_tpl,
        effects,
        session.globals_dicts,
        list(session.object_roots),
        dict(session.asserts),
        list(cv.recursion.builders),
        session.effects_before_update,
        _reads_what_it_writes(session),
    )


def _typed_effect(e: PendingEffect, tb: TemplateBuilder, memo: Dict[int, Any]) -> fx.Effect:
    conds = tuple((tb.build(pred, {}), expect) for pred, expect in e.conds)
    if e.kind == "call":  # an output call: its arguments were snapshot when it ran
        fn, args_tpl, kwargs_tpl = e.args
        return fx.Call(e.site, conds, fn, args_tpl, kwargs_tpl)
    if e.kind == "print":
        args_tpl, sep, end, flush = e.args
        return fx.Print(e.site, conds, args_tpl, sep, end, flush)
    target = tb.host(e.target)
    if e.kind == "assign":  # the final version of a tensor written in place
        return fx.Assign(e.site, conds, target, (("out", tb.output(e.args[0].value), None),))
    values = tuple(tb.build(v, memo, f"a value written at {e.site}") for v in e.args)
    return fx.ON_HOST[e.kind](e.site, conds, target, values)


def _reads_what_it_writes(session: Session) -> bool:
    """Does a guard or graph input read a place that an effect writes?"""
    heap = session.heap
    written = set()
    for e in heap.effects:
        path = heap.path_of(e.target) if e.target is not None else None
        if path is not None:
            written.add(path)
            if e.kind in ("setitem", "setattr", "delitem", "delattr") and e.args and is_const_like(e.args[0]):
                step = "item" if e.kind in ("setitem", "delitem") else "attr"
                written.add(Path(path.root, path.steps + ((step, e.args[0]),)))
    if not written:
        return False
    read = [g.path for g in session.guards if g.path is not None] + list(session.input_paths)
    return any(p in written or _global_alias(p) in written for p in read)


def _global_alias(path: Path) -> Path:
    """`global:name` read as the item `name` of its module dict (how global writes go)."""
    if path.root[0] == "global" and not path.steps:
        return Path(("gdict", path.root[1]), (("item", path.root[2]),))
    return path

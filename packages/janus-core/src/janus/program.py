"""Graph islands: a function split into graph segments around host islands.

When a function cannot become one graph because of a statement (or a call in one) that
needs real values -- a tensor read on the host that feeds later tensor work, NumPy on
tensor values, `random.random()`, a local class -- JANUS keeps the rest as graphs and
runs only that piece on the host (after Terra, NeurIPS'21).  This module builds the
split, as Python code generated from the function's AST:

* an *island* is a statement run as written, on the host; a call that needs the host is
  first hoisted into its own statement (`__janus_h3 = random.random()`), so the rest of
  its statement stays in a graph;
* a *segment* is a run of the other statements, compiled into a function of the local
  names it uses, `__janus_segment_2(x, h) -> (status, values)`, which the runtime serves
  like any jitted function (its own profile, guards, graphs, effects and fallbacks);
* the *host program* is the function itself with each segment replaced by a call of it;
  a loop, `if`, `with` or `try` holding an island runs on the host, its body split the
  same way.

Effects of a segment are committed before the island after it runs, so the island sees
them; an island runs once, for real; a segment whose speculation fails re-runs only
itself.  Status values carry `return`, `break` and `continue` out of a segment.
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import types
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .program_ast import (
    HOST_CONVERSIONS,
    LOOPS,
    evaluated_first,
    has_loop_exit,
    has_nonlocal_writer,
    hoistable,
    is_generator,
    is_plain_binding,
    name_loads,
    path_to,
    read_before_bound,
    replace_node,
    run_names,
    static_index,
)
from .source import get_source, register_source, requalify, scope_of, site_key

#: a node's place in its file: how islands found in a segment map back to the function
Position = Tuple[int, int, int, int]


class _Unbound:
    def __repr__(self) -> str:
        return "<unbound>"


#: a local name that is not bound (passed to and from segments in its place)
UNBOUND = _Unbound()
FELL, RETURNED, BROKE, CONTINUED = "fell", "returned", "broke", "continued"
_HOST_CONTROL = (ast.For, ast.While, ast.If, ast.With, ast.Try)
_PARAM_LINES = 1_000_000


def pick(names_values: Dict[str, Any], names: Sequence[str]) -> tuple:
    """The values of `names` in a `locals()` dict, UNBOUND for names not bound."""
    return tuple(names_values.get(n, UNBOUND) for n in names)


def position(node: ast.AST) -> Position:
    return (
        getattr(node, "lineno", 0),
        getattr(node, "col_offset", 0),
        getattr(node, "end_lineno", 0) or 0,
        getattr(node, "end_col_offset", 0) or 0,
    )


@dataclass
class Part:
    kind: str  # "segment" | "island" | "host" (control run on the host)
    statements: List[ast.stmt]
    reason: str = ""  # why an island is one
    index: int = 0  # segments: the position in `Program.segments`


@dataclass
class Program:
    """A split function: the host program and its segments (plain Python functions the
    runtime wraps as jitted functions), and the parts in source order, for `explain`."""

    host_factory: Any  # (segments, on_island) -> the host function
    segments: List[types.FunctionType]
    parts: List[Part] = field(default_factory=list)

    def describe(self) -> List[str]:
        out = []
        for part in self.parts:
            first = part.statements[0]
            where = f"line {getattr(first, 'lineno', '?')}"
            if part.kind == "island":
                out.append(f"island at {where}: {ast.unparse(first)[:70]!r}  ({part.reason})")
            elif part.kind == "host":
                header = ast.unparse(first).splitlines()[0]
                out.append(f"host control at {where}: {header[:70]!r}, its body split  ({part.reason})")
            else:
                out.append(f"segment #{part.index} from {where} ({len(part.statements)} statements)")
        return out


def build(
    fn: types.FunctionType, islands: Dict[Position, str], is_pure: Callable[[Any], bool] = lambda f: False
) -> Optional[Program]:
    """Split `fn` around the statements and calls at `islands` (position -> reason), or
    None when nothing is left for a graph.  `is_pure(f)`: may a call of `f` (a global
    function, e.g. a framework op) move after an island's call in its statement?"""
    src = get_source(fn)
    root = copy.deepcopy(src.node)
    if not isinstance(root, ast.FunctionDef) or is_generator(root) or has_nonlocal_writer(root):
        return None
    scope = scope_of(root)
    names = dict(fn.__globals__)  # what a name in `fn` reads, besides its locals
    names.update((v, c.cell_contents) for v, c in zip(fn.__code__.co_freevars, fn.__closure__ or ()) if _cell_filled(c))
    pure_call = functools.partial(_is_pure_call, names, scope, is_pure)
    splitter = _Splitter(islands, scope, src.filename, pure_call)
    splitter.loads = name_loads(root.body)
    splitter.dynamic_frame = any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("locals", "vars", "eval", "exec")
        for n in ast.walk(root)
    )
    splitter.is_builtin = lambda n: n not in scope.locals and n not in names and hasattr(builtins, n)
    body = splitter.split_block(root.body, in_loop=False)
    if not splitter.segments or not splitter.islands:
        return None
    return _compile(fn, root, body, splitter, src.filename)


class _Splitter:
    """Rewrites statement lists: islands kept, runs of other statements become segment calls."""

    def __init__(self, islands: Dict[Position, str], scope: Any, filename: str, pure_call: Callable[[ast.Call], bool]):
        self.points, self.scope, self.filename = dict(islands), scope, filename
        self.pure_call = pure_call
        self.is_builtin: Callable[[str], bool] = lambda name: False
        #: how often each name is read (or deleted) in the function; True: `locals()` & co.
        self.loads: Counter = Counter()
        self.dynamic_frame = True
        self.locals = set(scope.locals) - set(scope.globals) - set(scope.nonlocals)
        self.segments: List[ast.FunctionDef] = []
        self.islands: List[Part] = []
        self.parts: List[Part] = []
        self.hoisted = 0
        #: compound statements run on the host (their bodies split): id -> why
        self.host_control: Dict[int, str] = {}

    def split_block(self, body: List[ast.stmt], in_loop: bool) -> List[ast.stmt]:
        out: List[ast.stmt] = []
        run: List[ast.stmt] = []
        queue = list(body)
        while queue:
            stmt = queue.pop(0)
            kind, payload = self._place(stmt)
            if kind == "segment":
                run.append(stmt)
                continue
            if kind == "declaration":  # `global`/`nonlocal`: at the top of every generated function
                continue
            if kind == "hoisted" and payload[3] is not None:
                run.append(payload[3])  # the method call's receiver, computed in the graph
            out += self._segment(run, in_loop)
            run = []
            if kind == "island":
                out += self._island([stmt], payload)
            elif kind == "hoisted":  # the call's island, then the statement that used it, again
                assign, reason, rest, _ = payload
                out += self._island([assign], reason)
                queue.insert(0, rest)
            else:
                out += self._host_control(stmt, in_loop)
        return out + self._segment(run, in_loop)

    def _place(self, stmt: ast.stmt) -> Tuple[str, Any]:
        """Where `stmt` goes: a segment, an island (payload: why), hoisted (payload: the
        island's assignment, why, the rewritten statement), or run on the host with its
        body split (a compound statement holding an island)."""
        if isinstance(stmt, (ast.Global, ast.Nonlocal)):
            return "declaration", None
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return "island", "a definition runs on the host"
        if not self._inside_points(stmt):
            return "segment", None
        reason = self.points.get(position(stmt))
        if reason is not None and isinstance(stmt, _HOST_CONTROL):
            self.host_control[id(stmt)] = reason  # a loop or `if` the graph cannot hold: on the host
            return "host", None
        if reason is not None:
            return "island", reason
        hoisted = self._hoist(stmt)
        if hoisted is not None:
            return "hoisted", hoisted
        if isinstance(stmt, _HOST_CONTROL):
            return "host", None
        return "island", "it holds a call that needs the host"

    def _inside_points(self, stmt: ast.stmt) -> bool:
        return any(position(n) in self.points for n in ast.walk(stmt))

    def _island(self, stmts: List[ast.stmt], reason: str, kind: str = "island") -> List[ast.stmt]:
        part = Part(kind, stmts, reason)
        self.islands.append(part)

        self.parts.append(part)
        k = len(self.islands) - 1
        tick = ast.Expr(ast.Call(ast.Name("__janus_on_island", ast.Load()), [ast.Constant(k)], []))
        return [ast.copy_location(tick, stmts[0])] + stmts

    def _hoist(self, stmt: ast.stmt) -> Optional[Tuple[ast.stmt, str, ast.stmt, Optional[ast.stmt]]]:
        """A call that needs the host, taken out of a simple statement (or the header of an
        `if`/`for`) into an island of its own when nothing with effects is evaluated
        before it in the statement: (the island's assignment, why, the statement, the
        assignment of its receiver to compute in the graph before it, or None)."""
        header = evaluated_first(stmt)
        if header is None:
            return None
        for node in ast.walk(header):
            reason = self.points.get(position(node))
            if reason is None or not isinstance(node, ast.Call) or not hoistable(header, node, self.pure_call):
                continue
            del self.points[position(node)]  # the statement left behind no longer holds it
            pre = self._receiver_first(node, stmt)
            node = self._widen(header, node)
            self.hoisted += 1
            name = f"__janus_h{self.hoisted}"
            assign = ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], node), stmt)
            replace_node(stmt, node, ast.copy_location(ast.Name(name, ast.Load()), node))
            self.locals.add(name)
            return assign, reason, stmt, pre
        return None

    def _receiver_first(self, call: ast.Call, stmt: ast.stmt) -> Optional[ast.stmt]:
        """`f(x).numpy()`: the receiver `f(x)` computed first, in the graph segment before
        the island (`__janus_rN = f(x)`), so the island only reads it on the host; None
        when the receiver is a plain name or holds a call that needs the host too."""
        func = call.func
        if not isinstance(func, ast.Attribute) or isinstance(func.value, ast.Name):
            return None
        inside = list(ast.walk(func.value))
        if not any(isinstance(n, ast.Call) for n in inside) or any(position(n) in self.points for n in inside):
            return None
        self.hoisted += 1
        name = f"__janus_r{self.hoisted}"
        pre = ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], func.value), stmt)
        func.value = ast.copy_location(ast.Name(name, ast.Load()), func.value)
        self.locals.add(name)
        self.loads[name] += 1  # read by the island: the segment hands it back
        return pre

    def _widen(self, header: ast.AST, node: ast.expr) -> ast.expr:
        """The island's call with the Python-only work done on its result around it
        (`int(sample(p)[0])`: an item, `int()`/`float()`/`len()` of it), so what crosses
        into the next segment is a Python number rather than a host object."""
        path = path_to(header, node) or []
        for parent in reversed(path[:-1]):
            item = isinstance(parent, ast.Subscript) and parent.value is node and static_index(parent.slice)
            call = (
                isinstance(parent, ast.Call)
                and isinstance(parent.func, ast.Name)
                and parent.func.id in HOST_CONVERSIONS
                and self.is_builtin(parent.func.id)
                and len(parent.args) == 1
                and parent.args[0] is node
                and not parent.keywords
            )
            if not (item or call) or not isinstance(parent, ast.expr):
                break
            node = parent
        return node

    def _host_control(self, stmt: ast.stmt, in_loop: bool) -> List[ast.stmt]:
        """A compound statement run on the host: its bodies split in turn (the body of a
        loop is in that loop; its `else` and everything else is where the statement is)."""
        ticks: List[ast.stmt] = []
        if id(stmt) in self.host_control:  # counted as an island run each time it runs
            ticks = self._island([stmt], self.host_control[id(stmt)], kind="host")[:-1]
        is_loop = isinstance(stmt, LOOPS)
        for attr in ("body", "orelse", "finalbody"):
            block = getattr(stmt, attr, None)
            if block:
                setattr(stmt, attr, self.split_block(block, True if is_loop and attr == "body" else in_loop))
        for handler in getattr(stmt, "handlers", []):
            handler.body = self.split_block(handler.body, in_loop)
        return ticks + [stmt]

    def _segment(self, run: List[ast.stmt], in_loop: bool) -> List[ast.stmt]:
        if not run:
            return []
        if all(is_plain_binding(s) for s in run):  # `r = __janus_h1`: no graph work to do
            return run
        k = len(self.segments)
        params, outputs = run_names(run, self.locals)
        if not self.dynamic_frame:  # hand back only what is read after the segment
            inside = name_loads(run)
            # in a loop, also what the next pass may read before binding it
            carried = read_before_bound(run) if in_loop else set()
            outputs = [o for o in outputs if self.loads[o] > inside[o] or (inside[o] and o in carried)]
        self.segments.append(_segment_def(k, run, params, outputs))
        self.parts.append(Part("segment", run, index=k))
        return _segment_call(k, params, outputs, run[0], in_loop and any(has_loop_exit(s) for s in run))


def _cell_filled(cell: Any) -> bool:
    try:
        return cell.cell_contents is not _NOT_A_VALUE
    except ValueError:  # an empty cell (a name of an enclosing function not yet bound)
        return False


_NOT_A_VALUE = object()


def _plain_attribute(obj: Any, name: str) -> Any:
    """`obj.name` when reading it runs no code (a module's or a plain object's own
    attribute), else None."""
    if isinstance(obj, types.ModuleType):
        return obj.__dict__.get(name)
    cls = type(obj)
    plain_lookup = cls.__getattribute__ is object.__getattribute__  # type: ignore[comparison-overlap]
    if not plain_lookup or not isinstance(getattr(obj, "__dict__", None), dict):
        return None
    if hasattr(getattr(cls, name, None), "__set__"):  # a data descriptor (property) on the class
        return None
    return obj.__dict__.get(name)


def _is_pure_call(names: Dict[str, Any], scope: Any, is_pure: Callable[[Any], bool], call: ast.Call) -> bool:
    """Is `call` a call of a global function (`np.tanh`, `torch.relu`) that `is_pure` accepts?
    Resolved by reading module attributes only (no other code runs)."""
    parts: List[str] = []
    node: ast.AST = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id in scope.locals or node.id not in names:
        return False
    value = names[node.id]
    for name in reversed(parts):
        value = _plain_attribute(value, name)
    try:
        return bool(is_pure(value))
    except Exception:  # a backend's predicate failing on an odd object: not pure
        return False


class _ExitsAsStatus(ast.NodeTransformer):
    """In a segment body: `return x` -> `return ("returned", x)`; a `break`/`continue`
    of the host loop around it -> a status the host program acts on."""

    def __init__(self, outputs: List[str]) -> None:
        self.loops = 0
        self.outputs = outputs  # a break/continue hands the names on: the host loop needs them

    def visit_Return(self, node: ast.Return) -> ast.AST:
        value = node.value if node.value is not None else ast.Constant(None)
        return ast.copy_location(ast.Return(ast.Tuple([ast.Constant(RETURNED), value], ast.Load())), node)

    def _exit(self, node: ast.stmt, status: str) -> ast.AST:
        if self.loops:
            return node
        return ast.copy_location(ast.Return(ast.Tuple([ast.Constant(status), _picked(self.outputs)], ast.Load())), node)

    def visit_Break(self, node: ast.Break) -> ast.AST:
        return self._exit(node, BROKE)

    def visit_Continue(self, node: ast.Continue) -> ast.AST:
        return self._exit(node, CONTINUED)

    def _loop(self, node: ast.AST) -> ast.AST:
        self.loops += 1
        node.body = [self.visit(s) for s in node.body]  # type: ignore[attr-defined]
        self.loops -= 1
        node.orelse = [self.visit(s) for s in node.orelse]  # type: ignore[attr-defined]
        return node

    visit_For = visit_While = visit_AsyncFor = _loop

    def _scope(self, node: ast.AST) -> ast.AST:
        return node  # a nested function's returns are its own

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = _scope


def _load(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())


def _picked(names: List[str]) -> ast.Call:
    """`__janus_pick(locals(), names)`: the values of `names`, UNBOUND where unbound."""
    return ast.Call(
        _load("__janus_pick"),
        [ast.Call(_load("locals"), [], []), ast.Tuple([ast.Constant(o) for o in names], ast.Load())],
        [],
    )


def _segment_def(k: int, run: List[ast.stmt], params: List[str], outputs: List[str]) -> ast.FunctionDef:
    body: List[ast.stmt] = []
    for p in params:  # a name unbound where the segment starts is unbound inside it too
        test = ast.Compare(_load(p), [ast.Is()], [_load("__janus_UNBOUND")])
        body.append(ast.If(test, [ast.Delete([ast.Name(p, ast.Del())])], []))
    body += [_ExitsAsStatus(outputs).visit(copy.deepcopy(s)) for s in run]
    body.append(ast.Return(ast.Tuple([ast.Constant(FELL), _picked(outputs)], ast.Load())))
    # each parameter its own place (the profile's site): past the file's end, one line per segment
    line = _PARAM_LINES + k
    arg_nodes = [
        ast.arg(p, lineno=line, col_offset=i, end_lineno=line, end_col_offset=i + 1) for i, p in enumerate(params)
    ]
    args = ast.arguments(posonlyargs=[], args=arg_nodes, kwonlyargs=[], kw_defaults=[], defaults=[])
    fdef = ast.FunctionDef(name=f"__janus_segment_{k}", args=args, body=body, decorator_list=[])
    for stmt in fdef.body[: len(params)] + fdef.body[-1:]:
        for sub in ast.walk(stmt):  # generated: no island can be found here
            ast.copy_location(sub, run[0])
            sub._janus_generated = True  # type: ignore[attr-defined]
    ast.copy_location(fdef, run[0])
    fdef._janus_first = run[0]  # type: ignore[attr-defined]
    return fdef


def _segment_call(k: int, params: List[str], outputs: List[str], where: ast.stmt, exits: bool) -> List[ast.stmt]:
    """`__janus_r = segment_k(*pick(locals(), params))`, then the status and the names."""
    args: List[ast.expr] = [
        ast.Starred(
            ast.Call(
                _load("__janus_pick"),
                [ast.Call(_load("locals"), [], []), ast.Tuple([ast.Constant(p) for p in params], ast.Load())],
                [],
            ),
            ast.Load(),
        )
    ]
    call = ast.Call(ast.Subscript(_load("__janus_segments"), ast.Constant(k), ast.Load()), args, [])
    out: List[ast.stmt] = [ast.Assign([ast.Name("__janus_r", ast.Store())], call)]
    status = ast.Subscript(_load("__janus_r"), ast.Constant(0), ast.Load())
    value = ast.Subscript(_load("__janus_r"), ast.Constant(1), ast.Load())
    out.append(ast.If(ast.Compare(status, [ast.Eq()], [ast.Constant(RETURNED)]), [ast.Return(value)], []))
    if outputs:  # what it bound, also when it leaves the host loop by break/continue
        targets = ast.Tuple([ast.Name(o, ast.Store()) for o in outputs], ast.Store())
        out.append(ast.Assign([targets], value))
        for o in outputs:  # a name the segment left unbound is unbound after it
            test = ast.Compare(_load(o), [ast.Is()], [_load("__janus_UNBOUND")])
            out.append(ast.If(test, [ast.Delete([ast.Name(o, ast.Del())])], []))
    if exits:
        for st, action in ((BROKE, ast.Break()), (CONTINUED, ast.Continue())):
            out.append(ast.If(ast.Compare(status, [ast.Eq()], [ast.Constant(st)]), [action], []))
    for stmt in out:
        for sub in ast.walk(stmt):
            ast.copy_location(sub, where)
    return out


_INJECTED = ("__janus_segments", "__janus_pick", "__janus_UNBOUND", "__janus_on_island")


def _compile(
    fn: types.FunctionType, root: ast.FunctionDef, body: List[ast.stmt], splitter: _Splitter, filename: str
) -> Program:
    """Compile the host program and the segments with `fn`'s globals and closure cells."""
    declared = [s for s in root.body if isinstance(s, (ast.Global, ast.Nonlocal))]
    host = copy.copy(root)
    host.body = declared + [s for s in body if not isinstance(s, (ast.Global, ast.Nonlocal))]
    host.decorator_list = []
    segment_defs = splitter.segments
    for seg_def in segment_defs:
        seg_def.body = copy.deepcopy(declared) + seg_def.body
    freevars = list(_INJECTED) + list(fn.__code__.co_freevars)
    codes = _factory_codes([host] + segment_defs, freevars, filename)
    qual = fn.__code__.co_qualname  # names as the user's own code has them (nested defs too)
    codes = [requalify(c, qual) for c in codes]
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))

    def function(
        code: types.CodeType, injected: Dict[str, Any], name: str, node: ast.FunctionDef
    ) -> types.FunctionType:
        closure = tuple(cells[v] if v in cells else types.CellType(injected[v]) for v in code.co_freevars)
        made = types.FunctionType(code, fn.__globals__, name, fn.__defaults__ if node is host else None, closure)
        if node is host:
            made.__kwdefaults__ = fn.__kwdefaults__
        register_source(code, node, filename)
        return made

    common = {"__janus_pick": pick, "__janus_UNBOUND": UNBOUND}
    segments = [
        function(codes[i + 1], dict(common, __janus_segments=None, __janus_on_island=None), fn.__name__, node)
        for i, node in enumerate(segment_defs)
    ]
    for made, seg_node in zip(segments, segment_defs):
        # Python numbers a segment receives are graph inputs until the converter needs
        # one's value (the host decides them: a draw, a count, a value computed above)
        made.__janus_varying__ = frozenset(  # type: ignore[attr-defined]
            site_key(filename, a) for a in seg_node.args.args
        )
        made.__janus_first_statement__ = seg_node._janus_first  # type: ignore[attr-defined]

    def host_factory(jitted_segments: List[Any], on_island: Any) -> types.FunctionType:
        injected = dict(common, __janus_segments=jitted_segments, __janus_on_island=on_island)
        return function(codes[0], injected, fn.__name__, host)

    return Program(host_factory, segments, splitter.parts)


def _factory_codes(defs: List[ast.FunctionDef], freevars: List[str], filename: str) -> List[types.CodeType]:
    """The code objects of `defs`, each compiled inside a factory whose parameters are
    `freevars` (so the names are closure cells, filled with the original function's)."""
    factory = ast.FunctionDef(
        name="__janus_factory__",
        args=ast.arguments(
            posonlyargs=[], args=[ast.arg(v) for v in freevars], kwonlyargs=[], kw_defaults=[], defaults=[]
        ),
        body=list(defs) + [ast.Return(ast.Tuple([ast.Name(d.name, ast.Load()) for d in defs], ast.Load()))],
        decorator_list=[],
    )
    module = ast.Module(body=[factory], type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, filename, "exec")
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    by_name = {c.co_name: c for c in factory_code.co_consts if isinstance(c, types.CodeType)}
    return [by_name[d.name] for d in defs]

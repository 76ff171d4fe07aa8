"""The profiler: runs a function imperatively through an instrumented copy of its AST.

The copy records, per source site (file, line, column): the types, tensor specs and
(for Python scalars, strings, small tuples) values of parameters, names, attributes and
subscripts; branch directions of `if`; trip counts of loops; and it routes calls of
user Python functions through their own instrumented copies, so the functions the
converter will inline are profiled too.  The original function object is untouched.
"""

from __future__ import annotations

import ast
import copy
import types
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Tuple

from .errors import SourceUnavailable
from .ir.spec import is_const_like
from .source import get_source, is_user_function, requalify, site_key

SiteKey = Tuple[str, int, int, int, int]
_MAX_VALUES = 8
#: bounds that keep a long-running function's profile small
_MAX_SPECS, _MAX_TRIPS, _KEPT_RUNS = 32, 16, 8
_FRAME_SENSITIVE = frozenset({"super", "locals", "vars", "globals", "dir", "eval", "exec"})
_HOOKS = ("__jp__", "__jt__", "__jb__", "__jl__", "__jle__")


class SiteStats:
    __slots__ = ("count", "types", "values", "overflow", "specs", "branches", "trips", "run_values")

    def __init__(self):
        self.count = 0
        self.types: set = set()
        self.values: List[Any] = []
        self.overflow = False
        self.specs: set = set()
        self.branches: Counter = Counter()
        self.trips: List[int] = []
        #: profiled run number -> the distinct values the site took in that run
        self.run_values: Dict[int, List[Any]] = {}

    def distinct_values(self) -> int:
        return _MAX_VALUES + 1 if self.overflow else len(self.values)

    def same_every_run(self) -> bool:
        """Did every profiled run see the very same set of values here?  Then the values
        differ by what was read (one stride per layer object), not by call: each read
        path can be a guarded constant, rather than a graph input."""
        runs = list(self.run_values.values())
        if self.overflow or not runs:
            return False
        first = _typed(runs[0])
        return all(_typed(r) == first for r in runs[1:])

    def __repr__(self) -> str:
        return (
            f"SiteStats(n={self.count}, types={sorted(t.__name__ for t in self.types)}, values={self.values}, "
            f"specs={sorted(map(str, self.specs))}, branches={dict(self.branches)}, trips={self.trips[-8:]})"
        )


def _typed(values: List[Any]) -> set:
    return {(type(v), v) for v in values}


class Profile:
    """Observations accumulated over all profiled calls of one jitted function."""

    def __init__(self, spec_of: Callable[[Any], Any]):
        self.sites: Dict[SiteKey, SiteStats] = {}
        self.runs = 0
        self._spec_of = spec_of

    def stats(self, key: SiteKey) -> Optional[SiteStats]:
        return self.sites.get(key)

    def _site(self, key: SiteKey) -> SiteStats:
        s = self.sites.get(key)
        if s is None:
            s = self.sites[key] = SiteStats()
        return s

    def observe(self, key: SiteKey, value: Any) -> None:
        s = self._site(key)
        s.count += 1
        s.types.add(type(value))
        if is_const_like(value):
            if not s.overflow and not any(type(v) is type(value) and v == value for v in s.values):
                if len(s.values) >= _MAX_VALUES:
                    s.overflow = True
                else:
                    s.values.append(value)
            if not s.overflow:
                if self.runs not in s.run_values and len(s.run_values) >= _KEPT_RUNS:
                    del s.run_values[next(iter(s.run_values))]  # only recent runs matter
                seen = s.run_values.setdefault(self.runs, [])
                if not any(type(v) is type(value) and v == value for v in seen):
                    seen.append(value)
        else:
            spec = self._spec_of(value)
            if spec is not None and (len(s.specs) < _MAX_SPECS or spec in s.specs):
                s.specs.add(spec)

    def branch(self, key: SiteKey, taken: bool) -> None:
        self._site(key).branches[taken] += 1

    def loop_enter(self, key: SiteKey) -> None:
        trips = self._site(key).trips
        if len(trips) >= 2 * _MAX_TRIPS:  # bounded: the distinct recent trip counts
            trips[:] = list(dict.fromkeys(trips))[-_MAX_TRIPS:]
        trips.append(0)

    def loop_iter(self, key: SiteKey) -> None:
        trips = self._site(key).trips
        if trips:
            trips[-1] += 1


class Profiler:
    """Builds and caches instrumented copies; one per jitted function (it owns a Profile)."""

    def __init__(self, profile: Profile, opaque: Tuple[str, ...] = ()):
        self.profile = profile
        self.opaque = opaque  # top-level packages never instrumented (the backend's frameworks)
        self._copies: Dict[types.CodeType, Optional[types.FunctionType]] = {}

    def call(self, fn: Callable, args, kwargs) -> Any:
        inst = self.instrumented(fn)
        self.profile.runs += 1
        return (inst or fn)(*args, **kwargs)

    def instrumented(self, fn: Callable) -> Optional[Callable]:
        """The instrumented twin of a user function or bound method, or None."""
        inner = getattr(fn, "__janus_function__", None)
        if inner is not None and type(fn).__module__ == "janus.runtime":
            # a jitted function called from profiled code: eager runs its Python body
            twin = self.instrumented(inner)
            bound = getattr(fn, "_bound_self", None)
            return twin if twin is None or bound is None else types.MethodType(twin, bound)
        if isinstance(fn, types.MethodType):
            inner = self.instrumented(fn.__func__)
            return None if inner is None else types.MethodType(inner, fn.__self__)
        if not isinstance(fn, types.FunctionType):
            call = getattr(type(fn), "__call__", None)
            if isinstance(call, types.FunctionType) and not isinstance(fn, type):
                inner = self.instrumented(call)
                return None if inner is None else types.MethodType(inner, fn)
            return None
        if not is_user_function(fn, self.opaque):
            return None
        code = fn.__code__
        if code not in self._copies:
            try:
                self._copies[code] = self._build(fn)
            except (SourceUnavailable, SyntaxError, ValueError):
                self._copies[code] = None
        template = self._copies[code]
        if template is None:
            return None
        # same code, but this function object's own closure cells, defaults and globals
        cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
        closure = tuple(cells[n] if n in cells else self._hook_cells[n] for n in template.__code__.co_freevars)
        new = types.FunctionType(template.__code__, fn.__globals__, fn.__name__, fn.__defaults__, closure)
        new.__kwdefaults__ = fn.__kwdefaults__
        return new

    # -- instrumentation ----------------------------------------------------
    @property
    def _hook_cells(self) -> Dict[str, Any]:
        cells = getattr(self, "_cells", None)
        if cells is None:
            p = self.profile
            keys: List[SiteKey] = getattr(self, "_keys", [])
            self._keys = keys

            def jp(i, value):
                p.observe(keys[i], value)
                return value

            def jt(f):
                # returns the callee's instrumented twin, which the profiled code then calls
                # itself: no frame of the profiler's stays on the stack during the call, so
                # recursion reaches the same depth as eager
                return self.instrumented(f) or f

            cells = self._cells = {
                "__jp__": types.CellType(jp),
                "__jt__": types.CellType(jt),
                "__jb__": types.CellType(lambda i, taken: p.branch(keys[i], taken)),
                "__jl__": types.CellType(lambda i: p.loop_iter(keys[i])),
                "__jle__": types.CellType(lambda i: p.loop_enter(keys[i])),
            }
        return cells

    def _build(self, fn: types.FunctionType) -> types.FunctionType:
        src = get_source(fn)
        if not isinstance(src.node, (ast.FunctionDef,)):
            raise ValueError("only def-functions are instrumented")
        _ = self._hook_cells
        node = copy.deepcopy(src.node)
        node.decorator_list = []
        _Instrument(src.filename, self._keys).visit(node)
        if "__class__" in fn.__code__.co_freevars:  # keep zero-argument super() working
            node.body.insert(0, ast.Expr(ast.Name("__class__", ast.Load())))
        freevars = list(_HOOKS) + list(fn.__code__.co_freevars)
        # the def gets a private name so that a function calling itself by its global name
        # still looks itself up as a global (not as a cell of the factory)
        real_name, node.name = node.name, "__janus_instrumented__"
        factory = ast.FunctionDef(
            name="__janus_factory__",
            args=ast.arguments(
                posonlyargs=[], args=[ast.arg(v) for v in freevars], kwonlyargs=[], kw_defaults=[], defaults=[]
            ),
            body=[node, ast.Return(ast.Name(node.name, ast.Load()))],
            decorator_list=[],
        )
        module = ast.Module(body=[factory], type_ignores=[])
        ast.fix_missing_locations(module)
        code = compile(module, src.filename, "exec")
        factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
        inner = next(c for c in factory_code.co_consts if isinstance(c, types.CodeType) and c.co_name == node.name)
        inner = requalify(inner, fn.__code__.co_qualname).replace(co_name=real_name)
        closure = tuple(types.CellType(None) for _ in inner.co_freevars)
        return types.FunctionType(inner, fn.__globals__, fn.__name__, fn.__defaults__, closure)


class _Instrument(ast.NodeTransformer):
    def __init__(self, filename: str, keys: List[SiteKey]):
        self.filename = filename
        self.keys = keys
        self.depth = 0
        self.temps = 0

    def _k(self, node: ast.AST) -> ast.Constant:
        self.keys.append(site_key(self.filename, node))
        return ast.Constant(len(self.keys) - 1)

    def _call(self, hook: str, *args) -> ast.Call:
        return ast.Call(ast.Name(hook, ast.Load()), list(args), [])

    def visit_FunctionDef(self, node):
        self.depth += 1
        top = self.depth == 1
        self.generic_visit(node)
        self.depth -= 1
        if top:  # record the parameters on entry
            a = node.args
            params = (
                a.posonlyargs
                + a.args
                + ([a.vararg] if a.vararg else [])
                + a.kwonlyargs
                + ([a.kwarg] if a.kwarg else [])
            )
            node.body[:0] = [ast.Expr(self._call("__jp__", self._k(p), ast.Name(p.arg, ast.Load()))) for p in params]
        return node

    def _probe(self, node):
        self.generic_visit(node)
        if isinstance(getattr(node, "ctx", None), ast.Load):
            return ast.copy_location(self._call("__jp__", self._k(node), node), node)
        return node

    visit_Name = visit_Attribute = visit_Subscript = _probe

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in _FRAME_SENSITIVE:
            return node
        node.func = ast.copy_location(self._call("__jt__", node.func), node.func)
        return node

    def visit_AugAssign(self, node):
        """`o.a += v` / `o[i] += v` as Python runs them (o and i evaluated once, one get,
        one in-place op, one set), with the value read recorded: a property getter or
        `__getitem__` runs exactly as often as in eager."""
        t = node.target
        self.generic_visit(node)
        if isinstance(t, ast.Name):
            probe = ast.Expr(self._call("__jp__", self._k(t), ast.Name(t.id, ast.Load())))
            return [ast.copy_location(probe, node), node]
        self.temps += 1
        obj, key, val = (f"__janus_aug{self.temps}_{s}" for s in ("o", "k", "v"))
        steps = [ast.Assign([ast.Name(obj, ast.Store())], t.value)]
        if isinstance(t, ast.Attribute):
            read = ast.Attribute(ast.Name(obj, ast.Load()), t.attr, ast.Load())
            write = ast.Attribute(ast.Name(obj, ast.Load()), t.attr, ast.Store())
        else:
            steps.append(ast.Assign([ast.Name(key, ast.Store())], t.slice))
            read = ast.Subscript(ast.Name(obj, ast.Load()), ast.Name(key, ast.Load()), ast.Load())
            write = ast.Subscript(ast.Name(obj, ast.Load()), ast.Name(key, ast.Load()), ast.Store())
        steps.append(ast.Assign([ast.Name(val, ast.Store())], self._call("__jp__", self._k(t), read)))
        steps.append(ast.AugAssign(ast.Name(val, ast.Store()), node.op, node.value))
        steps.append(ast.Assign([write], ast.Name(val, ast.Load())))
        return [ast.copy_location(s, node) for s in steps]

    def visit_If(self, node):
        self.generic_visit(node)
        k = self._k(node)
        node.body.insert(0, ast.Expr(self._call("__jb__", k, ast.Constant(True))))
        node.orelse = [ast.Expr(self._call("__jb__", k, ast.Constant(False)))] + node.orelse
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        k = self._k(node)
        for side, taken in (("body", True), ("orelse", False)):  # `(__jb__(k, taken), value)[1]`
            value = getattr(node, side)
            pair = ast.Tuple([self._call("__jb__", k, ast.Constant(taken)), value], ast.Load())
            setattr(node, side, ast.copy_location(ast.Subscript(pair, ast.Constant(1), ast.Load()), value))
        return node

    def _loop(self, node):
        self.generic_visit(node)
        k = self._k(node)
        node.body.insert(0, ast.Expr(self._call("__jl__", k)))
        return [ast.Expr(self._call("__jle__", k)), node]

    visit_For = visit_While = _loop

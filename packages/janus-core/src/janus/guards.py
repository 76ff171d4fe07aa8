"""Guards: the assumptions a graph relies on, and the host function that checks them.

A `Guard` is one assumption (this argument is a float32[3] tensor, this global is 0.1,
this attribute is absent), with the source site it came from.  The guards of one
specialization are generated into one Python function with the jitted function's own
signature, so Python binds the arguments; it evaluates each guarded path once, checks
every assumption in order, and returns the graph inputs and the outside objects the
effects and the result need, or None when an assumption does not hold.  Only long-lived
objects (module dicts, types, code objects, the jitted function) are bound into it:
never a caller's fresh object.
"""

from __future__ import annotations

import inspect
import keyword
import types
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from .paths import Path, render_expr, typed_snapshot, untyped


@dataclass
class Guard:
    kind: str  # type | value | tensor | code | identity | len | keys | contains | equals | alias | expr
    path: Optional[Path]
    expect: Any
    site: str = ""  # "file:line: expression"
    relax: Optional[Tuple] = None  # the profile site whose assumption this guards

    def key(self) -> tuple:
        exp = self.expect
        if self.kind in ("type", "identity", "code"):
            exp = id(exp)
        elif self.kind == "value":
            exp = (type(exp), exp)
        elif self.kind in ("equals", "expr"):
            exp = repr(exp)
        return (self.kind, self.path, exp)

    def assumption(self) -> str:
        """The assumption in words: the source expression, the value observed when the graph
        was built, and what makes it fail."""
        return _DESCRIBE[self.kind](self)

    def describe(self) -> str:
        """`assumption()`, then the source site it came from."""
        return self.assumption() + (f"    [{self.site}]" if self.site else "")


def name_of(obj: Any) -> str:
    """A name a user recognises for an object a guard holds: `numpy.tanh`, `the module numpy`."""
    if isinstance(obj, types.ModuleType):
        return f"the module {obj.__name__}"
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", None)
    if qual is not None:
        return f"{module}.{qual}" if module and module != "builtins" else str(qual)
    return f"a {type(obj).__module__}.{type(obj).__qualname__} object"


def _where_code(code: Any) -> str:
    filename = code.co_filename.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{getattr(code, 'co_qualname', code.co_name)} defined at {filename}:{code.co_firstlineno}"


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _describe_expr(g: Guard) -> str:
    tree, truth, expect = g.expect
    text = render_expr(tree)
    if truth:
        return f"bool({text}) is {expect}  (computed on the host on every call; fails when it turns {not expect})"
    return f"{text} == {expect!r}  (computed on the host on every call; fails when it changes)"


_DESCRIBE: Dict[str, Callable[[Guard], str]] = {
    "type": lambda g: f"{g.path} is {_a(name_of(g.expect))}  (fails when it is another type)",
    "value": lambda g: (
        f"{g.path} == {g.expect!r}  ({_a(type(g.expect).__name__)} fixed in the graph; fails when it changes)"
    ),
    "tensor": lambda g: f"{g.path} is {_a(str(g.expect))} tensor  (fails on another dtype, device or shape)",
    "code": lambda g: f"{g.path} is the function {_where_code(g.expect)}  (fails when {g.path} is rebound or patched)",
    "identity": lambda g: f"{g.path} is {name_of(g.expect)}  (fails when {g.path} is rebound)",
    "len": lambda g: f"len({g.path}) == {g.expect}  (fails when items are added or removed)",
    "keys": lambda g: f"{g.path} has the keys {list(g.expect)}, in order  (fails when its keys change)",
    "contains": lambda g: (
        f"{g.expect[0]!r} {'in' if g.expect[1] else 'not in'} {g.path}  "
        f"(fails when {g.expect[0]!r} is {'removed' if g.expect[1] else 'added'})"
    ),
    "equals": lambda g: (
        f"{g.path} == {untyped(g.expect)!r:.80}  (read whole by Python code; fails when any item changes)"
    ),
    "alias": lambda g: f"{g.path} is the same object as {g.expect}  (fails when they differ)",
    "expr": _describe_expr,
}


class _HostRaised:
    """What a guard function returns when computing a host value raised: the call runs
    imperatively (where eager raises the same exception), and no graph is missing."""

    def __repr__(self) -> str:
        return "HOST_RAISED"


HOST_RAISED = _HostRaised()
_OMITTED = type("_Omitted", (), {"__repr__": lambda self: "<omitted>"})()


class _Namespace:
    def __init__(self):
        self.values: Dict[str, Any] = {}
        self._ids: Dict[int, str] = {}

    def bind(self, obj: Any, prefix: str = "__k") -> str:
        key = id(obj)
        name = self._ids.get(key)
        if name is None or self.values.get(name) is not obj:
            name = f"{prefix}{len(self.values)}"
            self.values[name] = obj
            self._ids[key] = name
        return name


def _literal(value: Any) -> Optional[str]:
    if type(value) in (int, str, bool, type(None)) or (
        type(value) is float and value == value and value not in (float("inf"), float("-inf"))
    ):
        return repr(value)
    if type(value) is tuple:
        parts = [_literal(v) for v in value]
        if all(p is not None for p in parts):
            return "(" + "".join(f"{p}, " for p in parts) + ")"
    return None


def _singleton(value: Any) -> bool:
    """None, True, False: `type(v) is bool and v == True` is `v is True` (one test, not three)."""
    return value is None or type(value) is bool


class GuardCompiler:
    def __init__(
        self, fn: Optional[Callable], backend, globals_dicts: List[dict], object_roots: List[Any], builders=()
    ):
        self.builders = list(builders)
        self.fn = fn
        self.backend = backend
        self.ns = _Namespace()
        self.globals_dicts = globals_dicts
        self.object_roots = object_roots
        self.lines: List[str] = []
        self.exprs: Dict[Any, str] = {}  # Path (or a schedule key) -> the variable holding it

    def path_expr(self, path: Path) -> str:
        if path in self.exprs:
            return self.exprs[path]
        if not path.steps:
            kind = path.root[0]
            if kind == "arg":
                expr = path.root[1]
            elif kind == "global":
                expr = f"{self.ns.bind(self.globals_dicts[path.root[1]], '__g')}[{path.root[2]!r}]"
            elif kind == "gdict":
                expr = self.ns.bind(self.globals_dicts[path.root[1]], "__g")
            elif kind == "obj":
                expr = self.ns.bind(self.object_roots[path.root[1]], "__o")
            elif kind == "node":
                expr = "node"
            elif kind == "expr":  # a Python number computed on the host from other inputs
                value = self.render(path.root[1])  # first: it names the values it uses
                var = f"__v{len(self.exprs)}"
                # an exception here is the function's own (eager raises it too): not a miss
                self.lines += [
                    "try:",
                    f"    {var} = {value}",
                    "except Exception:",
                    f"    return {self.ns.bind(HOST_RAISED, '__raised')}",
                ]
                self.exprs[path] = var
                return var
            elif kind == "derived":  # a host schedule computed from an outside structure
                _, b, base, field = path.root
                sched = self.exprs.get(("schedule", b, base))
                if sched is None:
                    sched = f"__s{b}"
                    self.lines.append(f"{sched} = {self.ns.bind(self.builders[b], '__B')}({self.path_expr(base)})")
                    self.lines.append(f"if {sched} is None: return None")
                    self.exprs[("schedule", b, base)] = sched
                expr = f"{sched}[{field!r}]"
            else:
                raise ValueError(f"unknown path root {path.root!r}")
        else:
            parent = self.path_expr(Path(path.root, path.steps[:-1]))
            kind, arg = path.steps[-1]
            if kind == "attr":
                expr = self._attribute_source(parent, arg) or (
                    f"{parent}.{arg}"
                    if arg.isidentifier() and not keyword.iskeyword(arg)
                    else f"getattr({parent}, {arg!r})"
                )
            elif kind == "item":
                lit = _literal(arg)
                expr = f"{parent}[{lit if lit is not None else self.ns.bind(arg)}]"
            elif kind == "cell":
                expr = f"{parent}.__closure__[{arg}].cell_contents"
            else:
                raise ValueError(f"unknown path step {kind!r}")
        if path.steps or path.root[0] == "global":
            var = f"__v{len(self.exprs)}"
            self.lines.append(f"{var} = {expr}")
            expr = var
        self.exprs[path] = expr
        return expr

    def _attribute_source(self, parent: str, name: str) -> Optional[str]:
        """The backend's cheaper read of a framework attribute (`Backend.attribute_source`)."""
        hook = getattr(self.backend, "attribute_source", None)
        return hook(parent, name, self.ns.bind) if hook is not None else None

    def render(self, expr: tuple) -> str:
        if expr[0] == "path":
            return self.path_expr(expr[1])
        if expr[0] == "const":
            lit = _literal(expr[1])
            return lit if lit is not None else self.ns.bind(expr[1])
        return f"{self.ns.bind(expr[1])}({', '.join(self.render(a) for a in expr[2])})"

    def check(self, g: Guard) -> str:
        k = g.kind
        if k == "expr":
            tree, truth, expect = g.expect
            e = self.render(tree)
            if truth:
                return f"bool({e}) is {expect!r}"
            if _singleton(expect):
                return f"({e}) is {expect!r}"
            rhs = _literal(expect) or self.ns.bind(expect)
            return f"type(__x := {e}) is {self.ns.bind(type(expect))} and __x == {rhs}"
        assert g.path is not None, f"internal: a {k} guard without a path"
        e = self.path_expr(g.path)
        if k == "type":
            return f"type({e}) is {self.ns.bind(g.expect)}"
        if k == "value":
            if _singleton(g.expect):
                return f"{e} is {g.expect!r}"
            lit = _literal(g.expect)
            rhs = lit if lit is not None else self.ns.bind(g.expect)
            return f"type({e}) is {self.ns.bind(type(g.expect))} and {e} == {rhs}"
        if k == "tensor":
            return self.backend.guard_source(e, g.expect, self.ns.bind)
        if k == "code":
            return f"{e}.__code__ is {self.ns.bind(g.expect)}"
        if k == "identity":
            return f"{e} is {self.ns.bind(g.expect)}"
        if k == "len":
            return f"len({e}) == {int(g.expect)}"
        if k == "keys":
            return f"tuple({e}.keys()) == {self.ns.bind(g.expect)}"
        if k == "alias":
            return f"{e} is {self.path_expr(g.expect)}"
        if k == "equals":  # plain data read whole by Python code: every item, typed
            return f"{self.ns.bind(typed_snapshot)}({e}) == {self.ns.bind(g.expect)}"
        if k == "contains":
            key, present = g.expect
            lit = _literal(key)
            return f"(({lit if lit is not None else self.ns.bind(key)}) in {e}) is {present!r}"
        raise ValueError(f"unknown guard kind {k!r}")

    def body(self, guards: List[Guard], first: List[Path], second: List[Path]) -> List[str]:
        """Lines checking `guards` in order, then returning the values of two path lists."""
        lines: List[str] = []
        for g in guards:
            start = len(self.lines)
            cond = self.check(g)
            lines.extend(self.lines[start:])
            del self.lines[start:]
            lines.append(f"if not ({cond}): return None")
        start = len(self.lines)
        a = [self.path_expr(p) for p in first]
        b = [self.path_expr(p) for p in second]
        lines.extend(self.lines[start:])
        lines.append(f"return ({''.join(x + ', ' for x in a)}), ({''.join(x + ', ' for x in b)})")
        return lines

    def define(self, signature: str, lines: List[str], label: str) -> Tuple[Callable, str]:
        src = (
            [f"def __janus_guard__({signature}):", "    try:"]
            + [f"        {line}" for line in lines]
            + ["    except Exception:", "        return None"]
        )
        text = "\n".join(src)
        namespace = dict(self.ns.values)
        exec(compile(text, f"<janus {label}>", "exec"), namespace)
        return namespace["__janus_guard__"], text

    def compile(self, guards: List[Guard], input_paths: List[Path], host_paths: List[Path]) -> Tuple[Callable, str]:
        assert self.fn is not None, "internal: a call guard needs its function"
        signature, defaults = self._signature(self.fn)
        fn = self.ns.bind(self.fn, "__fn")
        # the function may have been given other code since the graph was built
        code = getattr(self.fn, "__code__", None)
        lines = [f"if {fn}.__code__ is not {self.ns.bind(code, '__code')}: return None"]
        lines += defaults + self.body(guards, input_paths, host_paths)
        return self.define(signature, lines, f"guard of {getattr(self.fn, '__qualname__', '?')}")

    def _signature(self, function: Callable) -> Tuple[str, List[str]]:
        """The function's parameters, and lines that fill in an omitted argument from the
        function's *current* `__defaults__`/`__kwdefaults__` (as Python does on each call)."""
        parts: List[str] = []
        defaults: List[str] = []
        sig = inspect.signature(function)
        positional = [p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        omitted, fn = self.ns.bind(_OMITTED, "__omitted"), self.ns.bind(self.fn, "__fn")
        saw_kwonly = False
        last_posonly = False
        for p in sig.parameters.values():
            if last_posonly and p.kind is not p.POSITIONAL_ONLY:
                parts.append("/")
            last_posonly = p.kind is p.POSITIONAL_ONLY
            if p.kind is p.KEYWORD_ONLY and not saw_kwonly:
                parts.append("*")
                saw_kwonly = True
            text = p.name
            if p.kind is p.VAR_POSITIONAL:
                text, saw_kwonly = "*" + p.name, True
            elif p.kind is p.VAR_KEYWORD:
                text = "**" + p.name
            if p.default is not p.empty:
                text += "=" + omitted
                current = (
                    f"{fn}.__kwdefaults__[{p.name!r}]"
                    if p.kind is p.KEYWORD_ONLY
                    else f"{fn}.__defaults__[{positional.index(p.name) - len(positional)}]"
                )
                defaults.append(f"if {p.name} is {omitted}: {p.name} = {current}")
            parts.append(text)
        if last_posonly:
            parts.append("/")
        return ", ".join(parts), defaults

    def diagnosis(self, guards: List[Guard]) -> Callable:
        """A function with the guard function's signature returning `(i, value)` for the
        first guard `i` that fails and the value it read (an exception when reading raised;
        i == -1: the function's code changed), or None when every guard holds.  Built
        only to explain guard misses (JANUS_LOG=guards), never on the hot path."""
        assert self.fn is not None, "internal: a call guard needs its function"
        signature, defaults = self._signature(self.fn)
        fn, code = self.ns.bind(self.fn, "__fn"), self.ns.bind(getattr(self.fn, "__code__", None), "__code")
        lines = [f"if {fn}.__code__ is not {code}: return (-1, {fn}.__code__)"] + defaults
        for i, g in enumerate(guards):
            start = len(self.lines)
            cond = self.check(g)
            seen = self.path_expr(g.path) if g.path is not None else self.render(g.expect[0])
            lines += [f"__i = {i}"] + self.lines[start:] + [f"if not ({cond}): return ({i}, {seen})"]
            del self.lines[start:]
        src = [f"def __janus_diagnose__({signature}):", "    __i = -1", "    try:"]
        src += [f"        {line}" for line in lines + ["return None"]]
        src += ["    except Exception as __error:", "        return (__i, __error)"]
        namespace = dict(self.ns.values)
        exec(compile("\n".join(src), "<janus guard diagnosis>", "exec"), namespace)
        return namespace["__janus_diagnose__"]


def compile_diagnosis(fn, backend, conversion) -> Callable:
    """`GuardCompiler.diagnosis` for one specialization's guards."""
    gc = GuardCompiler(fn, backend, conversion.globals_dicts, conversion.object_roots, conversion.builders)
    return gc.diagnosis(conversion.guards)


def compile_guards(fn, backend, conversion) -> Tuple[Callable, str]:
    gc = GuardCompiler(fn, backend, conversion.globals_dicts, conversion.object_roots, conversion.builders)
    return gc.compile(conversion.guards, conversion.input_paths, conversion.host_paths)


def compile_kind_matchers(kinds, backend, globals_dicts, object_roots) -> None:
    """For recursion as data: one function per node kind, `match(node)` returning the
    node's (payloads, children) when every structural guard of the kind holds, else None."""
    for kind in kinds:
        gc = GuardCompiler(None, backend, globals_dicts, object_roots)
        lines = gc.body(kind.guards, [p for p, _s, _v in kind.payloads], [p for p, _v in kind.children])
        kind.matcher, kind.matcher_source = gc.define("node", lines, "recursion kind")

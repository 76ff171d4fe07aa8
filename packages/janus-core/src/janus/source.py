"""Getting a function's AST, and Python's scoping rules for the names in it."""

from __future__ import annotations

import ast
import inspect
import sysconfig
import textwrap
import types
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterable, Optional, Tuple, Union

from .errors import SourceUnavailable

FuncNode = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda]


@dataclass(frozen=True)
class FunctionSource:
    node: FuncNode
    filename: str
    scope: Scope


_cache: Dict[types.CodeType, FunctionSource] = {}


def get_source(fn: Any) -> FunctionSource:
    """The AST of `fn` (line numbers as in its file), cached per code object."""
    code = getattr(fn, "__code__", None)
    if code is None:
        raise SourceUnavailable(
            f"{fn!r} is not a Python function (a builtin or C extension); its source cannot be read"
        )
    hit = _cache.get(code)
    if hit is not None:
        return hit
    try:
        lines, first = inspect.getsourcelines(code)  # the code itself: never `__wrapped__`
    except (OSError, TypeError) as e:
        raise SourceUnavailable(
            f"the source of {code.co_name} ({code.co_filename}) cannot be retrieved: {e}; "
            f"functions built by exec/eval or in a REPL run imperatively"
        ) from None
    text = "".join(lines)
    tree = _parse_fragment(text, code)
    node = _find(tree, code)
    if node is None:
        raise SourceUnavailable(f"could not locate {code.co_name} in its source at {code.co_filename}:{first}")
    ast.increment_lineno(tree, first - 1)
    owner = _defining_class(fn)
    if owner:
        _Mangle(owner).visit(node)
    src = FunctionSource(node, code.co_filename, scope_of(node))
    _cache[code] = src
    return src


def requalify(code: types.CodeType, qualname: str, nested_prefix: Optional[str] = None) -> types.CodeType:
    """`code` (compiled by JANUS inside a factory) named `qualname`, and the functions and
    classes defined in it named under `nested_prefix` (default `qualname`) as in the
    user's own code (`f.<locals>.<lambda>`, not `__janus_factory__.<locals>...`)."""
    return _requalified(code, code.co_qualname, nested_prefix or qualname).replace(co_qualname=qualname)


def _requalified(code: types.CodeType, old: str, new: str) -> types.CodeType:
    consts = tuple(_requalified(c, old, new) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    name = code.co_qualname
    if name.startswith(old + "."):
        name = new + name[len(old) :]
    return code.replace(co_consts=consts, co_qualname=name)


def register_source(code: types.CodeType, node: FuncNode, filename: str) -> FunctionSource:
    """The AST of a function JANUS generated itself (the parts of a split function)."""
    src = FunctionSource(node, filename, scope_of(node))
    _cache[code] = src
    return src


def _defining_class(fn) -> str:
    """The class a method was defined in (from its qualified name), for name mangling."""
    parts = getattr(fn, "__qualname__", "").split(".")
    if len(parts) >= 2 and parts[-2] != "<locals>":
        return parts[-2].lstrip("_")
    return ""


class _Mangle(ast.NodeTransformer):
    """Private names (`self.__x`) as the compiler mangles them inside a class body."""

    def __init__(self, owner: str):
        self.prefix = f"_{owner}"

    def _m(self, name: str) -> str:
        if name.startswith("__") and not name.endswith("__") and "." not in name:
            return self.prefix + name
        return name

    def visit_Attribute(self, n):
        self.generic_visit(n)
        n.attr = self._m(n.attr)
        return n

    def visit_Name(self, n):
        n.id = self._m(n.id)
        return n

    def visit_arg(self, n):
        n.arg = self._m(n.arg)
        return n


def _parse_fragment(text: str, code) -> ast.AST:
    attempts = [textwrap.dedent(text), "if 1:\n" + text]
    if code.co_name == "<lambda>":
        stripped = textwrap.dedent(text).strip()
        attempts += [f"({stripped})", f"({stripped.rstrip(',)')})", f"_ = [{stripped.rstrip(',')}]"]
    for attempt in attempts:
        try:
            tree = ast.parse(attempt)
        except SyntaxError:
            continue
        if attempt.startswith("if 1:\n"):
            ast.increment_lineno(tree, -1)
        return tree
    raise SourceUnavailable(
        f"the source of {code.co_name} at {code.co_filename}:{code.co_firstlineno} does not parse on its own"
    )


def _find(tree: ast.AST, code) -> Optional[FuncNode]:
    if code.co_name == "<lambda>":
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        argnames = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        same = [n for n in lambdas if tuple(a.arg for a in n.args.args + n.args.kwonlyargs) == argnames]
        return same[0] if len(same) == 1 else None
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == code.co_name:
            return n
    return None


def is_user_function(fn, opaque: Iterable[str] = ()) -> bool:
    """Python functions the converter inlines: user code, not the standard library, nor
    libraries whose internals are called as opaque operations: JANUS's own dependencies,
    well-known scientific libraries, and the `opaque` top-level packages (the backend's
    frameworks)."""
    code = getattr(fn, "__code__", None)
    if code is None or not isinstance(fn, types.FunctionType):
        return False
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
        return False
    mod = getattr(fn, "__module__", "") or ""
    top = mod.split(".")[0]
    if (top in _LIBRARIES and not mod.startswith(_USER_CODE_IN_LIBRARIES)) or top in opaque:
        return False
    fname = code.co_filename
    if fname.startswith("<frozen") or fname == "<string>":  # stdlib, or generated by exec (dataclasses)
        return False
    return "site-packages" in fname or not any(fname.startswith(p) for p in _STDLIB_PREFIXES)


#: never user code: JANUS and its dependencies, and libraries whose Python internals are not
#: worth converting (called as opaque operations)
_LIBRARIES = frozenset({"janus", "numpy", "pluggy", "pydantic", "scipy", "pandas", "sklearn", "matplotlib"})
#: the conformance programs shipped in janus-core are user code (converted like the user's own)
_USER_CODE_IN_LIBRARIES = ("janus.testing.",)
_STDLIB_PREFIXES = tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]})


@dataclass(frozen=True)
class Scope:
    """Which names of a function body are its locals, and which it declares global/nonlocal."""

    params: Tuple[str, ...]
    locals: FrozenSet[str]
    globals: FrozenSet[str]
    nonlocals: FrozenSet[str]


def scope_of(node: FuncNode) -> Scope:
    a = node.args
    params = [x.arg for x in a.posonlyargs + a.args]
    if a.vararg:
        params.append(a.vararg.arg)
    params += [x.arg for x in a.kwonlyargs]
    if a.kwarg:
        params.append(a.kwarg.arg)
    finder = _Assigned()
    body = node.body if isinstance(node.body, list) else [node.body]
    for stmt in body:
        finder.visit(stmt)
    local = (finder.assigned | set(params)) - finder.globals - finder.nonlocals
    return Scope(tuple(params), frozenset(local), frozenset(finder.globals), frozenset(finder.nonlocals))


class _Assigned(ast.NodeVisitor):
    """Names bound in a function body, not descending into nested scopes."""

    def __init__(self):
        self.assigned, self.globals, self.nonlocals = set(), set(), set()

    def visit_Name(self, n):
        if isinstance(n.ctx, (ast.Store, ast.Del)):
            self.assigned.add(n.id)

    def visit_FunctionDef(self, n):
        self.assigned.add(n.name)
        for d in n.decorator_list + n.args.defaults + [d for d in n.args.kw_defaults if d]:
            self.visit(d)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, n):
        self.assigned.add(n.name)
        for b in n.bases + n.decorator_list:
            self.visit(b)

    def visit_Lambda(self, n):
        for d in n.args.defaults:
            self.visit(d)

    def _comp(self, n):
        # only the first iterable is evaluated in the enclosing scope; walrus targets leak out
        self.visit(n.generators[0].iter)
        for sub in ast.walk(n):
            if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                self.assigned.add(sub.target.id)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp

    def visit_Import(self, n):
        for alias in n.names:
            self.assigned.add((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_Global(self, n):
        self.globals.update(n.names)

    def visit_Nonlocal(self, n):
        self.nonlocals.update(n.names)

    def visit_ExceptHandler(self, n):
        if n.name:
            self.assigned.add(n.name)
        self.generic_visit(n)

    def visit_MatchAs(self, n):
        if n.name:
            self.assigned.add(n.name)
        self.generic_visit(n)


def site_of(filename: str, node: ast.AST) -> str:
    """A readable source position: `file.py:12`."""
    short = filename.rsplit("/", 1)[-1]
    return f"{short}:{getattr(node, 'lineno', '?')}"


def site_key(filename: str, node: ast.AST) -> Tuple[str, int, int, int, int]:
    """The key under which the profiler and the converter meet at one expression
    (start and end: `self` and `self.step` start at the same column)."""
    return (
        filename,
        getattr(node, "lineno", 0),
        getattr(node, "col_offset", 0),
        getattr(node, "end_lineno", 0) or 0,
        getattr(node, "end_col_offset", 0) or 0,
    )

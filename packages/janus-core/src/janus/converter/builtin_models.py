"""How the converter evaluates Python builtins whose arguments may be symbolic.

Each handler receives the converter, the evaluated arguments and the call site.  The
result is computed now (partial evaluation), guarded where it depends on outside state.
"""

from __future__ import annotations

import builtins
import functools
import logging
import operator
import sys
from typing import Any, Callable, Dict

from .. import program
from ..ir.spec import PySpec
from .deferred import Deferred, defer
from .frame import InGraphOnly, host_read_feeds, unsupported, where
from .signals import Respecialize
from .sym import Sym, contains_sym
from .values import ConvFunction, SymMethod, python_type


def _len(cv, args, kwargs, frame, node):
    (x,) = args
    if isinstance(x, Sym):
        if isinstance(x.spec, PySpec) or not x.spec.shape:
            raise TypeError("len() of a 0-d tensor")
        if x.spec.shape[0] is None:
            raise Respecialize()
        return x.spec.shape[0]
    return cv.objects.host_len(x, frame, node)


def _concrete_ints(cv, args, frame, node, what):
    out = []
    for a in args:
        if isinstance(a, Sym):
            if not isinstance(a.spec, PySpec):
                raise unsupported(
                    f"{what} of a tensor value",
                    frame,
                    node,
                    "the count is data-dependent; a graph `while` is not supported yet",
                )
            a = cv.session.demand(a, f"{what} bound", where(frame, node))
        out.append(a)
    return out


def _range(cv, args, kwargs, frame, node):
    return range(*_concrete_ints(cv, args, frame, node, "range()"))


def _enumerate(cv, args, kwargs, frame, node):
    start = kwargs.get("start", args[1] if len(args) > 1 else 0)
    return list(enumerate(cv.objects.iterate(args[0], frame, node), start))


def _zip(cv, args, kwargs, frame, node):
    if kwargs.get("strict"):
        lists = [cv.objects.iterate(a, frame, node) for a in args]
        if len({len(x) for x in lists}) > 1:
            raise ValueError("zip() arguments have different lengths")
        return list(zip(*lists))
    return list(zip(*[cv.objects.iterate(a, frame, node) for a in args]))


def _reversed(cv, args, kwargs, frame, node):
    return cv.objects.iterate(args[0], frame, node)[::-1]


def _container(kind):
    def handler(cv, args, kwargs, frame, node):
        if not args:
            return cv.session.journal.born(kind(**kwargs)) if kind in (list, dict, set) else kind(**kwargs)
        src = args[0]
        if kind is dict:
            if isinstance(src, dict) or cv.session.heap.path_of(src) is not None and hasattr(src, "keys"):
                return cv.session.journal.born(
                    {k: cv.objects.get_item(src, k, frame, node) for k in cv.objects.iterate(src, frame, node)} | kwargs
                )
            return cv.session.journal.born(dict(cv.objects.iterate(src, frame, node), **kwargs))
        items = cv.objects.iterate(src, frame, node)
        if kind in (set, frozenset) and any(contains_sym(i) for i in items):
            raise unsupported("a set of tensors", frame, node)
        made = kind(items)
        return cv.session.journal.born(made) if kind in (list, set) else made

    return handler


def _isinstance(cv, args, kwargs, frame, node):
    x, cls = args
    if isinstance(x, (ConvFunction, SymMethod)):  # stands for a function / bound method
        return issubclass(python_type(x), cls)
    return isinstance(x.example if isinstance(x, (Sym, Deferred)) else x, cls)


def _type(cv, args, kwargs, frame, node):
    if len(args) != 1:
        raise unsupported("type() with three arguments", frame, node)
    return python_type(args[0])


def _callable(cv, args, kwargs, frame, node):
    (x,) = args
    return callable(x.example if isinstance(x, (Sym, Deferred)) else x)


def _print(cv, args, kwargs, frame, node):
    if kwargs.get("file") is not None:
        raise unsupported("print() to a file", frame, node, "only printing to stdout is deferred")
    sep, end = kwargs.get("sep", " "), kwargs.get("end", "\n")
    if isinstance(sep, Sym) or isinstance(end, Sym):
        raise unsupported("print() with a symbolic separator", frame, node)
    cv.session.heap.add(
        "print", None, (cv.snapshot(list(args)), sep, end, bool(kwargs.get("flush"))), where(frame, node)
    )
    return None


def _getattr(cv, args, kwargs, frame, node):
    obj, name = args[0], args[1]
    if isinstance(name, Sym):
        raise unsupported("getattr() with a symbolic name", frame, node)
    try:
        return cv.objects.get_attr(obj, name, frame, node)
    except AttributeError:
        if len(args) > 2:
            return args[2]
        raise


def _hasattr(cv, args, kwargs, frame, node):
    try:
        cv.objects.get_attr(args[0], args[1], frame, node)
        return True
    except AttributeError:
        return False


def _setattr(cv, args, kwargs, frame, node):
    cv.objects.set_attr(args[0], args[1], args[2], frame, node)


def _scalar(kind):
    def handler(cv, args, kwargs, frame, node):
        if args and isinstance(args[0], Sym):
            x = args[0]
            if isinstance(x.spec, PySpec):
                derived = cv.session.host_scalar(kind, (x,), where(frame, node)) if len(args) == 1 else None
                if derived is not None:  # `int(n / 2)` of an input: computed on the host
                    return derived
                return kind(cv.session.demand(x, f"{kind.__name__}() of a Python value", where(frame, node)))
            if kind is bool:
                raise host_read_feeds("a truth value", frame, node, x)
            return defer(kind, (x,), f"{kind.__name__}() of a tensor")
        if len(args) == 1 and not kwargs and isinstance(args[0], Deferred):  # `int(t.item())`
            if kind is bool:
                raise host_read_feeds("a truth value", frame, node, args[0])
            return defer(kind, (args[0],), f"{kind.__name__}() of a value read on the host")
        return kind(*args, **kwargs)

    return handler


def _text(kind):
    """`str(x)` / `repr(x)`: of a graph value, computed after the graph (deferred)."""

    def handler(cv, args, kwargs, frame, node):
        if len(args) == 1 and not kwargs and isinstance(args[0], (Sym, Deferred)):
            return defer(kind, (args[0],), f"{kind.__name__}() of a graph value")
        if contains_sym((args, kwargs)):
            raise unsupported(f"{kind.__name__}() of a container of tensors", frame, node)
        for a in args:
            cv.objects.plain(a, frame, node)
        return kind(*args, **kwargs)

    return handler


def _sum(cv, args, kwargs, frame, node):
    items = cv.objects.iterate(args[0], frame, node)
    total = kwargs.get("start", args[1] if len(args) > 1 else 0)
    for item in items:
        total = cv.binop(operator.add, total, item, frame, node)
    return total


def _minmax(kind):
    def handler(cv, args, kwargs, frame, node):
        items = cv.objects.iterate(args[0], frame, node) if len(args) == 1 else list(args)
        if kwargs.get("key") is not None or (kwargs and not contains_sym(items)):
            return _minmax_by_key(cv, kind, items, kwargs, frame, node)
        if any(contains_sym(i) for i in items):
            derived = None if kwargs else cv.session.host_scalar(kind, tuple(items), where(frame, node))
            if derived is not None:  # `min(lr, 0.1)` of Python-number inputs: on the host
                return derived
            raise unsupported(f"{kind.__name__}() over tensors", frame, node, "it compares values on the host")
        cv.objects.plain(items, frame, node)
        return kind(items, **kwargs)

    return handler


def _minmax_by_key(cv, kind, items, kwargs, frame, node):
    """`max(items, key=fn, default=d)`: keys computed now (a key function is converted
    like any call), compared on the host; keys that are graph values are refused."""
    key = kwargs.get("key")
    if set(kwargs) - {"key", "default"}:
        raise unsupported(f"{kind.__name__}() with unknown options", frame, node)
    if not items:
        if "default" in kwargs:
            return kwargs["default"]
        raise ValueError(f"{kind.__name__}() iterable argument is empty")
    keys = items if key is None else [cv.calls.call(key, [i], {}, frame, node) for i in items]
    best = 0
    try:
        for i in range(1, len(items)):  # the first of equal keys wins, as in Python
            better = _less(keys[i], keys[best]) if kind is min else _less(keys[best], keys[i])
            if better:
                best = i
    except _Incomparable:
        raise unsupported(
            f"{kind.__name__}() by tensor values", frame, node, "it compares values on the host"
        ) from None
    return items[best]


def _abs(cv, args, kwargs, frame, node):
    if isinstance(args[0], Sym):
        return cv.session.emit("call", operator.abs, (args[0],), {}, where(frame, node))
    return abs(args[0])


def _numeric(kind):
    """`round`/`pow`/`divmod` of Python numbers: on the host, before the graph, when
    they are computed from the call's inputs; after it when they read a tensor."""

    def handler(cv, args, kwargs, frame, node):
        if contains_sym((args, kwargs)):
            derived = None if kwargs else cv.session.host_scalar(kind, tuple(args), where(frame, node))
            if derived is not None:
                return derived
            raise unsupported(f"{kind.__name__}() of a graph value", frame, node, "the host computes it")
        if not kwargs and any(isinstance(a, Deferred) for a in args):  # `round(t.item(), 3)`
            return defer(kind, tuple(args), f"{kind.__name__}() of a value read on the host")
        return kind(*args, **kwargs)

    return handler


def _map(cv, args, kwargs, frame, node):
    fn, *its = args
    return [
        cv.calls.call(fn, list(items), {}, frame, node)
        for items in zip(*[cv.objects.iterate(i, frame, node) for i in its])
    ]


def _filter(cv, args, kwargs, frame, node):
    fn, it = args
    return [
        x
        for x in cv.objects.iterate(it, frame, node)
        if cv.truth(x if fn is None else cv.calls.call(fn, [x], {}, frame, node), frame, node)
    ]


def _sorted(cv, args, kwargs, frame, node):
    """`sorted(items, key=..., reverse=...)`: the order is decided now, from Python values
    (a key function is converted like any call); comparing graph values would need the
    host, so an order that depends on them is refused."""
    items = cv.objects.iterate(args[0], frame, node)
    key, reverse = kwargs.get("key"), kwargs.get("reverse", False)
    if isinstance(reverse, Sym) or set(kwargs) - {"key", "reverse"}:
        raise unsupported("sorted() with a symbolic or unknown option", frame, node)
    keys = items if key is None else [cv.calls.call(key, [i], {}, frame, node) for i in items]
    comparable = [_Comparable(k) for k in keys]
    for k in keys:
        cv.objects.plain(k, frame, node) if not contains_sym(k) else None
    try:
        order = sorted(range(len(items)), key=comparable.__getitem__, reverse=bool(reverse))
    except _Incomparable:
        raise unsupported(
            "sorted() by tensor values", frame, node, "the order depends on values in the graph"
        ) from None
    return [items[i] for i in order]


class _Incomparable(Exception):
    pass


class _Comparable:
    """A sort key that refuses to compare graph values (ties on Python values are fine)."""

    def __init__(self, value):
        self.value = value

    def __lt__(self, other: _Comparable) -> bool:
        return _less(self.value, other.value)


def _less(a, b) -> bool:
    if isinstance(a, Sym) or isinstance(b, Sym):
        raise _Incomparable()
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        for x, y in zip(a, b):
            if x is y:
                continue
            if isinstance(x, Sym) or isinstance(y, Sym):
                raise _Incomparable()
            if x != y:
                return _less(x, y)
        return len(a) < len(b)
    return a < b


def _super(cv, args, kwargs, frame, node):
    if args:
        return super(*args)
    if "__class__" not in frame.cells or not frame.scope.params:
        raise unsupported("zero-argument super() outside a method", frame, node)
    cls = frame.cells["__class__"][0].cell_contents
    return super(cls, frame.locals[frame.scope.params[0]])


def _locals(cv, args, kwargs, frame, node):
    """`locals()`: the frame's bound names (one bound on one branch of a graph `if` only
    has no value here)."""
    out = {}
    for name, value in frame.locals.items():
        if isinstance(value, InGraphOnly):
            raise unsupported("locals() after a graph region bound a name on one path only", frame, node)
        out[name] = value
    return cv.session.journal.born(out)


def _pick(cv, args, kwargs, frame, node):
    """`program.pick(locals(), names)` in a graph segment: the named values, UNBOUND where unbound."""
    values, names = args
    return tuple(values.get(n, program.UNBOUND) for n in names)


def _no(what, why):
    def handler(cv, args, kwargs, frame, node):
        raise unsupported(what, frame, node, why)

    return handler


#: builtins whose handlers take values read on the host (computed after the graph)
TAKES_DEFERRED = frozenset(
    {
        builtins.print,
        builtins.str,
        builtins.repr,
        builtins.int,
        builtins.float,
        builtins.bool,
        builtins.complex,
        builtins.round,
        builtins.pow,
        builtins.divmod,
        builtins.locals,
        program.pick,
    }
)

HANDLERS: Dict[Callable, Callable] = {
    builtins.len: _len,
    builtins.range: _range,
    builtins.enumerate: _enumerate,
    builtins.zip: _zip,
    builtins.reversed: _reversed,
    builtins.list: _container(list),
    builtins.tuple: _container(tuple),
    builtins.dict: _container(dict),
    builtins.set: _container(set),
    builtins.frozenset: _container(frozenset),
    builtins.isinstance: _isinstance,
    builtins.type: _type,
    builtins.callable: _callable,
    builtins.print: _print,
    builtins.getattr: _getattr,
    builtins.hasattr: _hasattr,
    builtins.setattr: _setattr,
    builtins.float: _scalar(float),
    builtins.int: _scalar(int),
    builtins.bool: _scalar(bool),
    builtins.complex: _scalar(complex),
    builtins.sum: _sum,
    builtins.min: _minmax(min),
    builtins.max: _minmax(max),
    builtins.abs: _abs,
    builtins.round: _numeric(round),
    builtins.pow: _numeric(pow),
    builtins.divmod: _numeric(divmod),
    builtins.map: _map,
    builtins.filter: _filter,
    builtins.str: _text(str),
    builtins.repr: _text(repr),
    builtins.sorted: _sorted,
    builtins.super: _super,
    builtins.id: _no("id()", "object identities differ between calls"),
    builtins.input: _no("input()", "reading stdin"),
    builtins.open: _no("open()", "file I/O"),
    builtins.eval: _no("eval()", "dynamic code"),
    builtins.exec: _no("exec()", "dynamic code"),
    builtins.globals: _no("globals()", "frame introspection"),
    builtins.locals: _locals,
    program.pick: _pick,
    builtins.vars: _no("vars()", "frame introspection"),
}
_ = Any


def _call_stream(stream: str, method: str, *args, **kwargs):
    return getattr(getattr(sys, stream), method)(*args, **kwargs)


def stream_bound(func):
    """A write to sys.stdout/stderr goes to whatever stream is current at commit time."""
    owner = getattr(func, "__self__", None)
    for stream in ("stdout", "stderr"):
        if owner is getattr(sys, stream):
            return functools.partial(_call_stream, stream, func.__name__)
    return func


def is_output_call(func) -> bool:
    """Calls whose only effect is output: logging functions and Logger methods, writes to
    sys.stdout / sys.stderr."""
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "")
    if isinstance(owner, logging.Logger) and name in (
        "debug",
        "info",
        "warning",
        "error",
        "critical",
        "exception",
        "log",
    ):
        return True
    if getattr(func, "__module__", None) == "logging" and name in (
        "debug",
        "info",
        "warning",
        "error",
        "critical",
        "log",
    ):
        return True
    return owner is not None and (owner is sys.stdout or owner is sys.stderr) and name in ("write", "flush")

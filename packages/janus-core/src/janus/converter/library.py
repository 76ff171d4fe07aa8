"""The standard library people use in model code, modeled by the converter.

* `operator` functions on graph values: the same nodes as the operators they name;
* `functools.reduce` (a loop of calls) and `functools.partial` (unwrapped when called);
* `iter`/`next` over containers built in the call: a real iterator, advanced during
  conversion (refused where a graph `cond`/`while` would advance it on a path that may
  not run);
* `collections` containers built in the call (`deque`, `OrderedDict`, `defaultdict`,
  `Counter`): real objects during conversion, like a list or dict built in the call,
  rebuilt by the templates if they leave the graph.

Each handler has the builtin models' signature `(cv, args, kwargs, frame, node)`.
"""

from __future__ import annotations

import ast
import collections
import functools
import itertools
import operator
from typing import Any, Callable, Dict

from ..ir.spec import PySpec, is_const_like
from ..paths import typed_snapshot
from ..source import is_user_function
from .frame import unsupported, where
from .sym import Sym, contains_sym
from .values import ConvFunction

_BINARY = {
    operator.add: operator.add,
    operator.sub: operator.sub,
    operator.mul: operator.mul,
    operator.truediv: operator.truediv,
    operator.floordiv: operator.floordiv,
    operator.mod: operator.mod,
    operator.pow: operator.pow,
    operator.matmul: operator.matmul,
    operator.and_: operator.and_,
    operator.or_: operator.or_,
    operator.xor: operator.xor,
    operator.lshift: operator.lshift,
    operator.rshift: operator.rshift,
}
_INPLACE = {
    operator.iadd: operator.add,
    operator.isub: operator.sub,
    operator.imul: operator.mul,
    operator.itruediv: operator.truediv,
    operator.ifloordiv: operator.floordiv,
    operator.imod: operator.mod,
    operator.ipow: operator.pow,
    operator.imatmul: operator.matmul,
}
_COMPARE = (operator.lt, operator.le, operator.eq, operator.ne, operator.gt, operator.ge)
_UNARY = (operator.neg, operator.pos, operator.abs, operator.invert)
#: collections whose objects built in the call are modeled like lists and dicts
LOCAL_COLLECTIONS = (collections.deque, collections.OrderedDict, collections.defaultdict, collections.Counter)
#: what a defaultdict built in the call may make for a missing key (run during conversion)
_SAFE_FACTORIES = (list, dict, set, int, float, tuple, str, collections.deque, collections.OrderedDict)


def _binary(op, inplace: bool):
    def handler(cv, args, kwargs, frame, node):
        if kwargs or len(args) != 2:
            return op(*args, **kwargs)
        return cv.binop(op, args[0], args[1], frame, node, inplace=inplace)

    return handler


def _compare(op):
    def handler(cv, args, kwargs, frame, node):
        a, b = args
        if isinstance(a, Sym) or isinstance(b, Sym):
            return cv.session.emit("call", op, (a, b), {}, where(frame, node))
        cv.objects.plain(a, frame, node)
        cv.objects.plain(b, frame, node)
        return op(a, b)

    return handler


def _unary(op):
    def handler(cv, args, kwargs, frame, node):
        (v,) = args
        if isinstance(v, Sym):
            return cv.session.emit("call", op, (v,), {}, where(frame, node))
        return op(v)

    return handler


def _not(cv, args, kwargs, frame, node):
    return not cv.truth(args[0], frame, node)


def _truth(cv, args, kwargs, frame, node):
    return cv.truth(args[0], frame, node)


def _getitem(cv, args, kwargs, frame, node):
    return cv.objects.get_item(args[0], args[1], frame, node)


def _contains(cv, args, kwargs, frame, node):
    return cv.compare(ast.In(), args[1], args[0], frame, node)


def _reduce(cv, args, kwargs, frame, node):
    """`functools.reduce(fn, items[, initial])`: the calls in a row, like the loop it is."""
    if kwargs or len(args) not in (2, 3):
        raise TypeError("reduce() takes 2 or 3 positional arguments")
    fn, items = args[0], cv.objects.iterate(args[1], frame, node)
    if len(args) == 3:
        acc = args[2]
    elif items:
        acc, items = items[0], items[1:]
    else:
        raise TypeError("reduce() of empty iterable with no initial value")
    for item in items:
        acc = cv.calls.call(fn, [acc, item], {}, frame, node)
    return acc


def _partial(cv, args, kwargs, frame, node):
    """`functools.partial(fn, ...)` built in the call: a real partial (its arguments may be
    graph values), unwrapped by `call_partial` when called; over a function defined in
    the converted code, a converter-only one (it cannot leave the call)."""
    fn, *bound = args
    if isinstance(fn, ConvFunction):
        return cv.session.new_local_object(_Partial(fn, tuple(bound), dict(kwargs)))
    return cv.session.new_local_object(functools.partial(fn, *bound, **kwargs))


class _Partial(functools.partial):
    """A partial built in converted code (its `func` may be a converter-only function)."""

    def __new__(cls, fn, args, kwargs):
        self = functools.partial.__new__(cls, _never_called, *args, **kwargs)
        self.target = fn
        return self


def _never_called(*args, **kwargs):
    raise TypeError("a partial built in jitted code is called only by the converter")


def call_partial(cv, func, args, kwargs, frame, node):
    """A partial: its function, with its arguments first (an outside partial's function
    and arguments read through it, guarded like any outside value)."""
    target = func.target if isinstance(func, _Partial) else func.func
    bound, keywords = list(func.args), dict(func.keywords)
    path = cv.session.heap.path_of(func)
    if path is not None and not cv.session.is_local_object(func):
        read = cv.session.read_host
        target = read(func.func, path.attr("func"))
        bound = [read(a, path.attr("args").item(i)) for i, a in enumerate(func.args)]
        keywords = {k: read(v, path.attr("keywords").item(k)) for k, v in func.keywords.items()}
    return cv.calls.call(target, bound + list(args), {**keywords, **kwargs}, frame, node)


def _fromkeys(cls):
    """`dict.fromkeys(keys, value)` (and its subclasses'): a mapping built in the call."""

    def handler(cv, args, kwargs, frame, node):
        keys = cv.objects.iterate(args[0], frame, node)
        if any(isinstance(k, Sym) or not is_const_like(k) for k in keys):
            raise unsupported("a dictionary key that is not a Python constant", frame, node)
        value = args[1] if len(args) > 1 else kwargs.get("value")
        return cv.session.new_local_object(cls.fromkeys(keys, value))

    return handler


def _is(negate: bool):
    def handler(cv, args, kwargs, frame, node):
        same = cv.identical(args[0], args[1], frame, node)
        return not same if negate else same

    return handler


def is_cached_function(func: Any) -> bool:
    return isinstance(func, functools._lru_cache_wrapper)


def call_cached(cv, func, args, kwargs, frame, node):
    """A `functools.lru_cache`/`cache` function.  On Python constants: called now (a cache
    hit, as in eager after its first call) and its value guarded by calling it again on
    every call; on graph values: the wrapped function inlined (its cache never sees
    tensors' values, only their identities)."""
    site = where(frame, node)
    args = [cv.session.demand(a, "an argument of a cached function", site) if _is_number(a) else a for a in args]
    plain = not contains_sym((args, kwargs)) and all(is_const_like(a) for a in list(args) + list(kwargs.values()))
    if plain and not kwargs:
        value = func(*args)
        if typed_snapshot(value) is not None:
            tree = ("call", func, tuple(("const", a) for a in args))
            cv.session.guard("expr", None, (tree, False, value), where(frame, node))
            return value
    wrapped = getattr(func, "__wrapped__", None)
    if wrapped is None or not is_user_function(wrapped, cv.session.opaque):
        raise unsupported(
            f"call of the cached function `{getattr(func, '__qualname__', func)}`",
            frame,
            node,
            "its arguments or result are not Python constants",
        )
    return cv.calls.call(wrapped, list(args), kwargs, frame, node)


def _is_number(value: Any) -> bool:
    return isinstance(value, Sym) and isinstance(value.spec, PySpec)


def _iter(cv, args, kwargs, frame, node):
    if len(args) != 1 or kwargs:
        raise unsupported("iter() with a sentinel", frame, node)
    source = args[0]
    if isinstance(source, Sym):
        items = cv.objects.iterate(source, frame, node)
        return cv.session.new_local_object(iter(items))
    if cv.session.heap.path_of(source) is not None:
        raise unsupported("iter() of an outside object", frame, node, "advancing it would change the caller's state")
    return cv.session.new_local_object(iter(list(source) if isinstance(source, dict) else source))


_NO_DEFAULT = object()


def _next(cv, args, kwargs, frame, node):
    it = args[0]
    default = args[1] if len(args) > 1 else _NO_DEFAULT
    session = cv.session
    if not session.is_local_object(it) or not hasattr(it, "__next__"):
        raise unsupported("next()", frame, node, "advancing an iterator made outside the call is a host-side effect")
    if not session.journal.born_in_current_scope(it):
        raise unsupported(
            "next() under a data-dependent `if` or loop",
            frame,
            node,
            "the iterator would advance on a path that may not run",
        )
    if default is _NO_DEFAULT:
        return next(it)
    return next(it, default)


def _collection(cls):
    """`deque(...)`, `OrderedDict(...)`, `defaultdict(factory, ...)`, `Counter(...)` built
    in the call: a real object holding graph values (keys must be Python constants)."""

    def handler(cv, args, kwargs, frame, node):
        if cls is collections.defaultdict:
            factory = args[0] if args else kwargs.get("default_factory")
            if factory is not None and factory not in _SAFE_FACTORIES:
                raise unsupported("a defaultdict whose factory is not a builtin container or number", frame, node)
        if cls is not collections.deque:
            items = args[1:] if cls is collections.defaultdict else args
            _constant_keys(cv, items, frame, node)
        if cls is collections.Counter and contains_sym((args, kwargs)):
            raise unsupported("Counter() of tensors", frame, node, "it counts by value on the host")
        source = [cv.objects.iterate(a, frame, node) if _needs_listing(cv, a) else a for a in args]
        obj = cls(*source, **kwargs)
        return cv.session.new_local_object(obj)

    return handler


def _needs_listing(cv, value) -> bool:
    return isinstance(value, Sym) or (cv.session.heap.path_of(value) is not None and isinstance(value, (list, tuple)))


def _constant_keys(cv, items, frame, node) -> None:
    for source in items:
        keys = source.keys() if isinstance(source, dict) else []
        if isinstance(source, (list, tuple)):
            keys = [pair[0] for pair in source if isinstance(pair, tuple) and len(pair) == 2]
        if any(isinstance(k, Sym) or not is_const_like(k) for k in keys):
            raise unsupported("a dictionary key that is not a Python constant", frame, node)


def _itertool(fn: Callable, iterable_args: int = -1):
    """A structural `itertools` function (`chain`, `islice`, `product` ...) over containers
    holding graph values: its items are put in order now (it never looks at them) and it
    returns an iterator built in the call.  `iterable_args`: how many leading arguments
    are iterables (-1: all)."""

    def handler(cv, args, kwargs, frame, node):
        n = len(args) if iterable_args < 0 else iterable_args
        if any(isinstance(a, Sym) for a in list(args[n:]) + list(kwargs.values())):
            raise unsupported(f"itertools.{fn.__name__}() with a graph value as an option", frame, node)
        lists = [cv.objects.iterate(a, frame, node) for a in args[:n]]
        return cv.session.new_local_object(iter(list(fn(*lists, *args[n:], **kwargs))))

    return handler


def _chain_from_iterable(cv, args, kwargs, frame, node):
    outer = cv.objects.iterate(args[0], frame, node)
    items = [x for inner in outer for x in cv.objects.iterate(inner, frame, node)]
    return cv.session.new_local_object(iter(items))


def _accumulate(cv, args, kwargs, frame, node):
    """`accumulate(items, func=add, initial=None)`: the running calls, converted."""
    items = cv.objects.iterate(args[0], frame, node)
    func = args[1] if len(args) > 1 else kwargs.get("func")
    out = [kwargs["initial"]] if kwargs.get("initial") is not None else []
    for item in items:
        if not out:
            out.append(item)
        elif func is None:
            out.append(cv.binop(operator.add, out[-1], item, frame, node))
        else:
            out.append(cv.calls.call(func, [out[-1], item], {}, frame, node))
    return cv.session.new_local_object(iter(out))


HANDLERS: Dict[Callable, Callable] = {
    itertools.chain: _itertool(itertools.chain),
    itertools.chain.from_iterable: _chain_from_iterable,
    itertools.islice: _itertool(itertools.islice, 1),
    itertools.product: _itertool(itertools.product),
    itertools.zip_longest: _itertool(itertools.zip_longest),
    itertools.combinations: _itertool(itertools.combinations, 1),
    itertools.permutations: _itertool(itertools.permutations, 1),
    itertools.combinations_with_replacement: _itertool(itertools.combinations_with_replacement, 1),
    itertools.pairwise: _itertool(itertools.pairwise),
    itertools.accumulate: _accumulate,
    **{op: _binary(op, False) for op in _BINARY},
    **{op: _binary(base, True) for op, base in _INPLACE.items()},
    **{op: _compare(op) for op in _COMPARE},
    **{op: _unary(op) for op in _UNARY},
    operator.not_: _not,
    operator.is_: _is(False),
    operator.is_not: _is(True),
    dict.fromkeys: _fromkeys(dict),
    collections.OrderedDict.fromkeys: _fromkeys(collections.OrderedDict),
    collections.defaultdict.fromkeys: _fromkeys(collections.defaultdict),
    operator.truth: _truth,
    operator.getitem: _getitem,
    operator.contains: _contains,
    functools.reduce: _reduce,
    functools.partial: _partial,
    iter: _iter,
    next: _next,
    **{cls: _collection(cls) for cls in LOCAL_COLLECTIONS},
}


def is_partial(func: Any) -> bool:
    return isinstance(func, functools.partial)

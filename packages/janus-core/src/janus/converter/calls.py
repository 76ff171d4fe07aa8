"""Calls in converted code.

A call is resolved by the first resolver of `RESOLVERS` that takes it, in this order:
a tensor method (a `call_method` node); a tensor or host read called (refused); a
function defined in the converted code, a builtin the converter models (`len`,
`range`, `print` ...), a call whose only effect is output (logging), a user Python
function or method (inlined: its AST is converted in place), a method of a list, dict
or set, a library call on deferred host reads (deferred too), an update of an outside
framework object (`optimizer.step()`), a framework callable (a `call` node, or an
in-place write computed out of place), a callable user object, an exception class, a
pure library call on plain values (evaluated now), a user class (an object built in
the call).  Anything else is unsupported: its effects could not be deferred.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import types
from typing import Any, Callable, Dict, List, Sequence, Tuple

from ..errors import SourceUnavailable
from ..ir.spec import PySpec, is_const_like
from ..source import get_source, is_user_function
from . import builtin_models, library
from .binding import bind_params
from .deferred import HOST_READ_METHODS, Deferred, call_method, contains_deferred, defer
from .frame import Frame, host_read_feeds, unsupported, where
from .signals import PASS, ReturnSignal
from .sym import Sym, contains_sym
from .values import ConvFunction, SymMethod

MAX_INLINE_DEPTH = 200
_PURE_MODULES = frozenset({"math", "operator", "cmath", "string", "itertools", "functools", "collections", "numbers"})
_PURE_BUILTINS = frozenset(
    {
        builtins.abs,
        builtins.all,
        builtins.any,
        builtins.bool,
        builtins.chr,
        builtins.divmod,
        builtins.float,
        builtins.format,
        builtins.frozenset,
        builtins.hasattr,
        builtins.int,
        builtins.issubclass,
        builtins.max,
        builtins.min,
        builtins.ord,
        builtins.pow,
        builtins.round,
        builtins.set,
        builtins.slice,
        builtins.sorted,
        builtins.sum,
        builtins.tuple,
        builtins.list,
        builtins.dict,
        builtins.type,
        builtins.isinstance,
        builtins.bytes,
        builtins.complex,
        builtins.hash,
        builtins.ascii,
        builtins.bin,
        builtins.hex,
        builtins.oct,
    }
)


class Calls:
    """Call resolution and inlining."""

    def __init__(self, cv: Any):
        self.cv = cv
        self.session = cv.session
        self.depth = 0  # inlined calls now open
        self.inline_stack: List[Tuple[Any, list]] = []  # (code, args) of the inlined user calls

    def call(self, func: Any, args: list, kwargs: dict, frame: Frame, node: ast.AST) -> Any:
        inner = getattr(func, "__janus_function__", None)
        if inner is not None:  # a janus.jit function called from converted code: inline it
            func = inner
        for resolve in RESOLVERS:
            result = resolve(self, func, args, kwargs, frame, node)
            if result is not PASS:
                return result
        name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__
        if isinstance(func, type):
            raise unsupported(
                f"creating a `{name}` object",
                frame,
                node,
                "only plain user classes, dataclasses and namedtuples can be built inside the function",
            )
        raise unsupported(
            f"call of `{name}`",
            frame,
            node,
            "not a framework function nor user Python code, so its effects cannot be deferred",
        )

    # -- inlining ---------------------------------------------------------------------------
    def run_body(self, fn_node: Any, callee: Frame, label: str, frame: Frame, node: ast.AST) -> Any:
        """Convert a function body (or a lambda's expression) in `callee`; its result."""
        self.depth += 1
        try:
            if self.depth > MAX_INLINE_DEPTH:
                raise unsupported(f"call of {label}", frame, node, f"recursion deeper than {MAX_INLINE_DEPTH} levels")
            if isinstance(fn_node, ast.Lambda):
                return self.cv.eval(fn_node.body, callee)
            self.cv.exec_block(fn_node.body, callee, top=True)
        except ReturnSignal as r:
            return r.value
        finally:
            self.depth -= 1
        return None

    def inline_function(self, fn: Any, args: list, kwargs: dict, frame: Frame, node: ast.AST) -> Any:
        scheduled = self.cv.recursion.on_call(fn, args, kwargs, frame, node)
        if scheduled is not PASS:
            return scheduled
        try:
            src = get_source(fn)
        except SourceUnavailable as e:
            raise unsupported(f"call of `{fn.__qualname__}`", frame, node, str(e)) from None
        if isinstance(src.node, ast.AsyncFunctionDef):
            raise unsupported(f"call of async function `{fn.__qualname__}`", frame, node)
        callee = self.callee_frame(fn, src)
        defaults = list(fn.__defaults__ or ())
        bound = bind_params(src.node, defaults, dict(fn.__kwdefaults__ or {}), list(args), kwargs, fn.__name__)
        callee.locals.update(self.tensor_defaults(fn, bound, where(frame, node)))
        self.inline_stack.append((fn.__code__, list(args)))
        try:
            return self.run_body(src.node, callee, fn.__qualname__, frame, node)
        finally:
            self.inline_stack.pop()

    def tensor_defaults(self, fn: types.FunctionType, bound: Dict[str, Any], site: str) -> Dict[str, Any]:
        """Parameters bound to a tensor default (`def f(x=torch.zeros(2))`), read by their
        path: graph inputs, guarded and written in place like any outside tensor (the
        default object persists between calls, and eager's `x.add_(1)` changes it)."""
        session = self.session
        sources: List[Tuple[Any, str, Any]] = [(d, "__defaults__", i) for i, d in enumerate(fn.__defaults__ or ())]
        sources += [(d, "__kwdefaults__", k) for k, d in (fn.__kwdefaults__ or {}).items()]
        fpath = None
        for name, value in bound.items():
            if isinstance(value, Sym) or not session.backend.owns(value):
                continue
            origin = next(((attr, key) for d, attr, key in sources if d is value), None)
            if origin is not None:
                fpath = fpath or session.heap.path_of(fn) or session.object_root(fn, fn.__qualname__)
                bound[name] = session.read_host(value, fpath.attr(origin[0]).item(origin[1]), None, site)
        return bound

    def callee_frame(self, fn: types.FunctionType, src: Any) -> Frame:
        """A frame for a user function: its globals, and its closure cells read by path."""
        session = self.session
        fpath = session.heap.path_of(fn) or session.object_root(fn, fn.__qualname__)
        cells = {
            name: (cell, fpath.cell(i))
            for i, (name, cell) in enumerate(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        }
        return Frame(fn.__name__, src.filename, src.scope, fn.__globals__, session.gid(fn.__globals__), cells)

    def inline_local(self, cf: ConvFunction, args: list, kwargs: dict, frame: Frame, node: ast.AST) -> Any:
        if cf.is_generator:
            raise unsupported(
                f"generator function `{cf.__name__}`",
                frame,
                node,
                "generators run lazily on the host; call it outside the jitted function",
            )
        d = cf.frame
        callee = Frame(cf.__name__, d.filename, cf.scope, d.fn_globals, d.gid, enclosing=d)
        callee.locals.update(bind_params(cf.node, cf.defaults, cf.kw_defaults, list(args), kwargs, cf.__name__))
        return self.run_body(cf.node, callee, cf.__name__, frame, node)

    # -- tensor methods ---------------------------------------------------------------------
    def call_tensor_method(self, m: SymMethod, args: list, kwargs: dict, frame: Frame, node: ast.AST) -> Any:
        session, site = self.session, where(frame, node)
        if m.name in HOST_READ_METHODS and not args and not kwargs:
            return defer(call_method(m.name), (m.sym,), f".{m.name}() of a tensor")
        static = _static_metadata(m, args, kwargs)
        if static is not PASS:  # `x.size(1)`, `x.dim()`: fixed by the tensor's guarded spec
            return static
        current = session.tensors.current(m.sym)
        holder = self.cv.objects.attribute_holder(current, m.name)
        bound = getattr(holder, m.name)
        why = session.rules.is_mutating(bound, [current.example] + _examples(args), _examples(kwargs))
        if holder is not current.example and not why:
            # a method of a variable written earlier in the call, on its new value
            stand_in = session.rules.written_variable_method(m.name)
            if stand_in is None:
                raise unsupported(f"`.{m.name}()` of a variable after an in-place write", frame, node)
            return session.emit("call", stand_in, (m.sym,) + tuple(args), kwargs, site)
        if not why:
            return session.emit("call_method", m.name, (m.sym,) + tuple(args), kwargs, site)
        if m.sym.value.node is not None and m.sym.value.node.meta.get("live_state"):
            # `p.grad.zero_()` after an in-graph backward(): the gradient is framework state
            # that the graph's own updates read, so the write runs there, in program order
            session.add_in_order("call_method", m.name, (m.sym,) + tuple(args), kwargs, site)
            return m.sym
        pure = session.rules.functional_method(m.name, [current.example] + _examples(args), _examples(kwargs))
        if pure is None:
            raise unsupported(f"in-place method `.{m.name}()`", frame, node, why)
        result = session.emit("call", pure, (m.sym,) + tuple(args), kwargs, site)
        return session.tensors.write(session.tensors.current(m.sym), result, site)

    def framework_call(self, func: Any, args: list, kwargs: dict, frame: Frame, node: ast.AST) -> Any:
        """A call node; a call that writes into an argument is computed out of place."""
        session, site = self.session, where(frame, node)
        why = session.rules.is_mutating(func, _examples(args), _examples(kwargs))
        if not why:
            return session.emit("call", func, tuple(args), kwargs, site)
        pure = session.rules.functional_call(func, _examples(args), _examples(kwargs))
        if pure is None:
            raise unsupported(f"in-place call {getattr(func, '__name__', func)}", frame, node, why)
        target, written_at = pure
        written = args[written_at] if isinstance(written_at, int) else kwargs.get(written_at)
        if not isinstance(written, Sym):
            raise unsupported(
                f"in-place call {getattr(func, '__name__', func)}",
                frame,
                node,
                "it writes into a value that is not a tensor of the graph",
            )
        result = session.emit("call", target, tuple(args), kwargs, site)
        return session.tensors.write(session.tensors.current(written), result, site)

    # -- objects built in the call ----------------------------------------------------------
    def construct_local(self, cls: type, args: list, kwargs: dict, frame: Frame, node: ast.AST) -> Any:
        """An object of a user class built in the call: a real object during conversion
        (holding graph values in its attributes), rebuilt on commit if it escapes."""
        if hasattr(cls, "_fields") and issubclass(cls, tuple):  # namedtuple: a tuple with names
            return cls(*args, **kwargs)
        module = getattr(cls, "__module__", "") or ""
        if (
            module == "builtins"
            or module.split(".")[0] in self.session.backend.framework_modules
            or cls.__new__ is not object.__new__  # type: ignore[comparison-overlap]
            or type(cls) is not type
            or getattr(cls, "__slots__", None) is not None
        ):
            return PASS
        init = cls.__init__  # type: ignore[misc]
        if hasattr(cls, "__dataclass_fields__") and not is_user_function(init, self.session.opaque):
            if hasattr(cls, "__post_init__"):
                return PASS
            obj = self.session.new_local_object(object.__new__(cls))
            obj.__dict__.update(_dataclass_fields(cls, args, kwargs))
            return obj
        if init is not object.__init__ and not is_user_function(init, self.session.opaque):
            return PASS
        obj = self.session.new_local_object(object.__new__(cls))
        if init is object.__init__:
            if args or kwargs:
                raise TypeError(f"{cls.__name__}() takes no arguments")
            return obj
        self.inline_function(init, [obj] + list(args), kwargs, frame, node)
        return obj

    def host_call_allowed(self, func: Any, args: list, kwargs: dict) -> bool:
        """A library call on plain host values (no graph values) the backend's rules say is
        pure, on no outside array (its contents are not guarded)."""
        if contains_sym((args, kwargs)) or not self.session.rules.is_pure_host_call(func, args, kwargs):
            return False
        heap = self.session.heap
        owner = getattr(func, "__self__", None)
        if owner is not None and not isinstance(owner, (type, types.ModuleType)) and heap.path_of(owner) is not None:
            return False
        return not any(
            hasattr(a, "__array__") and not isinstance(a, type) and heap.path_of(a) is not None
            for a in list(args) + list(kwargs.values())
        )


#: tensor methods whose result the guarded spec (dtype, shape, device) fixes
_SPEC_METHODS = frozenset(
    {"dim", "ndimension", "element_size", "is_complex", "is_floating_point", "get_device", "type"}
)
_SHAPE_METHODS = frozenset({"size", "numel", "nelement", "__len__"})


def _static_metadata(m: SymMethod, args: list, kwargs: dict) -> Any:
    """The value of a metadata method of a tensor, or PASS when the spec does not fix it
    (a dimension that varies between calls, an argument that is a graph value)."""
    spec = m.sym.spec
    if isinstance(spec, PySpec) or m.name not in _SPEC_METHODS | _SHAPE_METHODS or kwargs:
        return PASS
    if not all(is_const_like(a) for a in args) or (m.name == "type" and args):  # x.type(t) converts
        return PASS
    if m.name in _SHAPE_METHODS and None in spec.shape:
        if not (m.name == "size" and len(args) == 1 and type(args[0]) is int):
            return PASS
        if not -len(spec.shape) <= args[0] < len(spec.shape) or spec.shape[args[0]] is None:
            return PASS
    try:
        return getattr(m.sym.example, m.name)(*args)
    except Exception:  # eager raises it too (a bad dimension): let the call node say so
        return PASS


def _examples(values: Any) -> Any:
    """Plain values for backend hooks: every Sym replaced by its example."""
    if isinstance(values, Sym):
        return values.example
    if isinstance(values, list):
        return [_examples(v) for v in values]
    if isinstance(values, tuple):
        return tuple(_examples(v) for v in values)
    if isinstance(values, dict):
        return {k: _examples(v) for k, v in values.items()}
    return values


def _dataclass_fields(cls: type, args: Sequence, kwargs: Dict) -> Dict[str, Any]:
    """What a generated dataclass `__init__` assigns (defaults and factories included)."""
    values: Dict[str, Any] = {}
    fields = [f for f in dataclasses.fields(cls) if f.init]
    for f, a in zip(fields, args):
        values[f.name] = a
    values.update(kwargs)
    for f in fields:
        if f.name not in values:
            if f.default is not dataclasses.MISSING:
                values[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                values[f.name] = f.default_factory()
            else:
                raise TypeError(f"{cls.__name__}.__init__() missing required argument: '{f.name}'")
    return values


# -- the resolvers, in order ---------------------------------------------------------------
Resolver = Callable[[Calls, Any, list, dict, Frame, ast.AST], Any]


def _tensor_method(c: Calls, func, args, kwargs, frame, node):
    if isinstance(func, SymMethod):
        return c.call_tensor_method(func, args, kwargs, frame, node)
    # `torch.Tensor.add_(x, 1)`: a tensor method called through its class
    name = getattr(func, "__name__", None)
    if args and isinstance(args[0], Sym) and not isinstance(args[0].spec, PySpec) and isinstance(name, str):
        owner = getattr(func, "__objclass__", None)
        if isinstance(owner, type) and isinstance(args[0].example, owner) and getattr(owner, name, None) is func:
            return c.call_tensor_method(SymMethod(args[0], name), list(args[1:]), kwargs, frame, node)
    return PASS


def _not_callable(c: Calls, func, args, kwargs, frame, node):
    if isinstance(func, Sym):
        raise unsupported("calling a tensor", frame, node)
    if isinstance(func, Deferred):
        raise unsupported("calling a host-read value", frame, node)
    return PASS


def _local_function(c: Calls, func, args, kwargs, frame, node):
    return c.inline_local(func, args, kwargs, frame, node) if isinstance(func, ConvFunction) else PASS


def _builtin_model(c: Calls, func, args, kwargs, frame, node):
    try:
        handler = builtin_models.HANDLERS.get(func) or library.HANDLERS.get(func)
    except TypeError:  # an unhashable callable
        return PASS
    if handler is None:
        return PASS
    if func not in builtin_models.TAKES_DEFERRED and contains_deferred((args, kwargs)):
        # `range(int(t.sum()))`: the value is needed now, on the host
        raise host_read_feeds(f"`{func.__name__}()`", frame, node, (args, kwargs))
    return handler(c.cv, args, kwargs, frame, node)


def _output_call(c: Calls, func, args, kwargs, frame, node):
    """Logging and stream writes only output: deferred like print (arguments as they are now)."""
    if not builtin_models.is_output_call(func):
        return PASS
    snapshot = c.cv.snapshot
    c.session.heap.add(
        "call",
        None,
        (builtin_models.stream_bound(func), snapshot(list(args)), snapshot(dict(kwargs))),
        where(frame, node),
    )
    return None


def _user_function(c: Calls, func, args, kwargs, frame, node):
    resolved = c.session.rules.inline_target(func)
    if resolved is not None:
        func = resolved
    if isinstance(func, types.MethodType) and is_user_function(func.__func__, c.session.opaque):
        return c.inline_function(func.__func__, [func.__self__] + list(args), kwargs, frame, node)
    if isinstance(func, types.FunctionType) and is_user_function(func, c.session.opaque):
        return c.inline_function(func, list(args), kwargs, frame, node)
    return PASS


def _cached_function(c: Calls, func, args, kwargs, frame, node):
    return library.call_cached(c.cv, func, args, kwargs, frame, node) if library.is_cached_function(func) else PASS


def _partial_object(c: Calls, func, args, kwargs, frame, node):
    return library.call_partial(c.cv, func, args, kwargs, frame, node) if library.is_partial(func) else PASS


def _container_method(c: Calls, func, args, kwargs, frame, node):
    owner = getattr(func, "__self__", None)
    local = c.session.heap.path_of(owner) is None
    if local and isinstance(owner, library.LOCAL_COLLECTIONS) and c.session.is_local_object(owner):
        return c.cv.objects.local_container_call(owner, func, args, kwargs)  # deque.append, move_to_end ...
    if not isinstance(func, (types.BuiltinMethodType, types.MethodWrapperType)) or type(owner) not in (list, dict, set):
        return PASS
    if c.session.heap.path_of(owner) is not None:
        return c.cv.objects.container_effect(owner, func.__name__, args, kwargs, frame, node)
    return c.cv.objects.local_container_call(owner, func, args, kwargs)


def _on_host_reads(c: Calls, func, args, kwargs, frame, node):
    """A call on deferred host reads (`float(loss)`): deferred too, when it is pure."""
    if not contains_deferred((args, kwargs)):
        return PASS
    if c.session.backend.is_framework_callable(func) or contains_sym((args, kwargs)):
        raise host_read_feeds("tensor work", frame, node, (args, kwargs))
    if not (_is_pure(func) or func is print):
        raise host_read_feeds(f"a call of `{getattr(func, '__qualname__', func)}`", frame, node, (args, kwargs))
    if not kwargs:
        return defer(func, tuple(args), getattr(func, "__name__", "call"))
    return defer(lambda *a: func(*a[:-1], **a[-1]), tuple(args) + (kwargs,), "call")


def _framework_update(c: Calls, func, args, kwargs, frame, node):
    """e.g. optimizer.step(): the graph calls the class's method on the (guarded) object."""
    owner = getattr(func, "__self__", None)
    if (
        owner is None
        or isinstance(owner, (types.ModuleType, type))
        or c.session.heap.path_of(owner) is None
        or not c.session.rules.is_impure(func, _examples(args), _examples(kwargs))
    ):
        return PASS
    unbound = getattr(type(owner), func.__name__)
    return c.session.emit("call", unbound, (owner,) + tuple(args), kwargs, where(frame, node))


def _static_value_call(c: Calls, func, args, kwargs, frame, node):
    """`torch.finfo(x.dtype)`, `torch.get_default_dtype()`, `torch.device("cpu")`: Python
    values computed now; one that reads process state is re-read by a guard each call."""
    if contains_sym((args, kwargs)) or contains_deferred((args, kwargs)):
        return PASS
    try:
        kind = c.session.rules.static_call(func)
    except TypeError:  # an unhashable callable
        return PASS
    if kind is None or (kind == "state" and (args or kwargs)):
        return PASS
    value = func(*args, **kwargs)
    if kind == "state":
        c.session.guard("expr", None, (("call", func, ()), False, value), where(frame, node))
    return value


def _framework_object(c: Calls, func, args, kwargs, frame, node):
    """A stateless framework object built in the call (`nn.ReLU()`): built now."""
    if not isinstance(func, type) or contains_sym((args, kwargs)) or contains_deferred((args, kwargs)):
        return PASS
    obj = c.session.rules.local_object(func, args, kwargs)
    return PASS if obj is None else c.session.new_local_object(obj)


def _framework_callable(c: Calls, func, args, kwargs, frame, node):
    session = c.session
    if not session.backend.is_framework_callable(func) or (isinstance(func, type) and not _graph_class(session, func)):
        return PASS
    owner = getattr(func, "__self__", None)
    if (
        owner is not None
        and not isinstance(owner, types.ModuleType)
        and session.heap.path_of(owner) is not None
        and not session.backend.owns(owner)
    ):
        raise unsupported(
            f"call of {getattr(func, '__qualname__', func)!s}",
            frame,
            node,
            "a method of a stateful outside object (its state change cannot be deferred)",
        )
    why = session.rules.host_only(func)
    if why is not None:
        raise unsupported(f"call of {getattr(func, '__qualname__', func)!s}", frame, node, why)
    return c.framework_call(func, args, kwargs, frame, node)


def _graph_class(session, cls: type) -> bool:
    """A framework class whose instances live in graphs (contexts, tapes)."""
    types_ = getattr(session.backend, "graph_object_types", ())
    return bool(types_) and issubclass(cls, types_)


def _callable_object(c: Calls, func, args, kwargs, frame, node):
    call_impl = getattr(type(func), "__call__", None)
    if (
        isinstance(func, type)
        or not isinstance(call_impl, types.FunctionType)
        or not is_user_function(call_impl, c.session.opaque)
    ):
        return PASS
    return c.inline_function(call_impl, [func] + list(args), kwargs, frame, node)


def _exception_class(c: Calls, func, args, kwargs, frame, node):
    if isinstance(func, type) and issubclass(func, BaseException) and not contains_sym((args, kwargs)):
        return func(*args, **kwargs)
    return PASS


def _pure_call(c: Calls, func, args, kwargs, frame, node):
    """A pure library function on plain values: evaluated now (outside containers it reads
    whole are guarded by their contents)."""
    if contains_sym((args, kwargs)) or not (_is_pure(func) or c.host_call_allowed(func, args, kwargs)):
        return PASS
    owner = getattr(func, "__self__", None)
    if owner is not None and not isinstance(owner, (type, types.ModuleType)) and not is_const_like(owner):
        if c.session.heap.path_of(owner) is not None:  # `counter.update(...)` on the caller's object
            return PASS
        c.session.journal.write(owner)  # a method of an object built in the call may change it
    for a in list(args) + list(kwargs.values()):
        c.cv.objects.plain(a, frame, node)
    return func(*args, **kwargs)


def _math_of_host_numbers(c: Calls, func, args, kwargs, frame, node):
    """`math.sqrt(b)` of a Python number the host computes per call (`1 - 0.999 ** step`):
    computed by the host too, with Python's own semantics."""
    if kwargs or getattr(func, "__module__", None) != "math" or not contains_sym(args):
        return PASS
    derived = c.session.host_scalar(func, tuple(args), where(frame, node))
    return PASS if derived is None else derived


def _user_class(c: Calls, func, args, kwargs, frame, node):
    return c.construct_local(func, args, kwargs, frame, node) if isinstance(func, type) else PASS


RESOLVERS: Tuple[Resolver, ...] = (
    _tensor_method,
    _not_callable,
    _local_function,
    _partial_object,
    _cached_function,
    _builtin_model,
    _output_call,
    _user_function,
    _container_method,
    _on_host_reads,
    _framework_update,
    _static_value_call,
    _framework_object,
    _framework_callable,
    _callable_object,
    _exception_class,
    _pure_call,
    _math_of_host_numbers,
    _user_class,
)


def _is_pure(func: Any) -> bool:
    try:
        if func in _PURE_BUILTINS:
            return True
    except TypeError:
        pass
    mod = getattr(func, "__module__", None) or ""
    if mod.split(".")[0] in _PURE_MODULES:
        return True
    owner = getattr(func, "__self__", None)
    return owner is not None and is_const_like(owner) and not isinstance(owner, types.ModuleType)

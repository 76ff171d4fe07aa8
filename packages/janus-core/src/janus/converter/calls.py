"""Calls, attributes, items and iteration, for the converter.

A call is resolved in this order: a tensor method (`call_method` node); a function
defined in the converted code or a user Python function (inlined: its AST is converted
in place); a builtin the converter models (`len`, `range`, `print`, `isinstance`...); a
write through a method of an outside container (a deferred effect); a framework callable
(a `call` node); a pure stdlib callable on Python values (evaluated now).  Anything else
is unsupported: its effects could not be deferred.
"""
from __future__ import annotations

import ast
import builtins
import dataclasses
import inspect
import operator
import types
from typing import Any, Dict, List

from ..errors import SourceUnavailable
from ..ir.graph import Node
from ..ir.spec import PySpec, is_const_like
from . import builtin_models
from .core import Respecialize, contains_sym
from .deferred import HOST_READ_METHODS, Deferred, call_method, contains_deferred, defer
from .heap import Effect, Path, Sym, typed_snapshot
from .source import get_source, is_user_function
from .values import ConvFunction, SymMethod

MAX_INLINE_DEPTH = 200
_SPEC_ATTRS = frozenset({"shape", "dtype", "ndim", "device", "is_cuda", "layout", "requires_grad", "is_leaf"})
_PURE_MODULES = frozenset({"math", "operator", "cmath", "string", "itertools", "functools", "collections", "numbers"})
_PURE_BUILTINS = frozenset({
    builtins.abs, builtins.all, builtins.any, builtins.bool, builtins.callable, builtins.chr, builtins.divmod,
    builtins.float, builtins.format, builtins.frozenset, builtins.hasattr, builtins.int, builtins.issubclass,
    builtins.max, builtins.min, builtins.ord, builtins.pow, builtins.repr, builtins.round, builtins.set,
    builtins.slice, builtins.sorted, builtins.str, builtins.sum, builtins.tuple, builtins.list, builtins.dict,
    builtins.type, builtins.isinstance, builtins.bytes, builtins.complex, builtins.hash, builtins.ascii,
    builtins.bin, builtins.hex, builtins.oct})


def bind_params(node, defaults: list, kw_defaults: dict, args: list, kwargs: dict, name: str) -> Dict[str, Any]:
    """Python's argument binding for an AST function signature."""
    a = node.args
    positional = [p.arg for p in a.posonlyargs + a.args]
    out: Dict[str, Any] = {}
    kwargs = dict(kwargs)
    for i, value in enumerate(args):
        if i < len(positional):
            out[positional[i]] = value
        elif a.vararg is None:
            raise TypeError(f"{name}() takes {len(positional)} positional arguments but {len(args)} were given")
    if a.vararg is not None:
        out[a.vararg.arg] = tuple(args[len(positional):])
    posonly = {p.arg for p in a.posonlyargs}
    for pname in positional + [p.arg for p in a.kwonlyargs]:
        if pname in kwargs and pname not in posonly:
            if pname in out:
                raise TypeError(f"{name}() got multiple values for argument '{pname}'")
            out[pname] = kwargs.pop(pname)
    first_default = len(positional) - len(defaults)
    for i, pname in enumerate(positional):
        if pname not in out:
            if i >= first_default:
                out[pname] = defaults[i - first_default]
            else:
                raise TypeError(f"{name}() missing required positional argument: '{pname}'")
    for p in a.kwonlyargs:
        if p.arg not in out:
            if p.arg not in kw_defaults:
                raise TypeError(f"{name}() missing required keyword-only argument: '{p.arg}'")
            out[p.arg] = kw_defaults[p.arg]
    if a.kwarg is not None:
        out[a.kwarg.arg] = kwargs
    elif kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    return out


class CallsMixin:
    depth = 0

    # -- calls -------------------------------------------------------------------
    def call(self, func, args: list, kwargs: dict, frame, node):
        site = self.where(frame, node)
        if isinstance(func, SymMethod):
            return self.call_tensor_method(func, args, kwargs, frame, node)
        if isinstance(func, Sym):
            raise self.unsupported("calling a tensor", frame, node)
        if isinstance(func, ConvFunction):
            return self.inline_conv(func, args, kwargs, frame, node)
        if isinstance(func, Deferred):
            raise self.unsupported("calling a host-read value", frame, node)
        inner = getattr(func, "__janus_function__", None)
        if inner is not None:  # a janus.jit function called from converted code: inline it
            func = inner
        handler = _handler(func)
        if handler is not None:
            return handler(self, args, kwargs, frame, node)
        if _is_output_call(func):
            # logging / stream writes: only output, so deferred like print (arguments snapshot now)
            self.heap.effects.append(Effect("call", None, (_stream_bound(func), self.snapshot(list(args)),
                                                           self.snapshot(dict(kwargs))), site))
            return None
        resolved = self.backend.inline_target(func)
        if resolved is not None:
            func = resolved
        if isinstance(func, types.MethodType) and is_user_function(func.__func__):
            return self.inline_function(func.__func__, [func.__self__] + list(args), kwargs, frame, node)
        if isinstance(func, types.FunctionType) and is_user_function(func):
            return self.inline_function(func, list(args), kwargs, frame, node)
        owner = getattr(func, "__self__", None)
        if isinstance(func, (types.BuiltinMethodType, types.MethodWrapperType)) and type(owner) in (list, dict, set):
            if self.heap.path_of(owner) is not None:
                return self.container_effect(owner, func.__name__, args, kwargs, frame, node)
            return self.local_container_call(owner, func, args, kwargs)
        if contains_deferred((args, kwargs)):
            if self.backend.is_framework_callable(func) or contains_sym((args, kwargs)):
                raise self.host_read_feeds("tensor work", frame, node)
            if _is_pure(func) or func is print:
                return defer(func, tuple(args) + ((kwargs,) if kwargs else ()), getattr(func, "__name__", "call")) \
                    if not kwargs else defer(lambda *a: func(*a[:-1], **a[-1]), tuple(args) + (kwargs,), "call")
            raise self.host_read_feeds(f"a call of `{getattr(func, '__qualname__', func)}`", frame, node)
        if owner is not None and self.heap.path_of(owner) is not None and not isinstance(owner, (types.ModuleType, type)) \
                and self.backend.is_impure(func, args, kwargs):
            # e.g. optimizer.step(): the graph calls the class's method on the (guarded) object
            unbound = getattr(type(owner), func.__name__)
            return self.emit("call", unbound, (owner,) + tuple(args), kwargs, site)
        if self.backend.is_framework_callable(func) and (not isinstance(func, type) or self._graph_class(func)):
            if owner is not None and not isinstance(owner, types.ModuleType) and self.heap.path_of(owner) is not None \
                    and not self.backend.owns(owner):
                raise self.unsupported(f"call of {getattr(func, '__qualname__', func)!s}", frame, node,
                                       "a method of a stateful outside object (its state change cannot be deferred)")
            why = self.backend.is_mutating(func, args, kwargs)
            if why:
                pure = self.backend.functional_call(func, list(args), dict(kwargs))
                if pure is None:
                    raise self.unsupported(f"in-place call {getattr(func, '__name__', func)}", frame, node, why)
                target2, args2, kwargs2, written = pure
                result = self.emit("call", target2, tuple(args2), kwargs2, site)
                if not isinstance(written, Sym):
                    raise self.unsupported(f"in-place call {getattr(func, '__name__', func)}", frame, node,
                                           "it writes into a value that is not a tensor of the graph")
                return self.write_state(self.current(written), result, frame, node)
            return self.emit("call", func, tuple(args), kwargs, site)
        call_impl = getattr(type(func), "__call__", None)
        if not isinstance(func, type) and isinstance(call_impl, types.FunctionType) and is_user_function(call_impl):
            return self.inline_function(call_impl, [func] + list(args), kwargs, frame, node)
        if isinstance(func, type) and issubclass(func, BaseException) and not contains_sym((args, kwargs)):
            return func(*args, **kwargs)
        if not contains_sym((args, kwargs)) and (_is_pure(func) or self._pure_numpy(func, args, kwargs)):
            for a in list(args) + list(kwargs.values()):
                self.plain(a, frame, node)
            return func(*args, **kwargs)
        name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__
        if isinstance(func, type):
            made = self.construct_local(func, args, kwargs, frame, node)
            if made is not _MISSING:
                return made
            raise self.unsupported(f"creating a `{name}` object", frame, node, "only plain user classes, dataclasses and "
                                   "namedtuples can be built inside the function")
        raise self.unsupported(f"call of `{name}`", frame, node,
                               "not a framework function nor user Python code, so its effects cannot be deferred")

    def plain(self, value, frame, node, depth: int = 0) -> None:
        """Python code evaluated now (a library function, an operator, a format) reads the
        whole of `value`: guard every outside container in it by its full typed contents,
        or refuse one holding what such a guard cannot pin down (tensors, objects)."""
        t = type(value)
        if t not in (list, tuple, dict, set, frozenset) or depth > 8:
            if self.heap.path_of(value) is not None and any(
                    isinstance(getattr(t, hook, None), types.FunctionType) for hook in _PYTHON_LEVEL_HOOKS):
                raise self.unsupported(f"library code using a `{t.__name__}` object", frame, node,
                                       "its class defines how it prints or compares in Python code")
            return
        path = self.heap.path_of(value)
        if path is None:
            for item in (list(value.keys()) + list(value.values()) if t is dict else value):
                self.plain(item, frame, node, depth + 1)
            return
        if id(value) in self.heap.dirty or any(k[0] == id(value) for k in self.heap.shadows):
            raise self.unsupported(f"reading an outside `{t.__name__}` whole after writing it in the same call",
                                   frame, node)
        snapshot = typed_snapshot(value)
        if snapshot is None:
            raise self.unsupported(f"Python code reading an outside `{t.__name__}` whole", frame, node,
                                   "it holds tensors or objects; only numbers, strings and containers of them "
                                   "can be guarded by their contents")
        self.guard("equals", path, snapshot, self.where(frame, node))

    def local_container_call(self, owner, func, args, kwargs):
        """A method of a list/dict/set built in this call: run now (journaled when it may
        change the container); a copy it returns is a container built in the call too."""
        name = func.__name__
        if name not in _READ_ONLY_METHODS:
            self.journal.write(owner)
        result = func(*args, **kwargs)
        if name == "copy":
            self.journal.born(result)
        return result

    def _pure_numpy(self, func, args, kwargs) -> bool:
        """A NumPy call on Python values only (building a constant array), when NumPy is not
        the backend's framework: evaluated now.  Never one that writes into an array."""
        owner = getattr(func, "__self__", None)
        if owner is not None and type(owner).__module__.split(".")[0] == "numpy" and not isinstance(owner, type):
            # a method of an array built in this call (`np.asarray(a).copy()`)
            return self.heap.path_of(owner) is None and "out" not in kwargs and getattr(func, "__name__", "") not in (
                "fill", "sort", "resize", "itemset", "put", "partition", "setflags", "setfield", "byteswap")
        mod = (getattr(func, "__module__", None) or type(func).__module__ or "")
        if mod.split(".")[0] != "numpy" or mod.startswith("numpy.random") or "out" in kwargs:
            return False
        if getattr(func, "__name__", "") in ("copyto", "put", "place", "putmask", "fill_diagonal"):
            return False
        flat = list(args) + list(kwargs.values())
        return not any(hasattr(a, "__array__") and not isinstance(a, type) and self.heap.path_of(a) is not None for a in flat)

    def construct_local(self, cls, args, kwargs, frame, node):
        """An object of a user class built in the call: a real object during conversion
        (holding graph values in its attributes), rebuilt on commit if it escapes."""
        if hasattr(cls, "_fields") and issubclass(cls, tuple):  # namedtuple: a tuple with names
            return cls(*args, **kwargs)
        if getattr(cls, "__module__", "").split(".")[0] in ("torch", "tensorflow", "keras", "numpy", "builtins"):
            return _MISSING
        if cls.__new__ is not object.__new__ or type(cls) is not type or getattr(cls, "__slots__", None) is not None:
            return _MISSING
        init = cls.__init__
        obj = self.journal.born(object.__new__(cls))
        self.__dict__.setdefault("local_objects", set()).add(id(obj))
        self.__dict__.setdefault("_keep_alive", []).append(obj)
        if hasattr(cls, "__dataclass_fields__") and not is_user_function(init):
            # a generated dataclass __init__ only assigns fields (defaults and factories included)
            import dataclasses
            values = {}
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
            if hasattr(cls, "__post_init__"):
                return _MISSING
            obj.__dict__.update(values)
            return obj
        if init is object.__init__:
            if args or kwargs:
                raise TypeError(f"{cls.__name__}() takes no arguments")
            return obj
        if not is_user_function(init):
            return _MISSING
        self.inline_function(init, [obj] + list(args), kwargs, frame, node)
        return obj

    def is_local_object(self, obj) -> bool:
        return id(obj) in self.__dict__.get("local_objects", ())

    def _graph_class(self, cls) -> bool:
        """A framework class whose instances live in graphs (contexts, tapes)."""
        return bool(getattr(self.backend, "graph_object_types", ())) and issubclass(cls, self.backend.graph_object_types)

    def call_tensor_method(self, m: SymMethod, args, kwargs, frame, node):
        if m.name in HOST_READ_METHODS and not args and not kwargs:
            return defer(call_method(m.name), (m.sym,), f".{m.name}() of a tensor")
        current = self.current(m.sym)
        holder = self.attribute_holder(current, m.name)
        bound = getattr(holder, m.name)
        why = self.backend.is_mutating(bound, [m.sym] + list(args), kwargs)
        if holder is not current.example and not why:
            # a method of a variable written earlier in the call, on its new value
            stand_in = self.backend.written_variable_method(m.name)
            if stand_in is None:
                raise self.unsupported(f"`.{m.name}()` of a variable after an in-place write", frame, node)
            return self.emit("call", stand_in, (m.sym,) + tuple(args), kwargs, self.where(frame, node))
        live = m.sym.value.node is not None and m.sym.value.node.meta.get("live_state")
        if why and live:
            # `p.grad.zero_()` after an in-graph backward(): the gradient is framework state
            # that the graph's own updates read, so the write runs there, in program order
            self.add_in_order("call_method", m.name, (m.sym,) + tuple(args), kwargs, self.where(frame, node))
            return m.sym
        if why:
            pure = self.backend.functional_method(m.name, [m.sym] + list(args), dict(kwargs))
            if pure is None:
                raise self.unsupported(f"in-place method `.{m.name}()`", frame, node, why)
            op, target, args2, kwargs2 = pure
            result = self.emit(op, target, tuple(args2), kwargs2, self.where(frame, node))
            return self.write_state(self.current(m.sym), result, frame, node)
        return self.emit("call_method", m.name, (m.sym,) + tuple(args), kwargs, self.where(frame, node))

    def _enter(self, frame, node, name):
        self.depth += 1
        if self.depth > MAX_INLINE_DEPTH:
            raise self.unsupported(f"call of {name}", frame, node, f"recursion deeper than {MAX_INLINE_DEPTH} levels")

    def inline_function(self, fn, args, kwargs, frame, node):
        from .interp import Frame, ReturnSignal
        from .recursion import ScheduleRecursion
        code = getattr(fn, "__code__", None)
        sched_codes = self.__dict__.get("schedule_codes", {})
        if code in sched_codes:
            idx = sched_codes[code]
            sched = self.__dict__.get("schedule")
            if sched is not None and sched["fn"].__code__ is code and getattr(self, "node_ctx", None) is not None:
                others = [a for i, a in enumerate(args) if i != idx]
                if len(args) != len(sched["args"]) or kwargs or any(
                        a is not b for a, b in zip(others, [a for i, a in enumerate(sched["args"]) if i != idx])):
                    raise self.unsupported("recursion as data", frame, node, "recursive calls must pass the other arguments unchanged")
                return self.recursive_child(args[idx])
            if sched is None:
                return self.schedule_call(fn, list(args), kwargs, idx, frame, node)
        elif code is not None and not self.__dict__.get("no_schedule"):
            idx = self.recursion_entry(fn, list(args))
            if idx is not None:
                raise ScheduleRecursion(code, idx)
        try:
            src = get_source(fn)
        except SourceUnavailable as e:
            raise self.unsupported(f"call of `{fn.__qualname__}`", frame, node, str(e)) from None
        if isinstance(src.node, ast.AsyncFunctionDef):
            raise self.unsupported(f"call of async function `{fn.__qualname__}`", frame, node)
        fpath = self.heap.path_of(fn)
        if fpath is None:
            fpath = self.object_root(fn, fn.__qualname__)
        cells = {name: (cell, fpath.cell(i)) for i, (name, cell) in enumerate(zip(fn.__code__.co_freevars, fn.__closure__ or ()))}
        defaults = list(fn.__defaults__ or ())
        params = bind_params(src.node, defaults, dict(fn.__kwdefaults__ or {}), list(args), kwargs, fn.__name__)
        callee = Frame(fn.__name__, src.filename, src.scope, fn.__globals__, self.gid(fn.__globals__), cells)
        callee.locals.update(params)
        self._enter(frame, node, fn.__qualname__)
        stack = self.__dict__.setdefault("inline_stack", [])
        stack.append((code, list(args)))
        try:
            if isinstance(src.node, ast.Lambda):
                return self.eval(src.node.body, callee)
            self.exec_block(src.node.body, callee, top=True)
        except ReturnSignal as r:
            return r.value
        finally:
            self.depth -= 1
            stack.pop()
        return None

    def inline_conv(self, cf: ConvFunction, args, kwargs, frame, node):
        from .interp import Frame, ReturnSignal
        if cf.is_generator:
            raise self.unsupported(f"generator function `{cf.__name__}`", frame, node,
                                   "generators run lazily on the host; call it outside the jitted function")
        params = bind_params(cf.node, cf.defaults, cf.kw_defaults, list(args), kwargs, cf.__name__)
        d = cf.frame
        callee = Frame(cf.__name__, d.filename, cf.scope, d.fn_globals, d.gid, enclosing=d)
        callee.locals.update(params)
        self._enter(frame, node, cf.__name__)
        try:
            if isinstance(cf.node, ast.Lambda):
                return self.eval(cf.node.body, callee)
            self.exec_block(cf.node.body, callee, top=True)
        except ReturnSignal as r:
            return r.value
        finally:
            self.depth -= 1
        return None

    def object_root(self, obj, label: str) -> Path:
        """A path rooted at a long-lived object (a method's function, a class)."""
        roots = self.__dict__.setdefault("object_roots", [])
        for i, known in enumerate(roots):
            if known is obj:
                return Path(("obj", i, label))
        roots.append(obj)
        return Path(("obj", len(roots) - 1, label))

    # -- outside containers: writes become effects ----------------------------------
    def container_effect(self, owner, method: str, args, kwargs, frame, node):
        site = self.where(frame, node)
        heap = self.heap
        if isinstance(owner, list) and method in ("append", "extend", "insert", "clear", "reverse"):
            if method == "extend":
                args = [list(self.iterate(args[0], frame, node))]
            heap.dirty[id(owner)] = method
            heap.effects.append(Effect(method, owner, tuple(args), site))
            return None
        if isinstance(owner, dict) and method in ("get", "setdefault", "update", "__contains__"):
            key = args[0] if args else None
            if method == "update":
                new = dict(*args, **kwargs)
                for k, v in new.items():
                    self.set_item(owner, k, v, frame, node)
                return None
            present = self.contains_key(owner, key, frame, node)
            if method == "__contains__":
                return present
            if present:
                return self.get_item(owner, key, frame, node)
            default = args[1] if len(args) > 1 else None
            if method == "setdefault":
                self.set_item(owner, key, default, frame, node)
            return default
        if isinstance(owner, set) and method == "add":
            heap.dirty[id(owner)] = method
            heap.effects.append(Effect("add", owner, tuple(args), site))
            return None
        raise self.unsupported(f"`{type(owner).__name__}.{method}` on an outside object", frame, node,
                               "this container operation is not supported yet")

    def contains_key(self, owner, key, frame, node) -> bool:
        if not is_const_like(key):
            raise self.unsupported("a dictionary key that is not a Python constant", frame, node)
        if (id(owner), ("item", key)) in self.heap.shadows:
            return self.heap.shadows[(id(owner), ("item", key))] is not _DELETED
        self.guard("contains", self.heap.path_of(owner), (key, key in owner), self.where(frame, node))
        return key in owner

    # -- attributes ------------------------------------------------------------------
    def get_attr(self, obj, name: str, frame, node):
        if isinstance(obj, Sym):
            return self.sym_attr(obj, name, frame, node)
        if isinstance(obj, SymMethod):
            raise self.unsupported("attribute of a tensor method", frame, node)
        if isinstance(obj, ConvFunction):
            raise self.unsupported("attribute of a function defined in the converted code", frame, node)
        path = self.heap.path_of(obj)
        if path is None:
            return getattr(obj, name)
        shadow = self.heap.shadows.get((id(obj), ("attr", name)), _MISSING)
        if type(shadow).__name__ == "ConditionalWrite":
            raise self.unsupported(f"reading `.{name}` after a data-dependent write", frame, node)
        if shadow is _DELETED:
            raise AttributeError(f"'{type(obj).__name__}' object has no attribute '{name}'")
        if shadow is not _MISSING:
            return shadow
        static = inspect.getattr_static(type(obj), name, None) if not isinstance(obj, (type, types.ModuleType)) else None
        if isinstance(static, property) and static.fget is not None and is_user_function(static.fget):
            return self.inline_function(static.fget, [obj], {}, frame, node)
        try:
            value = getattr(obj, name)
        except AttributeError:  # `hasattr`, `getattr(o, n, default)`: the absence is guarded too
            self.guard("expr", None, (("call", builtins.hasattr, (("path", path), ("const", name))), True, False),
                       self.where(frame, node))
            raise
        return self.read_host(value, path.attr(name), self.key(frame, node), f"{self.where(frame, node)}: {ast.unparse(node)[:60]}")

    def sym_attr(self, sym: Sym, name: str, frame, node):
        if isinstance(sym.spec, PySpec):
            if sym.spec.type not in (int, float, bool, complex):  # an opaque framework object in the graph
                attr = getattr(sym.example, name, None)
                if callable(attr):
                    return SymMethod(sym, name)
                if self.backend.owns(attr):  # a tensor part of it (`slices.values`): read in the graph
                    return self.emit("call", getattr, (sym, name), {}, self.where(frame, node))
                raise self.unsupported(f"attribute `.{name}` of a {sym.spec.type.__name__} inside a graph", frame, node)
            return getattr(self.demand(sym, f"attribute .{name} of a Python value", self.where(frame, node)), name)
        host_path = self._input_path(sym)
        if host_path is None and name == "grad":
            # `p -= lr * p.grad` keeps the tensor object: its .grad is still the outside one
            root, host_path = self._outside_tensor(sym)
            sym = root if root is not None else sym
        if host_path is not None and name not in _SPEC_ATTRS:
            shadow = self.heap.shadows.get((id(sym.example), ("attr", name)), _MISSING)
            if shadow is not _MISSING:
                return shadow
            if self.impure_emitted and name == "grad":
                # after backward() ran in the graph: read .grad in the graph, not before it
                node_ = Node("call", getattr, (sym.value, name), site=self.where(frame, node))
                node_.meta["live_state"] = True  # in-place methods on it run in the graph, in order
                self.region.add(node_)
                spec = dataclasses.replace(sym.spec, requires_grad=False) if hasattr(sym.spec, "requires_grad") else sym.spec
                grad = getattr(sym.example, name, None)
                return self._sym(node_.add_output(spec), sym.example if grad is None else grad)
            raw = getattr(sym.example, name)
            if not callable(raw) or self.backend.owns(raw):
                # state hanging off an outside tensor (`p.grad`): read fresh on every call
                self.heap.note(sym.example, host_path)
                return self.read_host(raw, host_path.attr(name), self.key(frame, node),
                                      f"{self.where(frame, node)}: .{name}")
        attr = getattr(self.attribute_holder(sym, name), name)
        if name in _SPEC_ATTRS:
            if name == "shape" and None in sym.spec.shape:
                raise Respecialize()
            return attr
        if callable(attr) and not self.backend.owns(attr):
            return SymMethod(sym, name)
        if self.backend.owns(attr):
            return self.emit("call", getattr, (sym, name), {}, self.where(frame, node))
        if is_const_like(attr):
            return attr
        raise self.unsupported(f"tensor attribute `.{name}`", frame, node)

    def set_attr(self, obj, name: str, value, frame, node):
        if isinstance(obj, Sym):
            host_path = self._input_path(obj)
            if host_path is None and name == "grad":
                root, host_path = self._outside_tensor(obj)
                obj = root if root is not None else obj
            if host_path is None or name in _SPEC_ATTRS or name == "data":
                raise self.unsupported(f"setting attribute `.{name}` on a tensor", frame, node)
            if name == "grad" and self.impure_emitted:
                # backward() ran in the graph: .grad is graph-time state, reset it there, in
                # program order (a deferred write would land after the whole step)
                self.add_in_order("call", setattr, (obj, name, value), {}, self.where(frame, node))
                self.heap.shadows[(id(obj.example), ("attr", name))] = value
                return
            self.heap.note(obj.example, host_path)  # e.g. `p.grad = None` on a parameter
            self.heap.shadows[(id(obj.example), ("attr", name))] = value
            self.heap.effects.append(Effect("setattr", obj.example, (name, value), self.where(frame, node)))
            return
        path = self.heap.path_of(obj)
        if path is None:
            if self.is_local_object(obj):
                self.journal.write(obj)
                obj.__dict__[name] = value  # an object built in this call: just hold the value
                return
            if isinstance(obj, ConvFunction):
                raise self.unsupported("setting an attribute of a nested function", frame, node)
            raise self.unsupported(f"setting `.{name}` on a `{type(obj).__name__}` object created in the call", frame, node,
                                   "objects built inside the function are not supported yet")
        if isinstance(value, Sym) and self._same_tensor_at(path.attr(name), value):
            self.heap.shadows[(id(obj), ("attr", name))] = value
            return  # `obj.w -= g`: written in place, the attribute still holds the same tensor
        static = inspect.getattr_static(type(obj), name, None)
        custom = getattr(type(obj), "__setattr__", None)
        if isinstance(static, property) or is_user_function(custom):
            raise self.unsupported(f"setting `.{name}` through a property or a custom __setattr__", frame, node)
        self.heap.shadows[(id(obj), ("attr", name))] = value
        self.heap.effects.append(Effect("setattr", obj, (name, value), self.where(frame, node)))

    def del_attr(self, obj, name, frame, node):
        if isinstance(obj, Sym) or self.heap.path_of(obj) is None:
            raise self.unsupported("`del` of an attribute", frame, node)
        self.get_attr(obj, name, frame, node)  # raises AttributeError exactly when eager would
        self.heap.shadows[(id(obj), ("attr", name))] = _DELETED
        self.heap.effects.append(Effect("delattr", obj, (name,), self.where(frame, node)))

    def attribute_holder(self, sym: Sym, name: str) -> Any:
        """Where `sym.name` is looked up: the example, or, for the new value of an outside
        variable written in place (a plain tensor), the variable itself."""
        if hasattr(sym.example, name):
            return sym.example
        root, _path = self._outside_tensor(sym)
        if root is not None and root is not sym and hasattr(root.example, name):
            return root.example
        return sym.example

    def _input_path(self, sym: Sym):
        """The outside path of a tensor that is an unmodified graph input, else None."""
        node = sym.value.node
        if node is None or node.op != "input" or getattr(self, "versions", {}).get(sym.value.id) is not None:
            return None
        return next((p for p, s in self._inputs_by_path.items() if s.value is sym.value), None)

    def _outside_tensor(self, sym: Sym):
        """(input Sym, outside path) of the tensor `sym` is or is a version of (in-place
        writes keep the tensor object), else (None, None)."""
        vid = getattr(self, "version_root", {}).get(sym.value.id, sym.value.id)
        for p, s in self._inputs_by_path.items():
            if s.value.id == vid:
                return s, p
        return None, None

    def _same_tensor_at(self, path, value: Sym) -> bool:
        """Is `value` a version of the tensor read from `path` (so storing it is no rebinding)?"""
        inp = self._inputs_by_path.get(path)
        if inp is None or not getattr(self, "version_root", None):
            return False
        return self.version_root.get(value.value.id) == inp.value.id

    # -- items ----------------------------------------------------------------------
    def get_item(self, obj, idx, frame, node):
        site = self.where(frame, node)
        if isinstance(obj, Sym):
            if isinstance(obj.spec, PySpec):
                raise self.unsupported("subscript of a Python value", frame, node)
            return self.emit("call", operator.getitem, (obj, idx), {}, site)
        if isinstance(idx, Sym):
            if isinstance(idx.spec, PySpec):
                idx = self.demand(idx, "a Python index", site)
            else:
                raise self.unsupported("indexing a Python container with a tensor", frame, node)
        path = self.heap.path_of(obj)
        if path is None:
            return obj[idx]
        if id(obj) in self.heap.dirty:
            raise self.unsupported(f"reading `{type(obj).__name__}` after it was changed in the same call", frame, node,
                                   "read-after-write of outside containers is not supported yet")
        if isinstance(obj, dict) and is_const_like(idx):
            shadow = self.heap.shadows.get((id(obj), ("item", idx)), _MISSING)
            if type(shadow).__name__ == "ConditionalWrite":
                raise self.unsupported("reading an item after a data-dependent write", frame, node)
            if shadow is _DELETED:
                raise KeyError(idx)
            if shadow is not _MISSING:
                return shadow
            return self.read_host(obj[idx], path.item(idx), self.key(frame, node), f"{site}: {ast.unparse(node)[:60]}")
        if isinstance(obj, (list, tuple)) or hasattr(obj, "__len__"):
            if type(idx) is slice:
                n = self.host_len(obj, frame, node)
                return type(obj)(self.read_host(obj[i], path.item(i), None, site) for i in range(n)[idx]) \
                    if type(obj) in (list, tuple) else self._unsupported_slice(frame, node)
            if type(idx) is int:
                if idx < 0:
                    idx += self.host_len(obj, frame, node)
                return self.read_host(obj[idx], path.item(idx), self.key(frame, node), f"{site}: {ast.unparse(node)[:60]}")
        if is_const_like(idx):
            return self.read_host(obj[idx], path.item(idx), self.key(frame, node), site)
        raise self.unsupported("subscript of an outside object", frame, node)

    def _unsupported_slice(self, frame, node):
        raise self.unsupported("slicing an outside container", frame, node)

    def host_len(self, obj, frame, node) -> int:
        path = self.heap.path_of(obj)
        if path is None:
            return len(obj)
        if id(obj) in self.heap.dirty:
            raise self.unsupported("length of a container changed in the same call", frame, node)
        self.guard("len", path, len(obj), self.where(frame, node))
        return len(obj)

    def set_item(self, obj, idx, value, frame, node):
        if isinstance(obj, Sym):
            if not self.backend.capabilities.item_assignment and not isinstance(obj.spec, PySpec):
                raise TypeError(f"'{type(obj.example).__name__}' object does not support item assignment")
            if isinstance(obj.spec, PySpec) or self.backend.setitem_functional is None:
                raise self.unsupported("item assignment into a tensor", frame, node,
                                       f"backend {self.backend.name} has no functional item assignment")
            cur = self.current(obj)
            result = self.emit("call", self.backend.setitem_functional, (cur, idx, value), {}, self.where(frame, node))
            self.write_state(cur, result, frame, node)
            return
        if isinstance(idx, Sym):
            if not isinstance(idx.spec, PySpec):
                raise self.unsupported("a tensor as a container index", frame, node)
            idx = self.demand(idx, "a Python index", self.where(frame, node))
        path = self.heap.path_of(obj)
        if path is None:
            self.journal.write(obj)
            obj[idx] = value
            return
        if not isinstance(obj, (dict, list)) or not is_const_like(idx):
            raise self.unsupported(f"item assignment into an outside `{type(obj).__name__}`", frame, node)
        if isinstance(value, Sym) and self._same_tensor_at(path.item(idx), value):
            self.heap.shadows[(id(obj), ("item", idx))] = value
            return
        if isinstance(obj, dict) and not self.contains_key(obj, idx, frame, node):
            self.heap.dirty[id(obj)] = "new key"
        if isinstance(obj, list):
            n = self.host_len(obj, frame, node)
            if not -n <= idx < n:
                raise IndexError("list assignment index out of range")
            idx = idx % n
        self.heap.shadows[(id(obj), ("item", idx))] = value
        self.heap.effects.append(Effect("setitem", obj, (idx, value), self.where(frame, node)))

    def del_item(self, obj, idx, frame, node):
        if isinstance(obj, Sym) or self.heap.path_of(obj) is None:
            if isinstance(obj, Sym):
                raise self.unsupported("`del` of a tensor item", frame, node)
            self.journal.write(obj)
            del obj[idx]
            return
        if not isinstance(obj, dict) or not is_const_like(idx):
            raise self.unsupported(f"`del` of an item of an outside `{type(obj).__name__}`", frame, node)
        if not self.contains_key(obj, idx, frame, node):
            raise KeyError(idx)
        self.heap.dirty[id(obj)] = "del"
        self.heap.shadows[(id(obj), ("item", idx))] = _DELETED
        self.heap.effects.append(Effect("delitem", obj, (idx,), self.where(frame, node)))

    # -- iteration ---------------------------------------------------------------------
    def iterate(self, value, frame, node) -> List[Any]:
        site = self.where(frame, node)
        if isinstance(value, Sym):
            if isinstance(value.spec, PySpec):
                raise self.unsupported("iterating over a Python scalar", frame, node)
            if not value.spec.shape or value.spec.shape[0] is None:
                if not value.spec.shape:
                    raise TypeError("iteration over a 0-d tensor")
                raise Respecialize()
            return [self.emit("call", operator.getitem, (value, i), {}, site) for i in range(value.spec.shape[0])]
        if isinstance(value, (ConvFunction, SymMethod)):
            raise TypeError("object is not iterable")
        path = self.heap.path_of(value)
        if path is None:
            return list(value)
        if isinstance(value, dict):
            if id(value) in self.heap.dirty:
                raise self.unsupported("iterating a dict changed in the same call", frame, node)
            self.guard("keys", path, tuple(value.keys()), site)
            return list(value.keys())
        if hasattr(value, "__len__") and hasattr(value, "__getitem__") and not isinstance(value, (str, bytes)):
            n = self.host_len(value, frame, node)
            return [self.read_host(value[i], path.item(i), None, site) for i in range(n)]
        if isinstance(value, (str, bytes, range)):
            return list(value)
        raise self.unsupported(f"iterating over an outside `{type(value).__name__}`", frame, node)


_MISSING = object()
_DELETED = object()
#: methods through which library code would run a user class's Python code
_PYTHON_LEVEL_HOOKS = ("__str__", "__repr__", "__format__", "__eq__", "__lt__", "__le__", "__gt__", "__ge__",
                       "__hash__", "__len__", "__iter__", "__getitem__", "__contains__", "__bool__", "__index__",
                       "__int__", "__float__")
#: methods of list/dict/set that never change the container
_READ_ONLY_METHODS = frozenset({"get", "keys", "values", "items", "copy", "count", "index", "__contains__",
                                "__getitem__", "__len__", "isdisjoint", "issubset", "issuperset", "union",
                                "intersection", "difference", "symmetric_difference", "__eq__", "__ne__"})


def _call_stream(stream: str, method: str, *args, **kwargs):
    import sys
    return getattr(getattr(sys, stream), method)(*args, **kwargs)


def _stream_bound(func):
    """A write to sys.stdout/stderr goes to whatever stream is current at commit time."""
    import functools
    import sys
    owner = getattr(func, "__self__", None)
    for stream in ("stdout", "stderr"):
        if owner is getattr(sys, stream):
            return functools.partial(_call_stream, stream, func.__name__)
    return func


def _is_output_call(func) -> bool:
    """Calls whose only effect is output: logging functions and Logger methods, writes to
    sys.stdout / sys.stderr."""
    import logging
    import sys
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "")
    if isinstance(owner, logging.Logger) and name in ("debug", "info", "warning", "error", "critical", "exception", "log"):
        return True
    if getattr(func, "__module__", None) == "logging" and name in ("debug", "info", "warning", "error", "critical", "log"):
        return True
    return owner is not None and (owner is sys.stdout or owner is sys.stderr) and name in ("write", "flush")


def _is_pure(func) -> bool:
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


def _handler(func):
    try:
        return builtin_models.HANDLERS.get(func)
    except TypeError:  # unhashable callables
        return None


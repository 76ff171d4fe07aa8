"""Reading and writing what the converted code reaches: attributes, items, iteration.

Values reached from outside the function are read through guarded paths (the session's
`read_host`); writes to them become deferred effects, and later reads of the same call
see them (shadows).  Objects and containers built in the call are real Python objects,
written at once (through the journal, under graph control flow).  Python code evaluated
during conversion that reads an outside container whole guards it by its contents
(`plain`).
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import inspect
import operator
import types
from typing import Any, List, Optional

import numpy as np

from ..errors import Unsupported
from ..ir.graph import Node
from ..ir.spec import PySpec, is_const_like
from ..paths import Path, typed_snapshot
from ..source import is_user_function
from .deferred import Deferred
from .frame import host_read_feeds, key, unsupported, where
from .heap import DELETED, MISSING, UNKNOWN, ConditionalWrite
from .signals import Respecialize
from .sym import Sym
from .values import ConvFunction, SymMethod

#: tensor attributes that are part of its spec (static in a graph)
SPEC_ATTRS = frozenset({"shape", "dtype", "ndim", "device", "is_cuda", "layout", "requires_grad", "is_leaf"})
#: methods through which library code would run a user class's Python code
PYTHON_LEVEL_HOOKS = (
    "__str__",
    "__repr__",
    "__format__",
    "__eq__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__hash__",
    "__len__",
    "__iter__",
    "__getitem__",
    "__contains__",
    "__bool__",
    "__index__",
    "__int__",
    "__float__",
)
#: methods of list/dict/set that never change the container
READ_ONLY_METHODS = frozenset(
    {
        "get",
        "keys",
        "values",
        "items",
        "copy",
        "count",
        "index",
        "__contains__",
        "__getitem__",
        "__len__",
        "isdisjoint",
        "issubset",
        "issuperset",
        "union",
        "intersection",
        "difference",
        "symmetric_difference",
        "__eq__",
        "__ne__",
    }
)


class Objects:
    """Attribute, item and iteration access of the converter (the heap's reads and writes)."""

    def __init__(self, cv: Any):
        self.cv = cv
        self.session = cv.session
        self.tensors = cv.session.tensors

    def get_attr(self, obj, name: str, frame, node):
        if isinstance(obj, Sym):
            return self.sym_attr(obj, name, frame, node)
        if isinstance(obj, SymMethod):
            raise unsupported("attribute of a tensor method", frame, node)
        if isinstance(obj, ConvFunction):
            raise unsupported("attribute of a function defined in the converted code", frame, node)
        if isinstance(obj, Deferred):  # `t.numpy().astype(...)`: the value is needed now
            raise host_read_feeds(f"`.{name}`", frame, node, obj)
        path = self.session.heap.path_of(obj)
        if path is None:
            return getattr(obj, name)
        shadow = self.session.heap.shadows.get((id(obj), ("attr", name)), MISSING)
        if isinstance(shadow, ConditionalWrite):
            raise unsupported(f"reading `.{name}` after a data-dependent write", frame, node)
        if shadow is DELETED:
            raise AttributeError(f"'{type(obj).__name__}' object has no attribute '{name}'")
        if shadow is not MISSING:
            return shadow
        static = (
            inspect.getattr_static(type(obj), name, None) if not isinstance(obj, (type, types.ModuleType)) else None
        )
        if (
            isinstance(static, property)
            and static.fget is not None
            and is_user_function(static.fget, self.session.opaque)
        ):
            return self.cv.calls.inline_function(static.fget, [obj], {}, frame, node)
        try:
            value = getattr(obj, name)
        except AttributeError:  # `hasattr`, `getattr(o, n, default)`: the absence is guarded too
            self.session.guard(
                "expr",
                None,
                (("call", builtins.hasattr, (("path", path), ("const", name))), True, False),
                where(frame, node),
            )
            raise
        return self.session.read_host(
            value, path.attr(name), key(frame, node), f"{where(frame, node)}: {ast.unparse(node)[:60]}"
        )

    def sym_attr(self, sym: Sym, name: str, frame, node):
        if isinstance(sym.spec, PySpec):
            if sym.spec.type not in (int, float, bool, complex):  # an opaque framework object in the graph
                attr = getattr(sym.example, name, None)
                if callable(attr):
                    return SymMethod(sym, name)
                if self.session.backend.owns(attr):  # a tensor part of it (`slices.values`): read in the graph
                    return self.session.emit("call", getattr, (sym, name), {}, where(frame, node))
                raise unsupported(f"attribute `.{name}` of a {sym.spec.type.__name__} inside a graph", frame, node)
            return getattr(self.session.demand(sym, f"attribute .{name} of a Python value", where(frame, node)), name)
        host_path = self.input_path(sym)
        if host_path is None and name == "grad":
            # `p -= lr * p.grad` keeps the tensor object: its .grad is still the outside one
            root, host_path = self.tensors.outside_tensor(sym)
            sym = root if root is not None else sym
        if host_path is not None and name not in SPEC_ATTRS:
            shadow = self.session.heap.shadows.get((id(sym.example), ("attr", name)), MISSING)
            if shadow is not MISSING:
                return shadow
            if self.session.impure_emitted and name == "grad":
                # after backward() ran in the graph: read .grad in the graph, not before it
                node_ = Node("call", getattr, (sym.value, name), site=where(frame, node))
                node_.meta["live_state"] = True  # in-place methods on it run in the graph, in order
                self.session.region.add(node_)
                spec = (
                    dataclasses.replace(sym.spec, requires_grad=False)
                    if hasattr(sym.spec, "requires_grad")
                    else sym.spec
                )
                grad = getattr(sym.example, name, None)
                return self.session.sym(node_.add_output(spec), sym.example if grad is None else grad)
            raw = getattr(sym.example, name)
            if not callable(raw) or self.session.backend.owns(raw):
                # state hanging off an outside tensor (`p.grad`): read fresh on every call
                self.session.heap.note(sym.example, host_path)
                return self.session.read_host(
                    raw, host_path.attr(name), key(frame, node), f"{where(frame, node)}: .{name}"
                )
        attr = getattr(self.attribute_holder(sym, name), name)
        if name in SPEC_ATTRS:
            if name == "shape" and None in sym.spec.shape:
                raise Respecialize()
            return attr
        if callable(attr) and not self.session.backend.owns(attr):
            return SymMethod(sym, name)
        if self.session.backend.owns(attr):
            return self.session.emit("call", getattr, (sym, name), {}, where(frame, node))
        if is_const_like(attr):
            return attr
        raise unsupported(f"tensor attribute `.{name}`", frame, node)

    def set_attr(self, obj, name: str, value, frame, node):
        if isinstance(obj, Sym):
            host_path = self.input_path(obj)
            if host_path is None and name == "grad":
                root, host_path = self.tensors.outside_tensor(obj)
                obj = root if root is not None else obj
            if host_path is None or name in SPEC_ATTRS or name == "data":
                raise unsupported(f"setting attribute `.{name}` on a tensor", frame, node)
            if name == "grad" and self.session.impure_emitted:
                # backward() ran in the graph: .grad is graph-time state, reset it there, in
                # program order (a deferred write would land after the whole step)
                self.session.add_in_order("call", setattr, (obj, name, value), {}, where(frame, node))
                self.session.heap.shadows[(id(obj.example), ("attr", name))] = value
                return
            self.session.heap.note(obj.example, host_path)  # e.g. `p.grad = None` on a parameter
            self.session.heap.shadows[(id(obj.example), ("attr", name))] = value
            self.session.heap.add("setattr", obj.example, (name, value), where(frame, node))
            return
        path = self.session.heap.path_of(obj)
        if path is None:
            if self.session.is_local_object(obj):
                self.session.journal.write(obj)
                obj.__dict__[name] = value  # an object built in this call: just hold the value
                return
            if isinstance(obj, ConvFunction):
                raise unsupported("setting an attribute of a nested function", frame, node)
            raise unsupported(
                f"setting `.{name}` on a `{type(obj).__name__}` object created in the call",
                frame,
                node,
                "objects built inside the function are not supported yet",
            )
        if isinstance(value, Sym) and self.same_tensor_at(path.attr(name), value):
            self.session.heap.shadows[(id(obj), ("attr", name))] = value
            return  # `obj.w -= g`: written in place, the attribute still holds the same tensor
        static = inspect.getattr_static(type(obj), name, None)
        custom = getattr(type(obj), "__setattr__", None)
        if isinstance(static, property) or is_user_function(custom, self.session.opaque):
            raise unsupported(f"setting `.{name}` through a property or a custom __setattr__", frame, node)
        if self._holds_already(obj, ("attr", name), value):
            return  # `obj.items += [x]`: the list changed in place; storing it back changes nothing
        self.session.heap.shadows[(id(obj), ("attr", name))] = value
        self.session.heap.add("setattr", obj, (name, value), where(frame, node))

    def del_attr(self, obj, name, frame, node):
        if isinstance(obj, Sym) or self.session.heap.path_of(obj) is None:
            raise unsupported("`del` of an attribute", frame, node)
        self.get_attr(obj, name, frame, node)  # raises AttributeError exactly when eager would
        self.session.heap.shadows[(id(obj), ("attr", name))] = DELETED
        self.session.heap.add("delattr", obj, (name,), where(frame, node))

    def attribute_holder(self, sym: Sym, name: str) -> Any:
        """Where `sym.name` is looked up: the example, or, for the new value of an outside
        variable written in place (a plain tensor), the variable itself."""
        if hasattr(sym.example, name):
            return sym.example
        root, _path = self.tensors.outside_tensor(sym)
        if root is not None and root is not sym and hasattr(root.example, name):
            return root.example
        return sym.example

    def input_path(self, sym: Sym):
        """The outside path of a tensor that is an unmodified graph input, else None."""
        node = sym.value.node
        if node is None or node.op != "input" or getattr(self, "versions", {}).get(sym.value.id) is not None:
            return None
        return next((p for p, s in self.session._inputs_by_path.items() if s.value is sym.value), None)

    def same_tensor_at(self, path, value: Sym) -> bool:
        """Is `value` a version of the tensor read from `path` (so storing it is no rebinding)?"""
        inp = self.session._inputs_by_path.get(path)
        if inp is None or not getattr(self, "version_root", None):
            return False
        return self.tensors.version_root.get(value.value.id) == inp.value.id

    def host_item(self, obj, idx: Sym, site: str) -> Optional[Sym]:
        """`rewards[i]`, an outside list of numbers or tensors indexed by a Python int input:
        the guard function reads the item on every call (an input of its own, guarded;
        an index out of range raises there and the call runs eagerly), so every index
        shares one graph instead of one graph per index.  None when it does not apply."""
        session = self.session
        path = session.heap.path_of(obj)
        if path is None or type(obj) not in (list, tuple) or idx.spec.type is not int or id(obj) in session.heap.dirty:
            return None
        if any(k[0] == id(obj) for k in session.heap.shadows):  # written in this call
            return None
        try:
            example = obj[idx.example]
            index = session.host_expr(idx.value, "", site)
        except (IndexError, TypeError, Unsupported):
            return None
        where_ = Path(("expr", ("call", operator.getitem, (("path", path), index))))
        if session.backend.owns(example):  # a tensor: type- and spec-guarded like any read
            return session.read_host(example, where_, None, site)
        if type(example) not in (int, float, bool):
            return None
        session.guard("type", where_, type(example), site)
        return session.new_input(where_, PySpec(type(example)), example)

    def _holds_already(self, obj, slot: tuple, value) -> bool:
        """Does the outside object's `slot` (("attr", name) or ("item", key)) hold `value`
        itself (the last write of this call, else the object's own)?  Python's store of
        an augmented assignment then changes nothing."""
        if isinstance(value, Sym) or not hasattr(value, "__iadd__"):
            return False
        current = self.session.heap.shadows.get((id(obj), slot), MISSING)
        if current is MISSING:
            try:
                current = obj.__dict__[slot[1]] if slot[0] == "attr" else obj[slot[1]]
            except (AttributeError, KeyError, IndexError, TypeError):
                return False
        return current is value

    def get_item(self, obj, idx, frame, node):
        site = where(frame, node)
        if isinstance(obj, Sym):
            if isinstance(obj.spec, PySpec):
                raise unsupported("subscript of a Python value", frame, node)
            return self.session.emit("call", operator.getitem, (obj, idx), {}, site)
        if isinstance(idx, Sym):
            if not isinstance(idx.spec, PySpec):
                raise unsupported("indexing a Python container with a tensor", frame, node)
            number = self.host_item(obj, idx, site)
            if number is not None:
                return number
            idx = self.session.demand(idx, "a Python index", site)
        path = self.session.heap.path_of(obj)
        if path is None:
            return obj[idx]
        if id(obj) in self.session.heap.dirty:
            tail = self.session.heap.appended(obj)
            if tail is None or type(idx) is not int:
                raise unsupported(
                    f"reading `{type(obj).__name__}` after it was changed in the same call",
                    frame,
                    node,
                    "read-after-write of outside containers is supported after appends only",
                )
            n = self.host_len(obj, frame, node)
            i = idx + n if idx < 0 else idx
            if not 0 <= i < n:
                raise IndexError("list index out of range")
            if i >= n - len(tail):
                return tail[i - (n - len(tail))]
            return self.session.read_host(obj[i], path.item(i), key(frame, node), f"{site}: {ast.unparse(node)[:60]}")
        if isinstance(obj, dict) and is_const_like(idx):
            shadow = self.session.heap.shadows.get((id(obj), ("item", idx)), MISSING)
            if isinstance(shadow, ConditionalWrite):
                raise unsupported("reading an item after a data-dependent write", frame, node)
            if shadow is DELETED:
                raise KeyError(idx)
            if shadow is not MISSING:
                return shadow
            return self.session.read_host(
                obj[idx], path.item(idx), key(frame, node), f"{site}: {ast.unparse(node)[:60]}"
            )
        if isinstance(obj, (list, tuple)) or hasattr(obj, "__len__"):
            if type(idx) is slice:
                n = self.host_len(obj, frame, node)
                return (
                    type(obj)(self._item(obj, i, frame, node, None) for i in range(n)[idx])
                    if type(obj) in (list, tuple)
                    else self._unsupported_slice(frame, node)
                )
            if type(idx) is int:
                if idx < 0:
                    idx += self.host_len(obj, frame, node)
                return self._item(obj, idx, frame, node, key(frame, node))
        if is_const_like(idx):
            return self.session.read_host(obj[idx], path.item(idx), key(frame, node), site)
        raise unsupported("subscript of an outside object", frame, node)

    def _item(self, obj, i: int, frame, node, site_key):
        """Item `i` (not negative) of an outside sequence: what this call wrote there
        (`step[0] += 1`, then `step[0]`), else the item read from outside."""
        written = self.session.heap.written_item(obj, i)
        if written is UNKNOWN:
            raise unsupported("reading an item after a data-dependent write", frame, node)
        if written is not MISSING:
            return written
        site = where(frame, node)
        return self.session.read_host(
            obj[i], self.session.heap.path_of(obj).item(i), site_key, f"{site}: {ast.unparse(node)[:60]}"
        )

    def _unsupported_slice(self, frame, node):
        raise unsupported("slicing an outside container", frame, node)

    def host_len(self, obj, frame, node) -> int:
        path = self.session.heap.path_of(obj)
        if path is None:
            return len(obj)
        tail: List[Any] = []
        if id(obj) in self.session.heap.dirty:
            tail = self.session.heap.appended(obj)
            if tail is None:
                raise unsupported("length of a container changed in the same call", frame, node)
        self.session.guard("len", path, len(obj), where(frame, node))
        return len(obj) + len(tail)

    def set_item(self, obj, idx, value, frame, node):
        if isinstance(obj, Sym):
            if not self.session.backend.capabilities.item_assignment and not isinstance(obj.spec, PySpec):
                raise TypeError(f"'{type(obj.example).__name__}' object does not support item assignment")
            if isinstance(obj.spec, PySpec) or self.session.rules.setitem_functional is None:
                raise unsupported(
                    "item assignment into a tensor",
                    frame,
                    node,
                    f"backend {self.session.backend.name} has no functional item assignment",
                )
            cur = self.tensors.current(obj)
            result = self.session.emit(
                "call", self.session.rules.setitem_functional, (cur, idx, value), {}, where(frame, node)
            )
            self.tensors.write(cur, result, where(frame, node))
            return
        if isinstance(idx, Sym):
            if not isinstance(idx.spec, PySpec):
                raise unsupported("a tensor as a container index", frame, node)
            idx = self.session.demand(idx, "a Python index", where(frame, node))
        path = self.session.heap.path_of(obj)
        if path is None:
            self.session.journal.write(obj)
            obj[idx] = value
            return
        if not isinstance(obj, (dict, list)) or not is_const_like(idx):
            raise unsupported(f"item assignment into an outside `{type(obj).__name__}`", frame, node)
        if self._holds_already(obj, ("item", idx), value):
            return  # `d["k"] += [x]`: the list changed in place; storing it back changes nothing
        if isinstance(value, Sym) and self.same_tensor_at(path.item(idx), value):
            self.session.heap.shadows[(id(obj), ("item", idx))] = value
            return
        if isinstance(obj, dict) and not self.contains_key(obj, idx, frame, node):
            self.session.heap.dirty[id(obj)] = "new key"
        if isinstance(obj, list):
            n = self.host_len(obj, frame, node)
            if not -n <= idx < n:
                raise IndexError("list assignment index out of range")
            idx = idx % n
        self.session.heap.shadows[(id(obj), ("item", idx))] = value
        self.session.heap.add("setitem", obj, (idx, value), where(frame, node))

    def del_item(self, obj, idx, frame, node):
        if isinstance(obj, Sym) or self.session.heap.path_of(obj) is None:
            if isinstance(obj, Sym):
                raise unsupported("`del` of a tensor item", frame, node)
            self.session.journal.write(obj)
            del obj[idx]
            return
        if not isinstance(obj, dict) or not is_const_like(idx):
            raise unsupported(f"`del` of an item of an outside `{type(obj).__name__}`", frame, node)
        if not self.contains_key(obj, idx, frame, node):
            raise KeyError(idx)
        self.session.heap.dirty[id(obj)] = "del"
        self.session.heap.shadows[(id(obj), ("item", idx))] = DELETED
        self.session.heap.add("delitem", obj, (idx,), where(frame, node))

    def iterate(self, value, frame, node) -> List[Any]:
        site = where(frame, node)
        if isinstance(value, Sym):
            if isinstance(value.spec, PySpec):
                raise unsupported("iterating over a Python scalar", frame, node)
            if not value.spec.shape or value.spec.shape[0] is None:
                if not value.spec.shape:
                    raise TypeError("iteration over a 0-d tensor")
                raise Respecialize()
            return [
                self.session.emit("call", operator.getitem, (value, i), {}, site) for i in range(value.spec.shape[0])
            ]
        if isinstance(value, (ConvFunction, SymMethod)):
            raise TypeError("object is not iterable")
        path = self.session.heap.path_of(value)
        if path is None:
            return list(value)
        if isinstance(value, dict):
            if id(value) in self.session.heap.dirty:
                raise unsupported("iterating a dict changed in the same call", frame, node)
            self.session.guard("keys", path, tuple(value.keys()), site)
            return list(value.keys())
        if hasattr(value, "__len__") and hasattr(value, "__getitem__") and not isinstance(value, (str, bytes)):
            n = self.host_len(value, frame, node)
            tail = self.session.heap.appended(value) or [] if id(value) in self.session.heap.dirty else []
            return [self._item(value, i, frame, node, None) for i in range(n - len(tail))] + list(tail)
        if isinstance(value, (str, bytes, range)):
            return list(value)
        raise unsupported(f"iterating over an outside `{type(value).__name__}`", frame, node)

    def contains_key(self, owner, key, frame, node) -> bool:
        if not is_const_like(key):
            raise unsupported("a dictionary key that is not a Python constant", frame, node)
        if (id(owner), ("item", key)) in self.session.heap.shadows:
            return self.session.heap.shadows[(id(owner), ("item", key))] is not DELETED
        self.session.guard("contains", self.session.heap.path_of(owner), (key, key in owner), where(frame, node))
        return key in owner

    def plain(self, value, frame, node, depth: int = 0) -> None:
        """Python code evaluated now (a library function, an operator, a format) reads the
        whole of `value`: guard every outside container in it by its full typed contents,
        or refuse one holding what such a guard cannot pin down (tensors, objects)."""
        t = type(value)
        if t not in (list, tuple, dict, set, frozenset) or depth > 8:
            if isinstance(value, np.ndarray) and self.session.heap.path_of(value) is not None:
                # its contents can change between calls, and no guard reads them
                raise unsupported("Python code reading an outside NumPy array", frame, node)
            if hasattr(value, "__next__") and self.session.heap.path_of(value) is not None:
                # reading an iterator advances it: library code may not consume the caller's now
                raise unsupported(f"library code reading an outside `{t.__name__}` iterator", frame, node)
            if self.session.heap.path_of(value) is not None and any(
                isinstance(getattr(t, hook, None), types.FunctionType) for hook in PYTHON_LEVEL_HOOKS
            ):
                raise unsupported(
                    f"library code using a `{t.__name__}` object",
                    frame,
                    node,
                    "its class defines how it prints or compares in Python code",
                )
            return
        path = self.session.heap.path_of(value)
        if path is None:
            for item in list(value.keys()) + list(value.values()) if t is dict else value:
                self.plain(item, frame, node, depth + 1)
            return
        if id(value) in self.session.heap.dirty or any(k[0] == id(value) for k in self.session.heap.shadows):
            raise unsupported(f"reading an outside `{t.__name__}` whole after writing it in the same call", frame, node)
        snapshot = typed_snapshot(value)
        if snapshot is None:
            raise unsupported(
                f"Python code reading an outside `{t.__name__}` whole",
                frame,
                node,
                "it holds tensors or objects; only numbers, strings and containers of them "
                "can be guarded by their contents",
            )
        self.session.guard("equals", path, snapshot, where(frame, node))

    def container_effect(self, owner, method: str, args, kwargs, frame, node):
        site = where(frame, node)
        heap = self.session.heap
        if isinstance(owner, list) and method in ("append", "extend", "insert", "clear", "reverse"):
            if method == "extend":
                args = [list(self.iterate(args[0], frame, node))]
            appends = method in ("append", "extend") and self.session.region is self.session.graph
            if appends and (id(owner) not in heap.dirty or id(owner) in heap.tails):
                heap.tails.setdefault(id(owner), []).extend([args[0]] if method == "append" else args[0])
            else:  # changed under graph control flow, or otherwise: no view of it
                heap.tails.pop(id(owner), None)
            heap.dirty[id(owner)] = method
            heap.add(method, owner, tuple(args), site)
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
            heap.add("add", owner, tuple(args), site)
            return None
        raise unsupported(
            f"`{type(owner).__name__}.{method}` on an outside object",
            frame,
            node,
            "this container operation is not supported yet",
        )

    def local_container_call(self, owner, func, args, kwargs):
        """A method of a list/dict/set built in this call: run now (journaled when it may
        change the container); a copy it returns is a container built in the call too."""
        name = func.__name__
        if name not in READ_ONLY_METHODS:
            self.session.journal.write(owner)
        result = func(*args, **kwargs)
        if name == "copy":
            self.session.journal.born(result)
        return result

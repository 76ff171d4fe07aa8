"""The converter's expressions: evaluating Python expressions of converted code.

Python values are concrete; tensor values are `Sym`s.  Operators on tensors become graph
nodes; Python-level computation on specialized values happens now (partial evaluation).
A truth value of a tensor is speculated (`Control.speculate`), of a host read refused.
"""

from __future__ import annotations

import ast
import operator
import types
from typing import Any, Optional

from ..errors import Unsupported
from ..ir.spec import PySpec
from ..paths import Path
from ..source import Scope
from .calls import Calls
from .control import Control
from .deferred import Deferred, contains_deferred, defer, format_value, joined_str
from .frame import Frame, InGraphOnly, host_read_feeds, key, unsupported, where
from .heap import ConditionalWrite
from .objects import Objects
from .operators import BINOPS, CMPOPS, INPLACE, UNARYOPS
from .recursion import Recursion
from .session import Session
from .sym import Sym, contains_sym
from .values import ConvFunction


class ExpressionConverter:
    """Evaluates expressions and binds names; composes the converter's parts."""

    def __init__(self, session: Session):
        self.session = session
        self.tensors = session.tensors
        self.objects = Objects(self)
        self.calls = Calls(self)
        self.control = Control(self)
        self.recursion = Recursion(self)
        self.root_frame: Optional[Frame] = None  # the jitted function's own frame

    def snapshot(self, value: Any) -> tuple:
        """A template of `value` as it is now (print renders its arguments at once)."""
        return self.session.templates.build(value, {}, "print()")

    def truth(self, value: Any, frame: Frame, node: ast.AST, trip: Optional[int] = None) -> bool:
        if isinstance(value, Deferred):
            raise host_read_feeds("a control-flow decision", frame, node, value)
        if not isinstance(value, Sym):
            return self.host_truth(value, frame, node)
        if isinstance(value.spec, PySpec):
            return self.session.demand(value, "a branch on a Python value", where(frame, node), truth=True)
        return self.control.speculate(value, frame, node, trip)

    def host_truth(self, value: Any, frame: Frame, node: ast.AST) -> bool:
        """`bool()` of a Python value: an outside container's emptiness is guarded; an
        outside object whose class defines its truth in Python code is not evaluated here."""
        if self.session.heap.path_of(value) is None or value is None or type(value) in (bool, int, float, str):
            return bool(value)
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            return self.objects.host_len(value, frame, node) > 0
        for hook in ("__bool__", "__len__"):
            impl = getattr(type(value), hook, None)
            if isinstance(impl, types.FunctionType):
                raise unsupported(
                    f"the truth value of a `{type(value).__name__}` object",
                    frame,
                    node,
                    f"its class computes it in Python ({hook})",
                )
        return bool(value)

    def load_name(self, frame: Frame, name: str, node: ast.AST) -> Any:
        scope = frame.scope
        if name in scope.locals:
            if name in frame.locals:
                value = frame.locals[name]
                if isinstance(value, InGraphOnly):
                    raise unsupported(f"reading `{name}` after a graph region", frame, node, value.why)
                return value
            raise UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")
        if name not in scope.globals:
            f = frame
            while f is not None:
                if f is not frame and name in f.scope.locals:
                    if name not in f.locals:
                        raise NameError(
                            f"cannot access free variable '{name}' where it is not associated "
                            f"with a value in enclosing scope"
                        )
                    return f.locals[name]
                if name in f.cells:
                    cell, path = f.cells[name]
                    value = cell.cell_contents
                    if path is None:
                        return value
                    return self.session.read_host(value, path, key(frame, node), f"{where(frame, node)}: {name}")
                if f.enclosing is None or name in f.scope.globals:
                    break
                f = f.enclosing
        return self.load_global(frame, name, node)

    def load_global(self, frame: Frame, name: str, node: ast.AST) -> Any:
        g = frame.fn_globals
        shadow_key = (id(g), ("item", name))
        if shadow_key in self.session.heap.shadows:
            shadow = self.session.heap.shadows[shadow_key]
            if isinstance(shadow, ConditionalWrite):
                raise unsupported(
                    f"reading global `{name}` after a data-dependent write",
                    frame,
                    node,
                    "it was written on one branch of a graph `if` only",
                )
            return shadow
        if name in g:
            return self.session.read_host(
                g[name], Path(("global", frame.gid, name)), key(frame, node), f"{where(frame, node)}: {name}"
            )
        b = g.get("__builtins__", __builtins__)
        b = b if isinstance(b, dict) else b.__dict__
        if name in b:
            return b[name]
        raise NameError(f"name '{name}' is not defined")

    def store_name(self, frame: Frame, name: str, value: Any, node: ast.AST) -> None:
        scope = frame.scope
        if name in scope.globals:
            g = frame.fn_globals
            if isinstance(value, Sym) and self.objects.same_tensor_at(Path(("global", frame.gid, name)), value):
                self.session.heap.shadows[(id(g), ("item", name))] = value
                return
            self.session.heap.note(g, Path(("gdict", frame.gid)))
            self.session.heap.shadows[(id(g), ("item", name))] = value
            self.session.heap.add("setitem", g, (name, value), where(frame, node))
        elif name in scope.nonlocals:
            f = frame.enclosing
            while f is not None and name not in f.scope.locals:
                f = f.enclosing
            if f is None:
                raise unsupported("`nonlocal` write to a closure cell of a compiled function", frame, node)
            self.session.journal.write(f.locals)
            f.locals[name] = value
        else:
            frame.locals[name] = value

    def assign(self, target: ast.AST, value: Any, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            self.store_name(frame, target.id, value, target)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.objects.iterate(value, frame, target)
            stars = [i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)]
            if stars:
                i = stars[0]
                after = len(target.elts) - i - 1
                if len(items) < len(target.elts) - 1:
                    raise ValueError(
                        f"not enough values to unpack (expected at least {len(target.elts) - 1}, got {len(items)})"
                    )
                parts = items[:i] + [list(items[i : len(items) - after])] + items[len(items) - after :]
                for e, v in zip(target.elts, parts):
                    self.assign(e.value if isinstance(e, ast.Starred) else e, v, frame)
                return
            if len(items) != len(target.elts):
                raise ValueError(
                    f"{'too many' if len(items) > len(target.elts) else 'not enough'} values to unpack "
                    f"(expected {len(target.elts)}, got {len(items)})"
                )
            for e, v in zip(target.elts, items):
                self.assign(e, v, frame)
        elif isinstance(target, ast.Attribute):
            self.objects.set_attr(self.eval(target.value, frame), target.attr, value, frame, target)
        elif isinstance(target, ast.Subscript):
            self.objects.set_item(self.eval(target.value, frame), self.eval(target.slice, frame), value, frame, target)
        else:
            raise unsupported(f"assignment to {type(target).__name__}", frame, target)

    def eval(self, node: ast.AST, frame: Frame) -> Any:
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            raise unsupported(f"`{type(node).__name__}` expression", frame, node)
        return method(node, frame)

    def expr_Constant(self, n, frame):
        return n.value

    def expr_Name(self, n, frame):
        return self.load_name(frame, n.id, n)

    def expr_Attribute(self, n, frame):
        return self.objects.get_attr(self.eval(n.value, frame), n.attr, frame, n)

    def expr_Subscript(self, n, frame):
        return self.objects.get_item(self.eval(n.value, frame), self.eval(n.slice, frame), frame, n)

    def expr_Slice(self, n, frame):
        return slice(*(None if p is None else self.eval(p, frame) for p in (n.lower, n.upper, n.step)))

    def expr_Tuple(self, n, frame):
        return tuple(self._elements(n.elts, frame))

    def expr_List(self, n, frame):
        return self.session.journal.born(list(self._elements(n.elts, frame)))

    def expr_Set(self, n, frame):
        items = self._elements(n.elts, frame)
        if any(contains_sym(i) for i in items):
            raise unsupported("a set of tensors", frame, n)
        return self.session.journal.born(set(items))

    def _elements(self, elts, frame) -> list:
        out = []
        for e in elts:
            if isinstance(e, ast.Starred):
                out.extend(self.objects.iterate(self.eval(e.value, frame), frame, e))
            else:
                out.append(self.eval(e, frame))
        return out

    def expr_Dict(self, n, frame):
        out = {}
        for k, v in zip(n.keys, n.values):
            if k is None:
                src = self.eval(v, frame)
                for key in self.objects.iterate(src, frame, v):
                    out[key] = self.objects.get_item(src, key, frame, v)
            else:
                key = self.eval(k, frame)
                if isinstance(key, Sym):
                    raise unsupported("a tensor as a dict key", frame, k)
                out[key] = self.eval(v, frame)
        return self.session.journal.born(out)

    def expr_BinOp(self, n, frame):
        return self.binop(BINOPS[type(n.op)], self.eval(n.left, frame), self.eval(n.right, frame), frame, n)

    def binop(self, op, a, b, frame, node, inplace=False):
        if isinstance(a, Deferred) or isinstance(b, Deferred):
            if isinstance(a, Sym) or isinstance(b, Sym):
                raise host_read_feeds("tensor work", frame, node, (a, b))
            return defer(op, (a, b), f"{op.__name__} of a host read")
        if isinstance(a, Sym) or isinstance(b, Sym):
            result = self.session.emit("call", op, (a, b), {}, where(frame, node))
            if (
                inplace
                and isinstance(a, Sym)
                and self.session.backend.capabilities.inplace_operators
                and not isinstance(a.spec, PySpec)
                and _writes_in_place(a.example, op)
            ):
                # `a op= b` writes into a: later reads (and the outside tensor) see the result
                return self.tensors.write(self.tensors.current(a), result, where(frame, node))
            return result
        if inplace and isinstance(a, (list, dict, set)) and self.session.heap.path_of(a) is not None:
            # an outside container: never changed while converting; the write is an effect
            if type(a) is list and op is operator.add:
                self.objects.container_effect(a, "extend", [b], {}, frame, node)
                return a
            raise unsupported(f"`{op.__name__}=` on an outside `{type(a).__name__}`", frame, node)
        if contains_sym(a) or contains_sym(b):
            # an outside list's items as this call sees them (read by path, its length guarded)
            b = self._items_now(b, frame, node)
            a = a if inplace else self._items_now(a, frame, node)  # `a op= b` keeps a itself
            if type(a) in (list, tuple) and op in (operator.add, operator.mul):
                if inplace and type(a) is list:
                    if op is not operator.add:  # `l *= 2`: list.__imul__ repeats l itself
                        if type(b) not in (int, bool):
                            raise unsupported("`*=` on a list of tensors", frame, node)
                        self.session.journal.write(a)
                        a *= b
                        return a
                    items = self.objects.iterate(b, frame, node)
                    self.session.journal.write(a)
                    a.extend(items)
                    return a
                return op(a, b)
            if op is operator.mul and type(b) in (list, tuple) and type(a) in (int, bool):
                return op(a, b)  # `4 * [x]`: repetition, as `[x] * 4`
            raise unsupported(f"operator {op.__name__} on containers of tensors", frame, node)
        if inplace and isinstance(a, (list, dict, set)):
            self.session.journal.write(a)  # `+=`, `|=` ... change a mutable container in place
            self.objects.plain(b, frame, node)
            return INPLACE[op](a, b)
        self.objects.plain(a, frame, node)
        self.objects.plain(b, frame, node)
        return INPLACE[op](a, b) if inplace else op(a, b)

    def _items_now(self, value, frame, node):
        if type(value) in (list, tuple) and self.session.heap.path_of(value) is not None:
            return type(value)(self.objects.iterate(value, frame, node))
        return value

    def expr_UnaryOp(self, n, frame):
        v = self.eval(n.operand, frame)
        if isinstance(n.op, ast.Not):
            return not self.truth(v, frame, n)
        op = UNARYOPS[type(n.op)]
        if isinstance(v, Deferred):
            return defer(op, (v,), f"{op.__name__} of a host read")
        if isinstance(v, Sym):
            return self.session.emit("call", op, (v,), {}, where(frame, n))
        return op(v)

    def expr_Compare(self, n, frame):
        left = self.eval(n.left, frame)
        result = True
        for opnode, right_node in zip(n.ops, n.comparators):
            right = self.eval(right_node, frame)
            r = self.compare(opnode, left, right, frame, n)
            if len(n.ops) == 1:
                return r
            if isinstance(r, Sym):
                raise unsupported("chained comparison of tensors", frame, n)
            if not r:
                return r
            result, left = r, right
        return result

    def compare(self, opnode, a, b, frame, node):
        if isinstance(opnode, (ast.Is, ast.IsNot)):
            same = self.identical(a, b, frame, node)
            return same if isinstance(opnode, ast.Is) else not same
        if isinstance(opnode, (ast.In, ast.NotIn)):
            if isinstance(a, Sym) or contains_sym(b):
                raise unsupported("`in` test on tensors", frame, node)
            if isinstance(b, dict) and self.session.heap.path_of(b) is not None:
                found = self.objects.contains_key(b, a, frame, node)
            else:
                self.objects.plain(a, frame, node)
                self.objects.plain(b, frame, node)
                found = a in b
            return found if isinstance(opnode, ast.In) else not found
        op = CMPOPS[type(opnode)]
        if isinstance(a, Deferred) or isinstance(b, Deferred):
            if isinstance(a, Sym) or isinstance(b, Sym):
                raise host_read_feeds("tensor work", frame, node, (a, b))
            return defer(op, (a, b), f"{op.__name__} of a host read")
        if isinstance(a, Sym) or isinstance(b, Sym):
            return self.session.emit("call", op, (a, b), {}, where(frame, node))
        return op(a, b)

    def identical(self, a, b, frame, node) -> bool:
        """`a is b`; between two outside objects the answer is guarded (they may be one
        object in this call and two in the next)."""
        if isinstance(a, Sym) or isinstance(b, Sym):
            if not (isinstance(a, Sym) and isinstance(b, Sym)):
                return False
            # versions of one tensor written in place are one object (`x is x.add_(1)`)
            return a.value is b.value or self.tensors.root_of(a) == self.tensors.root_of(b)
        pa, pb = self.session.heap.path_of(a), self.session.heap.path_of(b)
        same = a is b
        if pa is not None and pb is not None and pa != pb:
            self.session.guard(
                "expr", None, (("call", operator.is_, (("path", pa), ("path", pb))), True, same), where(frame, node)
            )
        return same

    def expr_BoolOp(self, n, frame):
        is_and = isinstance(n.op, ast.And)
        value = None
        for v in n.values:
            value = self.eval(v, frame)
            t = self.truth(value, frame, n)
            if t != is_and:
                return value
        return value

    def expr_IfExp(self, n, frame):
        test = self.eval_test(n.test, frame)
        if _is_tensor(test) and self.control.wants_cond(test, frame, n):
            return self.control.ifexp_cond(n, test, frame)
        return self.eval(n.body if self.truth(test, frame, n) else n.orelse, frame)

    def eval_test(self, node, frame):
        """The test of an `if`/`while`/`assert`/conditional expression, where only its truth
        counts: `a and b`, `a or b`, `not a` over tensors become one graph boolean."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            v = self.eval_test(node.operand, frame)
            if _is_tensor(v):
                return self.session.emit(
                    "call", operator.invert, (self._as_bool(v, frame, node),), {}, where(frame, node)
                )
            return not self.truth(v, frame, node)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            return self._in_test(node, frame)
        if not isinstance(node, ast.BoolOp):
            return self.eval(node, frame)
        return self._bool_test(node, frame)

    def _in_test(self, node, frame):
        """`v in t` for a tensor `t` (as a test): `(t == v).any()`, as the framework's
        `__contains__` computes it."""
        a, b = self.eval(node.left, frame), self.eval(node.comparators[0], frame)
        if not (_is_tensor(b) and hasattr(b.example, "__contains__") and hasattr(b.example, "any")):
            return self.compare(node.ops[0], a, b, frame, node)
        site = where(frame, node)
        found = self.session.emit(
            "call_method", "any", (self.session.emit("call", operator.eq, (b, a), {}, site),), {}, site
        )
        if isinstance(node.ops[0], ast.NotIn):
            return self.session.emit("call", operator.invert, (found,), {}, site)
        return found

    def _bool_test(self, node, frame):
        is_and = isinstance(node.op, ast.And)
        preds, value = [], None
        for operand in node.values:
            n_effects, impure = len(self.session.heap.effects), self.session.impure_emitted
            value = self.eval_test(operand, frame)
            if preds and (len(self.session.heap.effects) != n_effects or self.session.impure_emitted != impure):
                raise unsupported(
                    "`and`/`or` after a tensor test, on an operand with effects",
                    frame,
                    operand,
                    "eager evaluates it only on some paths",
                )
            if _is_tensor(value):
                preds.append(self._as_bool(value, frame, operand))
                continue
            if self.truth(value, frame, node) != is_and:  # a Python operand decides it now
                return value
        if not preds:
            return value
        combine = operator.and_ if is_and else operator.or_
        out = preds[0]
        for p in preds[1:]:
            out = self.session.emit("call", combine, (out, p), {}, where(frame, node))
        return out

    def _as_bool(self, value, frame, node):
        if getattr(value.spec, "dtype", None) in ("bool", bool):
            return value
        return self.session.emit("call", operator.ne, (value, 0), {}, where(frame, node))

    def expr_NamedExpr(self, n, frame):
        value = self.eval(n.value, frame)
        self.store_name(frame, n.target.id, value, n)
        return value

    def expr_JoinedStr(self, n, frame):
        parts = []
        for v in n.values:
            if isinstance(v, ast.Constant):
                parts.append(v.value)
                continue
            value = self.eval(v.value, frame)
            spec = self.eval(v.format_spec, frame) if v.format_spec is not None else ""
            if isinstance(value, (Sym, Deferred)) or isinstance(spec, Deferred):
                parts.append(defer(format_value, (value, v.conversion, spec), "f-string field"))
            elif contains_sym(value) or contains_deferred(value):
                raise unsupported("f-string of a container of tensors", frame, n)
            else:
                self.objects.plain(value, frame, n)
                parts.append(format_value(value, v.conversion, spec))
        if any(isinstance(p, Deferred) for p in parts):
            return defer(joined_str, tuple(parts), "f-string")
        return "".join(parts)

    def expr_Lambda(self, n, frame):
        return self.make_function(n, frame)

    def expr_Starred(self, n, frame):
        raise unsupported("starred expression here", frame, n)

    def _comprehension(self, n, frame, make):
        inner = Frame("<comprehension>", frame.filename, _comp_scope(n), frame.fn_globals, frame.gid, enclosing=frame)
        results = []

        def loop(gens):
            if not gens:
                results.append(make(inner))
                return
            g = gens[0]
            src = self.eval(g.iter, inner if gens is not n.generators else frame)
            for item in self.objects.iterate(src, frame, g.iter):
                self.assign(g.target, item, inner)
                if all(self.truth(self.eval(c, inner), inner, c) for c in g.ifs):
                    loop(gens[1:])

        loop(n.generators)
        return results

    def expr_ListComp(self, n, frame):
        return self.session.journal.born(self._comprehension(n, frame, lambda f: self.eval(n.elt, f)))

    def expr_GeneratorExp(self, n, frame):
        # consumed eagerly: the converter only accepts generators passed straight to a consumer
        items = self._comprehension(n, frame, lambda f: self.eval(n.elt, f))
        self.session.generators[id(items)] = items  # a list here, a generator in Python
        return items

    def expr_SetComp(self, n, frame):
        return self.session.journal.born(set(self._comprehension(n, frame, lambda f: self.eval(n.elt, f))))

    def expr_DictComp(self, n, frame):
        return self.session.journal.born(
            dict(self._comprehension(n, frame, lambda f: (self.eval(n.key, f), self.eval(n.value, f))))
        )

    def expr_Call(self, n, frame):
        func = self.eval(n.func, frame)
        args = self._elements(n.args, frame)
        kwargs = {}
        for kw in n.keywords:
            if kw.arg is None:
                src = self.eval(kw.value, frame)
                for k in self.objects.iterate(src, frame, kw.value):
                    kwargs[k] = self.objects.get_item(src, k, frame, kw.value)
            else:
                kwargs[kw.arg] = self.eval(kw.value, frame)
        try:
            result = self.calls.call(func, args, kwargs, frame, n)
        except Unsupported as e:
            if frame is self.root_frame and e.island is None and e.splittable and not e.whole_statement:
                e.island = n  # the call of the jitted function that needs the host
            raise
        if isinstance(result, Deferred) and frame is self.root_frame and result.origin is None:
            result.origin = n
        return result

    def make_function(self, node, frame) -> ConvFunction:
        a = node.args
        defaults = [self.eval(d, frame) for d in a.defaults]
        kw_defaults = {arg.arg: self.eval(d, frame) for arg, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None}
        return ConvFunction(node, frame, defaults, kw_defaults)


def _comp_scope(n) -> Scope:
    """Comprehensions get their own scope, like a nested function."""
    names = set()
    for g in n.generators:
        for t in ast.walk(g.target):
            if isinstance(t, ast.Name):
                names.add(t.id)
    return Scope((), frozenset(names), frozenset(), frozenset())


def _is_tensor(value) -> bool:
    return isinstance(value, Sym) and not isinstance(value.spec, PySpec)


def _writes_in_place(example, op) -> bool:
    """Does `a op= b` change `a` itself?  Python calls `a.__iop__` when its type has one;
    otherwise (a NumPy scalar such as `np.float64`, an immutable tensor) it rebinds `a`."""
    if example is None:
        return True
    name = "__i" + op.__name__.rstrip("_") + "__"
    return getattr(type(example), name, None) is not None

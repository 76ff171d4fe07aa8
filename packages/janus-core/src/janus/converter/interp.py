"""The converter: walks a function's AST and emits IR, evaluating the Python around the
tensors during conversion (partial evaluation) and recording every assumption as a guard.

Statements run in order on a `Frame`.  Python values are concrete; tensor values are
`Sym`s.  A decision on a Python value (an `if` on a flag, a `range(n)`) is taken now and
guarded; a decision on a tensor value is speculated from the profile with an in-graph
assertion, or reported as unsupported.  Writes to outside objects become deferred effects.
"""
from __future__ import annotations

import ast
import operator
import time
import types
from typing import Any, Dict, List, Optional

from ..errors import Unsupported
from ..ir.graph import Node
from ..ir.spec import PySpec, TensorSpec
from .calls import CallsMixin, ConvFunction
from .control import ConditionalWrite, ControlMixin, InGraphOnly
from .deferred import Deferred, contains_deferred, defer, format_value, joined_str
from .recursion import RecursionMixin
from .state import StateMixin
from .core import ConverterState, contains_sym
from .heap import Effect, Path, Sym
from .merge import FrameLocals
from .source import Scope, site_key, site_of

MAX_UNROLL = 10000

BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
          ast.MatMult: operator.matmul, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
          ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor}
UNARYOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
INPLACE = {operator.add: operator.iadd, operator.sub: operator.isub, operator.mul: operator.imul,
           operator.truediv: operator.itruediv, operator.floordiv: operator.ifloordiv, operator.mod: operator.imod,
           operator.pow: operator.ipow, operator.matmul: operator.imatmul, operator.lshift: operator.ilshift,
           operator.rshift: operator.irshift, operator.and_: operator.iand, operator.or_: operator.ior,
           operator.xor: operator.ixor}
VIEW_OPS = frozenset({"getitem", "view", "view_as", "reshape", "transpose", "T", "mT", "permute", "expand",
                      "expand_as", "squeeze", "unsqueeze", "narrow", "select", "flatten", "unflatten", "detach",
                      "as_strided", "split", "chunk", "unbind", "t", "diagonal", "movedim", "swapaxes",
                      "real", "imag", "view_as_real", "view_as_complex", "unfold", "getattr", "ravel", "asarray"})
CMPOPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
          ast.Gt: operator.gt, ast.GtE: operator.ge}


def _data_break_index(body) -> "Optional[int]":
    """The position of a top-level `if <test>: break` (no else) in a loop body, when no
    other statement of the body breaks or continues this loop."""
    from .control import _has_own
    found = None
    for i, st in enumerate(body):
        if isinstance(st, ast.If) and len(st.body) == 1 and isinstance(st.body[0], ast.Break) and not st.orelse:
            if found is not None:
                return None
            found = i
        elif _has_own(st, (ast.Break, ast.Continue)):
            return None
    return found


class BreakSignal(Exception):
    pass


class ContinueSignal(Exception):
    pass


class ReturnSignal(Exception):
    def __init__(self, value):
        self.value = value


class Frame:
    """One activation of a converted function."""

    def __init__(self, name: str, filename: str, scope: Scope, fn_globals: dict, gid: int,
                 cells: Optional[Dict[str, tuple]] = None, enclosing: Optional["Frame"] = None):
        self.name, self.filename, self.scope = name, filename, scope
        self.fn_globals, self.gid = fn_globals, gid
        self.cells = cells or {}        # name -> (cell, Path|None) for real closures
        self.enclosing = enclosing      # defining frame, for functions defined in converted code
        self.locals: Dict[str, Any] = FrameLocals()


class Converter(RecursionMixin, StateMixin, ControlMixin, CallsMixin, ConverterState):
    # -- sites ----------------------------------------------------------------
    def where(self, frame: Frame, node: ast.AST) -> str:
        return site_of(frame.filename, node)

    def key(self, frame: Frame, node: ast.AST):
        return site_key(frame.filename, node)

    def unsupported(self, construct: str, frame: Frame, node: ast.AST, why: str = ""):
        return Unsupported(construct, self.where(frame, node), why)

    # -- statements -------------------------------------------------------------
    def exec_block(self, stmts: List[ast.stmt], frame: Frame, top: bool = False) -> None:
        """Run statements; at a function's top level (`top`), a data-dependent `if` that
        returns on one branch may take the rest of the block along (tail duplication)."""
        if time.monotonic() > self.deadline:
            raise self.unsupported("a function", frame, stmts[0] if stmts else None,
                                   f"converting it took more than {self.config.conversion_timeout} s")
        for i, stmt in enumerate(stmts):
            if type(stmt) is ast.If:
                if self.stmt_If(stmt, frame, stmts[i + 1:] if top else None):
                    return
                continue
            method = getattr(self, "stmt_" + type(stmt).__name__, None)
            if method is None:
                raise self.unsupported(f"`{type(stmt).__name__}` statement", frame, stmt)
            method(stmt, frame)

    def stmt_Expr(self, s, frame):
        self.eval(s.value, frame)

    def stmt_Pass(self, s, frame):
        pass

    def stmt_Global(self, s, frame):
        pass

    stmt_Nonlocal = stmt_Global

    def stmt_Assign(self, s, frame):
        value = self.eval(s.value, frame)
        for target in s.targets:
            self.assign(target, value, frame)

    def stmt_AnnAssign(self, s, frame):
        if s.value is not None:
            self.assign(s.target, self.eval(s.value, frame), frame)

    def stmt_AugAssign(self, s, frame):
        op = BINOPS[type(s.op)]
        t = s.target
        if isinstance(t, ast.Name):
            current = self.load_name(frame, t.id, t)
            self.store_name(frame, t.id, self.binop(op, current, self.eval(s.value, frame), frame, s, inplace=True), s)
        elif isinstance(t, ast.Attribute):
            obj = self.eval(t.value, frame)
            current = self.get_attr(obj, t.attr, frame, t)
            self.set_attr(obj, t.attr, self.binop(op, current, self.eval(s.value, frame), frame, s, inplace=True), frame, t)
        elif isinstance(t, ast.Subscript):
            obj, idx = self.eval(t.value, frame), self.eval(t.slice, frame)
            current = self.get_item(obj, idx, frame, t)
            self.set_item(obj, idx, self.binop(op, current, self.eval(s.value, frame), frame, s, inplace=True), frame, t)
        else:
            raise self.unsupported("augmented assignment target", frame, s)

    def stmt_Return(self, s, frame):
        raise ReturnSignal(None if s.value is None else self.eval(s.value, frame))

    def stmt_Break(self, s, frame):
        raise BreakSignal()

    def stmt_Continue(self, s, frame):
        raise ContinueSignal()

    def stmt_If(self, s, frame, rest=None) -> bool:
        test = self.eval(s.test, frame)
        if self.wants_cond(test, frame, s):
            return self.emit_if_cond(s, test, frame, rest)
        self.exec_block(s.body if self.truth(test, frame, s) else s.orelse, frame)
        return False

    def stmt_While(self, s, frame):
        first = self.eval(s.test, frame)
        if self.wants_graph_while(first, frame, s):
            self.emit_while(frame, s, s.body, s.test)
            self.exec_block(s.orelse, frame)
            return
        self.loop_depth += 1
        try:
            self._unrolled_while(s, frame, first)
        finally:
            self.loop_depth -= 1

    def _unrolled_while(self, s, frame, test):
        trips = 0
        while True:
            if trips:
                test = self.eval(s.test, frame)
            if not self.truth(test, frame, s, trip=trips):
                self.exec_block(s.orelse, frame)
                return
            trips += 1
            if trips > MAX_UNROLL:
                raise self.unsupported("`while` loop", frame, s, f"more than {MAX_UNROLL} iterations to unroll")
            try:
                self.exec_block(s.body, frame)
            except BreakSignal:
                return
            except ContinueSignal:
                continue

    def stmt_For(self, s, frame):
        if self.for_range_as_while(s, frame):
            return
        items = self.iterate(self.eval(s.iter, frame), frame, s.iter)
        self.loop_depth += 1
        try:
            self._unrolled_for(s, frame, items)
        finally:
            self.loop_depth -= 1

    def for_range_as_while(self, s, frame) -> bool:
        """`for i in range(n)` with `n` a graph input: one graph `while` for every n."""
        it = s.iter
        if not (isinstance(it, ast.Call) and len(it.args) == 1 and not it.keywords and not s.orelse):
            return False
        func = self.eval(it.func, frame)
        if func is not range:
            return False
        n = self._varying_dim(it.args[0], frame)
        if n is None:
            n = self.eval(it.args[0], frame)
        if not (isinstance(n, Sym) and isinstance(n.spec, PySpec) and n.spec.type is int
                and (n.value.node.op == "input" or n.value.node.target is self.backend.dim)):
            return False
        if not self.backend.capabilities.while_loop:
            return False
        try:
            self.emit_while(frame, s, s.body, None, counter=(s.target, n))
        except Unsupported:
            return False  # the body needs Python-level iteration: unroll with `n` specialized
        return True

    def _varying_dim(self, expr, frame):
        """`x.shape[k]` or `len(x)` where dimension k of the tensor x varies between calls:
        the size read in the graph (so `range` of it is one graph loop), else None."""
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Attribute) and expr.value.attr == "shape" \
                and isinstance(expr.slice, ast.Constant) and type(expr.slice.value) is int:
            base, k = expr.value.value, expr.slice.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "len" \
                and len(expr.args) == 1 and not expr.keywords:
            if self.eval(expr.func, frame) is not len:
                return None
            base, k = expr.args[0], 0
        else:
            return None
        if not isinstance(base, ast.Name):
            return None  # evaluated twice when it is no varying dimension: names only
        x = self.eval(base, frame)
        if not (isinstance(x, Sym) and isinstance(x.spec, TensorSpec) and -len(x.spec.shape) <= k < len(x.spec.shape)
                and x.spec.shape[k] is None):
            return None
        return self.emit("call", self.backend.dim, (x, k), {}, self.where(frame, expr))

    def _unrolled_for(self, s, frame, items):
        if len(items) > MAX_UNROLL:
            raise self.unsupported("`for` loop", frame, s, f"more than {MAX_UNROLL} iterations to unroll")
        exit_at = None if s.orelse else _data_break_index(s.body)
        for n, item in enumerate(items):
            self.assign(s.target, item, frame)
            try:
                if exit_at is None:
                    self.exec_block(s.body, frame)
                elif self._iteration_with_break(s, frame, exit_at, items[n + 1:]):
                    return  # a graph cond took the rest of the loop along
            except BreakSignal:
                return
            except ContinueSignal:
                continue
        self.exec_block(s.orelse, frame)

    def _iteration_with_break(self, s, frame, at: int, rest_items: list) -> bool:
        """One unrolled iteration whose body has `if <test>: break` at position `at`.  When
        the test is a tensor whose direction varies, the rest of the loop becomes the else
        branch of a graph cond (the break branch does nothing more):

            if test: pass
            else:    <body after the if>; for <target> in <remaining items>: <body>

        so each later iteration nests in the previous one's cond; code after the loop runs
        once, after the merge.  Returns True when it did that."""
        body = s.body
        self.exec_block(body[:at], frame)
        stop = body[at]
        test = self.eval(stop.test, frame)
        if not self.wants_cond(test, frame, stop):
            if self.truth(test, frame, stop):
                raise BreakSignal()
            self.exec_block(body[at + 1:], frame)
            return False
        # the remaining items ride in the synthetic loop's iter as an (interpreted) constant
        remaining = ast.copy_location(ast.Constant(list(rest_items)), s.iter)
        loop = ast.copy_location(ast.For(target=s.target, iter=remaining, body=body, orelse=[], type_comment=None), s)
        synthetic = ast.copy_location(ast.If(test=stop.test, body=[ast.copy_location(ast.Pass(), stop)],
                                             orelse=body[at + 1:] + [loop]), stop)
        self.emit_if_cond(synthetic, test, frame, None)
        return True

    def stmt_FunctionDef(self, s, frame):
        if s.decorator_list:
            raise self.unsupported("decorated nested function", frame, s)
        self.store_name(frame, s.name, self.make_function(s, frame), s)

    def stmt_Assert(self, s, frame):
        test = self.eval(s.test, frame)
        if isinstance(test, Sym) and not isinstance(test.spec, PySpec):
            if not bool(test.example):
                raise self.unsupported("failing `assert`", frame, s, "the assertion fails for these arguments")
            self.emit_assert(test, True, frame, s, profile_site=None)
            return
        if not self.truth(test, frame, s):
            raise AssertionError(self.eval(s.msg, frame) if s.msg is not None else None)

    def stmt_Try(self, s, frame):
        """Only the path where the body does not raise is converted: if the graph raises at
        run time, the call is re-run imperatively and the handlers run as in eager."""
        try:
            self.exec_block(s.body, frame)
        except (BreakSignal, ContinueSignal, ReturnSignal):
            if s.finalbody:
                raise self.unsupported("`break`/`continue`/`return` leaving a `try` with `finally`", frame, s)
            raise
        except Exception as e:
            if isinstance(e, Unsupported) or type(e).__name__ in ("Respecialize", "ScheduleRecursion"):
                raise
            raise self.unsupported("an exception raised inside `try`", frame, s,
                                   f"{type(e).__name__} for these arguments; the handler path runs imperatively") from None
        self.exec_block(s.orelse, frame)
        self.exec_block(s.finalbody, frame)

    def stmt_Raise(self, s, frame):
        raise self.unsupported("`raise`", frame, s, "the call raises for these arguments; it runs imperatively")

    def stmt_Delete(self, s, frame):
        for t in s.targets:
            if isinstance(t, ast.Name):
                if t.id not in frame.locals:
                    raise self.unsupported("`del` of an unbound or non-local name", frame, s)
                del frame.locals[t.id]
            elif isinstance(t, ast.Attribute):
                self.del_attr(self.eval(t.value, frame), t.attr, frame, t)
            elif isinstance(t, ast.Subscript):
                self.del_item(self.eval(t.value, frame), self.eval(t.slice, frame), frame, t)
            else:
                raise self.unsupported("`del` target", frame, s)

    def stmt_Import(self, s, frame):
        import importlib
        for alias in s.names:
            if isinstance(s, ast.ImportFrom):
                if s.level:
                    raise self.unsupported("relative import inside a function", frame, s)
                mod = importlib.import_module(s.module)
                self.store_name(frame, alias.asname or alias.name, getattr(mod, alias.name), s)
            else:
                mod = importlib.import_module(alias.name)
                if alias.asname:
                    self.store_name(frame, alias.asname, mod, s)
                else:
                    self.store_name(frame, alias.name.split(".")[0], importlib.import_module(alias.name.split(".")[0]), s)

    stmt_ImportFrom = stmt_Import

    # -- truthiness: where Python decides, and where the graph must speculate ----
    def truth(self, value: Any, frame: Frame, node: ast.AST, trip: Optional[int] = None) -> bool:
        if isinstance(value, Deferred):
            raise self.host_read_feeds("a control-flow decision", frame, node)
        if not isinstance(value, Sym):
            return self.host_truth(value, frame, node)
        if isinstance(value.spec, PySpec):
            return self.demand(value, "a branch on a Python value", self.where(frame, node), truth=True)
        actual = bool(value.example)
        key = self.key(frame, node)
        stats = self.analyzer.profile.stats(key)
        if isinstance(node, ast.If):
            direction = self.analyzer.branch_direction(key)
            if direction is None or direction != actual:
                seen = "both directions" if stats is not None and len(stats.branches) > 1 else "a direction it has not seen"
                raise self.unsupported("data-dependent `if` on a tensor", frame, node,
                                       f"the profile saw {seen}; a graph `cond` is not supported yet")
        elif isinstance(node, ast.While):
            counts = set(stats.trips) if stats is not None and key not in self.analyzer.relaxed else set()
            if len(counts) != 1:
                raise self.unsupported("data-dependent `while` on a tensor", frame, node,
                                       "its trip count varied in the profile; a graph `while` is not supported yet")
        else:
            raise self.unsupported("a tensor used as a Python truth value", frame, node,
                                   "only `if`, `while` and `assert` conditions may depend on tensors")
        self.emit_assert(value, actual, frame, node, profile_site=key)
        return actual

    def host_truth(self, value: Any, frame: Frame, node: ast.AST) -> bool:
        """`bool()` of a Python value: an outside container's emptiness is guarded; an
        outside object whose class defines its truth in Python code is not evaluated here."""
        if self.heap.path_of(value) is None or value is None or type(value) in (bool, int, float, str):
            return bool(value)
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            return self.host_len(value, frame, node) > 0
        for hook in ("__bool__", "__len__"):
            impl = getattr(type(value), hook, None)
            if isinstance(impl, types.FunctionType):
                raise self.unsupported(f"the truth value of a `{type(value).__name__}` object", frame, node,
                                       f"its class computes it in Python ({hook})")
        return bool(value)

    def stmt_With(self, s, frame):
        """`with` over a framework context (no_grad, a gradient tape): entered now for the
        conversion-time examples, and as impure enter/exit nodes in the graph."""
        entered = []
        try:
            for item in s.items:
                cm = self.eval(item.context_expr, frame)
                if not isinstance(cm, Sym) or not isinstance(cm.spec, PySpec) or not hasattr(cm.example, "__enter__"):
                    raise self.unsupported("`with` over a non-framework context manager", frame, s,
                                           "only framework contexts (no_grad, gradient tapes) are supported")
                enter = Node("call_method", "__enter__", (cm.value,), site=self.where(frame, s))
                enter.meta["impure"] = True
                self.region.add(enter)
                result = cm.example.__enter__()
                entered.append(cm)
                if item.optional_vars is not None:
                    value = cm if result is cm.example else None
                    if value is None:
                        raise self.unsupported("`with ... as` binding a value other than the context", frame, s)
                    self.assign(item.optional_vars, value, frame)
            self.exec_block(s.body, frame)
        finally:
            for cm in reversed(entered):
                cm.example.__exit__(None, None, None)
                exit_node = Node("call_method", "__exit__", (cm.value, None, None, None), site=self.where(frame, s))
                exit_node.meta["impure"] = True
                self.region.add(exit_node)

    def emit_assert(self, pred: Sym, expect: bool, frame: Frame, node: ast.AST, profile_site) -> None:
        site = f"{self.where(frame, node)}: {ast.unparse(getattr(node, 'test', node))[:60]}"
        if self.impure_emitted:
            raise self.unsupported("speculation after an in-graph framework update", frame, node,
                                   "an assertion after e.g. backward() or an optimizer step could not undo it")
        a = Node("assert", site, (pred.value,), {"expect": expect}, site=self.where(frame, node))
        self.region.add(a)
        self.asserts[site] = profile_site

    # -- names -----------------------------------------------------------------
    def load_name(self, frame: Frame, name: str, node: ast.AST) -> Any:
        scope = frame.scope
        if name in scope.locals:
            if name in frame.locals:
                value = frame.locals[name]
                if isinstance(value, InGraphOnly):
                    raise self.unsupported(f"reading `{name}` after a graph region", frame, node, value.why)
                return value
            raise UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")
        if name not in scope.globals:
            f = frame
            while f is not None:
                if f is not frame and name in f.scope.locals:
                    if name not in f.locals:
                        raise NameError(f"cannot access free variable '{name}' where it is not associated with a value in enclosing scope")
                    return f.locals[name]
                if name in f.cells:
                    cell, path = f.cells[name]
                    value = cell.cell_contents
                    if path is None:
                        return value
                    return self.read_host(value, path, self.key(frame, node), f"{self.where(frame, node)}: {name}")
                if f.enclosing is None or name in f.scope.globals:
                    break
                f = f.enclosing
        return self.load_global(frame, name, node)

    def load_global(self, frame: Frame, name: str, node: ast.AST) -> Any:
        g = frame.fn_globals
        shadow_key = (id(g), ("item", name))
        if shadow_key in self.heap.shadows:
            return self.heap.shadows[shadow_key]
        if name in g:
            return self.read_host(g[name], Path(("global", frame.gid, name)), self.key(frame, node),
                                  f"{self.where(frame, node)}: {name}")
        b = g.get("__builtins__", __builtins__)
        b = b if isinstance(b, dict) else b.__dict__
        if name in b:
            return b[name]
        raise NameError(f"name '{name}' is not defined")

    def store_name(self, frame: Frame, name: str, value: Any, node: ast.AST) -> None:
        scope = frame.scope
        if name in scope.globals:
            g = frame.fn_globals
            if isinstance(value, Sym) and self._same_tensor_at(Path(("global", frame.gid, name)), value):
                self.heap.shadows[(id(g), ("item", name))] = value
                return
            self.heap.note(g, Path(("gdict", frame.gid)))
            self.heap.shadows[(id(g), ("item", name))] = value
            self.heap.effects.append(Effect("setitem", g, (name, value), self.where(frame, node)))
        elif name in scope.nonlocals:
            f = frame.enclosing
            while f is not None and name not in f.scope.locals:
                f = f.enclosing
            if f is None:
                raise self.unsupported("`nonlocal` write to a closure cell of a compiled function", frame, node)
            self.journal.write(f.locals)
            f.locals[name] = value
        else:
            frame.locals[name] = value

    def assign(self, target: ast.AST, value: Any, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            self.store_name(frame, target.id, value, target)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.iterate(value, frame, target)
            stars = [i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)]
            if stars:
                i = stars[0]
                after = len(target.elts) - i - 1
                if len(items) < len(target.elts) - 1:
                    raise ValueError(f"not enough values to unpack (expected at least {len(target.elts) - 1}, got {len(items)})")
                parts = items[:i] + [list(items[i:len(items) - after])] + items[len(items) - after:]
                for e, v in zip(target.elts, parts):
                    self.assign(e.value if isinstance(e, ast.Starred) else e, v, frame)
                return
            if len(items) != len(target.elts):
                raise ValueError(f"{'too many' if len(items) > len(target.elts) else 'not enough'} values to unpack "
                                 f"(expected {len(target.elts)}, got {len(items)})")
            for e, v in zip(target.elts, items):
                self.assign(e, v, frame)
        elif isinstance(target, ast.Attribute):
            self.set_attr(self.eval(target.value, frame), target.attr, value, frame, target)
        elif isinstance(target, ast.Subscript):
            self.set_item(self.eval(target.value, frame), self.eval(target.slice, frame), value, frame, target)
        else:
            raise self.unsupported(f"assignment to {type(target).__name__}", frame, target)

    # -- expressions ------------------------------------------------------------
    def eval(self, node: ast.AST, frame: Frame) -> Any:
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            raise self.unsupported(f"`{type(node).__name__}` expression", frame, node)
        return method(node, frame)

    def expr_Constant(self, n, frame):
        return n.value

    def expr_Name(self, n, frame):
        return self.load_name(frame, n.id, n)

    def expr_Attribute(self, n, frame):
        return self.get_attr(self.eval(n.value, frame), n.attr, frame, n)

    def expr_Subscript(self, n, frame):
        return self.get_item(self.eval(n.value, frame), self.eval(n.slice, frame), frame, n)

    def expr_Slice(self, n, frame):
        return slice(*(None if p is None else self.eval(p, frame) for p in (n.lower, n.upper, n.step)))

    def expr_Tuple(self, n, frame):
        return tuple(self._elements(n.elts, frame))

    def expr_List(self, n, frame):
        return self.journal.born(list(self._elements(n.elts, frame)))

    def expr_Set(self, n, frame):
        items = self._elements(n.elts, frame)
        if any(contains_sym(i) for i in items):
            raise self.unsupported("a set of tensors", frame, n)
        return self.journal.born(set(items))

    def _elements(self, elts, frame) -> list:
        out = []
        for e in elts:
            if isinstance(e, ast.Starred):
                out.extend(self.iterate(self.eval(e.value, frame), frame, e))
            else:
                out.append(self.eval(e, frame))
        return out

    def expr_Dict(self, n, frame):
        out = {}
        for k, v in zip(n.keys, n.values):
            if k is None:
                src = self.eval(v, frame)
                for key in self.iterate(src, frame, v):
                    out[key] = self.get_item(src, key, frame, v)
            else:
                key = self.eval(k, frame)
                if isinstance(key, Sym):
                    raise self.unsupported("a tensor as a dict key", frame, k)
                out[key] = self.eval(v, frame)
        return self.journal.born(out)

    def expr_BinOp(self, n, frame):
        return self.binop(BINOPS[type(n.op)], self.eval(n.left, frame), self.eval(n.right, frame), frame, n)

    def binop(self, op, a, b, frame, node, inplace=False):
        if isinstance(a, Deferred) or isinstance(b, Deferred):
            if isinstance(a, Sym) or isinstance(b, Sym):
                raise self.host_read_feeds("tensor work", frame, node)
            return defer(op, (a, b), f"{op.__name__} of a host read")
        if isinstance(a, Sym) or isinstance(b, Sym):
            result = self.emit("call", op, (a, b), {}, self.where(frame, node))
            if inplace and isinstance(a, Sym) and self.backend.capabilities.inplace_operators \
                    and not isinstance(a.spec, PySpec):
                # `a op= b` writes into a: later reads (and the outside tensor) see the result
                return self.write_state(self.current(a), result, frame, node)
            return result
        if contains_sym(a) or contains_sym(b):
            if type(a) in (list, tuple) and op in (operator.add, operator.mul):
                if inplace and type(a) is list:
                    if op is not operator.add:
                        return op(a, b)
                    items = self.iterate(b, frame, node)
                    self.journal.write(a)
                    a.extend(items)
                    return a
                return op(a, b)
            raise self.unsupported(f"operator {op.__name__} on containers of tensors", frame, node)
        if inplace and isinstance(a, (list, dict, set)):
            if self.heap.path_of(a) is not None:  # an outside container: the write is an effect
                if type(a) is list and op is operator.add:
                    self.container_effect(a, "extend", [b], frame, node)
                    return a
                raise self.unsupported(f"`{op.__name__}=` on an outside `{type(a).__name__}`", frame, node)
            self.journal.write(a)  # `+=`, `|=` ... change a mutable container in place
            self.plain(b, frame, node)
            return INPLACE[op](a, b)
        self.plain(a, frame, node)
        self.plain(b, frame, node)
        return INPLACE[op](a, b) if inplace else op(a, b)

    def host_read_feeds(self, what: str, frame, node):
        return self.unsupported(f"a tensor value read on the host feeding {what}", frame, node,
                                "splitting the graph around a host read is not supported yet")

    def may_alias_outside(self, sym: Sym) -> bool:
        """Could writing into this tensor be seen outside the call (an input or a view of one)?"""
        v, seen = sym.value, 0
        while v.node is not None and seen < 64:
            node, seen = v.node, seen + 1
            if node.op == "input":
                return True
            name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
            if name not in VIEW_OPS or not node.args or not hasattr(node.args[0], "node"):
                return False
            v = node.args[0]
        return True

    def expr_UnaryOp(self, n, frame):
        v = self.eval(n.operand, frame)
        if isinstance(n.op, ast.Not):
            return not self.truth(v, frame, n)
        op = UNARYOPS[type(n.op)]
        if isinstance(v, Deferred):
            return defer(op, (v,), f"{op.__name__} of a host read")
        if isinstance(v, Sym):
            return self.emit("call", op, (v,), {}, self.where(frame, n))
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
                raise self.unsupported("chained comparison of tensors", frame, n)
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
                raise self.unsupported("`in` test on tensors", frame, node)
            if isinstance(b, dict) and self.heap.path_of(b) is not None:
                found = self.contains_key(b, a, frame, node)
            else:
                self.plain(a, frame, node)
                self.plain(b, frame, node)
                found = a in b
            return found if isinstance(opnode, ast.In) else not found
        op = CMPOPS[type(opnode)]
        if isinstance(a, Deferred) or isinstance(b, Deferred):
            if isinstance(a, Sym) or isinstance(b, Sym):
                raise self.host_read_feeds("tensor work", frame, node)
            return defer(op, (a, b), f"{op.__name__} of a host read")
        if isinstance(a, Sym) or isinstance(b, Sym):
            return self.emit("call", op, (a, b), {}, self.where(frame, node))
        return op(a, b)

    def identical(self, a, b, frame, node) -> bool:
        """`a is b`; between two outside objects the answer is guarded (they may be one
        object in this call and two in the next)."""
        if isinstance(a, Sym) or isinstance(b, Sym):
            return a is b or (isinstance(a, Sym) and isinstance(b, Sym) and a.value is b.value)
        pa, pb = self.heap.path_of(a), self.heap.path_of(b)
        same = a is b
        if pa is not None and pb is not None and pa != pb:
            self.guard("expr", None, (("call", operator.is_, (("path", pa), ("path", pb))), True, same),
                       self.where(frame, node))
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
        return self.eval(n.body if self.truth(self.eval(n.test, frame), frame, n) else n.orelse, frame)

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
                raise self.unsupported("f-string of a container of tensors", frame, n)
            else:
                self.plain(value, frame, n)
                parts.append(format_value(value, v.conversion, spec))
        if any(isinstance(p, Deferred) for p in parts):
            return defer(joined_str, tuple(parts), "f-string")
        return "".join(parts)

    def expr_Lambda(self, n, frame):
        return self.make_function(n, frame)

    def expr_Starred(self, n, frame):
        raise self.unsupported("starred expression here", frame, n)

    def _comprehension(self, n, frame, make):
        from .source import scope_of  # comprehensions get their own scope, like a nested function
        inner = Frame("<comprehension>", frame.filename, _comp_scope(n), frame.fn_globals, frame.gid, enclosing=frame)
        results = []

        def loop(gens):
            if not gens:
                results.append(make(inner))
                return
            g = gens[0]
            src = self.eval(g.iter, inner if gens is not n.generators else frame)
            for item in self.iterate(src, frame, g.iter):
                self.assign(g.target, item, inner)
                if all(self.truth(self.eval(c, inner), inner, c) for c in g.ifs):
                    loop(gens[1:])

        loop(n.generators)
        return results

    def expr_ListComp(self, n, frame):
        return self.journal.born(self._comprehension(n, frame, lambda f: self.eval(n.elt, f)))

    def expr_GeneratorExp(self, n, frame):
        # consumed eagerly: the converter only accepts generators passed straight to a consumer
        return self._comprehension(n, frame, lambda f: self.eval(n.elt, f))

    def expr_SetComp(self, n, frame):
        return self.journal.born(set(self._comprehension(n, frame, lambda f: self.eval(n.elt, f))))

    def expr_DictComp(self, n, frame):
        return self.journal.born(dict(self._comprehension(n, frame, lambda f: (self.eval(n.key, f), self.eval(n.value, f)))))

    def expr_Call(self, n, frame):
        func = self.eval(n.func, frame)
        args = self._elements(n.args, frame)
        kwargs = {}
        for kw in n.keywords:
            if kw.arg is None:
                src = self.eval(kw.value, frame)
                for k in self.iterate(src, frame, kw.value):
                    kwargs[k] = self.get_item(src, k, frame, kw.value)
            else:
                kwargs[kw.arg] = self.eval(kw.value, frame)
        return self.call(func, args, kwargs, frame, n)

    def make_function(self, node, frame) -> ConvFunction:
        a = node.args
        defaults = [self.eval(d, frame) for d in a.defaults]
        kw_defaults = {arg.arg: self.eval(d, frame) for arg, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None}
        return ConvFunction(node, frame, defaults, kw_defaults)


def _comp_scope(n) -> Scope:
    names = set()
    for g in n.generators:
        for t in ast.walk(g.target):
            if isinstance(t, ast.Name):
                names.add(t.id)
    return Scope((), frozenset(names), frozenset(), frozenset())

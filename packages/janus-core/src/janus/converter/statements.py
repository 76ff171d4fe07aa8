"""The converter: walks a function's AST and emits IR, evaluating the Python around the
tensors during conversion (partial evaluation) and recording every assumption as a guard.

Statements run in order on a `Frame`.  A decision on a Python value (an `if` on a flag, a
`range(n)`) is taken now and guarded; a decision on a tensor value is speculated from the
profile with an in-graph assertion, or becomes a graph `cond`/`while` (`control.py`).
Writes to outside objects become deferred effects.  The parts: `Session` (the graph,
inputs, guards), `Objects` (attributes, items), `Calls`, `Control`, `Recursion`,
`TensorState` (in-place writes).
"""

from __future__ import annotations

import ast
import importlib
import time
from typing import List

from ..errors import Unsupported
from ..ir.graph import Node
from ..ir.spec import PySpec, TensorSpec
from .ast_facts import continues, data_break_index, without_continue
from .expressions import ExpressionConverter
from .frame import Frame, unsupported, where
from .operators import BINOPS
from .signals import RESTARTS, BreakSignal, ContinueSignal, ReturnSignal
from .sym import Sym

MAX_UNROLL = 10000


class Converter(ExpressionConverter):
    """Runs statements; a converted function's body through `exec_block`."""

    def exec_block(self, stmts: List[ast.stmt], frame: Frame, top: bool = False) -> None:
        """Run statements; at a function's top level (`top`), a data-dependent `if` that
        returns on one branch may take the rest of the block along (tail duplication)."""
        if time.monotonic() > self.session.deadline:
            e = unsupported(
                "a function",
                frame,
                stmts[0] if stmts else None,
                f"converting it took more than {self.session.config.conversion_timeout} s",
            )
            e.splittable = False
            raise e
        for i, stmt in enumerate(stmts):
            try:
                if type(stmt) is ast.If:
                    if self.stmt_If(stmt, frame, stmts[i + 1 :] if top else None):
                        return
                    continue
                method = getattr(self, "stmt_" + type(stmt).__name__, None)
                if method is None:
                    raise unsupported(f"`{type(stmt).__name__}` statement", frame, stmt)
                method(stmt, frame)
            except Unsupported as e:
                loop = isinstance(stmt, (ast.For, ast.While))
                if frame is self.root_frame and e.island is None and e.splittable and (loop or not e.whole_statement):
                    e.island = stmt  # the statement of the jitted function that needs the host
                raise

    def stmt_Expr(self, s, frame):
        self.eval(s.value, frame)

    def stmt_Pass(self, s, frame):
        pass

    def stmt_Global(self, s, frame):
        pass

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
            current = self.objects.get_attr(obj, t.attr, frame, t)
            self.objects.set_attr(
                obj, t.attr, self.binop(op, current, self.eval(s.value, frame), frame, s, inplace=True), frame, t
            )
        elif isinstance(t, ast.Subscript):
            obj, idx = self.eval(t.value, frame), self.eval(t.slice, frame)
            current = self.objects.get_item(obj, idx, frame, t)
            self.objects.set_item(
                obj, idx, self.binop(op, current, self.eval(s.value, frame), frame, s, inplace=True), frame, t
            )
        else:
            raise unsupported("augmented assignment target", frame, s)

    def stmt_Return(self, s, frame):
        raise ReturnSignal(None if s.value is None else self.eval(s.value, frame))

    def stmt_Break(self, s, frame):
        raise BreakSignal()

    def stmt_Continue(self, s, frame):
        raise ContinueSignal()

    def stmt_If(self, s, frame, rest=None) -> bool:
        test = self.eval_test(s.test, frame)
        if self.control.wants_cond(test, frame, s):
            return self.control.emit_if_cond(s, test, frame, rest)
        self.exec_block(s.body if self.truth(test, frame, s) else s.orelse, frame)
        return False

    def stmt_While(self, s, frame):
        first = self.eval_test(s.test, frame)
        if self.control.wants_graph_while(first, frame, s):
            self.control.emit_while(frame, s, s.body, s.test)
            self.exec_block(s.orelse, frame)
            return
        self.control.loop_depth += 1
        try:
            self._unrolled_while(s, frame, first)
        finally:
            self.control.loop_depth -= 1

    def _unrolled_while(self, s, frame, test):
        trips = 0
        while True:
            if trips:
                test = self.eval_test(s.test, frame)
            if not self.truth(test, frame, s, trip=trips):
                self.exec_block(s.orelse, frame)
                return
            trips += 1
            if trips > MAX_UNROLL:
                raise unsupported("`while` loop", frame, s, f"more than {MAX_UNROLL} iterations to unroll")
            try:
                self.exec_iteration(s.body, frame)
            except BreakSignal:
                return
            except ContinueSignal:
                continue

    def stmt_For(self, s, frame):
        if self.for_range_as_while(s, frame):
            return
        items = self.objects.iterate(self.eval(s.iter, frame), frame, s.iter)
        self.control.loop_depth += 1
        try:
            self._unrolled_for(s, frame, items)
        finally:
            self.control.loop_depth -= 1

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
        if not (
            isinstance(n, Sym)
            and isinstance(n.spec, PySpec)
            and n.spec.type is int
            and n.value.node is not None
            and (n.value.node.op == "input" or n.value.node.target is self.session.backend.dim)
        ):
            return False
        if not self.session.backend.capabilities.while_loop:
            return False
        try:
            self.control.emit_while(frame, s, s.body, None, counter=(s.target, n))
        except Unsupported:
            return False  # the body needs Python-level iteration: unroll with `n` specialized
        return True

    def _varying_dim(self, expr, frame):
        """`x.shape[k]` or `len(x)` where dimension k of the tensor x varies between calls:
        the size read in the graph (so `range` of it is one graph loop), else None."""
        if (
            isinstance(expr, ast.Subscript)
            and isinstance(expr.value, ast.Attribute)
            and expr.value.attr == "shape"
            and isinstance(expr.slice, ast.Constant)
            and type(expr.slice.value) is int
        ):
            base, k = expr.value.value, expr.slice.value
        elif (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Name)
            and expr.func.id == "len"
            and len(expr.args) == 1
            and not expr.keywords
        ):
            if self.eval(expr.func, frame) is not len:
                return None
            base, k = expr.args[0], 0
        else:
            return None
        if not isinstance(base, ast.Name):
            return None  # evaluated twice when it is no varying dimension: names only
        x = self.eval(base, frame)
        if not (
            isinstance(x, Sym)
            and isinstance(x.spec, TensorSpec)
            and -len(x.spec.shape) <= k < len(x.spec.shape)
            and x.spec.shape[k] is None
        ):
            return None
        return self.session.emit("call", self.session.backend.dim, (x, k), {}, where(frame, expr))

    def exec_iteration(self, body: List[ast.stmt], frame: Frame) -> None:
        """One unrolled iteration of a loop body.  An `if` on a tensor whose branch ends in
        `continue` takes the rest of the iteration into its other branch, so it becomes one
        graph cond (`if t: continue` + rest  ==  `if t: pass else: rest`)."""
        if not any(isinstance(st, ast.If) and continues(st) for st in body):
            self.exec_block(body, frame)
            return
        for i, st in enumerate(body):
            if not (isinstance(st, ast.If) and continues(st)):
                self.exec_block([st], frame)
                continue
            test = self.eval_test(st.test, frame)
            if self.control.wants_cond(test, frame, st):
                rest = body[i + 1 :]
                merged = ast.If(
                    test=st.test, body=without_continue(st.body, rest), orelse=without_continue(st.orelse, rest)
                )
                self.control.emit_if_cond(ast.copy_location(merged, st), test, frame, None)
                return
            self.exec_block(st.body if self.truth(test, frame, st) else st.orelse, frame)

    def _unrolled_for(self, s, frame, items):
        if len(items) > MAX_UNROLL:
            raise unsupported("`for` loop", frame, s, f"more than {MAX_UNROLL} iterations to unroll")
        exit_at = None if s.orelse else data_break_index(s.body)
        for n, item in enumerate(items):
            self.assign(s.target, item, frame)
            try:
                if exit_at is None:
                    self.exec_iteration(s.body, frame)
                elif self._iteration_with_break(s, frame, exit_at, items[n + 1 :]):
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
        test = self.eval_test(stop.test, frame)
        if not self.control.wants_cond(test, frame, stop):
            if self.truth(test, frame, stop):
                raise BreakSignal()
            self.exec_block(body[at + 1 :], frame)
            return False
        # the remaining items ride in the synthetic loop's iter as an (interpreted) constant
        remaining = ast.copy_location(ast.Constant(list(rest_items)), s.iter)  # type: ignore[arg-type]
        loop = ast.copy_location(ast.For(target=s.target, iter=remaining, body=body, orelse=[], type_comment=None), s)
        synthetic = ast.copy_location(
            ast.If(test=stop.test, body=[ast.copy_location(ast.Pass(), stop)], orelse=body[at + 1 :] + [loop]), stop
        )
        self.control.emit_if_cond(synthetic, test, frame, None)
        return True

    def stmt_FunctionDef(self, s, frame):
        if s.decorator_list:
            raise unsupported("decorated nested function", frame, s)
        self.store_name(frame, s.name, self.make_function(s, frame), s)

    def stmt_Assert(self, s, frame):
        test = self.eval_test(s.test, frame)
        if isinstance(test, Sym) and not isinstance(test.spec, PySpec):
            if not bool(test.example):
                raise unsupported("failing `assert`", frame, s, "the assertion fails for these arguments")
            self.control.emit_assert(test, True, frame, s, profile_site=None)
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
                raise unsupported("`break`/`continue`/`return` leaving a `try` with `finally`", frame, s) from None
            raise
        except Exception as e:
            if isinstance(e, (Unsupported,) + RESTARTS):
                raise
            raise unsupported(
                "an exception raised inside `try`",
                frame,
                s,
                f"{type(e).__name__} for these arguments; the handler path runs imperatively",
            ) from None
        self.exec_block(s.orelse, frame)
        self.exec_block(s.finalbody, frame)

    def stmt_Raise(self, s, frame):
        raise unsupported("`raise`", frame, s, "the call raises for these arguments; it runs imperatively")

    def stmt_Delete(self, s, frame):
        for t in s.targets:
            if isinstance(t, ast.Name):
                if t.id not in frame.locals:
                    raise unsupported("`del` of an unbound or non-local name", frame, s)
                del frame.locals[t.id]
            elif isinstance(t, ast.Attribute):
                self.objects.del_attr(self.eval(t.value, frame), t.attr, frame, t)
            elif isinstance(t, ast.Subscript):
                self.objects.del_item(self.eval(t.value, frame), self.eval(t.slice, frame), frame, t)
            else:
                raise unsupported("`del` target", frame, s)

    def stmt_Import(self, s, frame):
        for alias in s.names:
            if isinstance(s, ast.ImportFrom):
                if s.level:
                    raise unsupported("relative import inside a function", frame, s)
                mod = importlib.import_module(s.module)
                self.store_name(frame, alias.asname or alias.name, getattr(mod, alias.name), s)
            else:
                mod = importlib.import_module(alias.name)
                if alias.asname:
                    self.store_name(frame, alias.asname, mod, s)
                else:
                    self.store_name(
                        frame, alias.name.split(".")[0], importlib.import_module(alias.name.split(".")[0]), s
                    )

    def stmt_With(self, s, frame):
        """`with` over a framework context (no_grad, a gradient tape): entered now for the
        conversion-time examples, and as impure enter/exit nodes in the graph."""
        entered = []
        try:
            for item in s.items:
                cm = self.eval(item.context_expr, frame)
                if not isinstance(cm, Sym) or not isinstance(cm.spec, PySpec) or not hasattr(cm.example, "__enter__"):
                    raise unsupported(
                        "`with` over a non-framework context manager",
                        frame,
                        s,
                        "only framework contexts (no_grad, gradient tapes) are supported",
                    )
                enter = Node("call_method", "__enter__", (cm.value,), site=where(frame, s))
                enter.meta["impure"] = True
                self.session.region.add(enter)
                result = cm.example.__enter__()
                entered.append(cm)
                if item.optional_vars is not None:
                    value = cm if result is cm.example else None
                    if value is None:
                        raise unsupported("`with ... as` binding a value other than the context", frame, s)
                    self.assign(item.optional_vars, value, frame)
            self.exec_block(s.body, frame)
        finally:
            for cm in reversed(entered):
                cm.example.__exit__(None, None, None)
                exit_node = Node("call_method", "__exit__", (cm.value, None, None, None), site=where(frame, s))
                exit_node.meta["impure"] = True
                self.session.region.add(exit_node)

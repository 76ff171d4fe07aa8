"""The converter's state: the graph being built, graph inputs, guards, host objects.

`ConverterState` is shared by the statement/expression interpreter (`interp.py`) and the
call dispatcher (`calls.py`).  It emits nodes, computing each node's example value by
running its target on the examples of its operands (partial evaluation of the Python
around the tensors, concolic evaluation of the tensors themselves).
"""
from __future__ import annotations

import builtins
import time
import types
from typing import Any, Dict, List, Optional, Tuple

from ..errors import Unsupported
from ..ir.graph import Graph, Node, Value, map_values
from ..ir.spec import PySpec, is_const_like
from .heap import Guard, Heap, Path, Sym
from .journal import Journal
from .source import is_user_function

_LONG_LIVED = (types.ModuleType, types.BuiltinFunctionType, types.BuiltinMethodType, type,
               types.MethodDescriptorType, types.WrapperDescriptorType, types.MethodWrapperType,
               types.GetSetDescriptorType, types.ClassMethodDescriptorType)


class Respecialize(Exception):
    """Conversion must restart with exact shapes (Python code read a relaxed dimension)."""


class Reconvert(Exception):
    """Conversion must restart as it was: the analyzer learned something on the way (a
    branch speculated earlier in this conversion goes the other way later on)."""


def unwrap_examples(arg: Any) -> Any:
    """Replace every Sym inside nested containers by its example value."""
    if isinstance(arg, Sym):
        return arg.example
    t = type(arg)
    if t is tuple or t is list:
        return t(unwrap_examples(a) for a in arg)
    if t is dict:
        return {k: unwrap_examples(v) for k, v in arg.items()}
    if t is slice:
        return slice(unwrap_examples(arg.start), unwrap_examples(arg.stop), unwrap_examples(arg.step))
    return arg


def to_node_arg(arg: Any) -> Any:
    """Replace every Sym inside nested containers by its IR value."""
    if isinstance(arg, Sym):
        return arg.value
    t = type(arg)
    if t is tuple or t is list:
        return t(to_node_arg(a) for a in arg)
    if t is dict:
        return {k: to_node_arg(v) for k, v in arg.items()}
    if t is slice:
        return slice(to_node_arg(arg.start), to_node_arg(arg.stop), to_node_arg(arg.step))
    return arg


def contains_sym(arg: Any, depth: int = 0) -> bool:
    if isinstance(arg, Sym):
        return True
    t = type(arg)
    if depth < 6 and (t is tuple or t is list):
        return any(contains_sym(a, depth + 1) for a in arg)
    if depth < 6 and t is dict:
        return any(contains_sym(v, depth + 1) for v in arg.values())
    if t is slice:
        return any(contains_sym(a, depth + 1) for a in (arg.start, arg.stop, arg.step))
    return False


class ConverterState:
    def __init__(self, root_fn, backend, analyzer, config):
        self.root_fn = root_fn
        self.backend = backend
        self.analyzer = analyzer
        self.config = config
        self.graph = Graph(getattr(root_fn, "__qualname__", "fn").replace("<", "").replace(">", ""))
        self.heap = Heap()
        self.journal = Journal()
        self.deadline = time.monotonic() + getattr(config, "conversion_timeout", 30.0)
        self.guards: List[Guard] = []
        self._guard_keys: set = set()
        self.input_paths: List[Path] = []
        self._inputs_by_path: Dict[Path, Sym] = {}
        self._inputs_by_id: Dict[int, Tuple[Path, Sym]] = {}
        self.globals_dicts: List[dict] = []
        self.asserts: Dict[str, Tuple] = {}  # assert site text -> profile site key
        self.exact_shapes = False
        self.impure_emitted = False
        self.effects_before_update = 0
        self.region = self.graph
        self.examples: Dict[int, Any] = {}  # Value id -> example, for values a region reads

    # -- guards and host values ----------------------------------------------
    def guard(self, kind: str, path: Path, expect: Any, site: str = "", relax=None) -> None:
        g = Guard(kind, path, expect, site, relax)
        if getattr(self, "node_ctx", None) is not None and self.node_guard(g):
            return  # a structural guard of a recursion node kind
        k = g.key()
        if k not in self._guard_keys:
            self._guard_keys.add(k)
            self.guards.append(g)

    def gid(self, d: dict) -> int:
        for i, known in enumerate(self.globals_dicts):
            if known is d:
                return i
        self.globals_dicts.append(d)
        return len(self.globals_dicts) - 1

    def read_host(self, value: Any, path: Path, site_key=None, site: str = "") -> Any:
        """A value read from outside the function: decide constant / input / object,
        record the guards that decision relies on, and return the converter's value."""
        backend = self.backend
        if path in self._inputs_by_path:
            return self._inputs_by_path[path]
        if path.root == ("node",) and getattr(self, "node_ctx", None) is not None:
            if isinstance(value, (tuple, list)):
                self.guard("type", path, type(value), site)
                if id(value) not in self.heap.origins:
                    self.heap.origins[id(value)] = (value, path)
                return value
            read = self.node_read(value, path, site)
            if read is not None:
                return read
        if backend.owns(value):
            first = self._inputs_by_id.get(id(value))
            if first is not None and first[1].example is value:
                # the same tensor reached by another path: one graph input, and a guard that
                # both paths still lead to one object
                self.guard("alias", path, first[0], site)
                self._inputs_by_path[path] = first[1]
                return first[1]
            spec = backend.spec_of(value)
            if site_key is not None and not self.exact_shapes:
                spec = self.analyzer.tensor_spec(site_key, spec)
            self.guard("type", path, type(value), site)
            self.guard("tensor", path, spec, site, site_key)
            return self._new_input(path, spec, value)
        t = type(value)
        if t in (int, float) and site_key is not None and self.analyzer.scalar_is_input(site_key, value):
            self.guard("type", path, t, site, site_key)
            return self._new_input(path, PySpec(t), value)
        if is_const_like(value):
            self.guard("value", path, value, site, site_key)
            return value
        if isinstance(value, (types.BuiltinMethodType, types.MethodWrapperType)) and \
                not isinstance(value.__self__, (types.ModuleType, type)) and value.__self__ is not None:
            return value  # a fresh bound builtin method: its owner's type guard decides what it is
        if isinstance(value, types.FunctionType) and is_user_function(value):
            # inlined: its code is what the graph follows (closure cells are read by path)
            self.guard("code", path, value.__code__, site)
        elif isinstance(value, types.MethodType):
            self.guard("type", path, types.MethodType, site)
            if isinstance(value.__func__, types.FunctionType):
                self.guard("code", path.attr("__func__"), value.__func__.__code__, site)
        elif isinstance(value, _LONG_LIVED + (types.FunctionType,)) or getattr(type(value), "__module__", "").split(".")[0] in \
                (("torch", "tensorflow", "numpy", "keras") + tuple(backend.framework_modules)):
            # a library function is called as is: two wrappers may share one code object
            self.guard("identity", path, value, site)
            self.heap.note(value, path)
            return value
        else:
            self.guard("type", path, t, site)
        known = self.heap.path_of(value)
        if known is not None and known != path:
            self.guard("alias", path, known, site)  # one object reached two ways: still one?
        self.heap.note(value, path)
        return value

    def input_path_of(self, value: Value) -> Path:
        return next(p for p, s in self._inputs_by_path.items() if s.value is value)

    def _new_input(self, path: Path, spec: Any, example: Any) -> Sym:
        node = Node("input", str(path))
        node.add_output(spec, name=_value_name(path))
        # inputs go first, in the order they are discovered
        n_inputs = len(self.input_paths)
        self.graph.nodes.insert(n_inputs, node)
        self.input_paths.append(path)
        sym = Sym(node.out, example)
        self.examples[node.out.id] = example
        self._inputs_by_path[path] = sym
        if not isinstance(spec, PySpec):
            self._inputs_by_id[id(example)] = (path, sym)
        return sym

    # -- emitting nodes -------------------------------------------------------
    def emit(self, op: str, target: Any, args: tuple, kwargs: dict, site: str = "", region=None) -> Any:
        """Emit a call/call_method node; return a Sym (or a tuple of Syms for a tuple result)."""
        from .deferred import contains_deferred
        if contains_deferred((args, kwargs)):
            raise Unsupported("a tensor value read on the host feeding tensor work", site,
                              "splitting the graph around a host read is not supported yet")
        if op == "call" and not kwargs and region is None:
            derived = self.host_scalar(target, args, site)
            if derived is not None:
                return derived
        args, kwargs = self.lift_host_containers(args), self.lift_host_containers(kwargs)
        args, kwargs = self.current(args), self.current(kwargs)
        self.check_stale((args, kwargs))
        ex_args, ex_kwargs = unwrap_examples(args), unwrap_examples(kwargs)
        impure_target = target if op == "call" else getattr(ex_args[0], target, None)
        if self.backend.is_impure(impure_target, ex_args, ex_kwargs):
            # run in the graph for its effect on framework state only; never during conversion.
            # Deferred writes to framework objects would land after it, out of order: refuse.
            for e in self.heap.effects:
                if _seen_by_update(e, self.backend):
                    raise Unsupported("a write to framework state before an in-graph update", site,
                                      f"the {e.kind} at {e.site} would be committed after the update")
            node = self.add_in_order(op, target, args, kwargs, site, region)
            if not self.impure_emitted:  # the effects eager makes before the first update ran
                self.effects_before_update = len(self.heap.effects)
            self.impure_emitted = True
            # an update (backward) may write `.grad` anew: forget what the step set it to
            self.heap.shadows = {k: v for k, v in self.heap.shadows.items() if k[1] != ("attr", "grad")}
            # e.g. clip_grad_norm_ returns the norm: a value of the graph (never computed now)
            example = self.backend.impure_result(impure_target, ex_args, ex_kwargs)
            return None if example is None else self.wrap_result(node, example)
        if op == "call":
            example = target(*ex_args, **ex_kwargs)
        else:
            example = getattr(ex_args[0], target)(*ex_args[1:], **ex_kwargs)
        node = Node(op, target, to_node_arg(args), to_node_arg(kwargs), site=site)
        (region or self.region).add(node)
        return self.wrap_result(node, example)

    def host_scalar(self, target: Any, args: tuple, site: str) -> Optional[Sym]:
        """`target(*args)` on Python numbers that the host computes from the call's inputs
        (`lr / 3.0`, `k * k + 1`, `step > 5`): a graph input the guard function computes
        before the graph runs, so it keeps Python's semantics (arbitrary-precision ints,
        float64, ZeroDivisionError) on every backend.  None when the value must be computed
        in the graph (it depends on a tensor, or on a loop or branch of the graph)."""
        if not _host_evaluable(target):
            return None
        syms = [a for a in args if isinstance(a, Sym)]
        if not syms or not all(isinstance(a.spec, PySpec) and a.spec.type in (int, float, bool) for a in syms) \
                or not all(isinstance(a, Sym) or type(a) in (int, float, bool) for a in args):
            return None
        try:
            tree = ("call", target, tuple(self.host_expr(a.value, "", site) if isinstance(a, Sym) else ("const", a)
                                          for a in args))
        except Unsupported:
            return None
        example = target(*(a.example if isinstance(a, Sym) else a for a in args))
        if type(example) not in (int, float, bool):
            return None
        path = Path(("expr", tree))
        try:
            known = self._inputs_by_path.get(path)
        except TypeError:  # an unhashable constant in the expression
            return None
        return known if known is not None else self._new_input(path, PySpec(type(example)), example)

    def add_in_order(self, op: str, target: Any, args, kwargs, site: str, region=None) -> Node:
        """A node run in the graph for its effect on framework state, in program order
        (impure: never evaluated during conversion, never removed or merged by the passes)."""
        node = Node(op, target, to_node_arg(args), to_node_arg(kwargs), site=site)
        node.meta["impure"] = True
        (region or self.region).add(node)
        return node

    def lift_host_containers(self, arg: Any, depth: int = 0) -> Any:
        """Outside lists/tuples passed to a framework call (`tape.gradient(loss,
        model.trainable_variables)`): their items become graph inputs, their length a guard."""
        t = type(arg)
        if t in (list, tuple) and depth < 4:
            path = self.heap.path_of(arg)
            if path is not None:
                n = len(arg)
                self.guard("len", path, n)
                return t(self.lift_host_containers(self.read_host(arg[i], path.item(i)), depth + 1) for i in range(n))
            if any(type(a) in (list, tuple, dict) for a in arg):
                return t(self.lift_host_containers(a, depth + 1) for a in arg)
            return arg
        if t is dict and depth < 4:
            return {k: self.lift_host_containers(v, depth + 1) for k, v in arg.items()}
        return arg

    def wrap_result(self, node: Node, example: Any) -> Any:
        backend = self.backend
        if backend.owns(example):
            return self._sym(node.add_output(backend.spec_of(example)), example)
        if type(example) in (int, float, bool):
            return self._sym(node.add_output(PySpec(type(example))), example)
        if isinstance(example, (tuple, list)) and _flows(example, backend):
            whole = node.add_output(PySpec(type(example)))
            import operator
            items = []
            for i, e in enumerate(example):
                if e is None:  # e.g. the gradient of an unused variable
                    items.append(None)
                    continue
                getter = Node("call", operator.getitem, (whole, i))
                self.region.add(getter)
                items.append(self.wrap_result(getter, e))
            if type(example) in (tuple, list):
                return type(example)(items)
            try:  # namedtuples (torch.max(x, dim) returns values/indices)
                return type(example)(*items)
            except TypeError:
                return tuple(items)
        if example is None:
            node.add_output(PySpec(type(None)))
            return None
        if backend.is_graph_object(example):
            node.meta["opaque"] = True
            return self._sym(node.add_output(PySpec(type(example))), example)
        raise Unsupported(f"a framework call returning {type(example).__name__}", node.site,
                          "only tensors, Python numbers and tuples of them can flow through a graph")

    def _sym(self, value: Value, example: Any) -> Sym:
        self.examples[value.id] = example
        return Sym(value, example)

    def const(self, value: Any) -> Value:
        node = self.region.add(Node("const", value))
        return node.add_output(PySpec(type(value), value) if is_const_like(value) else PySpec(type(value)))

    def demand(self, sym: Sym, why: str, site: str, truth: bool = False) -> Any:
        """Python code needs the concrete value of a symbolic Python scalar.

        The value is a function of Python-scalar graph inputs (tensors cannot be
        demanded: that would be a host read).  The decision is guarded on exactly what
        Python used: the value itself, or only its truth value (`if step == 4:` guards
        `(step == 4) is False`, so other steps still share the graph)."""
        expr = self.host_expr(sym.value, why, site)
        if expr[0] == "path" and not truth:
            self.guard("value", expr[1], sym.example, site)
        else:
            expect = bool(sym.example) if truth else sym.example
            self.guard("expr", None, (expr, truth, expect), site)
        return bool(sym.example) if truth else sym.example

    def host_expr(self, v: Value, why: str, site: str, depth: int = 0) -> tuple:
        """The Python expression computing `v` from outside values, for a host guard."""
        node = v.node
        if node is None or depth > 32:
            raise Unsupported(why, site, "the value is computed inside a loop or branch of the graph")
        if node.op == "const":
            return ("const", node.target)
        if node.op == "input":
            if not isinstance(v.spec, PySpec):
                raise Unsupported(why, site, "it needs the value of a tensor on the host (data-dependent)")
            path = next(p for p, s in self._inputs_by_path.items() if s.value is v)
            return ("path", path)
        if node.op == "call" and not node.kwargs and all(isinstance(a, Value) or is_const_like(a) for a in node.args):
            args = tuple(self.host_expr(a, why, site, depth + 1) if isinstance(a, Value) else ("const", a)
                         for a in node.args)
            return ("call", node.target, args)
        raise Unsupported(why, site, "it needs the value of a tensor on the host (data-dependent)")


def _host_evaluable(target: Any) -> bool:
    """Python-level functions of numbers: operators, `math`, numeric builtins."""
    try:
        if target in _NUMERIC_BUILTINS:
            return True
    except TypeError:  # an unhashable callable
        return False
    return (getattr(target, "__module__", None) or "") in ("_operator", "operator", "math")


_NUMERIC_BUILTINS = frozenset({builtins.abs, builtins.round, builtins.min, builtins.max, builtins.pow, builtins.divmod,
                               builtins.int, builtins.float, builtins.bool})


def _seen_by_update(effect, backend) -> bool:
    """Could an in-graph update (backward(), an optimizer step) read what this deferred
    effect writes?  Attribute writes on framework objects (`p.grad = None`) and values
    written into trainable tensors: yes.  Statistics buffers (batch norm): no."""
    target = effect.target
    if target is None:
        return False
    if effect.kind == "assign":
        return bool(getattr(target, "requires_grad", False) or getattr(target, "trainable", False))
    return backend.owns(target) or type(target).__module__.split(".")[0] in backend.framework_modules


def _flows(example: Any, backend, depth: int = 0) -> bool:
    """Can this (nested) framework result flow through a graph as getitem-ed parts?"""
    if backend.owns(example) or type(example) in (int, float, bool) or example is None:
        return True
    if backend.is_graph_object(example):  # e.g. tf.IndexedSlices among a tape's gradients
        return True
    return depth < 3 and isinstance(example, (tuple, list)) and all(_flows(e, backend, depth + 1) for e in example)


def _value_name(path: Path) -> str:
    text = str(path)
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text)
    return cleaned.strip("_")[:40] or "in"


BUILTINS = builtins.__dict__

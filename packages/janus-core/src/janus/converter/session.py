"""What one conversion builds: the graph, its inputs and guards, and what it knows of the
outside world (`Heap`, `Journal`).

The session emits nodes, computing each node's example value by running its target on
the examples of its operands (partial evaluation of the Python around the tensors,
concolic evaluation of the tensors themselves), and decides how every value read from
outside the function enters the graph (constant, input, guarded object).
"""

from __future__ import annotations

import builtins
import dataclasses
import operator
import time
import types
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..backend import closure_owner, rules_of
from ..errors import Unsupported
from ..guards import Guard
from ..ir.graph import Graph, Node, Value
from ..ir.spec import PySpec, is_const_like
from ..paths import Path
from ..source import is_user_function
from . import host_arrays
from .deferred import contains_deferred, origin_of
from .heap import Heap
from .journal import Journal
from .state import TensorState
from .sym import Sym, to_node_arg, unwrap_examples
from .templates import TemplateBuilder

_LONG_LIVED = (
    types.ModuleType,
    types.BuiltinFunctionType,
    types.BuiltinMethodType,
    type,
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.MethodWrapperType,
    types.GetSetDescriptorType,
    types.ClassMethodDescriptorType,
    types.FunctionType,
)


#: NumPy numbers: values, guarded by type and value like Python's own
_NUMPY_SCALARS = (np.number, np.bool_)


@dataclasses.dataclass(frozen=True)
class Mode:
    """How a conversion attempt runs (the driver restarts in another mode when needed)."""

    exact_shapes: bool = False  # relaxed dims made exact (Python read one)
    schedule: Tuple = ()  # (code, structure argument index) converted as data
    no_schedule: bool = False  # recursion inlined per structure


class Session:
    def __init__(
        self,
        root_fn: Any,
        backend: Any,
        analyzer: Any,
        config: Any,
        mode: Mode = Mode(),
        deadline: Optional[float] = None,
    ):
        self.root_fn, self.backend, self.analyzer, self.config, self.mode = root_fn, backend, analyzer, config, mode
        self.rules = rules_of(backend)
        self.opaque = tuple(backend.framework_modules)  # never inlined
        self.graph = Graph(getattr(root_fn, "__qualname__", "fn").replace("<", "").replace(">", ""))
        self.region = self.graph
        self.examples: Dict[int, Any] = {}  # Value id -> example, for values a region reads
        self.heap = Heap()
        self.journal = Journal()
        self.deadline = deadline if deadline is not None else time.monotonic() + config.conversion_timeout
        self.guards: List[Guard] = []
        self._guard_keys: set = set()
        self.input_paths: List[Path] = []
        self._inputs_by_path: Dict[Path, Sym] = {}
        self._inputs_by_id: Dict[int, Tuple[Path, Sym]] = {}
        self.globals_dicts: List[dict] = []
        self.object_roots: List[Any] = []
        self.asserts: Dict[str, Any] = {}  # assert site text -> profile site key
        self.impure_emitted = False  # an in-graph update (backward(), step()) was emitted
        self.effects_before_update = 0
        self.local_objects: Dict[int, Any] = {}  # objects of user classes built in the call
        #: cond results that are an outside tensor on one path: value id -> (pred, then, else)
        self.alias_choices: Dict[int, Any] = {}
        #: the lists standing for generator expressions (evaluated eagerly): id -> the list,
        #: kept alive so the id stays theirs; never a value that leaves a graph
        self.generators: Dict[int, list] = {}
        #: while converting one node of a recursion as data: takes that node's reads and guards
        self.node_scope: Any = None
        self.tensors = TensorState(self)
        self.templates = TemplateBuilder(self)  # what the runtime rebuilds values from

    # -- guards and host values ----------------------------------------------------------
    def guard(self, kind: str, path: Optional[Path], expect: Any, site: str = "", relax=None) -> None:
        g = Guard(kind, path, expect, site, relax)
        if self.node_scope is not None and self.node_scope.take_guard(g):
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

    def object_root(self, obj: Any, label: str) -> Path:
        """A path rooted at a long-lived object (a method's function, a class)."""
        for i, known in enumerate(self.object_roots):
            if known is obj:
                return Path(("obj", i, label))
        self.object_roots.append(obj)
        return Path(("obj", len(self.object_roots) - 1, label))

    def read_host(self, value: Any, path: Path, site_key=None, site: str = "") -> Any:
        """A value read from outside the function: decide constant / input / object,
        record the guards that decision relies on, and return the converter's value."""
        if path in self._inputs_by_path:
            return self._inputs_by_path[path]
        if path.root == ("node",) and self.node_scope is not None:
            read = self.node_scope.read(value, path, site)
            if read is not None:
                return read
        if self.backend.owns(value):
            return self._read_tensor(value, path, site_key, site)
        t = type(value)
        if t in (int, float) and site_key is not None and self.analyzer.scalar_is_input(site_key, value):
            self.guard("type", path, t, site, site_key)
            return self._new_input(path, PySpec(t), value)
        if is_const_like(value) or isinstance(value, _NUMPY_SCALARS):  # (`reward[0]` of an array)
            self.guard("value", path, value, site, site_key)
            return value
        return self._read_object(value, path, site)

    def _read_tensor(self, value: Any, path: Path, site_key, site: str) -> Sym:
        first = self._inputs_by_id.get(id(value))
        if first is not None and first[1].example is value:
            # the same tensor reached by another path: one graph input, and a guard that
            # both paths still lead to one object
            self.guard("alias", path, first[0], site)
            self._inputs_by_path[path] = first[1]
            return first[1]
        spec = self.backend.spec_of(value)
        if site_key is not None and not self.mode.exact_shapes:
            spec = self.analyzer.tensor_spec(site_key, spec)
        self.guard("type", path, type(value), site)
        self.guard("tensor", path, spec, site, site_key)
        return self._new_input(path, spec, value)

    def _read_object(self, value: Any, path: Path, site: str) -> Any:
        if (
            isinstance(value, (types.BuiltinMethodType, types.MethodWrapperType))
            and not isinstance(value.__self__, (types.ModuleType, type))
            and value.__self__ is not None
        ):
            return value  # a fresh bound builtin method: its owner's type guard decides what it is
        if _fresh_class_method(value):
            # `dict.fromkeys`: a new object on every read, equal while the class's is the same
            self.guard("value", path, value, site)
            self.heap.note(value, path)
            return value
        if isinstance(value, types.FunctionType) and is_user_function(value, self.opaque):
            # inlined: its code is what the graph follows (closure cells are read by path)
            self.guard("code", path, value.__code__, site)
        elif isinstance(value, types.MethodType):
            self.guard("type", path, types.MethodType, site)
            if isinstance(value.__func__, types.FunctionType):
                self.guard("code", path.attr("__func__"), value.__func__.__code__, site)
        elif isinstance(value, _LONG_LIVED) or self.backend.is_long_lived(value):
            # a library function is called as is: two wrappers may share one code object
            self.guard("identity", path, value, site)
            self.heap.note(value, path)
            return value
        else:
            self.guard("type", path, type(value), site)
        known = self.heap.path_of(value)
        if known is not None and known != path:
            self.guard("alias", path, known, site)  # one object reached two ways: still one?
        self.heap.note(value, path)
        return value

    def input_path_of(self, value: Value) -> Path:
        return next(p for p, s in self._inputs_by_path.items() if s.value is value)

    def input_sym(self, path: Path) -> Optional[Sym]:
        return self._inputs_by_path.get(path)

    def inputs(self) -> List[Tuple[Path, Sym]]:
        return list(self._inputs_by_path.items())

    def new_input(self, path: Path, spec: Any, example: Any) -> Sym:
        """A graph input read from `path` on every call (or the one already made for it)."""
        known = self._inputs_by_path.get(path)
        return known if known is not None else self._new_input(path, spec, example)

    def _new_input(self, path: Path, spec: Any, example: Any) -> Sym:
        node = Node("input", str(path))
        node.add_output(spec, name=_value_name(path))
        # inputs go first, in the order they are discovered
        self.graph.nodes.insert(len(self.input_paths), node)
        self.input_paths.append(path)
        sym = Sym(node.out, example)
        self.examples[node.out.id] = example
        self._inputs_by_path[path] = sym
        if not isinstance(spec, PySpec):
            self._inputs_by_id[id(example)] = (path, sym)
        return sym

    # -- objects built in the call ------------------------------------------------------
    def new_local_object(self, obj: Any) -> Any:
        self.local_objects[id(obj)] = obj
        return self.journal.born(obj)

    def is_local_object(self, obj: Any) -> bool:
        return self.local_objects.get(id(obj)) is obj

    # -- emitting nodes ---------------------------------------------------------------
    def emit(self, op: str, target: Any, args: tuple, kwargs: dict, site: str = "", region=None) -> Any:
        """Emit a call/call_method node; return a Sym (or a tuple of Syms for a tuple result)."""
        if contains_deferred((args, kwargs)):
            e = Unsupported(
                "a tensor value read on the host feeding tensor work",
                site,
                "it needs the value on the host while the graph runs",
            )
            e.island = origin_of((args, kwargs))
            raise e
        if op == "call" and not kwargs and region is None:
            derived = self.host_scalar(target, args, site)
            if derived is not None:
                return derived
        args, kwargs = self.lift_host_containers(args), self.lift_host_containers(kwargs)
        read = (args, kwargs)
        args, kwargs = self.tensors.current(args), self.tensors.current(kwargs)
        args, kwargs, converted = host_arrays.lift(self, op, target, args, kwargs, site)
        if converted is not None:
            return converted
        self.tensors.check_stale((args, kwargs))
        ex_args, ex_kwargs = unwrap_examples(args), unwrap_examples(kwargs)
        impure_target = target if op == "call" else getattr(ex_args[0], target, None)
        impure = self.rules.is_impure(impure_target, ex_args, ex_kwargs)
        if (impure or self.rules.differentiates(impure_target)) and _rewritten(read, (args, kwargs)):
            # `tape.gradient(loss, [v])` after `v.assign_sub(...)` (a later loop iteration)
            e = Unsupported(
                "a framework update of a tensor this call wrote before",
                site,
                "in a graph it would see the tensor's value from before the write",
            )
            e.whole_statement = True  # a loop around both runs on the host, one graph per pass
            raise e
        if impure:
            return self._emit_update(op, target, args, kwargs, site, region, (impure_target, ex_args, ex_kwargs))
        self._guard_embedded((args, kwargs), site)
        if op == "call":
            example = target(*ex_args, **ex_kwargs)
        else:
            example = getattr(ex_args[0], target)(*ex_args[1:], **ex_kwargs)
        node = Node(op, target, to_node_arg(args), to_node_arg(kwargs), site=site)
        if self.rules.is_random(target if op == "call" else impure_target):
            node.meta["random"] = True
            for state, value in self.rules.random_op_guards():
                self.guard("expr", None, (("call", state, ()), False, value), f"framework state {state.__name__}()")
        (region or self.region).add(node)
        return self.wrap_result(node, example)

    def _emit_update(self, op, target, args, kwargs, site, region, examples) -> Any:
        """A call run in the graph for its effect on framework state only (`backward()`,
        an optimizer step); never during conversion."""
        reachable = _reachable_ids(_update_owner(*examples[:2])) if self.heap.effects else set()
        for e in self.heap.effects:  # deferred writes it could read would land after it
            if _seen_by_update(e, self.backend) or id(e.target) in reachable:
                raise Unsupported(
                    "a write to framework state before an in-graph update",
                    site,
                    f"the {e.kind} at {e.site} would be committed after the update",
                )
        node = self.add_in_order(op, target, args, kwargs, site, region)
        if not self.impure_emitted:  # the effects eager makes before the first update ran
            self.effects_before_update = len(self.heap.effects)
        self.impure_emitted = True
        # an update (backward) may write `.grad` anew: forget what the step set it to
        self.heap.shadows = {k: v for k, v in self.heap.shadows.items() if k[1] != ("attr", "grad")}
        # e.g. clip_grad_norm_ returns the norm: a value of the graph (never computed now)
        example = self.rules.impure_result(*examples)
        return None if example is None else self.wrap_result(node, example)

    def _guard_embedded(self, arg: Any, site: str, depth: int = 0) -> None:
        """An outside object passed as is to a framework call becomes a graph constant:
        the graph is for that very object."""
        if isinstance(arg, (list, tuple)) and depth < 4:
            for a in arg:
                self._guard_embedded(a, site, depth + 1)
        elif isinstance(arg, dict) and depth < 4:
            for a in arg.values():
                self._guard_embedded(a, site, depth + 1)
        elif not isinstance(arg, Sym) and not is_const_like(arg) and not isinstance(arg, _LONG_LIVED):
            path = self.heap.path_of(arg)
            if path is not None and not self.rules.is_graph_object(arg):
                self.guard("identity", path, arg, site)

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
                self.guard("len", path, len(arg))
                items = self.heap.current_items(arg, lambda i: self.read_host(arg[i], path.item(i)))
                if items is None:
                    raise Unsupported(f"an outside `{t.__name__}` this call changed, passed to a framework call")
                return t(self.lift_host_containers(item, depth + 1) for item in items)
            if any(type(a) in (list, tuple, dict) for a in arg):
                return t(self.lift_host_containers(a, depth + 1) for a in arg)
            return arg
        if t is dict and depth < 4:
            return {k: self.lift_host_containers(v, depth + 1) for k, v in arg.items()}
        return arg

    def wrap_result(self, node: Node, example: Any) -> Any:
        backend = self.backend
        if backend.owns(example):
            return self.sym(node.add_output(backend.spec_of(example)), example)
        if type(example) in (int, float, bool):
            return self.sym(node.add_output(PySpec(type(example))), example)
        if isinstance(example, (tuple, list)) and _flows(example, backend, self.rules):
            return self._wrap_parts(node, example)
        if example is None:
            node.add_output(PySpec(type(None)))
            return None
        if self.rules.is_graph_object(example):
            node.meta["opaque"] = True
            return self.sym(node.add_output(PySpec(type(example))), example)
        raise Unsupported(
            f"a framework call returning {type(example).__name__}",
            node.site or "",
            "only tensors, Python numbers and tuples of them can flow through a graph",
        )

    def _wrap_parts(self, node: Node, example: Any) -> Any:
        """A (nested) framework result flowing through the graph as getitem-ed parts."""
        whole = node.add_output(PySpec(type(example)))
        items: List[Any] = []
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

    def sym(self, value: Value, example: Any) -> Sym:
        self.examples[value.id] = example
        return Sym(value, example)

    # -- Python values the host computes --------------------------------------------------
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
            return ("path", self.input_path_of(v))
        if node.op == "call" and not node.kwargs and all(isinstance(a, Value) or is_const_like(a) for a in node.args):
            args = tuple(
                self.host_expr(a, why, site, depth + 1) if isinstance(a, Value) else ("const", a) for a in node.args
            )
            return ("call", node.target, args)
        raise Unsupported(why, site, "it needs the value of a tensor on the host (data-dependent)")

    def host_scalar(self, target: Any, args: tuple, site: str) -> Optional[Sym]:
        """`target(*args)` on Python numbers that the host computes from the call's inputs
        (`lr / 3.0`, `k * k + 1`, `step > 5`): a graph input the guard function computes
        before the graph runs, so it keeps Python's semantics (arbitrary-precision ints,
        float64, ZeroDivisionError) on every backend.  None when the value must be computed
        in the graph (it depends on a tensor, or on a loop or branch of the graph)."""
        if not _host_evaluable(target):
            return None
        syms = [a for a in args if isinstance(a, Sym)]
        if (
            not syms
            or not all(isinstance(a.spec, PySpec) and a.spec.type in (int, float, bool) for a in syms)
            or not all(isinstance(a, Sym) or type(a) in (int, float, bool) for a in args)
        ):
            return None
        try:
            tree = (
                "call",
                target,
                tuple(self.host_expr(a.value, "", site) if isinstance(a, Sym) else ("const", a) for a in args),
            )
        except Unsupported:
            return None
        example = target(*(a.example if isinstance(a, Sym) else a for a in args))
        if type(example) not in (int, float, bool):
            return None
        try:
            return self.new_input(Path(("expr", tree)), PySpec(type(example)), example)
        except TypeError:  # an unhashable constant in the expression
            return None


def _rewritten(before: Any, after: Any) -> bool:
    """Does `after` (`TensorState.current` of `before`) hold a newer version of a tensor?"""
    if isinstance(before, Sym):
        return before is not after
    if type(before) in (tuple, list):
        return any(_rewritten(b, a) for b, a in zip(before, after))
    if type(before) is dict:
        return any(_rewritten(b, after[k]) for k, b in before.items())
    return False


def _host_evaluable(target: Any) -> bool:
    """Python-level functions of numbers: operators, `math`, numeric builtins."""
    try:
        if target in _NUMERIC_BUILTINS:
            return True
    except TypeError:  # an unhashable callable
        return False
    return (getattr(target, "__module__", None) or "") in ("_operator", "operator", "math")


_NUMERIC_BUILTINS = frozenset(
    {
        builtins.abs,
        builtins.round,
        builtins.min,
        builtins.max,
        builtins.pow,
        builtins.divmod,
        builtins.int,
        builtins.float,
        builtins.bool,
    }
)


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


def _update_owner(target: Any, args: Any) -> Any:
    """The object an update belongs to: a bound method's `self`, the object a wrapper
    function holds in its closure (an LR scheduler's `opt.step`), or the first argument."""
    owner = getattr(target, "__self__", None)
    if owner is None:
        owner = closure_owner(target, lambda v: hasattr(v, "__dict__") and not callable(v))
    return owner if owner is not None else (args[0] if args else None)


def _reachable_ids(obj: Any, depth: int = 0) -> set:
    """Ids of the Python containers and objects an update's owner holds (an optimizer's
    `param_groups` dicts, its `state`): a write to one of them is read by the update."""
    found: set = set()
    if obj is None or depth > 3:
        return found
    values = list(obj.values()) if isinstance(obj, dict) else list(obj) if isinstance(obj, (list, tuple)) else None
    if values is None:
        values = list(getattr(obj, "__dict__", {}).values()) if depth == 0 else []
    for v in values:
        if isinstance(v, (dict, list)) or (depth == 0 and hasattr(v, "__dict__")):
            found.add(id(v))
            found |= _reachable_ids(v, depth + 1)
    return found


def _flows(example: Any, backend, rules, depth: int = 0) -> bool:
    """Can this (nested) framework result flow through a graph as getitem-ed parts?"""
    if backend.owns(example) or type(example) in (int, float, bool) or example is None:
        return True
    if rules.is_graph_object(example):  # e.g. tf.IndexedSlices among a tape's gradients
        return True
    return (
        depth < 3 and isinstance(example, (tuple, list)) and all(_flows(e, backend, rules, depth + 1) for e in example)
    )


def _value_name(path: Path) -> str:
    text = str(path)
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text)
    return cleaned.strip("_")[:40] or "in"


def _fresh_class_method(value: Any) -> bool:
    """A builtin class method read through its class (`dict.fromkeys`): every read makes
    a new bound object, so identity with the one seen never holds."""
    owner = getattr(value, "__self__", None)
    return (
        isinstance(value, types.BuiltinMethodType)
        and isinstance(owner, type)
        and getattr(owner, value.__name__, None) is not value
    )

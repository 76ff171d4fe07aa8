"""Lowering: a JANUS IR graph -> a `torch.fx.GraphModule`.

`FxLowering` is the core's IR interpreter run on fx nodes: each `op_<opcode>` method
appends what the node does to the fx graph being built (`fx.Graph.placeholder/
call_function/call_method`, no Proxy tracing), so any Python callable the converter
recorded works as a target.

* `input`  -> placeholders, in `graph.inputs` order (the executable's calling convention).
* `const`  -> the literal itself when fx can print it, else a module attribute (`get_attr`).
* `call`/`call_method` -> `call_function`/`call_method` with Values mapped to fx nodes.
* `assert` -> the predicate is computed in the graph and returned as an extra, last
  output (several are stacked into one bool vector) so the host checks all of them with
  one read after the run (`LoweredGraph.assert_sites` / `assert_expect`).  Inside a
  region an assertion is checked where it stands (`check_assert`).
* `cond` of pure pointwise branches -> both branches and `torch.where` (`select.py`).
* `cond`/`while` -> for the fx tier, the whole node (nested regions included) becomes one
  generated straight-line Python function (`codegen.py`: `if`/`while` blocks, no
  sub-module calls).  For Inductor each region becomes a sub-GraphModule run through
  `torch.cond` / `torch._higher_order_ops.while_loop` (tensors only; otherwise
  compilation fails and the fx tier stays).
* grad-mode contexts (`with torch.no_grad():` ...: an opaque context object with impure
  `__enter__`/`__exit__` nodes) -> `torch.is_grad_enabled()` / `torch._C._set_grad_enabled`
  calls, the form dynamo itself emits, so fx and Inductor both run them.
* impure calls (`loss.backward()`, `optimizer.step()`) -> calls through `run_impure`, which
  notes that framework state changed; top-level assertions before the first one are
  checked right there (`check_asserts`), so a failed speculation changes nothing.
* `map`, `invoke` and `effect` are not lowered (`janus.Unsupported`).

The functions the graphs call at run time live in `runtime.py`.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import operator
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.fx as fx
from torch.fx.node import _get_qualified_name

from janus.errors import Unsupported
from janus.ir.graph import Graph, Node, Region, Value
from janus.ir.interpret import Interpreter
from janus.ir.spec import PySpec

from .call_effects import draws_random
from .codegen import compile_control
from .functional import setitem_functional
from .runtime import (
    GRAD_CONTEXTS,
    EffectsFlag,
    assert_flags,
    check_assert,
    check_asserts,
    inference_enter,
    inference_exit,
    run_impure,
    run_impure_method,
    torch_cond,
    torch_while,
)
from .select import convertible as if_convertible
from .select import lower_select

_LITERAL_TYPES = (
    bool,
    int,
    str,
    type(None),
    type(Ellipsis),
    torch.dtype,
    torch.device,
    torch.layout,
    torch.memory_format,
)


@dataclass
class LoweredGraph:
    module: fx.GraphModule
    n_results: int
    assert_sites: List[str] = field(default_factory=list)
    assert_expect: List[bool] = field(default_factory=list)
    has_control_flow: bool = False
    n_ops: int = 0
    random_targets: List[Any] = field(default_factory=list)
    #: calls run for their effect on framework state (`loss.backward()`) or holding opaque objects
    impure: bool = False
    #: the graph switches grad mode (no_grad & co.): restored by the executable if it raises
    grad_mode: bool = False
    #: never handed to Inductor (Python-list schedules, inference_mode)
    fx_only: bool = False
    #: `.ran`: set when an impure call (backward(), step()) ran during the current run
    effects_flag: Any = None


def lower(
    graph: Graph,
    for_inductor: bool = False,
    outputs: Optional[List[Value]] = None,
    nodes: Optional[List[Node]] = None,
    extra_inputs: Optional[List[Value]] = None,
    effects_flag: Any = None,
) -> LoweredGraph:
    """Lower `graph` to a GraphModule whose forward takes the graph inputs in order and
    returns a tuple: the results, then (if the graph asserts anything) the predicates.

    `outputs` replaces the graph's results and `nodes` restricts the lowered nodes
    (used to split Python-scalar results off the Inductor graph)."""
    lowering = FxLowering(graph, for_inductor, effects_flag)
    body = [n for n in graph.nodes if n.op != "output"] if nodes is None else list(nodes)
    return lowering.lower(body, graph.results if outputs is None else outputs, extra_inputs or ())


class FxLowering(Interpreter):
    """Interprets the IR on fx nodes, appending to `self.fx` (the top-level graph, or a
    region's sub-graph while one is built for Inductor)."""

    def __init__(self, graph: Graph, for_inductor: bool, effects_flag: Any = None):
        super().__init__(graph)
        self.for_inductor = for_inductor
        self.fx = fx.Graph()
        #: top-level assertions not checked yet: (pred, expect, site); None inside regions,
        #: where an assertion is checked where it stands
        self.pending_asserts: Optional[List[Tuple[Any, bool, str]]] = None
        self.attrs: Dict[str, Any] = {}
        self.has_control_flow = False
        self.n_ops = 0
        self.random_targets: List[Any] = []
        self.impure = False
        self._flag = None
        # set by the first impure call of a run (shared by the pieces of a split graph)
        self.effects_flag = effects_flag if effects_flag is not None else EffectsFlag()
        self.grad_mode = False  # the graph switches torch's grad mode (no_grad & co.)
        self.fx_only = False  # never hand this graph to Inductor
        self.contexts: Dict[int, list] = {}  # opaque context value id -> [kind, data, stack]

    def lower(self, body: List[Node], outputs, extra_inputs) -> LoweredGraph:
        g = self.fx
        env: Dict[int, Any] = {}
        for i, n in enumerate(self.graph.inputs):
            env[n.out.id] = g.placeholder(f"in{i}_{n.out.name or ''}".rstrip("_"))
        for i, v in enumerate(extra_inputs):  # values computed by an earlier piece (split graphs)
            env[v.id] = g.placeholder(f"mid{i}")
        asserts: List[Tuple[Any, bool, str]] = []
        self.pending_asserts = asserts
        region = Region()
        region.nodes = body
        self.run_region(region, env, skip_inputs=True)  # inputs are the placeholders above
        results = [self.read(v, env) for v in outputs]
        out = list(results)
        if len(asserts) == 1:
            out.append(asserts[0][0])
        elif asserts:
            out.append(g.call_function(assert_flags, tuple(a[0] for a in asserts)))
        g.output(tuple(out))
        module = fx.GraphModule(dict(self.attrs), g, class_name=f"janus_{_ident(self.graph.name)}")
        return LoweredGraph(
            module,
            len(results),
            [a[2] for a in asserts],
            [a[1] for a in asserts],
            self.has_control_flow,
            self.n_ops,
            self.random_targets,
            self.impure,
            self.grad_mode,
            self.fx_only,
            self.effects_flag,
        )

    # -- operands -----------------------------------------------------------------------------
    def read(self, arg: Any, env: Dict[int, Any]) -> Any:
        """A node argument with Values replaced by fx nodes and unprintable constants by attributes."""
        if isinstance(arg, Value):
            return env[arg.id]
        t = type(arg)
        if t is tuple or t is list:
            return t(self.read(a, env) for a in arg)
        if t is dict:
            return {k: self.read(v, env) for k, v in arg.items()}
        if t is slice:
            return slice(self.read(arg.start, env), self.read(arg.stop, env), self.read(arg.step, env))
        if _is_literal(arg):
            return arg
        return self.attr(arg, "const")

    def attr(self, value: Any, hint: str) -> fx.Node:
        name = f"_{hint}{len(self.attrs)}"
        self.attrs[name] = value
        return self.fx.get_attr(name)

    def flag_node(self) -> fx.Node:
        if self._flag is None:
            self._flag = self.attr(self.effects_flag, "flag")
        return self._flag

    def node_results(self, node: Node, result: Any) -> Any:
        """What the interpreter binds to `node`'s outputs: the fx node of a one-result
        call, else one getitem per output (a cond/while node returns a tuple)."""
        n = len(node.outputs)
        if n == 0 or (n == 1 and node.op not in ("cond", "while")):
            return result
        items = [self.fx.call_function(operator.getitem, (result, i)) for i in range(n)]
        return items[0] if n == 1 else items

    def before_state_change(self, node: Node) -> None:
        """Speculation is checked before anything changes framework state."""
        if not (node.meta.get("impure") or node.meta.get("opaque")):
            return
        self.impure = True
        if self.pending_asserts:
            flushed = list(self.pending_asserts)
            self.pending_asserts.clear()
            self.fx.call_function(
                check_asserts,
                (tuple(a[0] for a in flushed), tuple(a[1] for a in flushed), tuple(a[2] for a in flushed)),
            )

    # -- one method per opcode ------------------------------------------------------------------
    def op_const(self, node: Node, env):
        self.before_state_change(node)
        value = node.target
        return self.node_results(node, value if _is_literal(value) else self.attr(value, "const"))

    def op_call(self, node: Node, env):
        target = node.target
        if isinstance(target, type) and target in GRAD_CONTEXTS:
            return self.grad_context(node, env)
        self.before_state_change(node)
        args, kwargs = self.read(node.args, env), self.read(node.kwargs, env)
        if node.meta.get("impure"):
            # run for its effect on autograd/optimizer state: note that it ran, so an
            # exception after it is not answered by re-running the call (a second step)
            result = self.fx.call_function(run_impure, (self.flag_node(), self.read(target, env), *args), kwargs)
        else:
            self._count_op(target)
            result = self.fx.call_function(_callable_target(target), args, kwargs)
        return self.node_results(node, result)

    def op_call_method(self, node: Node, env):
        if (
            node.target in ("__enter__", "__exit__")
            and node.args
            and isinstance(node.args[0], Value)
            and node.args[0].id in self.contexts
        ):
            return self.enter_or_exit(node)
        self.before_state_change(node)
        args, kwargs = self.read(node.args, env), self.read(node.kwargs, env)
        if node.meta.get("impure"):
            result = self.fx.call_function(run_impure_method, (self.flag_node(), node.target, *args), kwargs)
        else:
            self._count_op(node.target)
            result = self.fx.call_method(node.target, args, kwargs)
        return self.node_results(node, result)

    def _count_op(self, target: Any) -> None:
        self.n_ops += 1
        if draws_random(target):
            self.random_targets.append(target)

    def op_assert(self, node: Node, env):
        self.before_state_change(node)
        pred = self.read(node.args[0], env)
        expect = bool(node.kwargs.get("expect", True))
        if self.pending_asserts is not None:
            self.pending_asserts.append((pred, expect, str(node.target)))
        else:
            self.fx.call_function(check_assert, (pred, expect, str(node.target)))
        return None

    def op_cond(self, node: Node, env):
        self.before_state_change(node)
        if if_convertible(node):
            results = lower_select(self, node, env)
            return results[0] if len(node.outputs) == 1 else results
        self.has_control_flow = True
        then_r, else_r = node.regions
        free = free_values([then_r, else_r])
        if not self.for_inductor:
            return self.node_results(node, self.generated_control(node, free, env))
        k = len(self.attrs)
        then_m = self.region_module(then_r, free, f"cond{k}_then")
        else_m = self.region_module(else_r, free, f"cond{k}_else")
        pred, *operands = [self.read(a, env) for a in node.args]
        operands += [env[v.id] for v in free]
        then_f, else_f = self.attr(then_m, "then"), self.attr(else_m, "else")
        return self.node_results(node, self.fx.call_function(torch_cond, (pred, then_f, else_f, *operands)))

    def op_while(self, node: Node, env):
        self.before_state_change(node)
        self.has_control_flow = True
        cond_r, body_r = node.regions
        free = free_values([cond_r, body_r])
        if not self.for_inductor:
            return self.node_results(node, self.generated_control(node, free, env))
        k = len(self.attrs)
        cond_m = self.region_module(cond_r, free, f"while{k}_cond")
        body_m = self.region_module(body_r, free, f"while{k}_body")
        carried = [self.read(a, env) for a in node.args]
        values = carried + [env[v.id] for v in free]
        cond_f, body_f = self.attr(cond_m, "cond"), self.attr(body_m, "body")
        return self.node_results(node, self.fx.call_function(torch_while, (cond_f, body_f, len(carried), *values)))

    def op_map(self, node: Node, env):
        raise Unsupported("IR opcode 'map'", node.site or "", "unknown to the torch backend")

    def op_invoke(self, node: Node, env):
        raise Unsupported(
            "graph function call (`invoke`)", node.site or "", "the torch backend does not lower `invoke` nodes yet"
        )

    def op_effect(self, node: Node, env):
        raise Unsupported(
            "an effect node inside a graph",
            node.site or "",
            "effects are committed by the runtime, not run by the backend",
        )

    # -- regions --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def building(self, graph: fx.Graph, pending_asserts: Optional[list]):
        """Append to `graph` for a while, with its own pending top-level assertions."""
        saved = self.fx, self.pending_asserts
        self.fx, self.pending_asserts = graph, pending_asserts
        try:
            yield graph
        finally:
            self.fx, self.pending_asserts = saved

    def inline_region(self, region: Region, operands: List[Any], env: Dict[int, Any]) -> List[Any]:
        """A region's nodes appended to the current fx graph (if-conversion runs both branches)."""
        with self.building(self.fx, None):
            return self.call_region(region, operands, env)

    def region_module(self, region: Region, free: List[Value], name: str) -> fx.GraphModule:
        """A region as its own GraphModule (for `torch.cond`/`while_loop`): params, then free values."""
        with self.building(fx.Graph(), None) as g:
            env: Dict[int, Any] = {}
            for i, p in enumerate(list(region.params) + list(free)):
                env[p.id] = g.placeholder(f"{name}_in{i}")
            results = self.run_region(region, env, skip_inputs=True)
            g.output(tuple(results))
        return fx.GraphModule(dict(self.attrs), g, class_name=name)

    def generated_control(self, node: Node, free: List[Value], env: Dict[int, Any]) -> fx.Node:
        """fx tier: the whole cond/while (nested regions included) as one generated Python function."""
        fn, order, n_ops, random = compile_control(node, free, setitem_functional)
        self.n_ops += n_ops
        if random:
            self.random_targets.append(fn)
        if any(
            isinstance(v.spec, PySpec) and isinstance(v.spec.type, type) and issubclass(v.spec.type, (list, tuple))
            for v in order
        ):
            self.fx_only = True  # host schedules (recursion as data): Python lists, not tensors
        fn.__module__ = __name__
        return self.fx.call_function(fn, tuple(env[v.id] for v in order))

    # -- grad-mode contexts: torch._C._set_grad_enabled calls (fx and dynamo both run them) --
    def grad_context(self, node: Node, env: Dict[int, Any]) -> None:
        """Creating `torch.no_grad()` & co.: an opaque object that is only entered and exited."""
        g, cls = self.fx, node.target
        args = self.read(node.args, env)
        kwargs = self.read(node.kwargs, env)
        self.grad_mode = True
        if cls is torch.set_grad_enabled:  # sets the mode when created, restores it on __exit__
            mode = args[0] if args else kwargs["mode"]
            prev = g.call_function(torch.is_grad_enabled, ())
            g.call_function(torch._C._set_grad_enabled, (mode,))
            info = ["set", prev, []]
        elif cls is torch.inference_mode:
            self.fx_only = True
            info = ["inference", args[0] if args else kwargs.get("mode", True), []]
        else:
            info = ["grad", GRAD_CONTEXTS[cls], []]
        self.contexts[node.out.id] = info
        return None

    def enter_or_exit(self, node: Node) -> Any:
        g = self.fx
        kind, data, stack = self.contexts[node.args[0].id]
        enter = node.target == "__enter__"
        if kind == "grad":
            if enter:
                stack.append(g.call_function(torch.is_grad_enabled, ()))
                g.call_function(torch._C._set_grad_enabled, (data,))
            else:
                g.call_function(torch._C._set_grad_enabled, (stack.pop(),))
        elif kind == "set":
            if not enter:
                g.call_function(torch._C._set_grad_enabled, (data,))
        elif enter:
            stack.append(g.call_function(inference_enter, (data,)))
        else:
            g.call_function(inference_exit, (stack.pop(),))
        return None if len(node.outputs) <= 1 else [None] * len(node.outputs)


def _is_literal(value: Any) -> bool:
    """Can fx's code generator print `value` as Python source?"""
    if type(value) is float:
        return math.isfinite(value)
    return type(value) in _LITERAL_TYPES


def free_values(regions: List[Region]) -> List[Value]:
    """Values the regions read but do not define (outer values a branch or body uses)."""
    defined, free, seen = set(), [], set()

    def visit(region: Region) -> None:
        defined.update(p.id for p in region.params)
        for node in region.nodes:
            for v in node.input_values():
                if v.id not in defined and v.id not in seen:
                    seen.add(v.id)
                    free.append(v)
            for r in node.regions:
                visit(r)
            defined.update(o.id for o in node.outputs)

    for r in regions:
        visit(r)
    return [v for v in free if v.id not in defined]


def _resolves_to(qualified: str, target: Any) -> bool:
    """Does fx's import path for `target` (`torch.optim.sgd.step` for `SGD.step`: wrong)
    name that very object?  Objects from outside torch are bound by identity anyway."""
    mod_name, _, attr = qualified.rpartition(".")
    if not mod_name.startswith("torch"):
        return True
    try:
        obj = sys.modules.get(mod_name) or importlib.import_module(mod_name)
        return getattr(obj, attr, None) is target
    except Exception:
        return False


def _callable_target(target: Any) -> Any:
    """fx names call targets in generated code; give unnameable callables (partials,
    callable objects) a named trampoline."""
    try:
        qualified = _get_qualified_name(target)
        if _resolves_to(qualified, target):
            return target
        raise LookupError(qualified)
    except Exception:

        def call_target(*args, **kwargs):
            return target(*args, **kwargs)

        call_target.__name__ = call_target.__qualname__ = "janus_call_target"
        return call_target


def host_scalar_nodes(graph: Graph, values: List[Value]) -> Optional[List[Node]]:
    """The top-level nodes computing the Python-scalar `values` from Python inputs and
    constants only (so the host can compute them), or None if one depends on a tensor."""
    needed: Dict[int, Node] = {}
    stack = list(values)
    while stack:
        v = stack.pop()
        node = v.node
        if node is None or not isinstance(v.spec, PySpec) or node.op not in ("input", "const", "call", "call_method"):
            return None
        if id(node) in needed:
            continue
        needed[id(node)] = node
        stack.extend(node.input_values())
    return [n for n in graph.nodes if id(n) in needed and n.op != "input"]


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)[:40] or "graph"

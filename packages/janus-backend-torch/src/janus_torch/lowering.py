"""Lowering: a JANUS IR graph -> a `torch.fx.GraphModule`.

The fx graph is built node by node with `fx.Graph.placeholder/call_function/call_method`
(no Proxy tracing), so any Python callable the converter recorded works as a target.

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
* `invoke` is not lowered yet (`janus.Unsupported`).
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.fx as fx

from janus.errors import AssumptionFailed, Unsupported
from janus.ir.graph import Graph, Node, Region, Value
from janus.ir.spec import PySpec

from .select import convertible as if_convertible, lower_select

_LITERAL_TYPES = (bool, int, str, type(None), type(Ellipsis), torch.dtype, torch.device, torch.layout,
                  torch.memory_format)


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


# -- helpers the generated code calls ------------------------------------------------------
def check_assert(pred, expect: bool, site: str) -> None:
    """An assertion inside a cond/while region (checked where it stands)."""
    if bool(pred) is not expect:
        raise AssumptionFailed(site)


def assert_flags(*preds):
    """Several top-level predicates as one bool vector, so the host reads them once."""
    return torch.stack([torch.as_tensor(p).reshape(()).bool() for p in preds])


def check_asserts(preds, expects, sites) -> None:
    """Top-level speculations checked before the first node that changes framework state
    (backward(), an optimizer step), so a failed one leaves parameters untouched."""
    for p, e, s in zip(preds, expects, sites):
        if bool(p) is not e:
            raise AssumptionFailed(s)


class EffectsFlag:
    __slots__ = ("ran",)

    def __init__(self):
        self.ran = False


def run_impure(flag, fn, *args, **kwargs):
    flag.ran = True
    return fn(*args, **kwargs)


def run_impure_method(flag, name, obj, *args, **kwargs):
    flag.ran = True
    return getattr(obj, name)(*args, **kwargs)


def inference_enter(mode: bool):
    guard = torch._C._InferenceMode(mode)
    guard.__enter__()
    return guard


def inference_exit(guard) -> None:
    guard.__exit__(None, None, None)


#: context classes lowered to grad-mode switches: class -> the mode it enters
GRAD_CONTEXTS: Dict[type, Any] = {torch.no_grad: False, torch.enable_grad: True, torch.set_grad_enabled: None,
                                  torch.inference_mode: None}


def run_cond(pred, then_fn, else_fn, *operands):
    return (then_fn if pred else else_fn)(*operands)


def run_while(cond_fn, body_fn, n_carried: int, *values):
    carried, free = tuple(values[:n_carried]), tuple(values[n_carried:])
    while cond_fn(*carried, *free)[0]:
        carried = tuple(body_fn(*carried, *free))
    return carried


def torch_cond(pred, then_fn, else_fn, *operands):
    return torch.cond(pred, then_fn, else_fn, tuple(operands))


def torch_while(cond_fn, body_fn, n_carried: int, *values):
    from torch._higher_order_ops import while_loop
    carried, free = tuple(values[:n_carried]), tuple(values[n_carried:])
    return while_loop(lambda *c: cond_fn(*c, *free)[0], lambda *c: tuple(body_fn(*c, *free)), carried)


# -- the lowering --------------------------------------------------------------------------
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


class _Lowerer:
    def __init__(self, for_inductor: bool):
        self.for_inductor = for_inductor
        self.attrs: Dict[str, Any] = {}
        self.has_control_flow = False
        self.n_ops = 0
        self.random_targets: List[Any] = []
        self.impure = False
        self._flag = None
        self.effects_flag = EffectsFlag()  # set by the first impure call of a run
        self.grad_mode = False      # the graph switches torch's grad mode (no_grad & co.)
        self.fx_only = False        # never hand this graph to Inductor
        self.ctx: Dict[int, Any] = {}  # opaque context value id -> how it is lowered
        from .backend import TorchBackend
        self.setitem_functional = TorchBackend.setitem_functional

    def flag_node(self, g: fx.Graph) -> fx.Node:
        if self._flag is None:
            self._flag = self.attr(g, self.effects_flag, "flag")
        return self._flag

    def attr(self, g: fx.Graph, value: Any, hint: str) -> fx.Node:
        name = f"_{hint}{len(self.attrs)}"
        self.attrs[name] = value
        return g.get_attr(name)

    def arg(self, g: fx.Graph, value: Any, env: Dict[int, Any]) -> Any:
        """A node argument with Values replaced by fx nodes and unprintable constants by attributes."""
        if isinstance(value, Value):
            return env[value.id]
        t = type(value)
        if t is tuple or t is list:
            return t(self.arg(g, a, env) for a in value)
        if t is dict:
            return {k: self.arg(g, v, env) for k, v in value.items()}
        if t is slice:
            return slice(self.arg(g, value.start, env), self.arg(g, value.stop, env), self.arg(g, value.step, env))
        if _is_literal(value):
            return value
        return self.attr(g, value, "const")

    def region_module(self, region: Region, free: List[Value], name: str) -> fx.GraphModule:
        g = fx.Graph()
        env: Dict[int, Any] = {}
        for i, p in enumerate(list(region.params) + list(free)):
            env[p.id] = g.placeholder(f"{name}_in{i}")
        results = self.lower_nodes(g, region.nodes, env, top_asserts=None)
        g.output(tuple(results))
        return fx.GraphModule(self._root(), g, class_name=name)

    def _root(self) -> Dict[str, Any]:
        return dict(self.attrs)

    def lower_nodes(self, g: fx.Graph, nodes: List[Node], env: Dict[int, Any],
                    top_asserts: Optional[List[Tuple[Any, bool, str]]]) -> List[Any]:
        for node in nodes:
            op = node.op
            if op == "input":
                continue  # bound by the caller
            if op == "output":
                return [self.arg(g, a, env) for a in node.args]
            if op == "call" and isinstance(node.target, type) and node.target in GRAD_CONTEXTS:
                self.lower_context(g, node, env)
                continue
            if op == "call_method" and node.target in ("__enter__", "__exit__") and node.args \
                    and isinstance(node.args[0], Value) and node.args[0].id in self.ctx:
                self.lower_enter_exit(g, node, env)
                continue
            if node.meta.get("impure") or node.meta.get("opaque"):
                self.impure = True
                if top_asserts:  # speculation is checked before anything changes framework state
                    flushed = list(top_asserts)
                    top_asserts.clear()
                    g.call_function(check_asserts, (tuple(a[0] for a in flushed), tuple(a[1] for a in flushed),
                                                    tuple(a[2] for a in flushed)))
            if op == "const":
                value = node.target
                result = value if _is_literal(value) else self.attr(g, value, "const")
            elif node.meta.get("impure") and op in ("call", "call_method"):
                # run for its effect on autograd/optimizer state: note that it ran, so an
                # exception after it is not answered by re-running the call (a second step)
                args, kwargs = self.arg(g, node.args, env), self.arg(g, node.kwargs, env)
                flag = self.flag_node(g)
                if op == "call":
                    result = g.call_function(run_impure, (flag, self.arg(g, node.target, env), *args), kwargs)
                else:
                    result = g.call_function(run_impure_method, (flag, node.target, *args), kwargs)
            elif op == "call":
                self.n_ops += 1
                if draws_random_hint(node.target):
                    self.random_targets.append(node.target)
                result = g.call_function(_callable_target(node.target), self.arg(g, node.args, env),
                                         self.arg(g, node.kwargs, env))
            elif op == "call_method":
                self.n_ops += 1
                if draws_random_hint(node.target):
                    self.random_targets.append(node.target)
                result = g.call_method(node.target, self.arg(g, node.args, env), self.arg(g, node.kwargs, env))
            elif op == "assert":
                pred = self.arg(g, node.args[0], env)
                expect = bool(node.kwargs.get("expect", True))
                if top_asserts is not None:
                    top_asserts.append((pred, expect, str(node.target)))
                else:
                    g.call_function(check_assert, (pred, expect, str(node.target)))
                continue
            elif op == "cond" and if_convertible(node):
                for v, r in zip(node.outputs, lower_select(self, g, node, env)):
                    env[v.id] = r
                continue
            elif op == "cond":
                result = self.lower_cond(g, node, env)
            elif op == "while":
                result = self.lower_while(g, node, env)
            elif op == "invoke":
                raise Unsupported("graph function call (`invoke`)", node.site or "",
                                  "the torch backend does not lower `invoke` nodes yet")
            elif op == "effect":
                raise Unsupported("an effect node inside a graph", node.site or "",
                                  "effects are committed by the runtime, not run by the backend")
            else:
                raise Unsupported(f"IR opcode {op!r}", node.site or "", "unknown to the torch backend")
            self.bind_outputs(g, node, result, env)
        return []

    def bind_outputs(self, g: fx.Graph, node: Node, result: Any, env: Dict[int, Any]) -> None:
        if not node.outputs:
            return
        if len(node.outputs) == 1 and node.op not in ("cond", "while"):
            env[node.out.id] = result
            return
        for i, v in enumerate(node.outputs):
            env[v.id] = g.call_function(operator.getitem, (result, i))

    def lower_cond(self, g: fx.Graph, node: Node, env: Dict[int, Any]) -> fx.Node:
        self.has_control_flow = True
        then_r, else_r = node.regions
        free = free_values([then_r, else_r])
        if not self.for_inductor:
            return self.lower_generated(g, node, free, env)
        k = len(self.attrs)
        then_m = self.region_module(then_r, free, f"cond{k}_then")
        else_m = self.region_module(else_r, free, f"cond{k}_else")
        pred, *operands = [self.arg(g, a, env) for a in node.args]
        operands += [env[v.id] for v in free]
        helper = torch_cond if self.for_inductor else run_cond
        then_f = self.attr(g, then_m if self.for_inductor else then_m.forward, "then")
        else_f = self.attr(g, else_m if self.for_inductor else else_m.forward, "else")
        return g.call_function(helper, (pred, then_f, else_f, *operands))

    def lower_while(self, g: fx.Graph, node: Node, env: Dict[int, Any]) -> fx.Node:
        self.has_control_flow = True
        cond_r, body_r = node.regions
        free = free_values([cond_r, body_r])
        if not self.for_inductor:
            return self.lower_generated(g, node, free, env)
        k = len(self.attrs)
        cond_m = self.region_module(cond_r, free, f"while{k}_cond")
        body_m = self.region_module(body_r, free, f"while{k}_body")
        carried = [self.arg(g, a, env) for a in node.args]
        values = carried + [env[v.id] for v in free]
        helper = torch_while if self.for_inductor else run_while
        cond_f = self.attr(g, cond_m if self.for_inductor else cond_m.forward, "cond")
        body_f = self.attr(g, body_m if self.for_inductor else body_m.forward, "body")
        return g.call_function(helper, (cond_f, body_f, len(carried), *values))


    def lower_generated(self, g: fx.Graph, node: Node, free: List[Value], env: Dict[int, Any]) -> fx.Node:
        """fx tier: the whole cond/while (nested regions included) as one generated Python function."""
        from .codegen import compile_control
        fn, order, n_ops, random = compile_control(node, free, self.setitem_functional)
        self.n_ops += n_ops
        if random:
            self.random_targets.append(fn)
        if any(isinstance(v.spec, PySpec) and isinstance(v.spec.type, type) and issubclass(v.spec.type, (list, tuple))
               for v in order):
            self.fx_only = True  # host schedules (recursion as data): Python lists, not tensors
        fn.__module__ = __name__
        return g.call_function(fn, tuple(env[v.id] for v in order))

    # -- grad-mode contexts: torch._C._set_grad_enabled calls (fx and dynamo both run them) --
    def lower_context(self, g: fx.Graph, node: Node, env: Dict[int, Any]) -> None:
        cls = node.target
        args = self.arg(g, node.args, env)
        kwargs = self.arg(g, node.kwargs, env)
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
        self.ctx[node.out.id] = info
        env[node.out.id] = None  # an opaque context object is only entered and exited

    def lower_enter_exit(self, g: fx.Graph, node: Node, env: Dict[int, Any]) -> None:
        kind, data, stack = self.ctx[node.args[0].id]
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
        for v in node.outputs:
            env[v.id] = None


def draws_random_hint(target: Any) -> bool:
    from .backend import draws_random
    return draws_random(target)


def _resolves_to(qualified: str, target: Any) -> bool:
    """Does fx's import path for `target` (`torch.optim.sgd.step` for `SGD.step`: wrong)
    name that very object?  Objects from outside torch are bound by identity anyway."""
    import importlib
    import sys
    mod_name, _, attr = qualified.rpartition(".")
    if not mod_name.startswith("torch"):
        return True
    try:
        obj = sys.modules.get(mod_name) or importlib.import_module(mod_name)
        return getattr(obj, attr, None) is target
    except Exception:  # noqa: BLE001
        return False


def _callable_target(target: Any) -> Any:
    """fx names call targets in generated code; give unnameable callables (partials,
    callable objects) a named trampoline."""
    from torch.fx.node import _get_qualified_name
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


def lower(graph: Graph, for_inductor: bool = False, outputs: Optional[List[Value]] = None,
          nodes: Optional[List[Node]] = None, extra_inputs: Optional[List[Value]] = None,
          effects_flag: Any = None) -> LoweredGraph:
    """Lower `graph` to a GraphModule whose forward takes the graph inputs in order and
    returns a tuple: the results, then (if the graph asserts anything) the predicates.

    `outputs` replaces the graph's results and `nodes` restricts the lowered nodes
    (used to split Python-scalar results off the Inductor graph)."""
    lowerer = _Lowerer(for_inductor)
    if effects_flag is not None:
        lowerer.effects_flag = effects_flag
    g = fx.Graph()
    env: Dict[int, Any] = {}
    for i, n in enumerate(graph.inputs):
        env[n.out.id] = g.placeholder(f"in{i}_{n.out.name or ''}".rstrip("_"))
    for i, v in enumerate(extra_inputs or ()):  # values computed by an earlier piece (split graphs)
        env[v.id] = g.placeholder(f"mid{i}")
    asserts: List[Tuple[Any, bool, str]] = []
    body = [n for n in graph.nodes if n.op != "output"] if nodes is None else list(nodes)
    lowerer.lower_nodes(g, body, env, asserts)
    results = [lowerer.arg(g, v, env) for v in (graph.results if outputs is None else outputs)]
    out = list(results)
    if len(asserts) == 1:
        out.append(asserts[0][0])
    elif asserts:
        out.append(g.call_function(assert_flags, tuple(a[0] for a in asserts)))
    g.output(tuple(out))
    module = fx.GraphModule(lowerer._root(), g, class_name=f"janus_{_ident(graph.name)}")
    return LoweredGraph(module, len(results), [a[2] for a in asserts], [a[1] for a in asserts],
                        lowerer.has_control_flow, lowerer.n_ops, lowerer.random_targets, lowerer.impure,
                        lowerer.grad_mode, lowerer.fx_only, lowerer.effects_flag)


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

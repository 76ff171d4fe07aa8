"""Compiling a lowered graph into a ConcreteFunction, and running it cheaply.

`compile_graph` traces a tf.function over `GraphLowering` once, with an input signature
from the graph's input specs (relaxed dims become None), so no call ever retraces.
`TFExecutable.run` feeds the inputs (variables as resource handles, Python numbers as
carrier scalars) and executes the function's registered graph directly through
`TFE_Py_Execute`: the same call `ConcreteFunction._call_flat` ends in when no gradient tape
is watching, minus about half its Python overhead.  Under a tape, inside another graph,
or with a cancellation manager it takes the ConcreteFunction's own path instead.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, List, Sequence, Tuple

import tensorflow as tf
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python import pywrap_tfe
from tensorflow.python.eager import cancellation, context, record
from tensorflow.python.framework import errors as tf_errors
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import resource_variable_ops

from janus.backend import Executable
from janus.errors import AssumptionFailed, JanusError, Unsupported
from janus.ir.graph import Graph, Value
from janus.ir.spec import PySpec

from .call_effects import OPTIMIZER_UPDATES
from .inplace import in_place_writes, unused_elsewhere, write_deps
from .lowering import ASSERT_MARK, CARRIER_DTYPES, GraphLowering, input_signature
from .variable_spec import VariableSpec

_ASSERT_RE = re.compile(re.escape(ASSERT_MARK) + r"(\d+)#")
_EagerTensor = tf_ops.EagerTensor


def _updates_in_graph(graph: Graph) -> bool:
    """Does the graph run an optimizer update (an impure call, other than tape/context ones)?"""
    return any(
        n.meta.get("impure") and getattr(n.target, "__name__", n.target) in OPTIMIZER_UPDATES for n in graph.walk()
    )


def compile_graph(graph: Graph, config: Any, backend: Any) -> TFExecutable:
    specs = [n.out.spec for n in graph.inputs]
    variables = [i for i, s in enumerate(specs) if isinstance(s, VariableSpec)]
    # which variable inputs were one variable at conversion (a hint; `run` checks it)
    first: dict = {}
    aliases = tuple(first.setdefault(specs[i].ident or -i - 1, i) for i in variables)
    executable = TFExecutable(graph, specs, variables)
    executable.use(executable.trace(aliases))
    return executable


def _exact_attrs(options) -> tuple:
    """The function-call attributes of the context, with the graph rewrites that
    reassociate floating-point arithmetic turned off (`(x + 3) + 6` -> `x + 9` rounds
    differently): a graph gives eager's values to the last bit."""
    attrs = dict(options.as_attrs())
    config = config_pb2.ConfigProto()
    config.ParseFromString(attrs.get("config_proto") or b"")
    rewrites = config.graph_options.rewrite_options
    rewrites.arithmetic_optimization = rewriter_config_pb2.RewriterConfig.OFF
    rewrites.constant_folding = rewriter_config_pb2.RewriterConfig.OFF
    attrs["config_proto"] = config.SerializeToString()
    return tuple(itertools.chain(*attrs.items()))


class _Trace:
    """One ConcreteFunction of a graph, for one pattern of variable aliasing."""

    def __init__(self, concrete, plan, assert_sites):
        self.concrete_function = concrete
        self.plan = list(plan)
        self.direct = all(kind == "graph" and i == n for n, (kind, i) in enumerate(self.plan))
        self.captured = list(concrete.captured_inputs)
        atomic = concrete._inference_function  # the forward function _call_flat runs without a tape
        self.name = atomic.name.decode() if isinstance(atomic.name, bytes) else atomic.name
        self.n_outputs = len(atomic.function_type.flat_outputs)
        self.assert_sites = assert_sites


class TFExecutable(Executable):
    def __init__(self, graph: Graph, specs: Sequence[Any], variables: List[int]):
        self.graph = graph
        self._specs = list(specs)
        self._scalars = [
            (i, CARRIER_DTYPES[s.type].as_datatype_enum) for i, s in enumerate(specs) if isinstance(s, PySpec)
        ]
        self._variables = variables
        self._many_variables = len(variables) > 1
        # a Keras optimizer in the graph picked each variable's slots by the `_unique_id` its
        # stand-in carries (see GraphLowering.lower): the call must feed those very variables
        self._keyed = [(i, specs[i].uid) for i in variables if specs[i].uid] if _updates_in_graph(graph) else []
        #: the graph writes variables: it is right only for the aliasing it was converted for
        self._writes = any(getattr(n.target, "janus_write", None) or n.meta.get("impure") for n in graph.walk())
        self._traces: dict = {}
        self._options = None
        self._attrs: tuple = ()

    def trace(self, aliases: Tuple[int, ...]) -> _Trace:
        """The ConcreteFunction for `aliases` (per variable input: the first variable input
        that is the same variable), traced once."""
        found = self._traces.get(aliases)
        if found is not None:
            return found
        graph = self.graph
        lowering = GraphLowering(graph)
        signature = [input_signature(s) for s in self._specs]
        input_index = {n.out.id: i for i, n in enumerate(graph.inputs)}
        per_input = list(range(len(self._specs)))
        for i, rep in zip(self._variables, aliases):
            per_input[i] = rep
        plan: List[Tuple[str, Any]] = []
        in_place = in_place_writes(graph, per_input)
        lowering.in_place_only = unused_elsewhere(graph, in_place)

        def janus_graph(*placeholders):
            results = lowering.lower(placeholders, per_input)
            flat, plan[:] = [], []
            for pos, (value, result) in enumerate(zip(graph.results, results)):
                if isinstance(value, Value) and value.id in input_index:
                    plan.append(("input", input_index[value.id]))  # eager returns the very object passed in
                elif pos in in_place:  # the variable, written in place below
                    plan.append(("input", in_place[pos][0]))
                elif isinstance(result, tf.Variable):
                    raise Unsupported("returning a variable created or wrapped in the graph", "", "")
                elif (type(result).__module__ or "").startswith(("tensorflow", "keras")) and not isinstance(
                    result, tf.Tensor
                ):
                    # an opaque graph object (IndexedSlices, a tape) would come back as its trace-time self
                    raise Unsupported(
                        f"a {type(result).__name__} leaving the graph",
                        "",
                        "only tensors and Python values can be returned or stored outside",
                    )
                elif isinstance(result, tf.Tensor):
                    plan.append(("graph", len(flat)))
                    flat.append(result)
                else:
                    plan.append(("static", result))
            if in_place:
                with tf.control_dependencies(write_deps(flat, lowering.assert_deps)):
                    for _, node in sorted(in_place.values(), key=lambda e: e[0]):
                        lowering.write_in_place(node)
            return flat

        janus_graph.__name__ = "janus_" + "".join(c if c.isalnum() else "_" for c in graph.name)[:60]
        try:
            concrete = tf.function(janus_graph, input_signature=signature, autograph=False).get_concrete_function()
        except JanusError:
            raise
        except Exception as e:  # a TensorFlow error while tracing: report it as a conversion failure
            raise Unsupported("lowering to a TensorFlow graph", "", f"{type(e).__name__}: {e}"[:300]) from e
        found = self._traces[aliases] = _Trace(concrete, plan, lowering.assert_sites)
        found.aliases = aliases
        return found

    def use(self, t: _Trace) -> None:
        self._trace = t
        self.concrete_function = t.concrete_function
        self.assert_sites = t.assert_sites
        self._aliases = t.aliases
        self._distinct = len(set(t.aliases)) == len(t.aliases)

    def _check_aliasing(self, inputs: Sequence[Any]) -> None:
        """The graph was traced for one pattern of which variable inputs are the same
        variable; a call with another pattern gets (and keeps) a trace for its own."""
        variables = self._variables
        if self._distinct and len({id(inputs[i]) for i in variables}) == len(variables):
            return
        seen: dict = {}
        actual = tuple(seen.setdefault(id(inputs[i]), i) for i in variables)
        if actual != self._aliases:
            if self._writes:  # its writes were converted as writes to distinct (or shared) variables
                raise AssumptionFailed("variable aliasing", "a variable the graph writes is reached by other paths")
            self.use(self.trace(actual))

    def describe(self) -> str:
        return f"tf ConcreteFunction {self._trace.name}"

    # -- running ------------------------------------------------------------------------------
    def run(self, inputs: Sequence[Any]) -> List[Any]:
        for i, uid in self._keyed:
            if inputs[i]._unique_id != uid:  # eager would raise "Unknown variable": let it
                raise AssumptionFailed("optimizer variables", f"input {i} is another variable than at conversion")
        if self._many_variables:
            self._check_aliasing(inputs)
        t = self._trace
        ctx = context.context()
        # the thread's eager state read directly (`ctx.executing_eagerly()`, `.device_name`
        # and `.function_call_options` each read one field of it through a Python call)
        local = ctx._thread_local_data
        if local.is_eager and not record.could_possibly_record() and cancellation.context() is None:
            device = local.device_name
            flat = list(inputs)
            for i, dtype_enum in self._scalars:
                flat[i] = _EagerTensor(flat[i], device, dtype_enum)
            for i in self._variables:
                flat[i] = flat[i].handle
            if t.captured:
                flat.extend(t.captured)
            options = local.function_call_options
            if options is None:  # not made yet in this thread: the property makes it
                options = ctx.function_call_options
            if options is not self._options:
                self._options = options
                self._attrs = _exact_attrs(options)
            try:
                outs = pywrap_tfe.TFE_Py_Execute(ctx._handle, device, t.name, flat, self._attrs, t.n_outputs)
            except tf_errors.InvalidArgumentError as e:
                raise self._assumption_failure(e) or e from None
        else:
            outs = self._run_through_concrete_function(inputs)
        if t.direct:
            return outs
        return self._assemble(outs, inputs)

    def timing_call(self, inputs: Sequence[Any]) -> tuple:
        """`(callable, args)`: the traced function's own execution that `run(inputs)` makes
        eagerly, for timing the dispatch overhead around it (`janus-bench --dispatch`)."""
        ctx = context.context()
        flat = list(inputs)
        for i, dtype_enum in self._scalars:
            flat[i] = _EagerTensor(flat[i], ctx.device_name, dtype_enum)
        for i in self._variables:
            flat[i] = flat[i].handle
        t = self._trace
        flat.extend(t.captured)
        attrs = _exact_attrs(ctx.function_call_options)
        return pywrap_tfe.TFE_Py_Execute, (ctx._handle, ctx.device_name, t.name, flat, attrs, t.n_outputs)

    def _run_through_concrete_function(self, inputs: Sequence[Any]) -> List[Any]:
        """The general path: gradient tapes record the call, graph mode builds a call op."""
        flat = list(inputs)
        for i, _ in self._scalars:
            flat[i] = tf.constant(flat[i], CARRIER_DTYPES.get(type(flat[i]), None))
        for i in self._variables:
            resource_variable_ops.variable_accessed(flat[i])  # so a watching tape sees the read
            flat[i] = flat[i].handle
        try:
            outs = self.concrete_function._call_flat(flat, self._trace.captured)
        except tf_errors.InvalidArgumentError as e:
            raise self._assumption_failure(e) or e from None
        return list(outs) if outs is not None else []

    def _assemble(self, outs, inputs) -> List[Any]:
        result = []
        for kind, x in self._trace.plan:
            result.append(outs[x] if kind == "graph" else inputs[x] if kind == "input" else x)
        return result

    def _assumption_failure(self, error: Exception):
        found = _ASSERT_RE.search(str(error))
        if found is None:
            return None
        return AssumptionFailed(self.assert_sites[int(found.group(1))])

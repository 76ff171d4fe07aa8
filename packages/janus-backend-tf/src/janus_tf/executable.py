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
from tensorflow.python import pywrap_tfe
from tensorflow.python.eager import cancellation, context, record
from tensorflow.python.framework import errors as tf_errors
from tensorflow.python.framework import ops as tf_ops
from tensorflow.python.ops import resource_variable_ops

from janus.backend import Executable
from janus.errors import AssumptionFailed, JanusError, Unsupported
from janus.ir.graph import Graph, Value
from janus.ir.spec import PySpec

from .backend import VariableSpec
from .lowering import ASSERT_MARK, CARRIER_DTYPES, GraphLowering, input_signature

_ASSERT_RE = re.compile(re.escape(ASSERT_MARK) + r"(\d+)#")
_EagerTensor = tf_ops.EagerTensor


def compile_graph(graph: Graph, config: Any, backend: Any) -> "TFExecutable":
    lowering = GraphLowering(graph)
    specs = [n.out.spec for n in graph.inputs]
    signature = [input_signature(s) for s in specs]
    input_index = {n.out.id: i for i, n in enumerate(graph.inputs)}
    plan: List[Tuple[str, Any]] = []

    def janus_graph(*placeholders):
        results = lowering.lower(placeholders)
        flat, plan[:] = [], []
        for value, result in zip(graph.results, results):
            if isinstance(value, Value) and value.id in input_index:
                plan.append(("input", input_index[value.id]))  # eager returns the very object passed in
            elif isinstance(result, tf.Variable):
                raise Unsupported("returning a variable created or wrapped in the graph", "", "")
            elif isinstance(result, tf.Tensor):
                plan.append(("graph", len(flat)))
                flat.append(result)
            else:
                plan.append(("static", result))
        return flat

    janus_graph.__name__ = "janus_" + "".join(c if c.isalnum() else "_" for c in graph.name)[:60]
    try:
        concrete = tf.function(janus_graph, input_signature=signature, autograph=False).get_concrete_function()
    except JanusError:
        raise
    except Exception as e:  # a TensorFlow error while tracing: report it as a conversion failure
        raise Unsupported("lowering to a TensorFlow graph", "", f"{type(e).__name__}: {e}"[:300]) from e
    return TFExecutable(graph, concrete, plan, specs, lowering.assert_sites)


class TFExecutable(Executable):
    def __init__(self, graph: Graph, concrete, plan, specs: Sequence[Any], assert_sites: List[str]):
        self.graph = graph
        self.concrete_function = concrete
        self.assert_sites = assert_sites
        self._plan = list(plan)
        self._direct = all(kind == "graph" and i == n for n, (kind, i) in enumerate(self._plan))
        self._scalars = [(i, CARRIER_DTYPES[s.type].as_datatype_enum) for i, s in enumerate(specs)
                         if isinstance(s, PySpec)]
        self._variables = [i for i, s in enumerate(specs) if isinstance(s, VariableSpec)]
        self._captured = list(concrete.captured_inputs)
        atomic = concrete._inference_function  # the forward function _call_flat runs without a tape
        self._name = atomic.name.decode() if isinstance(atomic.name, bytes) else atomic.name
        self._n_outputs = len(atomic.function_type.flat_outputs)
        self._options = None
        self._attrs: tuple = ()

    def describe(self) -> str:
        return f"tf ConcreteFunction {self._name}"

    # -- running ------------------------------------------------------------------------------
    def run(self, inputs: Sequence[Any]) -> List[Any]:
        ctx = context.context()
        if ctx.executing_eagerly() and not record.could_possibly_record() and cancellation.context() is None:
            flat = list(inputs)
            if self._scalars:
                device = ctx.device_name
                for i, dtype_enum in self._scalars:
                    flat[i] = _EagerTensor(flat[i], device, dtype_enum)
            for i in self._variables:
                flat[i] = flat[i].handle
            if self._captured:
                flat.extend(self._captured)
            options = ctx.function_call_options
            if options is not self._options:
                self._options = options
                self._attrs = tuple(itertools.chain(*options.as_attrs().items()))
            try:
                outs = pywrap_tfe.TFE_Py_Execute(ctx._handle, ctx.device_name, self._name, flat,
                                                 self._attrs, self._n_outputs)
            except tf_errors.InvalidArgumentError as e:
                raise self._assumption_failure(e) or e
        else:
            outs = self._run_through_concrete_function(inputs)
        if self._direct:
            return outs
        return self._assemble(outs, inputs)

    def _run_through_concrete_function(self, inputs: Sequence[Any]) -> List[Any]:
        """The general path: gradient tapes record the call, graph mode builds a call op."""
        flat = list(inputs)
        for i, _ in self._scalars:
            flat[i] = tf.constant(flat[i], CARRIER_DTYPES[type(flat[i])] if type(flat[i]) in CARRIER_DTYPES else None)
        for i in self._variables:
            resource_variable_ops.variable_accessed(flat[i])  # so a watching tape sees the read
            flat[i] = flat[i].handle
        try:
            outs = self.concrete_function._call_flat(flat, self._captured)
        except tf_errors.InvalidArgumentError as e:
            raise self._assumption_failure(e) or e
        return list(outs) if outs is not None else []

    def _assemble(self, outs, inputs) -> List[Any]:
        result = []
        for kind, x in self._plan:
            result.append(outs[x] if kind == "graph" else inputs[x] if kind == "input" else x)
        return result

    def _assumption_failure(self, error: Exception):
        found = _ASSERT_RE.search(str(error))
        if found is None:
            return None
        return AssumptionFailed(self.assert_sites[int(found.group(1))])

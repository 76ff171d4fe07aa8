"""Lowering: run a JANUS IR graph on symbolic TensorFlow values, inside a tf.function trace.

Most nodes lower by calling their target on the lowered operands (DESIGN.md section 3).
What needs translating is structure (inputs, assertions, cond, while) and Python scalars:

* A Python number that is a graph *input* (a learning rate that changes every call) is fed
  as a 0-d tensor in a "carrier" dtype that holds every Python value exactly (float64 for
  float, int64 for int).  TensorFlow graphs have no weak typing, so where such a scalar
  meets a tensor it is cast to what eager TensorFlow would have converted the Python
  number to (the other operand's dtype, or int32/float32 alone); arithmetic among Python
  scalars is done in the carrier dtypes, as Python would.  Each node's output spec (the
  eager result seen at conversion) decides between the candidate conversions.
* An `assert` becomes a `tf.debugging.Assert` whose message names the site; every
  state-changing op is placed under control dependencies on the assertions before it.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Any, Callable, Dict, List, Optional, Sequence

import tensorflow as tf
from tensorflow.python.ops.resource_variable_ops import ResourceVariable

from janus.errors import Unsupported
from janus.ir.graph import Graph, Node, Region, Value, map_values, target_name
from janus.ir.interpret import Interpreter, spec_of_row
from janus.ir.spec import PySpec, TensorSpec

from .batching import run_batched
from .call_effects import mutation_reason
from .functional import setitem, write_in_place
from .variable_spec import VariableSpec

#: the dtype a Python-scalar graph value is carried in: exact for every Python float/bool
#: and every int that fits 64 bits
CARRIER_DTYPES = {float: tf.float64, int: tf.int64, bool: tf.bool}
#: what eager TensorFlow converts a lone Python number to
EAGER_DTYPES = {float: tf.float32, int: tf.int32, bool: tf.bool}
#: assertion messages carry this marker around the assertion's index
ASSERT_MARK = "janus-assert#"


def input_signature(spec: Any) -> tf.TensorSpec:
    """The placeholder a graph input is fed through."""
    if isinstance(spec, VariableSpec):
        return tf.TensorSpec([], tf.resource)
    if isinstance(spec, TensorSpec):
        return tf.TensorSpec(spec.shape, tf.as_dtype(spec.dtype))
    if isinstance(spec, PySpec) and spec.type in CARRIER_DTYPES:
        return tf.TensorSpec([], CARRIER_DTYPES[spec.type])
    raise Unsupported(f"a graph input of kind {spec}", "", "the tf backend feeds tensors, variables and Python numbers")


def _is_tf(value: Any) -> bool:
    return isinstance(value, (tf.Tensor, tf.Variable))


def _scalar_kind(value: Any, spec: Any) -> Optional[type]:
    """float/int/bool when `value` is a Python number or a carrier tensor standing for one."""
    if type(value) in (bool, int, float):
        return type(value)
    if isinstance(spec, PySpec) and spec.type in CARRIER_DTYPES and isinstance(value, tf.Tensor):
        return {tf.float64: float, tf.int64: int, tf.bool: bool}.get(value.dtype, spec.type)
    return None


class GraphLowering(Interpreter):
    """Interprets the IR on symbolic tensors; call `lower(flat_placeholders)` in a trace."""

    def __init__(self, graph: Graph):
        super().__init__(graph)
        self.assert_sites: List[str] = []
        #: assertion ops (and control-flow outputs holding assertions) emitted so far
        self.assert_deps: List[Any] = []
        #: id(getitem node) -> None or a precomputed column: reads of a schedule loop (see op_while)
        self._fast_index: Dict[int, Any] = {}
        #: lowering a `map` region (a row's integer index reads become gathers)
        self._in_map = False
        #: id() at conversion of each variable input -> its variable in the graph
        self._variable_inputs: Dict[int, Any] = {}
        #: the values of the graph's top-level nodes, once lowered
        self.top_env: Dict[int, Any] = {}
        #: id() of the variable writes made only in place (inplace.py): not lowered out of place
        self.in_place_only: set = set()

    # -- entry --------------------------------------------------------------------------------
    def lower(self, placeholders: Sequence[tf.Tensor], aliases: Sequence[int] = ()) -> List[Any]:
        """`aliases[k]` (for each input k) is the first input that is the same variable:
        aliased inputs share one variable in the graph, so a tape that watched it under one
        path differentiates it under the other."""
        values = []
        for k, (node, ph) in enumerate(zip(self.graph.inputs, placeholders)):
            spec = node.out.spec
            if aliases and aliases[k] != k:
                values.append(values[aliases[k]])
                continue
            if isinstance(spec, VariableSpec):
                # the handle of the caller's variable: reads happen in the graph, on every call
                if spec.uid:
                    ph._unique_id = spec.uid  # ResourceVariable(handle=) takes its _unique_id from the handle
                ph = ResourceVariable(
                    handle=ph, dtype=tf.as_dtype(spec.dtype), shape=tf.TensorShape(spec.shape), trainable=spec.trainable
                )
                if spec.ident:
                    self._variable_inputs[spec.ident] = ph
            values.append(ph)
        return self.run(values)

    def run_region(self, region: Region, env: Dict[int, Any], skip_inputs: bool = False) -> List[Any]:
        if region is self.graph:
            self.top_env = env
        return super().run_region(region, env, skip_inputs)

    def write_in_place(self, node: Node) -> Any:
        """Make the variable write that `node` computes out of place (a write form of
        `functional`, on a variable input) on the variable itself (inplace.py)."""
        name = node.target.janus_write
        return self._lower_call(node, self.top_env, lambda a, k: write_in_place(name, *a, **k), name)

    def read(self, arg: Any, env: Dict[int, Any]) -> Any:
        value = super().read(arg, env)
        return _swap_variables(value, self._variable_inputs) if self._variable_inputs else value

    # -- reading operands, marking Python-scalar carriers ---------------------------------------
    def _carriers(self, args: Any, env: Dict[int, Any]) -> List[Value]:
        found: List[Value] = []
        map_values(
            args,
            lambda v: (
                found.append(v) or v if isinstance(v.spec, PySpec) and isinstance(env.get(v.id), tf.Tensor) else v
            ),
        )
        return found

    @staticmethod
    def _has_tensor(args: Any) -> bool:
        found = []
        map_values(args, lambda v: found.append(v) or v if not isinstance(v.spec, PySpec) else v)
        return bool(found)

    # -- calls ------------------------------------------------------------------------------------
    def op_call(self, node: Node, env):
        target = node.target
        if id(node) in self.in_place_only:
            return None
        if self._fast_index and id(node) in self._fast_index:
            return self._fast_getitem(node, env, self._fast_index[id(node)])
        if self._in_map and target is operator.getitem and self._row_index(node, env):
            return self._row_getitem(node, env)
        if target is setitem:  # the schedule's buffer write: its row index is the loop counter as is
            return target(*self.read(node.args, env))
        if target in (tf.constant, tf.convert_to_tensor) and self._carriers(node.args[:1], env):
            return self._constant_of_scalar(node, env)
        return self._lower_call(node, env, lambda a, k: target(*a, **k), target)

    @staticmethod
    def _row_index(node: Node, env) -> bool:
        if len(node.args) != 2 or node.kwargs or not isinstance(node.args[1], Value):
            return False
        index = env.get(node.args[1].id)
        return isinstance(index, tf.Tensor) and index.dtype.is_integer and index.shape.rank == 0

    def op_call_method(self, node: Node, env):
        name = node.target
        return self._lower_call(node, env, lambda a, k: getattr(a[0], name)(*a[1:], **k), name)

    def _lower_call(self, node: Node, env, invoke: Callable, target: Any):
        args, kwargs = self.read(node.args, env), self.read(node.kwargs, env)
        with self._state_change_scope(node, target, args, kwargs):
            if node.meta.get("impure"):  # run for its effect (tape enter/exit, optimizer step)
                return invoke(args, kwargs)
            if not self._carriers((node.args, node.kwargs), env):
                return invoke(args, kwargs)
            if all(isinstance(v.spec, PySpec) for v in node.outputs) and not self._has_tensor((node.args, node.kwargs)):
                return self._python_arithmetic(node, env, invoke)
            return self._mixed_call(node, env, invoke)

    def _state_change_scope(self, node: Node, target: Any, args, kwargs):
        """State-changing ops run only once the assertions before them held."""
        if not self.assert_deps:
            return contextlib.nullcontext()
        if node.meta.get("impure"):
            return tf.control_dependencies(list(self.assert_deps))
        if isinstance(target, str):
            target = getattr(args[0], target, None) if args else None
        if target is not None and mutation_reason(target, args, kwargs):
            return tf.control_dependencies(list(self.assert_deps))
        return contextlib.nullcontext()

    def _python_arithmetic(self, node: Node, env, invoke: Callable):
        """Python numbers combined with each other: compute in the carrier dtypes, promoting
        int to float (and bool to int) as Python does."""
        kinds = []
        map_values((node.args, node.kwargs), lambda v: kinds.append(_scalar_kind(env[v.id], v.spec)) or v)
        kinds += [type(a) for a in _plain_leaves((node.args, node.kwargs)) if type(a) in (bool, int, float)]
        common = tf.float64 if float in kinds else tf.int64

        def promote(v: Value):
            x = env[v.id]
            if (
                isinstance(v.spec, PySpec)
                and isinstance(x, tf.Tensor)
                and x.dtype != common
                and node.target not in (operator.and_, operator.or_, operator.xor, operator.not_, operator.truth)
            ):
                return tf.cast(x, common)
            return x

        result = invoke(map_values(node.args, promote), map_values(node.kwargs, promote))
        spec = node.out.spec if len(node.outputs) == 1 else None
        if (
            isinstance(spec, PySpec)
            and spec.type in CARRIER_DTYPES
            and isinstance(result, tf.Tensor)
            and result.dtype != CARRIER_DTYPES[spec.type]
        ):
            result = tf.cast(result, CARRIER_DTYPES[spec.type])
        return result

    def _mixed_call(self, node: Node, env, invoke: Callable):
        """A call where Python-scalar carriers meet tensors: try the conversions eager
        TensorFlow could have made, keep the first whose result has the eager dtype."""
        tensor_dtype = None
        for a in list(node.args) + list(node.kwargs.values()):
            if isinstance(a, Value) and not isinstance(a.spec, PySpec) and _is_tf(env.get(a.id)):
                tensor_dtype = env[a.id].dtype.base_dtype
                break
        plans = ([("operand", tensor_dtype)] if tensor_dtype is not None else []) + [("eager", None), ("carrier", None)]
        errors = []
        for plan, dtype in plans:

            def convert(v: Value, top: bool, plan=plan, dtype=dtype):
                x = env[v.id]
                if not (isinstance(v.spec, PySpec) and isinstance(x, tf.Tensor)):
                    return x
                if plan == "operand" and top:
                    return tf.cast(x, dtype)
                if plan in ("operand", "eager"):
                    return tf.cast(x, EAGER_DTYPES.get(v.spec.type, x.dtype))
                return x

            args = tuple(
                convert(a, True) if isinstance(a, Value) else map_values(a, lambda v: convert(v, False))
                for a in node.args
            )
            kwargs = {
                k: convert(a, True) if isinstance(a, Value) else map_values(a, lambda v: convert(v, False))
                for k, a in node.kwargs.items()
            }
            try:
                result = invoke(args, kwargs)
            except Exception as e:
                errors.append(e)
                continue
            if _dtype_matches(result, node):
                return result
            errors.append(TypeError(f"result dtype {getattr(result, 'dtype', None)} is not the eager one"))
        raise Unsupported(
            f"lowering {target_name(node.target)} with Python-number inputs",
            node.site or "",
            f"no conversion of the numbers reproduces eager TensorFlow: {errors[0]}",
        )

    def _constant_of_scalar(self, node: Node, env):
        """tf.constant(x) of a Python-number input: a cast of its carrier (tf.constant
        does not take symbolic tensors)."""
        value = env[node.args[0].id]
        dtype = node.kwargs.get("dtype", node.args[1] if len(node.args) > 1 else None)
        if dtype is None:
            dtype = EAGER_DTYPES.get(node.args[0].spec.type, value.dtype)
        result = tf.cast(value, dtype)
        shape = node.kwargs.get("shape", node.args[2] if len(node.args) > 2 else None)
        return tf.fill(shape, result) if shape is not None else result

    # -- assertions ----------------------------------------------------------------------------------
    def op_assert(self, node: Node, env):
        pred = self.read(node.args[0], env)
        expect = bool(node.kwargs.get("expect", True))
        if not _is_tf(pred):
            if bool(pred) != expect:
                raise Unsupported("an assertion that always fails", node.site or "", str(node.target))
            return None
        holds = tf.reshape(tf.cast(pred, tf.bool), [])  # bool() of a one-element tensor
        if not expect:
            holds = tf.logical_not(holds)
        index = len(self.assert_sites)
        self.assert_sites.append(str(node.target))
        op = tf.debugging.Assert(holds, [f"{ASSERT_MARK}{index}#"], name=f"janus_assert_{index}")
        self.assert_deps.append(op)
        return None

    # -- control flow -------------------------------------------------------------------------------
    def op_cond(self, node: Node, env):
        pred, *operands = self.read(node.args, env)
        out_specs = [v.spec for v in node.outputs]
        if not _is_tf(pred):
            res = self.call_region(node.regions[0 if pred else 1], operands, env)
            return res if len(node.outputs) != 1 else res[0]
        pred = _scalar_bool(pred)

        def branch(region: Region):
            def run():
                saved = list(self.assert_deps)
                try:
                    res = self.call_region(region, operands, env)
                finally:
                    self.assert_deps[:] = saved  # ops of a branch graph cannot be depended on outside
                out = [to_carried(r, s) for r, s in zip(res, out_specs)]
                return out if out else [tf.constant(0)]

            return run

        res = tf.cond(pred, branch(node.regions[0]), branch(node.regions[1]))
        res = list(res) if isinstance(res, (list, tuple)) else [res]
        if _contains_assert(node):
            self.assert_deps.extend(res)  # the cond's results exist only once its assertions held
        res = res[: len(node.outputs)]
        return res if len(node.outputs) != 1 else res[0]

    def op_while(self, node: Node, env):
        cond_r, body_r = node.regions
        specs = [p.spec for p in cond_r.params]
        values = [to_carried(v, s) for v, s in zip(self.read(node.args, env), specs)]
        # values the body passes through unchanged are closed over, not carried: each carried
        # value costs the loop frame a Merge/Switch/NextIteration per iteration
        ret = body_r.nodes[-1].args
        fixed = {k for k, p in enumerate(body_r.params) if k < len(ret) and ret[k] is p}
        for k in fixed:  # read once before the loop, as a carried variable would be
            if isinstance(values[k], tf.Variable):
                values[k] = tf.convert_to_tensor(values[k])
        moving = [k for k in range(len(values)) if k not in fixed]
        schedule = self._schedule_fast_paths(node, fixed, values)

        def full(vals):
            it = iter(vals)
            return [values[k] if k in fixed else next(it) for k in range(len(values))]

        def cond(*vals):
            pred = self.call_region(cond_r, full(vals), env)[0]
            return _scalar_bool(pred)

        def body(*vals):
            saved = list(self.assert_deps)
            try:
                res = self.call_region(body_r, full(vals), env)
            finally:
                self.assert_deps[:] = saved
            out = []
            for k in moving:
                r, s, c = res[k], specs[k], values[k]
                out.append(tf.cast(to_carried(r, s), c.dtype) if _is_tf(c) else to_carried(r, s))
            return out

        invariants = [
            tf.TensorShape(specs[k].shape) if isinstance(specs[k], TensorSpec) else tf.TensorShape([]) for k in moving
        ]
        try:
            # a schedule's iterations depend on each other through the buffer: no parallelism to find
            res = tf.while_loop(
                cond,
                body,
                [values[k] for k in moving],
                shape_invariants=invariants,
                parallel_iterations=1 if schedule else 10,
            )
        finally:
            self._fast_index = {}
        res = list(res) if isinstance(res, (list, tuple)) else [res]
        res = full(res)
        if _contains_assert(node):
            self.assert_deps.extend(res)
        return res if len(node.outputs) != 1 else res[0]

    # -- the schedule loop of recursion as data ------------------------------------------------
    def _schedule_fast_paths(self, node: Node, fixed, values) -> bool:
        """Recognize the schedule loop the core emits for recursion as data (its body writes
        the result buffer with our `setitem`) and plan cheap forms of its own index reads
        (`kinds[i]`, `children[i, j]`, `buffer[c]`: in range and non-negative by
        construction, so one gather each instead of a strided slice and its index packing).
        Reads in user code (nodes with a source site) keep Python's indexing semantics."""
        body_r = node.regions[1]
        top = body_r.nodes
        if not any((n.op == "call" and n.target is setitem) or n.op == "map" for n in top):
            return False
        params = {p.id: k for k, p in enumerate(body_r.params)}
        fast: Dict[int, Any] = {}
        for n in top:
            if n.op != "call" or n.target is not operator.getitem or n.site or len(n.args) != 2:
                continue
            base, index = n.args
            rows = _value_range(index)
            if isinstance(index, Value):
                fast[id(n)] = None
            elif rows is not None:  # a level's segment `table[start:end]`: a gather of a range
                fast[id(n)] = ("rows", None)
            elif (
                type(index) is tuple
                and len(index) == 2
                and type(index[1]) is int
                and isinstance(base, Value)
                and params.get(base.id) in fixed
                and (isinstance(index[0], Value) or _value_range(index[0]) is not None)
            ):
                # a column of a loop-invariant table, sliced once outside the loop
                column = values[params[base.id]][:, index[1]]
                fast[id(n)] = column if isinstance(index[0], Value) else ("rows", column)
        self._fast_index = fast
        return True

    def _fast_getitem(self, node: Node, env, column):
        base, index = node.args
        if type(column) is tuple:  # rows start:end (in range, start <= end by construction)
            table = env[base.id] if column[1] is None else column[1]
            span = _value_range(index) or _value_range(index[0])
            return tf.gather(table, tf.range(env[span[0].id], env[span[1].id]))
        if column is not None:
            return tf.gather(column, env[index[0].id])
        return tf.gather(env[base.id], env[index.id])

    # -- map: one region over rows (recursion as data, level by level) ---------------------------
    def op_map(self, node: Node, env):
        """`tf.vectorized_map`: the region is traced once and vectorized (pfor), so a whole
        segment of nodes costs one batched op per region op.  Ops pfor cannot vectorize
        fall back to a loop, which cannot stack zero rows: then empty segments skip it."""
        args = self.read(node.args, env)
        k = node.kwargs["batched"]
        batched = tuple(args[:k])
        whole = [tf.convert_to_tensor(w) if isinstance(w, tf.Variable) else w for w in args[k:]]
        region = node.regions[0]
        specs = [spec_of_row(v.spec) for v in node.outputs]

        def row_fn(rows):
            saved, self._in_map = self._in_map, True
            try:
                return tuple(self.call_region(region, list(rows) + whole, env))
            finally:
                self._in_map = saved

        res = run_batched(region, batched, whole, None)  # batching rules for common ops
        if res is not None:
            return res if len(node.outputs) != 1 else res[0]
        try:
            res = tf.vectorized_map(row_fn, batched, fallback_to_while_loop=False)
        except Exception:

            def looped():
                return tf.vectorized_map(row_fn, batched, fallback_to_while_loop=True)

            def empty():
                return tuple(tf.zeros((0,) + tuple(s.shape), tf.as_dtype(s.dtype)) for s in specs)

            res = tf.cond(tf.shape(batched[0])[0] > 0, looped, empty)
        res = list(res) if isinstance(res, (list, tuple)) else [res]
        return res if len(node.outputs) != 1 else res[0]

    def _row_getitem(self, node: Node, env):
        """`table[i]` with `i` one row's integer (a leaf's word id): a gather, which pfor
        vectorizes (a strided slice with a per-row start it cannot); negative ids wrap."""
        base, index = self.read(node.args, env)
        if isinstance(base, tf.Variable):
            base = tf.convert_to_tensor(base)
        size = tf.shape(base, out_type=index.dtype)[0]
        return tf.gather(base, tf.where(index < 0, index + size, index))

    def op_invoke(self, node: Node, env):
        raise Unsupported("calling a graph function (`invoke`)", node.site or "", "not lowered by the tf backend yet")

    def op_effect(self, node: Node, env):
        raise Unsupported("an in-graph effect", node.site or "", "effects are committed by the JANUS runtime")


def _value_range(index: Any):
    """(start, stop) of `slice(start, stop)` with both graph values and no step, else None."""
    if type(index) is slice and isinstance(index.start, Value) and isinstance(index.stop, Value) and index.step is None:
        return index.start, index.stop
    return None


def to_carried(value: Any, spec: Any) -> Any:
    """A value crossing a cond/while boundary: a tensor of one fixed dtype."""
    if isinstance(spec, PySpec) and spec.type in CARRIER_DTYPES:
        if isinstance(value, tf.Tensor):
            return value if value.dtype == CARRIER_DTYPES[spec.type] else tf.cast(value, CARRIER_DTYPES[spec.type])
        return tf.constant(value, CARRIER_DTYPES[spec.type])
    if isinstance(spec, TensorSpec) and not _is_tf(value):
        return tf.constant(value, tf.as_dtype(spec.dtype))
    return value


def _swap_variables(value: Any, inputs: Dict[int, Any], depth: int = 0) -> Any:
    """Core workaround: an outside container passed whole to a framework call (e.g.
    `tape.gradient(loss, model.trainable_variables)`) reaches the graph holding the
    variables themselves, not the graph inputs that stand for them; use the inputs, so the
    graph reads (and differentiates) the variables it is fed on each call."""
    t = type(value)
    if t is tuple or t is list:
        return t(_swap_variables(v, inputs, depth + 1) for v in value) if depth < 4 else value
    if t is dict and depth < 4:
        return {k: _swap_variables(v, inputs, depth + 1) for k, v in value.items()}
    if isinstance(value, tf.Variable):
        return inputs.get(id(value), value)
    return value


def _scalar_bool(pred: Any) -> tf.Tensor:
    """A predicate as the 0-d bool a cond/while takes (bool() of a one-element tensor)."""
    if isinstance(pred, tf.Tensor) and pred.dtype == tf.bool and pred.shape.rank == 0:
        return pred
    return tf.reshape(tf.cast(pred, tf.bool), [])


def _dtype_matches(result: Any, node: Node) -> bool:
    if len(node.outputs) != 1 or not isinstance(node.out.spec, TensorSpec) or not _is_tf(result):
        return True
    return result.dtype.base_dtype.name == node.out.spec.dtype


def _contains_assert(node: Node) -> bool:
    return any(n.op == "assert" for r in node.regions for n in r.walk())


def _plain_leaves(arg: Any) -> List[Any]:
    """The non-Value leaves of a nested node argument."""
    if isinstance(arg, Value):
        return []
    t = type(arg)
    if t is tuple or t is list:
        return [x for a in arg for x in _plain_leaves(a)]
    if t is dict:
        return [x for a in arg.values() for x in _plain_leaves(a)]
    if t is slice:
        return _plain_leaves((arg.start, arg.stop, arg.step))
    return [arg]

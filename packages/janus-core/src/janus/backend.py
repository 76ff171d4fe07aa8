"""The backend contract (docs/writing-a-backend.md).

A backend turns IR graphs into something its framework runs, and tells the core about
its tensors.  The contract has a small required core and optional capabilities:

* `Backend` (required, an ABC): `name`, `tensor_types`, `framework_modules`,
  `spec_of(value)`, `compile(graph, config) -> Executable`, with working defaults for
  the rest (`owns`, `guard_source`, `to_python`, `run_imperative` ...).
* `ConversionRules` (optional): how the converter treats the framework's calls -- which
  write into an argument and their out-of-place forms, which run only for their effect
  on framework state, which draw random numbers.  A backend that does not implement it
  gets conservative defaults: unknown in-place calls fall back instead of being assumed
  pure.
* `ScheduleOps` (optional, only with `Capabilities.recursion`): the operations
  recursion-as-data schedules need.

Hooks receive plain values (the examples of graph values), never converter objects.
Subclass `Backend` (and the optional classes you implement), then register a factory
from a `janus_register_backends` hook (see `janus.hooks`).  The reference backend
(`janus.reference`) is the smallest complete example.
"""

from __future__ import annotations

import contextlib
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple

from . import numpy_rules
from .errors import Unsupported
from .ir.graph import Graph
from .ir.spec import PySpec, TensorSpec


@dataclass(frozen=True)
class Capabilities:
    """What a backend's graphs can express; the converter falls back where one is missing."""

    cond: bool = True
    while_loop: bool = True
    #: recursion over a structure as data (needs `ScheduleOps`)
    recursion: bool = False
    #: the backend runs schedule loops on the host: schedules arrive as Python lists
    #: (kinds, children rows, payload columns) instead of `from_numpy`/`stack_rows` arrays
    host_schedules: bool = False
    #: the backend lowers `map` nodes (one region over the rows of its operands) as one batched
    #: computation (TensorFlow: `tf.vectorized_map`): recursion as data then runs level by
    #: level, all nodes of one height and kind at once (needs take_rows and concat_rows)
    map_regions: bool = False
    devices: Tuple[str, ...] = ("cpu",)
    python_scalars_in_graph: bool = True
    #: `x += y` on a tensor writes into x (torch, NumPy) rather than rebinding (TensorFlow)
    inplace_operators: bool = True
    #: `t[i] = v` is allowed on a tensor (torch, NumPy; not TensorFlow, where eager raises TypeError)
    item_assignment: bool = True
    #: declared for `janus.testing`: in-place writes to tensors that outlive the call
    #: (`np.subtract(v, g, out=v)`, `w.sub_(g)`, `v.assign_sub(g)`) run from graphs, because the
    #: backend's `ConversionRules` give their out-of-place forms and `assign` writes them back
    inplace_writes: bool = False
    #: declared for `janus.testing`: training steps (gradients, optimizer updates) run from graphs
    #: (`ConversionRules.is_impure` and `is_graph_object` cover the framework's training calls)
    training: bool = False


class HostRows(list):
    """A 2-D host schedule (children per node) as nested lists, indexable in the IR's
    NumPy forms: `rows[i, j]` (one entry) and `rows[a:b, j]` (a column of some rows).
    Generated host code indexes `rows[i][j]` directly."""

    def __getitem__(self, index: Any) -> Any:
        if type(index) is tuple and type(index[0]) is slice:
            return [r[index[1]] for r in list.__getitem__(self, index[0])]
        if type(index) is tuple:
            return list.__getitem__(self, index[0])[index[1]]
        return list.__getitem__(self, index)


class Executable(ABC):
    """A compiled graph."""

    @abstractmethod
    def run(self, inputs: Sequence[Any]) -> Sequence[Any]:
        """Run on the graph inputs (in `graph.inputs` order); return the outputs in order.
        Raise `janus.errors.AssumptionFailed(site)` when an in-graph assertion did not
        hold, `janus.errors.EffectsApplied(error)` when the graph raised after an
        in-graph update of framework state ran (it must not be re-run)."""

    def describe(self) -> str:
        return type(self).__name__

    def wait_compiled(self, timeout: Optional[float] = None) -> bool:
        """Block until background compilation (if any) has finished; True when done."""
        return True

    def compile_pending(self) -> bool:
        """Is a background compile of this graph under way right now?"""
        return False


class Backend(ABC):
    """The required core of a backend."""

    name: str = "?"
    capabilities: Capabilities = Capabilities()
    #: the Python types of this backend's tensors (for `owns` and fast host guards)
    tensor_types: Tuple[type, ...] = ()
    #: top-level modules whose callables become graph nodes (not evaluated at conversion)
    framework_modules: Tuple[str, ...] = ()

    @abstractmethod
    def spec_of(self, value: Any) -> TensorSpec:
        """The spec (dtype, shape, device) of one of this backend's tensors."""

    @abstractmethod
    def compile(self, graph: Graph, config: Any) -> Executable:
        """Lower a verified graph (opcodes: input, const, call, call_method, cond, while,
        map, assert, output; see docs/ir.md) to an executable.  `config` is the
        function's `janus.Config`."""

    def owns(self, value: Any) -> bool:
        """Is `value` one of this backend's tensors (or variables)?"""
        return isinstance(value, self.tensor_types)

    def guard_source(self, expr: str, spec: TensorSpec, bind: Callable[[Any], str]) -> str:
        """A Python boolean expression checking that the value of `expr` fits `spec`.

        `bind(obj)` returns a name under which `obj` is visible to the expression.  The
        default calls `spec_of`; backends override it with inline attribute checks."""
        return f"{bind(spec)}.matches({bind(self.spec_of)}({expr}))"

    def attribute_source(self, expr: str, name: str, bind: Callable[[Any], str]) -> Optional[str]:
        """An expression reading attribute `name` of the value of `expr` in a guard, when the
        backend has a cheaper exact read than `expr.name` (e.g. a module's variable list
        kept until the module changes), else None (the default: the attribute as is)."""
        return None

    def is_framework_callable(self, fn: Any) -> bool:
        """Should a call of `fn` become a graph node (rather than run during conversion)?"""
        mod = getattr(fn, "__module__", None)
        if mod is None:
            owner = getattr(fn, "__self__", None)
            mod = type(owner).__module__ if owner is not None else type(fn).__module__
        return (mod or "").split(".")[0] in self.framework_modules

    def is_long_lived(self, value: Any) -> bool:
        """Framework objects that outlive calls (dtypes, modules, devices): guarded by
        identity and embedded in graphs as constants."""
        return type(value).__module__.split(".")[0] in self.framework_modules

    def to_python(self, value: Any, spec: PySpec) -> Any:
        """Turn a graph output that stands for a Python value back into that type."""
        return spec.type(value) if spec.type in (bool, int, float) else value

    def state_guards(self) -> Sequence[Tuple[Callable[[], Any], Any]]:
        """Global framework state a graph depends on, as (read function, current value)
        pairs checked by the host guards (e.g. torch's grad mode)."""
        return ()

    @contextlib.contextmanager
    def preserve_state(self) -> Iterator[None]:
        """Save and restore framework state (RNG) around conversion-time example runs."""
        yield

    def run_imperative(self, fn: Callable, args: Sequence, kwargs: Dict) -> Any:
        return fn(*args, **kwargs)

    def random_state(self) -> Any:
        """A snapshot of the random number generators a graph's random ops draw from, taken
        before such a graph runs; None when there is nothing to put back."""
        return None

    def set_random_state(self, state: Any) -> None:
        """Put back `random_state()`'s snapshot: a graph that drew numbers and then failed
        its speculation re-runs imperatively, and eager must draw the same numbers."""
        return None


def closure_owner(fn: Any, accept: Callable[[Any], bool]) -> Any:
    """The first object a wrapper function holds in its closure (through weak references and
    its `__wrapped__` chain) that `accept`s: e.g. the optimizer behind an LR scheduler's
    replacement of `opt.step`, a plain function with no `__self__`.  None if there is none."""
    for _ in range(8):
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            value = value() if isinstance(value, weakref.ReferenceType) else value
            if value is not None and accept(value):
                return value
        fn = getattr(fn, "__wrapped__", None)
        if fn is None:
            return None
    return None


class ConversionRules:
    """Optional: how the converter treats the framework's calls.  Every hook receives the
    call's plain values.  The defaults are conservative."""

    def inline_target(self, fn: Any) -> Optional[Callable]:
        """A Python callable the converter should inline in place of `fn` (e.g. the
        `forward` of a framework module), or None."""
        return None

    def is_mutating(self, target: Any, args: Sequence, kwargs: Dict) -> Optional[str]:
        """If calling `target` writes to one of its arguments (in-place op, variable
        assign), a short description of the write; else None.  Default: an `out=`
        argument (by keyword or position), a method named like an in-place one (`add_`), a
        NumPy writer."""
        name = getattr(target, "__name__", "") or ""
        if numpy_rules.out_argument_given(target, args, kwargs):
            return "it writes into its out argument"
        if name.endswith("_") and not name.startswith("_") and getattr(target, "__self__", None) is not None:
            return f"`{name}` is named like an in-place method"
        if numpy_rules.is_numpy(target) and numpy_rules.writes(target, kwargs, args):
            return f"numpy.{name} writes into an argument"
        return None

    def functional_call(self, fn: Any, args: Sequence, kwargs: Dict) -> Optional[Tuple[Callable, Any]]:
        """For a call that writes into an argument: `(pure, written)`, where `pure` takes
        the same arguments and returns the written argument's new value, and `written`
        is the position (int) or keyword (str) of that argument; None if unknown."""
        return None

    def functional_method(self, name: str, args: Sequence, kwargs: Dict) -> Optional[Callable]:
        """For an in-place tensor method (`x.sub_(y)`, `v.assign(y)`): a function taking
        `(x, *args, **kwargs)` and returning x's new value; None if unknown."""
        return None

    #: a callable `(tensor, index, value) -> new tensor` for `t[index] = value`, or None
    setitem_functional: Optional[Callable] = None

    def assign(self, target: Any, value: Any) -> None:
        """Write `value` into the outside tensor `target` (committing a functionalized write)."""
        raise Unsupported("an in-place write to a tensor", "", "the backend cannot write tensors in place")

    def check_inplace(self, target: Any) -> None:
        """Raise what eager raises when `target` may not be written in place at this
        point of the program; the call then runs imperatively.  Default: refuse every
        in-place write when the backend has no `assign` of its own (a write to a tensor
        that outlives the call could not be committed)."""
        if type(self).assign is ConversionRules.assign:
            raise Unsupported(
                "an in-place write to a tensor",
                "",
                f"backend {getattr(self, 'name', '?')!r} implements no ConversionRules.assign",
            )

    def written_variable_method(self, name: str) -> Optional[Callable]:
        """After `v.assign(...)` in a graph, `v` stands for a plain tensor value: a pure
        function computing `v.name(*args)` on that value, or None."""
        return None

    def is_graph_object(self, value: Any) -> bool:
        """Framework objects that may live inside a graph as opaque values (a gradient tape,
        a `no_grad` context): the converter keeps them as graph values, not constants."""
        return False

    def is_impure(self, target: Any, args: Sequence, kwargs: Dict) -> bool:
        """Calls run in the graph only for their effect on framework state (`loss.backward()`,
        `optimizer.step()`): kept in program order, never evaluated during conversion."""
        return False

    def random_op_guards(self) -> Sequence[Tuple[Callable[[], Any], Any]]:
        """Framework state a graph holding random ops depends on (read function, current
        value), checked by its host guards; graphs without random ops do not pay for it."""
        return ()

    def host_only(self, target: Any) -> Optional[str]:
        """Why a framework call must run on the host (an island) rather than in a graph, or
        None (the default): e.g. a random op whose graph form draws other numbers than eager."""
        return None

    def differentiates(self, target: Any) -> bool:
        """Does `target` differentiate with respect to tensors it is given (a tape's
        `gradient`)?  Such a call may not take a tensor the call already wrote in place."""
        return False

    def impure_result(self, target: Any, args: Sequence, kwargs: Dict) -> Any:
        """An example of what an impure call returns, without running it (only its spec is
        used: the graph computes the value), or None when it returns nothing."""
        return None

    def is_random(self, target: Any) -> bool:
        """Does `target` draw from a random number generator (never folded or merged)?"""
        name = getattr(target, "__name__", target if isinstance(target, str) else "") or ""
        return any(k in name for k in ("rand", "normal", "uniform", "dropout", "bernoulli", "multinomial", "shuffle"))

    def static_call(self, fn: Any) -> Optional[str]:
        """A framework function of Python values returning a Python value (a dtype, a
        device, `finfo`), evaluated during conversion: "pure" (a function of its arguments
        only), "state" (reads process state, e.g. the default dtype: re-read by a guard on
        every call), or None (not such a function)."""
        return None

    def local_object(self, cls: Any, args: Sequence, kwargs: Dict) -> Any:
        """A framework object the converted code builds (`nn.ReLU()`), built now when that
        is indistinguishable from eager building it on every call (no parameters, no random
        numbers, no global names); PASS-like None when it is not such a class."""
        return None

    def is_pure_host_call(self, fn: Any, args: Sequence, kwargs: Dict) -> bool:
        """May a library call on plain host values (no tensors of this backend) run now,
        during conversion, its result a constant?  Default: NumPy functions that write
        into no argument and draw no random numbers."""
        if not numpy_rules.is_numpy(fn) or numpy_rules.writes(fn, kwargs, args):
            return False
        mod = getattr(fn, "__module__", None) or ""
        return not mod.startswith("numpy.random")

    def host_array_call(self, target: Any, position: Any, args: Sequence, kwargs: Dict) -> Optional[Tuple[str, Any]]:
        """How a framework call (`target`: a function, or a method name) takes a NumPy array
        read from outside the function at argument `position` (an index or a keyword):
        `("same", None)` when the call only makes a tensor of it (`torch.from_numpy(a)`),
        `("apply", f)` when it makes `f(tensor)` of it (a copy), `("pass", None)` when the
        call may take the array's tensor in its place.  None (the default): the call runs
        on the host.  The array enters the graph as an input `host_array_tensor` makes on
        every call, so its contents are never baked into the graph."""
        return None

    def host_array_tensor(self, array: Any) -> Any:
        """This backend's tensor of a host NumPy array (made on every call: an input)."""
        raise NotImplementedError(f"backend {getattr(self, 'name', '?')} takes no NumPy arrays as inputs")

    def placeholder(self, spec: TensorSpec) -> Tuple[Callable, tuple, dict]:
        """`(target, args, kwargs)` of a graph call making some tensor of `spec`: what a
        `cond` branch returns for a value only the other branch computes (never looked at
        when the branch did not run).  Needs `ScheduleOps.zeros` by default."""
        if None in spec.shape or not isinstance(self, ScheduleOps):
            raise Unsupported(
                "a value computed on one branch of a data-dependent `if` for an effect",
                "",
                "its shape varies between calls or the backend cannot make a placeholder",
            )
        return self.zeros, (tuple(spec.shape), spec), {}


class ScheduleOps:
    """Optional: the operations recursion as data uses (`Capabilities.recursion`)."""

    def from_numpy(self, array: Any) -> Any:
        """A host NumPy array as this backend's tensor (the schedule of a tree)."""
        raise NotImplementedError(f"backend {getattr(self, 'name', '?')} does not implement from_numpy")

    @staticmethod
    def dim(tensor: Any, index: int) -> Any:
        """The size of dimension `index` of `tensor`, inside a graph (a loop bound such as
        `range(x.shape[0])` over a dimension that varies between calls)."""
        return tensor.shape[index]

    @staticmethod
    def take_rows(tensor: Any, index: Any) -> Any:
        """Rows `index` (a 1-D integer tensor, in range) of `tensor`, inside a graph."""
        return tensor[index]

    def index_table(self, array: Any) -> Any:
        """A host NumPy integer array whose slices index rows in a graph."""
        return self.from_numpy(array)

    def stack_results(self, rows: Sequence[Any], spec: TensorSpec) -> Any:
        """Per-node results (tensors of `spec`) stacked into one tensor; no rows: zero rows."""
        if not rows:
            return self.zeros((0,) + tuple(d or 0 for d in spec.shape), spec)
        return self.stack_rows(rows, spec)

    @staticmethod
    def concat_rows(first: Any, second: Any) -> Any:
        """`first` with the rows of `second` appended, inside a graph."""
        raise NotImplementedError("concat_rows (level-wise recursion as data)")

    def zeros(self, shape: Tuple[int, ...], spec: TensorSpec) -> Any:
        """A zero tensor of `shape` with the dtype and device of `spec`."""
        raise NotImplementedError(f"backend {getattr(self, 'name', '?')} does not implement zeros")

    def stack_rows(self, rows: Sequence[Any], spec: Any) -> Any:
        """Stack per-node payloads (Python numbers or tensors of `spec`; None for nodes of
        other kinds, filled with zeros) into one tensor whose first dimension is the node."""
        raise NotImplementedError(f"backend {getattr(self, 'name', '?')} does not implement stack_rows")


_DEFAULT_RULES = ConversionRules()


def rules_of(backend: Backend) -> ConversionRules:
    """The backend's conversion rules, or the conservative defaults."""
    return backend if isinstance(backend, ConversionRules) else _DEFAULT_RULES


def schedule_ops(backend: Backend) -> Optional[ScheduleOps]:
    return backend if isinstance(backend, ScheduleOps) else None

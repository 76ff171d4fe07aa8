"""What a TensorFlow call changes besides computing its result: variables, random number
generators, output to the world, optimizer and tape state.

A leaf module: the backend classifies calls with it during conversion, the lowering puts
state-changing ops after the assertions before them, the executable checks the variables
an optimizer update is fed.
"""

from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf

#: methods/functions that write a variable (tf.Variable methods, tf.compat.v1 state ops)
VARIABLE_WRITES = frozenset(
    {
        "assign",
        "assign_add",
        "assign_sub",
        "load",
        "scatter_update",
        "scatter_add",
        "scatter_sub",
        "scatter_mul",
        "scatter_div",
        "scatter_min",
        "scatter_max",
        "scatter_nd_update",
        "scatter_nd_add",
        "scatter_nd_sub",
        "scatter_nd_max",
        "scatter_nd_min",
        "batch_scatter_update",
        "count_up_to",
    }
)
#: raw-op name prefixes (snake_case, as `tf.raw_ops` wrappers are named) that write resources
RAW_WRITE_PREFIXES = (
    "assign_variable_op",
    "assign_add_variable_op",
    "assign_sub_variable_op",
    "resource_scatter",
    "resource_apply",
    "resource_sparse_apply",
    "resource_strided_slice_assign",
    "destroy_resource_op",
)
#: calls whose effect is output to the world (a graph would print again on a re-run)
OUTPUT_CALLS = frozenset({"print_v2", "Print", "print", "write_file", "save", "write"})
OUTPUT_MODULES = ("tensorflow.python.summary", "tensorflow.python.ops.summary_ops", "tensorboard")

RANDOM_MODULES = (
    "tensorflow.python.ops.random_ops",
    "tensorflow.python.ops.stateful_random_ops",
    "tensorflow.python.ops.gen_random_ops",
    "tensorflow.python.ops.candidate_sampling_ops",
)
RANDOM_NAMES = (
    "random",
    "dropout",
    "shuffle",
    "categorical",
    "multinomial",
    "truncated_normal",
    "sample_distorted",
    "normal",
    "uniform",
    "gamma",
    "poisson",
)


def mutation_reason(target: Any, args, kwargs) -> Optional[str]:
    """Why calling `target` changes state outside its result (None if it does not)."""
    name = getattr(target, "__name__", "") or ""
    owner = getattr(target, "__self__", None)
    if isinstance(owner, tf.Variable) and (name in VARIABLE_WRITES or name.startswith(("assign", "scatter"))):
        return f"tf.Variable.{name} writes the variable"
    if isinstance(owner, tf.random.Generator):
        return f"tf.random.Generator.{name} advances the generator's state"
    mod = getattr(target, "__module__", "") or ""
    if not mod.startswith(("tensorflow", "keras")):
        return None
    if name in VARIABLE_WRITES:
        if name.startswith("scatter_nd") and not any(isinstance(a, tf.Variable) for a in args[:1]):
            return None  # tf.scatter_nd-style functions on tensors return a new tensor
        return f"{mod.split('.')[-1]}.{name} writes a variable"
    if name.startswith(RAW_WRITE_PREFIXES) or name in (
        "AssignVariableOp",
        "AssignAddVariableOp",
        "AssignSubVariableOp",
    ):
        return f"raw op {name} writes a resource"
    if name in OUTPUT_CALLS or mod.startswith(OUTPUT_MODULES):
        return f"{name} writes output (it must happen once, in program order)"
    return None


#: Keras optimizer methods that update variables (and the optimizer's own state)
OPTIMIZER_UPDATES = frozenset({"apply_gradients", "apply", "minimize"})
#: GradientTape methods that change which values the tape records (no result to depend on)
TAPE_STATE_METHODS = frozenset({"watch", "reset"})


def impure_reason(target: Any, args, kwargs) -> Optional[str]:
    """Why `target` must run in the graph for its effect only (None if it need not)."""
    name = getattr(target, "__name__", "") or ""
    owner = getattr(target, "__self__", None)
    if owner is None and args and name in OPTIMIZER_UPDATES:
        owner = args[0]  # the unbound method the converter emits: owner passed first
    if (
        name in OPTIMIZER_UPDATES
        and owner is not None
        and type(owner).__module__.startswith("keras")
        and hasattr(owner, "iterations")
    ):
        return f"optimizer.{name} updates variables"
    if isinstance(owner, tf.GradientTape) and name in TAPE_STATE_METHODS:
        # Core workaround: a node with no used result is dead code to the core's passes, so
        # `tape.watch(x)` is marked impure to stay in the graph; impure calls are not run on
        # the conversion-time examples, so do it here for the example tape (its gradients
        # are the examples of the graph's gradients).
        getattr(owner, name)(*list(args[1:]), **kwargs)
        return f"GradientTape.{name} changes what the tape records"
    return None

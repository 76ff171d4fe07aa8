"""JANUS: imperative deep-learning programs, executed as speculative symbolic graphs.

    import janus

    @janus.jit
    def step(model, x): ...

Every call behaves as the undecorated function would (results, exceptions, changes to
Python objects, printed output); calls whose assumptions hold run from a graph.
"""

from __future__ import annotations

import types
from typing import Any, Callable, Optional

from .backend import Backend, Capabilities, ConversionRules, Executable, HostRows, ScheduleOps
from .config import Config, Stats
from .errors import (
    AssumptionFailed,
    BackendNotFound,
    EffectsApplied,
    IRError,
    JanusError,
    PluginWarning,
    SourceUnavailable,
    Unsupported,
)
from .explain import explain
from .hooks import BackendRegistrar, FallbackEvent, GraphBuiltEvent
from .ir.graph import OPCODES, Graph, Node, Region, Value
from .ir.interpret import Interpreter
from .ir.spec import PySpec, TensorSpec
from .plugin import backends, hookimpl
from .runtime import JitFunction

__version__ = "0.1.0"
__all__ = [
    # using JANUS
    "jit",
    "Config",
    "Stats",
    "explain",
    "backends",
    "JitFunction",
    "JanusError",
    "BackendNotFound",
    "Unsupported",
    "SourceUnavailable",
    # writing a backend (docs/writing-a-backend.md)
    "Backend",
    "Capabilities",
    "ConversionRules",
    "ScheduleOps",
    "HostRows",
    "Executable",
    "TensorSpec",
    "PySpec",
    "Graph",
    "Region",
    "Node",
    "Value",
    "OPCODES",
    "Interpreter",
    "AssumptionFailed",
    "EffectsApplied",
    "IRError",
    # plugins
    "hookimpl",
    "BackendRegistrar",
    "FallbackEvent",
    "GraphBuiltEvent",
    "PluginWarning",
]


def jit(fn: Optional[Callable] = None, *, backend: Optional[str] = None, config: Optional[Config] = None) -> Any:
    """Run `fn` through JANUS.

    Works as ``@janus.jit``, ``@janus.jit(backend="torch", config=...)`` and
    ``janus.jit(fn, ...)``, on functions, bound methods, methods defined in a class
    (decorate them in the class body) and callable objects.  ``backend=None`` picks the
    backend from the tensors of the first call."""
    if fn is None:
        return lambda f: jit(f, backend=backend, config=config)
    if isinstance(fn, JitFunction):
        return fn
    if isinstance(fn, types.MethodType):
        return JitFunction(fn.__func__, backend, config, bound_self=fn.__self__)
    if isinstance(fn, (types.FunctionType,)):
        return JitFunction(fn, backend, config)
    if isinstance(fn, (types.BuiltinFunctionType, types.BuiltinMethodType)) or not callable(fn):
        if not callable(fn):
            raise TypeError(f"janus.jit needs a callable, got {type(fn).__name__}")
        return JitFunction(fn, backend, config)  # no source: runs imperatively, with that reason
    call = getattr(type(fn), "__call__", None)
    if isinstance(call, types.FunctionType):  # a callable object: jit its __call__, bound to it
        return JitFunction(call, backend, config, bound_self=fn)
    return JitFunction(fn, backend, config)

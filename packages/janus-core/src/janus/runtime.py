"""The runtime: dispatcher, specialization cache, imperative fallback, effect commit.

Call path (DESIGN.md section 1): check the host guards of the cached specializations
(most recently used first); on a hit run the executable, then commit the deferred
effects in program order and rebuild the result.  On a miss, or when an in-graph
assertion fails, run the call imperatively through the profiler; the next miss builds a
new specialization from the richer profile (the failed assumption relaxed).
"""
from __future__ import annotations

import functools
import os
import time
import types
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from .analyzer import Analyzer
from .config import Config, Stats
from .converter import Conversion, convert
from .converter.source import get_source
from .converter.templates import materialize
from .errors import AssumptionFailed, EffectsApplied, JanusError, SourceUnavailable, Unsupported
from .guards import compile_guards
from .ir import format_graph, verify
from .ir.passes import run_default_passes
from .plugin import FallbackEvent, GraphBuiltEvent, plugins
from .profiler import Profile, Profiler


@dataclass
class Specialization:
    number: int
    guard: Callable
    guard_source: str
    executable: Any
    conversion: Conversion
    graph_text: str
    build_seconds: float
    hits: int = 0
    assertion_failures: Dict[str, int] = field(default_factory=dict)
    fast_result: Optional[int] = None


def _disabled() -> bool:
    return os.environ.get("JANUS_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


class _DisabledFlag(list):
    """`JANUS_DISABLE`, read from the environment at most once per call of the flag."""

    def __getitem__(self, i):
        return _disabled()


_DISABLED = _DisabledFlag([False])


class _Counters:
    """Plain counters on the hot path; `JitFunction.stats` snapshots them as a pydantic Stats."""

    __slots__ = tuple(Stats.model_fields)

    def __init__(self):
        for name, f in Stats.model_fields.items():
            setattr(self, name, {} if name == "fallback_reasons" else 0)

    def snapshot(self) -> Stats:
        return Stats(**{name: (dict(getattr(self, name)) if name == "fallback_reasons" else getattr(self, name))
                        for name in Stats.model_fields})


class JitFunction:
    """A function under JANUS.  Call it like the original."""

    def __init__(self, fn: Callable, backend: Optional[str] = None, config: Optional[Config] = None,
                 bound_self: Any = None, _shared: Optional["JitFunction"] = None):
        self.__wrapped__ = fn
        self.__janus_function__ = fn
        functools.update_wrapper(self, fn, updated=())
        self._bound_self = bound_self
        if _shared is not None:  # a method bound to an instance shares the class-level state
            self._state = _shared._state
            return
        if config is None:
            config = Config()
        elif not isinstance(config, Config):
            raise TypeError(f"config must be a janus.Config, not {type(config).__name__}")
        if backend is not None:
            plugins.get(backend)  # fail now, listing the installed backends
        self._state = _State(fn, backend, config)

    # -- descriptor protocol: @janus.jit on a method defined in a class --------------------
    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return JitFunction(self.__wrapped__, bound_self=instance, _shared=self)

    @property
    def stats(self) -> Stats:
        """A snapshot of the counters (a pydantic model)."""
        return self._state.stats.snapshot()

    @property
    def config(self) -> Config:
        return self._state.config

    def wait_compiled(self, timeout: Optional[float] = None) -> bool:
        """Block until every specialization's background compilation (e.g. the torch
        backend's tiered Inductor compile) has finished; True when none is pending."""
        done = True
        for spec in list(self._state.cache.values()):
            wait = getattr(spec.executable, "wait_compiled", None)
            if wait is not None:
                done = bool(wait(timeout)) and done
        return done

    def __call__(self, *args, **kwargs):
        if self._bound_self is not None:
            args = (self._bound_self,) + args
        return self._state.call(args, kwargs)

    def __repr__(self) -> str:
        return f"<janus.jit {getattr(self.__wrapped__, '__qualname__', self.__wrapped__)!s}>"


class _State:
    def __init__(self, fn: Callable, backend_name: Optional[str], config: Config):
        self.fn = fn
        self.name = getattr(fn, "__qualname__", repr(fn))
        self.config = config
        self.backend_name = backend_name
        self.backend = None
        self.stats = _Counters()
        self.cache: "OrderedDict[int, Specialization]" = OrderedDict()
        self.profile: Optional[Profile] = None
        self.profiler: Optional[Profiler] = None
        self.analyzer: Optional[Analyzer] = None
        self.pending_conversion = False
        self.mru: Optional[Specialization] = None
        #: the last few specializations dropped after a failed speculation (for explain)
        self.retired: List[Specialization] = []
        self.imperative_reason: Optional[str] = None  # set: this function stays imperative
        self.failures: List[str] = []
        self.numbers = 0
        self.backoff = 0
        try:
            get_source(fn)
        except SourceUnavailable as e:
            self.imperative_reason = str(e)

    # -- the call path ----------------------------------------------------------------
    def call(self, args: tuple, kwargs: dict):
        self.stats.calls += 1
        if _DISABLED[0]:
            return self._imperative(args, kwargs, "JANUS_DISABLE is set", "disabled", profile=False)
        mru = self.mru
        if mru is not None:  # the common case: the last specialization fits again
            got = mru.guard(*args, **kwargs)
            if got is not None:
                return self._run_graph(mru, got, args, kwargs)
        for spec in reversed(self.cache.values()):
            if spec is mru:
                continue
            got = spec.guard(*args, **kwargs)
            if got is not None:
                return self._run_graph(spec, got, args, kwargs)
        return self._miss(args, kwargs)

    def _run_graph(self, spec: Specialization, got, args, kwargs):
        inputs, hosts = got
        try:
            outs = spec.executable.run(inputs)
        except AssumptionFailed as e:
            self.stats.assumption_failures += 1
            spec.assertion_failures[e.site] = spec.assertion_failures.get(e.site, 0) + 1
            self.analyzer.assertion_failed(spec.conversion.asserts.get(e.site))
            # retire the graph: the next call that reaches it builds a more general one (the
            # failed site relaxed: a graph `cond`/`while` instead of the speculation)
            if self.stats.graphs_built < self.config.max_regenerations:
                self.cache.pop(spec.number, None)
                self.retired.append(spec)
                del self.retired[:-4]
                if self.mru is spec:
                    self.mru = None
            self.pending_conversion = True
            return self._imperative(args, kwargs, f"speculation failed at {e.site}", "assumption")
        except EffectsApplied as e:  # an update already ran: re-running would apply it twice
            self.stats.graph_calls += 1
            raise e.error from None
        except Exception as e:  # the graph raised: eager decides what really happens
            self.pending_conversion = True
            return self._imperative(args, kwargs, f"graph raised {type(e).__name__}: {e}"[:200], "error")
        self.stats.graph_calls += 1
        spec.hits += 1
        if spec is not self.mru:
            self.cache.move_to_end(spec.number)
            self.mru = spec
        if spec.fast_result is not None:
            return outs[spec.fast_result]
        return self._commit(spec.conversion, outs, hosts)

    def _commit(self, conv: Conversion, outs, hosts):
        to_python = self.backend.to_python
        memo: Dict[int, Any] = {}
        for kind, target, ops, _site, conds in conv.effects:
            if conds and not all(bool(materialize(c, outs, hosts, {}, to_python)) == e for c, e in conds):
                continue  # the effect sits on a branch of a graph cond that was not taken
            if kind == "call":
                fn, args_tpl, kwargs_tpl = ops
                fn(*materialize(args_tpl, outs, hosts, {}, to_python), **materialize(kwargs_tpl, outs, hosts, {}, to_python))
                continue
            if kind == "print":
                args_tpl, sep, end, flush = ops
                print(*materialize(args_tpl, outs, hosts, {}, to_python), sep=sep, end=end, flush=flush)
                continue
            obj = hosts[target[1]]
            vals = [materialize(t, outs, hosts, memo, to_python) for t in ops]
            if kind == "assign":
                self.backend.assign(obj, vals[0])
            else:
                _apply_effect(kind, obj, vals)
        return materialize(conv.result, outs, hosts, memo, to_python)

    def _miss(self, args, kwargs):
        if self.imperative_reason is not None:
            return self._imperative(args, kwargs, self.imperative_reason, "unsupported", profile=False)
        if self.backend is None:
            self._choose_backend(args, kwargs)
        if self.profile.runs < self.config.profile_runs:
            return self._imperative(args, kwargs, "profiling", "profiling")
        if self.cache:
            self.stats.guard_misses += 1
            if not self.pending_conversion:
                # learn the new behaviour imperatively first; the next miss builds a graph for it
                self.pending_conversion = True
                return self._imperative(args, kwargs, "no specialization fits (guard miss)", "guard-miss")
        if self.backoff > 0:
            self.backoff -= 1
            return self._imperative(args, kwargs, self.failures[-1], "unsupported")
        spec = self._build(args, kwargs)
        if spec is None:
            return self._imperative(args, kwargs, self.failures[-1], "unsupported")
        got = spec.guard(*args, **kwargs)
        if got is None:
            self.pending_conversion = True
            return self._imperative(args, kwargs, "internal: a new specialization rejected the call it was built for", "error")
        return self._run_graph(spec, got, args, kwargs)

    def _build(self, args, kwargs) -> Optional[Specialization]:
        cfg = self.config
        self.pending_conversion = False
        if self.stats.graphs_built >= cfg.max_regenerations:
            self.failures.append(f"gave up after {cfg.max_regenerations} graph builds (max_regenerations)")
            self.imperative_reason = self.failures[-1] if not self.cache else None
            self.backoff = 1 << 30
            return None
        t0 = time.perf_counter()
        try:
            conversion = convert(self.fn, args, kwargs, self.backend, self.analyzer, cfg)
            if cfg.passes:
                run_default_passes(conversion.graph, self.backend.is_random)
            verify(conversion.graph)
            graph_text = format_graph(conversion.graph)
            guard, guard_src = compile_guards(self.fn, self.backend, conversion)
            executable = self.backend.compile(conversion.graph, cfg)
        except Unsupported as e:
            return self._conversion_failed(f"unsupported: {e}", e)
        except JanusError as e:
            return self._conversion_failed(f"{type(e).__name__}: {e}", e)
        except Exception as e:  # the function raised for these arguments during conversion
            where = _innermost(e.__traceback__)
            return self._conversion_failed(f"conversion stopped: {type(e).__name__}: {e} (raised at {where})"[:300], None)
        self.numbers += 1
        spec = Specialization(self.numbers, guard, guard_src, executable, conversion, graph_text, time.perf_counter() - t0)
        res = conversion.result
        if not conversion.effects and res[0] == "out" and res[2] is None:
            spec.fast_result = res[1]  # the result is one graph output: nothing to commit or rebuild
        self.cache[spec.number] = spec
        self.mru = spec
        self.stats.graphs_built += 1
        while len(self.cache) > cfg.max_graphs:
            evicted = self.cache.popitem(last=False)[1]
            if evicted is self.mru:
                self.mru = None
            self.stats.graphs_evicted += 1
        plugins.hook.janus_on_graph_built(event=GraphBuiltEvent(self.name, self.backend.name, graph_text, spec.build_seconds))
        return spec

    def _conversion_failed(self, reason: str, error: Optional[JanusError]):
        self.stats.conversion_failures += 1
        self.failures.append(reason)
        if error is not None and self.config.fallback == "raise":
            raise JanusError(f"janus.jit({self.name}): {error}") from error
        # back off exponentially; after a few failures the function stays imperative
        n = self.stats.conversion_failures
        if n >= 4 and not self.cache:
            self.imperative_reason = reason
        self.backoff = (1 << n) - 1
        return None

    def _imperative(self, args, kwargs, reason: str, kind: str, profile: bool = True):
        stats = self.stats
        stats.imperative_calls += 1
        stats.fallback_reasons[reason] = stats.fallback_reasons.get(reason, 0) + 1
        if kind not in ("profiling", "disabled"):
            if self.config.fallback == "raise" and kind == "unsupported":
                raise JanusError(f"janus.jit({self.name}) cannot run from a graph: {reason}")
            plugins.hook.janus_on_fallback(event=FallbackEvent(self.name, reason, kind))
        if profile and self.profiler is not None:
            stats.profiled_calls += 1
            return self.profiler.call(self.fn, args, kwargs)
        if self.backend is not None:
            return self.backend.run_imperative(self.fn, args, kwargs)
        return self.fn(*args, **kwargs)

    def _choose_backend(self, args, kwargs) -> None:
        name = self.backend_name
        if name is None:
            name = _claim(args, kwargs) or _claim_closure(self.fn) or "reference"
            self.backend_name = name
        self.backend = plugins.get(name)
        self.profile = Profile(lambda v: self.backend.spec_of(v) if self.backend.owns(v) else None)
        self.profiler = Profiler(self.profile)
        self.analyzer = Analyzer(self.profile, self.config)


def _innermost(tb) -> str:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"


def _claim(args, kwargs, depth: int = 0) -> Optional[str]:
    for v in list(args) + list(kwargs.values()):
        name = plugins.claim(v)
        if name is not None:
            return name
        if depth < 3 and isinstance(v, (list, tuple)):
            found = _claim(v, {}, depth + 1)
            if found:
                return found
        if depth < 3 and isinstance(v, dict):
            found = _claim((), v, depth + 1)
            if found:
                return found
        if depth < 1 and hasattr(v, "__dict__") and not isinstance(v, (type, types.ModuleType)):
            found = _claim((), dict(vars(v)), depth + 1)
            if found:
                return found
    return None


def _claim_closure(fn) -> Optional[str]:
    cells = [c.cell_contents for c in (getattr(fn, "__closure__", None) or ()) if _filled(c)]
    return _claim(cells, {}, 1)


def _filled(cell) -> bool:
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


def _apply_effect(kind: str, obj: Any, vals: List[Any]) -> None:
    if kind == "setattr":
        setattr(obj, vals[0], vals[1])
    elif kind == "delattr":
        delattr(obj, vals[0])
    elif kind == "setitem":
        obj[vals[0]] = vals[1]
    elif kind == "delitem":
        del obj[vals[0]]
    elif kind == "append":
        obj.append(vals[0])
    elif kind == "extend":
        obj.extend(vals[0])
    elif kind == "insert":
        obj.insert(vals[0], vals[1])
    elif kind == "clear":
        obj.clear()
    elif kind == "reverse":
        obj.reverse()
    elif kind == "add":
        obj.add(vals[0])
    else:
        raise JanusError(f"internal: unknown effect kind {kind!r}")

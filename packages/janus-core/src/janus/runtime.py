"""The runtime: dispatcher, specialization cache, imperative fallback, effect commit.

Call path (docs/architecture.md): check the host guards of the cached specializations
(most recently used first); on a hit run the executable, then commit the deferred
effects in program order and rebuild the result.  On a miss, or when an in-graph
assertion fails, run the call imperatively through the profiler; the next miss builds a
new specialization from the richer profile (the failed assumption relaxed).

Threads: the hot path (guards, executable, commit) takes no lock; it reads `cache`, a
dict replaced, never changed, under the state's lock.  Profiling and building take that
lock without waiting (a thread finding it held runs eagerly).  A graph reading outside
state its effects write holds `HEAP_LOCK` from the guard (the read) to the commit.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from . import logs, observe
from .analyzer import Analyzer
from .config import Config, Stats
from .converter import Conversion, convert
from .effects import commit, commit_known
from .errors import AssumptionFailed, EffectsApplied, JanusError, SourceUnavailable, Unsupported
from .guards import HOST_RAISED, compile_guards
from .ir import format_graph, verify
from .ir.passes import prune_inputs, run_default_passes
from .plugin import FallbackEvent, GraphBuiltEvent, plugins
from .profiler import Profile, Profiler
from .segments import _CALL, Splitter
from .selection import claim_backend, claim_closure, foreign_backend
from .source import get_source
from .split_calls import SplitCalls
from .split_timing import SplitArbiter
from .templates import Materializer

#: held from the guard to the commit by graphs that read Python state their effects write
HEAP_LOCK = threading.RLock()
_LAZY_CODE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE
#: graphs that raised where eager did not, after which a function stays imperative
_MAX_BROKEN = 2
_clock = time.perf_counter
_MISS = object()  # no specialization's guard holds


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
    last_used: int = 0
    assertion_failures: Dict[str, int] = field(default_factory=dict)
    fast_result: Optional[int] = None
    retired_because: str = ""
    #: the graph draws random numbers: their generators are put back before a failed
    #: graph's call re-runs imperatively (eager draws them once)
    draws_random: bool = False


_ENVIRON = os.environ
#: os.environ's own dict and its key for JANUS_DISABLE: one dict lookup tells that the
#: variable is unset (`os.environ.get` of a missing key costs a KeyError, ~1 us)
_ENVIRON_DATA: Any = getattr(_ENVIRON, "_data", None)
_DISABLE_KEY = _ENVIRON.encodekey("JANUS_DISABLE") if hasattr(_ENVIRON, "encodekey") else None
_FAST_ENVIRON = type(_ENVIRON_DATA) is dict and _DISABLE_KEY is not None


def _disabled() -> bool:
    env = os.environ
    if env is _ENVIRON and _FAST_ENVIRON and _DISABLE_KEY not in _ENVIRON_DATA:  # the common case: unset
        return False
    return env.get("JANUS_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


class _Counters:
    """Plain counters on the hot path; `JitFunction.stats` snapshots them as a pydantic Stats."""

    __slots__ = (
        "split_calls",
        "islands_run",
        "graph_seconds",
        "calls",
        "graph_calls",
        "imperative_calls",
        "profiled_calls",
        "graphs_built",
        "graphs_evicted",
        "guard_misses",
        "assumption_failures",
        "conversion_failures",
        "fallback_reasons",
        "_reasons_lock",
    )

    def __init__(self) -> None:
        self.calls = self.graph_calls = self.imperative_calls = self.profiled_calls = 0
        self.graphs_built = self.graphs_evicted = self.guard_misses = 0
        self.assumption_failures = self.conversion_failures = 0
        self.split_calls = self.islands_run = 0
        self.graph_seconds = 0.0
        self.fallback_reasons: Dict[str, int] = {}
        self._reasons_lock = threading.Lock()

    def reason(self, reason: str) -> None:
        with self._reasons_lock:
            self.fallback_reasons[reason] = self.fallback_reasons.get(reason, 0) + 1

    def snapshot(self) -> Stats:
        with self._reasons_lock:
            reasons = dict(self.fallback_reasons)
        return Stats(**{name: getattr(self, name) for name in self.__slots__[:-2]}, fallback_reasons=reasons)


class JitFunction:
    """A function under JANUS.  Call it like the original."""

    def __init__(
        self,
        fn: Callable,
        backend: Optional[str] = None,
        config: Optional[Config] = None,
        bound_self: Any = None,
        _shared: Optional[JitFunction] = None,
    ):
        self.__wrapped__ = fn
        self.__janus_function__ = fn
        functools.update_wrapper(self, fn, updated=())
        self._bound_self = bound_self
        self._state: _State
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
        split = self._state.splitter.current if self._state.splitter is not None else None
        for segment in split.segments if split is not None else ():  # a split function's graphs
            done = segment.wait_compiled(timeout) and done
        return done

    def settled(self) -> bool:
        """Has it stopped choosing how to run: no background compile pending, and for a
        function split around host islands, split or whole decided (a benchmark's warm-up
        waits for this)."""
        state = self._state
        arbiter = state.arbiter
        timing = state.splitter.current is not None and state.config.split_timing
        deciding = timing and (arbiter is None or arbiter.split is not state.splitter.current or not arbiter.decision)
        return not deciding and not self.compile_pending()

    def compile_pending(self) -> bool:
        """Is a background compile of one of its graphs (a split's segments too) under way?"""
        split = self._state.splitter.current
        specs = list(self._state.cache.values())
        return any(getattr(s.executable, "compile_pending", lambda: False)() for s in specs) or any(
            segment.compile_pending() for segment in (split.segments if split is not None else ())
        )

    def __call__(self, *args, **kwargs):
        if self._bound_self is not None:
            args = (self._bound_self,) + args
        return self._state.call(args, kwargs)

    def __repr__(self) -> str:
        return f"<janus.jit {getattr(self.__wrapped__, '__qualname__', self.__wrapped__)!s}>"


class _State(SplitCalls):
    def __init__(self, fn: Callable, backend_name: Optional[str], config: Config):
        self.fn = fn
        self.name = getattr(fn, "__qualname__", repr(fn))
        self.config = config
        self.backend_name = backend_name
        self.backend_chosen_by = "the caller" if backend_name is not None else ""
        self.backend: Any = None  # chosen at the first call
        self.stats = _Counters()
        self.lock = threading.RLock()
        #: number -> specialization; replaced (never changed) under `lock`, read without it
        self.cache: Dict[int, Specialization] = {}
        self.mru: Optional[Specialization] = None
        self.profile: Any = None
        self.profiler: Any = None
        self.analyzer: Any = None
        self.pending_conversion = False
        #: the last few specializations dropped (failed speculation, broken graph), for explain
        self.retired: List[Specialization] = []
        self.imperative_reason: Optional[str] = None  # set: this function stays imperative
        self.failures: List[str] = []
        self.numbers = 0
        self.uses = 0
        self.backoff = 0
        self.broken = 0
        self.gave_up = False  # no more graph builds: imperative calls are no longer profiled
        self.splitter = Splitter(fn, self._make_segment, self._pure_op)
        self.arbiter: Optional[SplitArbiter] = None  # split or whole, for the current split
        #: set on a segment of a split function: where islands the segment finds go
        self.split_owner: Optional[Splitter] = None
        code = getattr(fn, "__code__", None)
        if code is not None and code.co_flags & _LAZY_CODE:
            self.imperative_reason = "a generator or coroutine function runs lazily on the host; JANUS calls it as is"
            return
        try:
            get_source(fn)
        except SourceUnavailable as e:
            self.imperative_reason = str(e)

    # -- the call path ----------------------------------------------------------------
    def call(self, args: tuple, kwargs: dict):
        self.stats.calls += 1
        if _disabled():
            return self._imperative(args, kwargs, "JANUS_DISABLE is set", "disabled", profile=False)
        split = self.splitter.current
        if split is not None:
            return self._run_split_or_whole(split, args, kwargs)
        mru = self.mru
        try:
            if mru is not None and mru.conversion.read_modify_write:  # guarded once, under the lock
                result = self._run_locked(mru, args, kwargs)
                if result is not _MISS:
                    return result
            elif mru is not None:  # the common case: the last specialization fits again
                got = mru.guard(*args, **kwargs) if kwargs else mru.guard(*args)
                if got is not None:
                    return self._run_graph(mru, got, args, kwargs)
            for spec in reversed(self.cache.values()):
                if spec is not mru:
                    got = spec.guard(*args, **kwargs)
                    if got is not None:
                        return self._run_graph(spec, got, args, kwargs)
        except TypeError:  # the arguments do not bind to the signature: eager raises its own error
            return self._imperative(
                args, kwargs, "the arguments do not match the signature", "arguments", profile=False
            )
        return self._miss(args, kwargs)

    def _make_segment(self, segment: Any, owner: Splitter) -> JitFunction:
        # the whole function was profiled already: a segment converts on its first call, with
        # general forms where a profile would have specialized (model_copy skips validation)
        config = self.config.model_copy(update={"profile_runs": 0})
        jitted = JitFunction(segment, backend=self.backend_name, config=config)
        jitted._state.split_owner = owner
        return jitted

    def _run_graph(self, spec: Specialization, got, args, kwargs):
        if got is HOST_RAISED:
            return self._imperative(
                args, kwargs, "computing a Python value on the host raised", "host-raised", profile=False
            )
        if not spec.conversion.read_modify_write:
            return self._execute(spec, got, args, kwargs)
        result = self._run_locked(spec, args, kwargs)  # read again under the lock
        if result is _MISS:
            return self._imperative(args, kwargs, "no specialization fits (guard miss)", "guard-miss", profile=False)
        return result

    def _run_locked(self, spec: Specialization, args, kwargs):
        """A graph reading Python state its effects write: the guard (the read) and the
        commit (the write) are one step under HEAP_LOCK, as in eager.  _MISS on a miss."""
        with HEAP_LOCK:
            got = spec.guard(*args, **kwargs)
            if got is None:
                return _MISS
            if got is not HOST_RAISED:
                return self._execute(spec, got, args, kwargs)
        return self._run_graph(spec, got, args, kwargs)  # computing a host value raised

    def _execute(self, spec: Specialization, got, args, kwargs):
        inputs, hosts = got
        drawn = self.backend.random_state() if spec.draws_random else None
        t0 = _clock()
        try:
            outs = spec.executable.run(inputs)
        except AssumptionFailed as e:
            if drawn is not None:
                self.backend.set_random_state(drawn)
            return self._assumption_failed(spec, e, args, kwargs)
        except EffectsApplied as e:  # an update already ran: re-running would apply it twice
            self.stats.graph_calls += 1
            before = spec.conversion.effects[: spec.conversion.effects_before_update]
            commit_known(before, Materializer(None, hosts, self.backend.to_python, self.backend))
            raise e.error from None
        except Exception as e:  # the graph raised: eager decides what really happens
            if drawn is not None:
                self.backend.set_random_state(drawn)
            return self._graph_raised(spec, e, args, kwargs)
        seconds = _clock() - t0
        stats = self.stats
        stats.graph_calls += 1
        stats.graph_seconds += seconds
        # segments.current_record(), read from the thread's own dict of `_CALL` (a missing
        # attribute of a threading.local costs ~0.5 us: an AttributeError raised and caught)
        record = _CALL.__dict__.get("record")
        if record is not None:  # a segment of a split call running in this thread
            record.graph_calls += 1
            record.graph_seconds += seconds
            if spec.executable.compile_pending():  # its fast tier still compiling
                record.unsettled += 1
        spec.hits += 1
        self.uses += 1
        spec.last_used = self.uses
        self.mru = spec
        if spec.fast_result is not None:
            return outs[spec.fast_result]
        return self._commit(spec.conversion, outs, hosts)

    def _commit(self, conv: Conversion, outs, hosts):
        m = Materializer(outs, hosts, self.backend.to_python, self.backend)
        commit(conv.effects, m)
        return m.value(conv.result)

    # -- when a graph does not serve ------------------------------------------------------
    def _assumption_failed(self, spec: Specialization, e: AssumptionFailed, args, kwargs):
        self.stats.assumption_failures += 1
        with self.lock:
            spec.assertion_failures[e.site] = spec.assertion_failures.get(e.site, 0) + 1
            self.analyzer.assertion_failed(spec.conversion.asserts.get(e.site))
            # retire the graph: the next call that reaches it builds a more general one (the
            # failed site relaxed: a graph `cond`/`while` instead of the speculation)
            if self.stats.graphs_built < self.config.max_regenerations:
                self._retire(spec, f"retired after a failed speculation at {e.site}")
            self.pending_conversion = True
        return self._imperative(args, kwargs, f"speculation failed at {e.site}", "assumption")

    def _graph_raised(self, spec: Specialization, error: Exception, args, kwargs):
        """The graph raised: run eagerly.  If eager raises the same, the graph was right (a
        data-dependent error); otherwise the graph is broken for these arguments: retire it."""
        reason = f"graph raised {type(error).__name__}: {error}"[:200]
        try:
            result = self._imperative(args, kwargs, reason, "error")
        except BaseException as eager_error:
            if type(eager_error) is not type(error):
                self._graph_broken(spec, reason)
            raise
        self._graph_broken(spec, reason)
        return result

    def _graph_broken(self, spec: Specialization, reason: str) -> None:
        with self.lock:
            self.broken += 1
            self._retire(spec, f"retired: {reason} where eager did not")
            self.failures.append(f"specialization #{spec.number} retired: {reason} where eager did not")
            if self.broken >= _MAX_BROKEN:
                self.imperative_reason = f"its graphs raised where eager did not ({reason})"
                self.gave_up = True
        if self.config.fallback == "raise":
            raise JanusError(
                f"janus.jit({self.name}): specialization #{spec.number} {reason} where eager did not; it was retired"
            )

    def _retire(self, spec: Specialization, why: str) -> None:
        """Drop `spec` from the cache (under `lock`)."""
        if spec.number in self.cache:
            self.cache = {n: s for n, s in self.cache.items() if n != spec.number}
            spec.retired_because = why
            self.retired = (self.retired + [spec])[-4:]
        if self.mru is spec:
            self.mru = None

    def _miss(self, args, kwargs):
        if self.imperative_reason is not None:
            return self._imperative(args, kwargs, self.imperative_reason, "unsupported", profile=False)
        if not self.lock.acquire(blocking=False):  # another thread profiles or builds: run eagerly
            return self._imperative(
                args, kwargs, "another thread is profiling or building this function", "busy", profile=False
            )
        try:
            return self._miss_locked(args, kwargs)
        finally:
            self.lock.release()

    def _miss_locked(self, args, kwargs):
        foreign = self._check_backend(args, kwargs)
        if foreign is not None:
            return self._imperative(args, kwargs, foreign, "unsupported", profile=False)
        if self.profile.runs < self.config.profile_runs:
            return self._imperative(args, kwargs, "profiling", "profiling")
        if self.cache:
            self.stats.guard_misses += 1
            self._relax_missed_value(args, kwargs)
            if logs.GUARDS:
                observe.guard_missed(self, args, kwargs)
            if not self.pending_conversion:
                # learn the new behaviour imperatively first; the next miss builds a graph for it
                self.pending_conversion = True
                return self._imperative(args, kwargs, "no specialization fits (guard miss)", "guard-miss")
        if self.backoff > 0:
            self.backoff -= 1
            return self._imperative(args, kwargs, self.failures[-1], "unsupported", profile=not self.gave_up)
        spec = self._build(args, kwargs)
        if spec is None and self.splitter.current is not None:  # split just now: this call runs split
            return self._run_split(self.splitter.current, args, kwargs)
        if spec is None:
            return self._imperative(args, kwargs, self.failures[-1], "unsupported", profile=not self.gave_up)
        got = spec.guard(*args, **kwargs)
        if got is None:
            self.pending_conversion = True
            return self._imperative(
                args, kwargs, "internal: a new specialization rejected the call it was built for", "error"
            )
        return self._run_graph(spec, got, args, kwargs)

    def _relax_missed_value(self, args, kwargs) -> None:
        """A Python number guarded as a constant that this call changed (a counter read where
        the profile does not see it, `self.calls += 1`) varies: the next graph takes it as
        an input instead of one graph per value."""
        spec = self.mru
        if spec is None:
            return
        found = observe.first_failure(self, spec, args, kwargs)
        if found is not None and found[0] >= 0:
            guard = spec.conversion.guards[found[0]]
            if guard.kind == "value" and guard.relax is not None and type(guard.expect) in (int, float):
                self.analyzer.relax(guard.relax)

    def _build(self, args, kwargs) -> Optional[Specialization]:
        cfg = self.config
        self.pending_conversion = False
        if self.stats.graphs_built >= cfg.max_regenerations:
            self.failures.append(f"gave up after {cfg.max_regenerations} graph builds (max_regenerations)")
            self.imperative_reason = self.failures[-1] if not self.cache else None
            self.backoff = 1 << 30
            self.gave_up = True
            return None
        t0 = time.perf_counter()
        try:
            conversion = convert(self.fn, args, kwargs, self.backend, self.analyzer, cfg)
            if cfg.passes:
                run_default_passes(conversion.graph)
            dropped = set(prune_inputs(conversion.graph))
            # a Python number computed on the host is computed on every call even when the
            # graph does not use it: computing it may raise, as it does in eager
            conversion.host_paths += [
                p for i, p in enumerate(conversion.input_paths) if i in dropped and p.root[0] == "expr"
            ]
            conversion.input_paths = [p for i, p in enumerate(conversion.input_paths) if i not in dropped]
            verify(conversion.graph)
            graph_text = format_graph(conversion.graph)
            guard, guard_src = compile_guards(self.fn, self.backend, conversion)
            executable = self.backend.compile(conversion.graph, cfg)
        except Unsupported as e:
            if self._split_at(e):
                return self._conversion_failed(f"split around a host island: {e}", None)
            return self._conversion_failed(f"unsupported: {e}", e)
        except JanusError as e:
            return self._conversion_failed(f"{type(e).__name__}: {e}", e)
        except RecursionError:
            return self._conversion_failed("conversion stopped: the function recurses too deeply to convert", None)
        except Exception as e:  # the function raised for these arguments during conversion
            where = _innermost(e.__traceback__)
            return self._conversion_failed(
                f"conversion stopped: {type(e).__name__}: {e} (raised at {where})"[:300], None
            )
        self.numbers += 1
        spec = Specialization(
            self.numbers, guard, guard_src, executable, conversion, graph_text, time.perf_counter() - t0
        )
        spec.draws_random = any(n.meta.get("random") for n in conversion.graph.walk())
        res = conversion.result
        if not conversion.effects and res[0] == "out" and res[2] is None:
            spec.fast_result = res[1]  # the result is one graph output: nothing to commit or rebuild
        self._publish(spec)
        if logs.GRAPHS:
            observe.graph_built(self, spec)
        plugins.hook.janus_on_graph_built(
            event=GraphBuiltEvent(self.name, self.backend.name, graph_text, spec.build_seconds)
        )
        return spec

    def _publish(self, spec: Specialization) -> None:
        """Add `spec` to the cache, evicting the least recently used past `max_graphs`."""
        cache = dict(self.cache)
        cache[spec.number] = spec
        self.uses += 1
        spec.last_used = self.uses
        while len(cache) > self.config.max_graphs:
            oldest = min(cache.values(), key=lambda s: s.last_used)
            del cache[oldest.number]
            self.stats.graphs_evicted += 1
        self.cache = cache
        self.mru = spec
        self.stats.graphs_built += 1

    def _conversion_failed(self, reason: str, error: Optional[JanusError]):
        self.stats.conversion_failures += 1
        self.failures.append(reason)
        if error is not None and self.config.fallback == "raise":
            raise JanusError(f"janus.jit({self.name}): {error}") from error
        # back off exponentially; after a few failures the function stays imperative
        n = self.stats.conversion_failures
        if n >= 4 and not self.cache:
            self.imperative_reason = reason
            self.gave_up = True
        self.backoff = (1 << n) - 1
        return None

    def _imperative(self, args, kwargs, reason: str, kind: str, profile: bool = True):
        stats = self.stats
        stats.imperative_calls += 1
        record = _CALL.__dict__.get("record") if self.split_owner is not None else None
        if record is not None:
            record.unsettled += 1
        stats.reason(reason)
        if kind not in ("profiling", "disabled", "busy"):
            if self.config.fallback == "raise" and kind == "unsupported":
                raise JanusError(f"janus.jit({self.name}) cannot run from a graph: {reason}")
            plugins.hook.janus_on_fallback(event=FallbackEvent(self.name, reason, kind))
            if logs.FALLBACKS:
                observe.fell_back(self, reason, kind)
        # the profile is written under the lock
        if profile and self.profiler is not None and not self.gave_up and self.lock.acquire(blocking=False):
            try:
                stats.profiled_calls += 1
                return self.profiler.call(self.fn, args, kwargs)
            finally:
                self.lock.release()
        if self.backend is not None:
            return self.backend.run_imperative(self.fn, args, kwargs)
        return self.fn(*args, **kwargs)

    # -- which backend --------------------------------------------------------------------
    def _check_backend(self, args, kwargs) -> Optional[str]:
        """Choose the backend on the first call; afterwards, the reason a call's tensors
        cannot run on it (or switch, when the first calls had no tensors at all)."""
        if self.backend is None:
            self._use_backend(claim_backend(args, kwargs) or claim_closure(self.fn))
            return None
        foreign = foreign_backend(args, kwargs, self.backend)
        if foreign is None:
            return None
        if self.backend_chosen_by == "default":
            self._use_backend(foreign)
            return None
        return (
            f"the arguments hold {foreign} tensors, but this function runs on backend "
            f"{self.backend_name} (chosen by {self.backend_chosen_by})"
        )

    def _use_backend(self, claimed: Optional[str]) -> None:
        if self.backend_chosen_by != "the caller":
            self.backend_name = claimed or "reference"
            self.backend_chosen_by = "the arguments" if claimed else "default"
        self.backend = plugins.get(self.backend_name or "reference")
        self.profile = Profile(lambda v: self.backend.spec_of(v) if self.backend.owns(v) else None)
        self.profiler = Profiler(self.profile, tuple(self.backend.framework_modules))
        self.analyzer = Analyzer(self.profile, self.config)
        # a segment's parameters an island binds take a new value each call: graph inputs
        self.analyzer.relaxed |= set(getattr(self.fn, "__janus_varying__", ()))
        self.cache, self.mru, self.pending_conversion = {}, None, False


def _innermost(tb) -> str:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"

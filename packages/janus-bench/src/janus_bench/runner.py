"""The benchmark runner.

For every model x framework it builds one fresh instance per mode (same seed) and runs

* ``eager``:  the step function as written;
* ``janus``:  ``janus.jit(step, backend=<framework>)``;
* ``native``: the framework's own graph mode, ``torch.compile`` (Inductor) or
  ``tf.function``;

all in this one process.  Each mode is warmed up first (see `Row.warmup_s`), then the
modes are timed in alternating order over `repeats` rounds; a round times a batch of
calls (each with a fresh batch, made before the clock starts) and the reported time
per call is the median over rounds.  Each framework's matmul peak is measured once, before
its first workload, and each row gets its achieved GFLOP/s and fraction of that peak (see
`roofline`).  Any failure (framework or JANUS backend missing,
build, compile, a call raising) is recorded in that row and the run goes on.
"""

from __future__ import annotations

import gc
import math
import re
import resource
import statistics
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable, Dict, List, Optional

from . import __version__, roofline
from . import frameworks as fwk
from .models import PLANNED, get_workload, workloads
from .paths import scrub
from .schema import Environment, JanusStats, Row, RunConfig, RunResult

ProgressFn = Callable[[str, float], None]
#: janus: calls after the first graph-served one before settling is checked (a graph turns
#: hot and starts its background compile after a few calls)
SETTLE_CALLS = 3

PROFILE_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "smoke": dict(
        repeats=2,
        target_repeat_s=0.02,
        max_calls_per_repeat=5,
        warmup_calls=1,
        max_warmup_calls=8,
        mode_budget_s=10.0,
        torch_compile_backend="eager",
        threads=1,
        compile_wait_s=0.0,
        peak_budget_s=0.1,
    ),
    "quick": dict(
        repeats=5,
        target_repeat_s=0.15,
        max_calls_per_repeat=100,
        warmup_calls=3,
        max_warmup_calls=30,
        mode_budget_s=20.0,
        threads=1,
        peak_budget_s=0.5,
    ),
    "paper": dict(
        repeats=10,
        target_repeat_s=1.0,
        max_calls_per_repeat=1000,
        warmup_calls=5,
        max_warmup_calls=50,
        mode_budget_s=300.0,
        peak_budget_s=2.0,
    ),
}


def make_config(profile: str = "quick", models: Optional[List[str]] = None, **overrides) -> RunConfig:
    """A RunConfig with the profile's defaults; None overrides are ignored."""
    d = {k: v for k, v in PROFILE_DEFAULTS[profile].items() if k in RunConfig.model_fields}
    d.update({k: v for k, v in overrides.items() if v is not None})
    return RunConfig(profile=profile, models=models or workloads(), **d)


def plan_steps(config: RunConfig) -> int:
    """Progress units of a run: per model x framework x mode, one for the warm-up and one per repeat."""
    return len(config.models) * len(config.frameworks) * len(config.modes) * (1 + config.repeats)


# --------------------------------------------------------------------------- helpers
def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _rss_mb() -> Optional[float]:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return None


def _err(e: BaseException) -> str:
    text = str(e)
    if text.lstrip().startswith("in user code:"):
        # tf.function's traceback-in-a-message: the error is its last line, the place its first frame
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        where = re.search(r'File "([^"]+)", line (\d+), in (\w+)', text)
        place = f" (in {where.group(3)}, {where.group(1).rsplit('/', 1)[-1]}:{where.group(2)})" if where else ""
        last = lines[-1] if lines else text
        text = last.removeprefix(f"{type(e).__name__}: ") + place
    return f"{type(e).__name__}: {text}"[:500]


def _tb() -> str:
    return traceback.format_exc()[-4000:]


def _janus_stats(
    jitted, timed_before: Optional[tuple], first_graph_call: Optional[int], timed_wall_s: float = 0.0
) -> JanusStats:
    s = jitted.stats
    g = lambda name: int(getattr(s, name, 0) or 0)
    reasons = dict(getattr(s, "fallback_reasons", {}) or {})
    real = {k: v for k, v in reasons.items() if k != "profiling"}
    top = max(real.items(), key=lambda kv: kv[1])[0] if real else ("profiling" if reasons else None)
    timed = share = None
    if timed_before is not None:
        calls, graph_calls = g("calls") - timed_before[0], g("graph_calls") - timed_before[1]
        timed = graph_calls / calls if calls else None
        seconds = float(getattr(s, "graph_seconds", 0.0) or 0.0) - timed_before[2]
        share = min(1.0, seconds / timed_wall_s) if timed_wall_s > 0 else None
    try:
        import janus

        text = janus.explain(jitted)
    except Exception as e:
        text = f"janus.explain failed: {_err(e)}"
    return JanusStats(
        calls=g("calls"),
        graph_calls=g("graph_calls"),
        imperative_calls=g("imperative_calls"),
        graphs_built=g("graphs_built"),
        assumption_failures=g("assumption_failures"),
        conversion_failures=g("conversion_failures"),
        graph_fraction=(g("graph_calls") / g("calls")) if g("calls") else None,
        timed_graph_fraction=timed,
        graph_time_share=share,
        first_graph_call=first_graph_call,
        top_fallback_reason=top,
        fallback_reasons=reasons,
        explain=text[:6000],
        segments=len(re.findall(r"^    segment #\d+: calls=", text, re.M)),
        split_decision=next(
            (line.strip() for line in text.splitlines() if line.strip().startswith(("runs split", "runs whole"))), None
        ),
    )


def _native_counter(fw: str, fn) -> Optional[int]:
    """torch: graphs Dynamo compiled so far (process-wide); tf: traces of this function."""
    try:
        if fw == "tf":
            return int(fn.experimental_get_tracing_count())
        if fw == "torch":
            from torch._dynamo.utils import counters

            return int(counters["stats"]["unique_graphs"])
    except Exception:
        return None
    return None


@dataclass
class _Live:
    """A mode under measurement."""

    row: Row
    fn: Callable
    make_batch: Callable[[], tuple]
    jitted: Any = None
    timed_before: Optional[tuple] = None
    first_graph_call: Optional[int] = None
    native_before: Optional[int] = None
    spent_s: float = 0.0  # wall time of this mode's calls so far (budget)
    timed_wall_s: float = 0.0  # wall time of the timed batches (JANUS: the share spent in graphs)
    times_ms: List[float] = field(default_factory=list)


# --------------------------------------------------------------------------- the run
class Runner:
    def __init__(self, config: RunConfig, progress: Optional[ProgressFn] = None):
        self.config = config
        self.progress = progress or (lambda desc, adv: None)
        self.mode_budget_s = config.mode_budget_s
        self.peaks: Dict[str, Optional[float]] = {}  # framework -> matmul GFLOP/s, once per run
        self.flops: Dict[str, roofline.StepFlops] = {}  # model -> FLOPs of a step, shared by torch and tf

    def run(self) -> RunResult:
        cfg = self.config
        t0 = time.perf_counter()
        if cfg.threads:
            fwk.set_threads(cfg.threads, cfg.frameworks)
        result = RunResult(
            tool_version=__version__,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            config=cfg,
            environment=Environment(**fwk.environment(cfg.device, cfg.frameworks)),
        )
        known = set(workloads())
        for name in cfg.models:
            if name not in known:
                why = "planned, not implemented yet" if name in PLANNED else "unknown workload"
                result.skipped[name] = why
                self.progress(f"{name}: {why}", len(cfg.frameworks) * len(cfg.modes) * (1 + cfg.repeats))
                continue
            for fw in cfg.frameworks:
                result.rows.extend(self.run_one(name, fw))
        result.environment.load_avg_end = fwk._loadavg()
        result.environment.matmul_peak_gflops = {fw: round(p, 2) for fw, p in self.peaks.items() if p}
        result.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
        result.duration_s = round(time.perf_counter() - t0, 3)
        return scrub(result)  # reports are shared: no absolute paths of this machine

    # one model x framework, all modes
    def run_one(self, model: str, fw: str) -> List[Row]:
        cfg = self.config
        workload = get_workload(model)
        per_mode = 1 + cfg.repeats
        rows = [Row(model=model, framework=fw, mode=m, profile=cfg.profile) for m in cfg.modes]
        problem = None
        if fw not in workload.implementations:
            problem = ("registry", f"{model} has no {fw} implementation")
        elif not fwk.framework_available(fw):
            problem = ("import", f"{fwk.FRAMEWORK_MODULE[fw]} is not installed")
        else:
            try:
                fwk.import_framework(fw)
                why = fwk.device_problem(fw, cfg.device)
                if why:
                    problem = ("device", why)
            except Exception as e:
                problem = ("import", _err(e))
        if problem is not None:
            for r in rows:
                r.error_phase, r.error = problem
            self.progress(f"{model}/{fw}: {problem[1]}", len(rows) * per_mode)
            return rows
        self._peak(fw)

        impl = workload.impl(fw)
        spc = impl.samples_per_call(cfg.profile)
        live: List[_Live] = []
        for row in rows:
            row.samples_per_call = spc
            self.progress(f"{model}/{fw}/{row.mode}: warm-up", 0)
            state = self._prepare(impl, fw, row)
            if state is not None:
                live.append(state)
            self.progress(f"{model}/{fw}/{row.mode}: warm-up done", 1)

        calls = self._calls_per_repeat(live)
        for r in range(cfg.repeats):
            order = live[r % len(live) :] + live[: r % len(live)] if live else []
            if r % 2 == 1:
                order.reverse()
            for st in order:
                if st.row.error is None and (st.spent_s < self.mode_budget_s or not st.times_ms):
                    self.progress(f"{model}/{fw}/{st.row.mode}: repeat {r + 1}/{cfg.repeats}", 0)
                    self._time_batch(st, fw, calls.get(id(st), 1))
                elif st.row.error is None and "time budget" not in " ".join(st.row.notes):
                    st.row.notes.append(f"{len(st.times_ms)} repeats only (time budget {self.mode_budget_s:.0f}s)")
                self.progress(f"{model}/{fw}/{st.row.mode}", 1)
        skipped_units = (len(rows) - len(live)) * cfg.repeats
        if skipped_units:
            self.progress(f"{model}/{fw}", skipped_units)

        for st in live:
            self._finish(st, fw)
        self._compare(rows)
        self._roofline(workload, fw, rows, live)
        del live
        gc.collect()
        fwk.reset_native_caches(fw)
        return rows

    def _peak(self, fw: str) -> Optional[float]:
        """The framework's matmul peak, measured once per run, before its first workload."""
        if fw not in self.peaks and self.config.peak_budget_s:
            self.progress(f"{fw}: measuring the matmul peak", 0)
            self.peaks[fw] = roofline.measure_peak(fw, self.config.device, self.config.peak_budget_s)
        return self.peaks.get(fw)

    def _roofline(self, workload, fw: str, rows: List[Row], live: List[_Live]) -> None:
        """Achieved GFLOP/s and fraction of this run's matmul peak, per timed row."""
        cfg = self.config
        timed = [r for r in rows if r.ms_per_call]
        if not cfg.peak_budget_s or not timed:
            return
        # torch: count on the eager instance, done with its timing (no second build)
        eager = next((st for st in live if st.row.mode == "eager" and st.row.error is None), None)
        step = (eager.fn, eager.make_batch) if eager is not None and fw == "torch" else None
        self.progress(f"{workload.name}/{fw}: counting FLOPs", 0)
        known = self.flops.get(workload.name)
        count = roofline.step_flops(workload, fw, cfg.profile, cfg.seed, cfg.device, step, known)
        self.flops.setdefault(workload.name, count)
        for r in timed:
            r.flops_per_call = count.flops
            r.flops_source = count.source if count.flops else None
            r.gflops, r.peak_fraction = roofline.achieved(count.flops, r.ms_per_call, self.peaks.get(fw))
        if count.flops is None and count.note:
            timed[0].notes.append(count.note)

    def _prepare(self, impl, fw: str, row: Row) -> Optional[_Live]:
        cfg = self.config
        mode = row.mode
        if mode == "janus":
            why = fwk.janus_backend_problem(fw)
            if why:
                row.error_phase, row.error = "janus-backend", why
                return None
        rss0, peak0 = _rss_mb(), _maxrss_mb()
        try:
            step_fn, make_batch = impl.build(cfg.profile, cfg.seed, cfg.device)
        except Exception as e:
            row.error_phase, row.error, row.error_traceback = "build", _err(e), _tb()
            return None
        st = _Live(row, step_fn, make_batch)
        try:
            if mode == "eager":
                row.implementation = "eager"
            elif mode == "janus":
                import janus

                st.jitted = st.fn = janus.jit(step_fn, backend=fw)
                row.implementation = f"janus.jit(backend={fw!r})"
            elif mode == "native":
                st.fn = fwk.native_compile(fw, step_fn, cfg.torch_compile_backend)
                row.implementation = fwk.native_name(fw, cfg.torch_compile_backend)
                st.native_before = 0 if fw == "tf" else _native_counter(fw, st.fn)
        except Exception as e:
            row.error_phase, row.error, row.error_traceback = "wrap", _err(e), _tb()
            return None
        try:
            self._warm_up(st, fw)
        except Exception as e:
            row.error_phase, row.error, row.error_traceback = "warm-up", _err(e), _tb()
            return None
        finally:
            peak1, rss1 = _maxrss_mb(), _rss_mb()
            row.peak_mem_mb = round(max(0.0, peak1 - peak0), 2)
            if rss0 is not None and rss1 is not None:
                row.rss_delta_mb = round(rss1 - rss0, 2)
        return st

    def _call(self, st: _Live, fw: str) -> float:
        batch = st.make_batch()
        t = time.perf_counter()
        out = st.fn(*batch)
        fwk.sync(fw, self.config.device, out)
        dt = time.perf_counter() - t
        st.spent_s += dt  # warm-up and calibration count against the mode's time budget
        return dt

    def _warm_up(self, st: _Live, fw: str) -> None:
        cfg, row = self.config, st.row
        first = self._call(st, fw)
        row.first_call_s = first
        n, total = 1, first
        if row.mode == "janus":
            # `stats` may be a snapshot: read it again after every call
            while st.jitted.stats.graph_calls == 0 and n < cfg.max_warmup_calls and total < self.mode_budget_s:
                total += self._call(st, fw)
                n += 1
            if st.jitted.stats.graph_calls > 0:
                row.warmup_s, st.first_graph_call = total, n
                n = self._settle(st, fw, n)
            else:
                row.notes.append(f"no graph-served call in the first {n} calls")
        else:
            row.warmup_s = first
        for _ in range(cfg.warmup_calls):
            if st.spent_s >= self.mode_budget_s:  # e.g. torch.compile recompiling for every new tree
                row.notes.append(f"warm-up cut short (time budget {self.mode_budget_s:.0f}s)")
                break
            self._call(st, fw)
            n += 1
        row.warmup_calls = n

    def _settle(self, st: _Live, fw: str, n: int) -> int:
        """Calls until JANUS has settled (a hot graph's background compile finished, a split
        function chose split or whole on real calls): the timed calls measure the steady
        state, and the notes say what it took."""
        jitted, cfg, waited, extra = st.jitted, self.config, 0.0, 0
        settled = getattr(jitted, "settled", lambda: jitted.wait_compiled(0))
        while (
            (extra < SETTLE_CALLS or not settled())
            and extra < 4 * cfg.max_warmup_calls
            and st.spent_s < self.mode_budget_s
        ):
            t0 = time.perf_counter()
            jitted.wait_compiled(cfg.compile_wait_s)  # a compile under way; else returns at once
            waited += time.perf_counter() - t0
            if extra < SETTLE_CALLS or not settled():
                self._call(st, fw)
                extra += 1
        if not settled():
            st.row.notes.append(f"still settling after {extra} calls ({waited:.1f}s)")
        elif waited > 0.5:
            st.row.notes.append(f"settled after {extra} more calls and {waited:.1f}s (background compile)")
        return n + extra

    def _calls_per_repeat(self, live: List[_Live]) -> Dict[int, int]:
        """Calls per timed batch, per mode, from one calibration call each."""
        cfg = self.config
        out: Dict[int, int] = {}
        for st in live:
            try:
                est = self._call(st, st.row.framework)
            except Exception as e:
                st.row.error_phase, st.row.error, st.row.error_traceback = "timing", _err(e), _tb()
                continue
            out[id(st)] = max(1, min(cfg.max_calls_per_repeat, math.ceil(cfg.target_repeat_s / max(est, 1e-6))))
            st.row.calls_per_repeat = out[id(st)]
        return out

    def _time_batch(self, st: _Live, fw: str, calls: int) -> None:
        if st.jitted is not None and st.timed_before is None:
            s = st.jitted.stats
            st.timed_before = (s.calls, s.graph_calls, s.graph_seconds)
        batches = [st.make_batch() for _ in range(calls)]
        fn, device = st.fn, self.config.device
        out = None
        try:
            t = time.perf_counter()
            for b in batches:
                out = fn(*b)
            fwk.sync(fw, device, out)
            dt = time.perf_counter() - t
        except Exception as e:
            st.row.error_phase, st.row.error, st.row.error_traceback = "timing", _err(e), _tb()
            return
        st.spent_s += dt
        st.timed_wall_s += dt
        st.times_ms.append(dt / calls * 1e3)

    def _finish(self, st: _Live, fw: str) -> None:
        row = st.row
        row.ms_per_call_repeats = [round(t, 6) for t in st.times_ms]
        if st.times_ms and row.error is None:
            row.ms_per_call = statistics.median(st.times_ms)
            row.samples_per_s = row.samples_per_call / (row.ms_per_call / 1e3) if row.ms_per_call > 0 else None
        if st.jitted is not None:
            row.janus = _janus_stats(st.jitted, st.timed_before, st.first_graph_call, st.timed_wall_s)
        if row.mode == "native":
            count = _native_counter(fw, st.fn)
            if count is not None:
                if fw == "tf":
                    row.notes.append(f"{count} traces")
                elif st.native_before is not None:
                    n = count - st.native_before
                    row.notes.append(f"{n} dynamo graphs" + (" (frame skipped, ran eagerly)" if n == 0 else ""))
            if fw == "torch" and self.config.torch_compile_backend != "inductor":
                row.notes.append(f"torch.compile backend={self.config.torch_compile_backend!r}")

    @staticmethod
    def _compare(rows: List[Row]) -> None:
        by_mode = {r.mode: r.ms_per_call for r in rows if r.ms_per_call}
        for r in rows:
            if not r.ms_per_call:
                continue
            if by_mode.get("eager"):
                r.speedup_vs_eager = by_mode["eager"] / r.ms_per_call
            if by_mode.get("native"):
                r.ratio_vs_native = by_mode["native"] / r.ms_per_call


def run(config: RunConfig, progress: Optional[ProgressFn] = None) -> RunResult:
    return Runner(config, progress).run()

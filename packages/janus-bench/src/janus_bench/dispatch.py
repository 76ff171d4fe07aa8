"""`janus-bench --dispatch`: the per-call dispatch overhead of `janus.jit` (issue 15).

What a graph-served call costs beyond the graph's own run, per framework, for

* the trivial function ``add_one(x): return x + 1`` on a 4-element tensor (and
  ``return x + 1, x * 2``, whose tuple result the commit rebuilds on each call), and
* steps reading the parameters of MLPs of growing depth (2, 20, 200 layers of width 8:
  2 parameter tensors a layer) and one wide MLP (2 layers of width 512: the tensors of
  the 2-layer MLP, 4096 times the parameters).  torch: an ``nn.Sequential`` of
  ``Linear``/``ReLU``; tf: a ``tf.Module`` holding lists of ``tf.Variable``.

Every measured part runs warm, in batches of calls timed with `time.perf_counter_ns`
(the cost of the empty loop taken off), the parts interleaved round by round; a part's
time is the median (and p90) over the rounds of the mean per call in a batch:

* ``eager``: the function called as written;
* ``janus``: the jitted function (every timed call must be served from its graph);
* ``op``: the compiled graph's own run, called directly (torch: the fx forward or the
  Inductor callable; tf: ``TFE_Py_Execute`` of the traced function) -- the framework's time;
* ``guard``: the specialization's generated guard function on the call's arguments;
* ``launch``: ``executable.run(inputs)`` minus ``op`` (JANUS's wrapper around the graph);
* ``commit``: applying the deferred effects and rebuilding the result (zero when the
  result is one graph output: the runtime returns it as is);
* ``runtime``: the rest of JANUS's call path (``JitFunction.__call__``, ``_State.call``,
  ``_run_graph``/``_execute`` bookkeeping): a copy of the jitted function whose graph is
  replaced by a stub returning stored outputs, minus its guard, stub and commit;
* ``other``: what those parts leave of the overhead (signed): the graph and JANUS's code
  evicting each other's caches when they run together, and noise.

``overhead = janus - op = guard + launch + commit + runtime + other`` is the dispatch
overhead the issue bounds (torch <= 5 us, tf <= 10 us median, for the trivial function);
the guard's time should not grow with the parameter count.  torch graphs run on fx
(``compile_mode="fx"``): the Inductor tier would change the op, not the dispatch.
"""

from __future__ import annotations

import copy
import datetime
import gc
import json
import statistics
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import janus

from . import frameworks as fwk

#: the parts of the overhead, in the order of the call path
PARTS = ("guard", "launch", "commit", "runtime")
#: the reported parts: PARTS and what they leave of the overhead (signed)
COLUMNS = PARTS + ("other",)
#: the issue's bounds on the median overhead of the trivial function, in microseconds
TARGET_US = {"torch": 5.0, "tf": 10.0}
JSON_NAME = "dispatch.json"
MD_NAME = "dispatch.md"
TRIVIAL = "x + 1"
PAIR = "x + 1, x * 2"  # a tuple result: rebuilt from the graph's outputs on every call (commit)


@dataclass
class Settings:
    frameworks: Sequence[str] = ("torch", "tf")
    depths: Sequence[int] = (2, 20, 200)  # MLP layers (width `width`)
    width: int = 8
    wide: int = 512  # width of the wide 2-layer MLP; 0: none
    calls: int = 20000  # timed calls per part and case (fewer when a call is slow, see `budget_s`)
    rounds: int = 50
    budget_s: float = 2.0  # at most about this long per part and case

    @classmethod
    def for_profile(cls, profile: str, frameworks: Sequence[str]) -> Settings:
        if profile == "smoke":
            return cls(frameworks=tuple(frameworks), depths=(2, 20), calls=2000, rounds=20, budget_s=0.25)
        return cls(frameworks=tuple(frameworks))


@dataclass
class Stat:
    median_us: float
    p90_us: float


@dataclass
class Case:
    framework: str
    name: str  # "x + 1", "mlp 20x8"
    layers: int = 0
    tensors: int = 0  # parameter tensors the step reads (graph inputs besides x)
    parameters: int = 0  # their elements
    calls: int = 0  # timed calls of the jitted function
    executable: str = ""
    eager: Optional[Stat] = None
    janus: Optional[Stat] = None
    op: Optional[Stat] = None
    overhead: Optional[Stat] = None  # janus - op
    parts: Dict[str, Stat] = field(default_factory=dict)
    error: Optional[str] = None

    @property
    def parts_sum_us(self) -> float:
        """The measured parts' medians added up (`other` left out)."""
        return sum(self.parts[p].median_us for p in PARTS if p in self.parts)


@dataclass
class DispatchResult:
    settings: Dict[str, Any]
    cases: List[Case]
    environment: Dict[str, Any] = field(default_factory=dict)
    created: str = ""

    def case(self, framework: str, name: str) -> Case:
        return next(c for c in self.cases if c.framework == framework and c.name == name)


# -- timing ---------------------------------------------------------------------------------------
def _loop_ns(n: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        pass
    return time.perf_counter_ns() - t0


def _batch_ns(fn: Callable, args: tuple, n: int, empty: float) -> float:
    """Mean ns per call of `fn(*args)` over `n` calls, the empty loop's cost taken off."""
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn(*args)
    return max(0.0, (time.perf_counter_ns() - t0 - empty) / n)


def _stat(ns: Sequence[float]) -> Stat:
    ordered = sorted(ns)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return Stat(round(statistics.median(ordered) / 1000, 3), round(p90 / 1000, 3))


def time_parts(
    parts: Dict[str, Tuple[Callable, tuple]], settings: Settings
) -> Tuple[Dict[str, List[float]], Dict[str, int]]:
    """Per part, the mean ns per call of each round's batch; and the calls timed per part.

    The parts run interleaved (each round times one batch of every part, in a rotating
    order), so a slow phase of the machine hits all of them alike.  A part's batch is
    `calls / rounds` calls, fewer where that would take more than `budget_s` in all."""
    batches: Dict[str, int] = {}
    for name, (fn, args) in parts.items():  # warm up, and estimate a call's time
        for _ in range(3):
            fn(*args)
        by_budget = int(settings.budget_s * 1e9 / settings.rounds / max(_batch_ns(fn, args, 3, 0.0), 1.0))
        batches[name] = max(1, min(settings.calls // settings.rounds, by_budget))
    names = list(parts)
    series: Dict[str, List[float]] = {name: [] for name in names}
    enabled = gc.isenabled()
    gc.disable()  # as timeit: a collection in one batch would be charged to one part
    try:
        for r in range(settings.rounds):
            for k in range(len(names)):
                name = names[(r + k) % len(names)]
                fn, args = parts[name]
                n = batches[name]
                series[name].append(_batch_ns(fn, args, n, _loop_ns(n)))
    finally:
        if enabled:
            gc.enable()
    return series, {name: n * settings.rounds for name, n in batches.items()}


def breakdown(series: Dict[str, List[float]]) -> Tuple[Stat, Dict[str, Stat]]:
    """The overhead (`janus - op`) and its parts, from the per-round series of the measured
    calls: `janus`, `op`, `guard`, `run`, `stubbed` (the jitted call with a stub executable)
    and `stub` (the stub's own run), and `commit` when there is one.

    Each part is the median (p90) over the rounds of a per-round difference of calls timed
    in that round, floored at zero; `other` is what the parts' medians leave of the
    overhead's (cache and branch-predictor effects of the parts running together, and
    noise), signed, with the p90 of the per-round remainders."""
    rounds = range(len(series["janus"]))
    commit = series.get("commit", [0.0 for _ in rounds])
    derived = {
        "overhead": [series["janus"][i] - series["op"][i] for i in rounds],
        "launch": [series["run"][i] - series["op"][i] for i in rounds],
        "runtime": [series["stubbed"][i] - series["guard"][i] - series["stub"][i] - commit[i] for i in rounds],
    }
    parts = {
        "guard": _stat(series["guard"]),
        "launch": _stat([max(0.0, v) for v in derived["launch"]]),
        "commit": _stat(commit),
        "runtime": _stat([max(0.0, v) for v in derived["runtime"]]),
    }
    overhead = _stat([max(0.0, v) for v in derived["overhead"]])
    rest = [
        derived["overhead"][i] - series["guard"][i] - derived["launch"][i] - commit[i] - derived["runtime"][i]
        for i in rounds
    ]
    left = overhead.median_us - sum(parts[p].median_us for p in PARTS)
    parts["other"] = Stat(round(left, 3), _stat(rest).p90_us)
    return overhead, parts


class _Stub:
    """An executable that returns the outputs of one earlier run: the jitted call with it
    in place is JANUS's own path (guard, runtime, commit) without the graph."""

    def __init__(self, outs: Any):
        self.outs = outs

    def run(self, inputs: Any) -> Any:
        return self.outs


def stubbed(jitted: Any, spec: Any, outs: Any) -> Tuple[Any, _Stub]:
    """A copy of `jitted` whose specialization runs a `_Stub` (the original is unchanged:
    the copy has its own state, counters and specialization, and shares the rest)."""
    stub = _Stub(outs)
    state = copy.copy(jitted._state)
    state.stats = type(state.stats)()
    twin = copy.copy(spec)
    twin.executable = stub
    state.cache, state.mru = {twin.number: twin}, twin
    clone = copy.copy(jitted)
    clone._state = state
    return clone, stub


# -- one case -------------------------------------------------------------------------------------
def measure(
    framework: str, name: str, fn: Callable, args: tuple, settings: Settings, config: Any = None, **info: Any
) -> Case:
    """Jit `fn`, bring it to a graph-served call, and time it and its parts."""
    case = Case(framework, name, **info)
    jitted = janus.jit(fn, config=config) if config is not None else janus.jit(fn)
    for _ in range(8):
        jitted(*args)
        if jitted.stats.graph_calls:
            break
    jitted(*args)
    state = jitted._state
    spec = state.mru
    if spec is None or not jitted.stats.graph_calls:
        case.error = f"no graph served the call: {dict(jitted.stats.fallback_reasons)}"
        return case
    got = spec.guard(*args)
    if got is None or not isinstance(got, tuple):
        case.error = "the guard rejected the call it was built for"
        return case
    inputs, hosts = got
    executable = spec.executable
    case.executable = executable.describe()
    if spec.conversion.effects:
        case.error = "the function has effects: calling it over and over would change the state"
        return case
    timing_call = getattr(executable, "timing_call", None)
    outs = executable.run(inputs)
    twin, stub = stubbed(jitted, spec, outs)
    parts: Dict[str, Tuple[Callable, tuple]] = {
        "eager": (fn, args),
        "janus": (jitted, args),
        "op": timing_call(inputs) if timing_call is not None else (executable.run, (inputs,)),
        "guard": (spec.guard, args),
        "run": (executable.run, (inputs,)),
        "stubbed": (twin, args),
        "stub": (stub.run, (inputs,)),
    }
    if spec.fast_result is None:
        parts["commit"] = (state._commit, (spec.conversion, outs, hosts))
    before = jitted.stats
    series, calls = time_parts(parts, settings)
    case.calls = calls["janus"]
    after = jitted.stats
    if after.imperative_calls != before.imperative_calls or state.mru is not spec or twin.stats.imperative_calls:
        case.error = f"timed calls ran imperatively: {dict(after.fallback_reasons)}"
    case.eager, case.janus, case.op = _stat(series["eager"]), _stat(series["janus"]), _stat(series["op"])
    case.overhead, case.parts = breakdown(series)
    return case


def add_one(x):
    return x + 1


def add_one_and_double(x):
    return x + 1, x * 2


def _torch_cases(settings: Settings) -> Iterator[Tuple[str, Callable, tuple, Any, Dict[str, Any]]]:
    import torch

    config = janus.Config(compile_mode="fx")
    yield TRIVIAL, add_one, (torch.ones(4),), config, {}
    yield PAIR, add_one_and_double, (torch.ones(4),), config, {}
    shapes = [(d, settings.width) for d in settings.depths] + ([(2, settings.wide)] if settings.wide else [])
    for layers, width in shapes:
        torch.manual_seed(0)
        mods: List[Any] = []
        for _ in range(layers):
            mods += [torch.nn.Linear(width, width), torch.nn.ReLU()]
        model = torch.nn.Sequential(*mods)
        params = list(model.parameters())
        info = dict(layers=layers, tensors=len(params), parameters=sum(p.numel() for p in params))
        yield f"mlp {layers}x{width}", _closed(model), (torch.ones(1, width),), config, info


def _closed(model: Any) -> Callable:
    """A step reading `model` from a closure cell (as a step usually reads its model)."""

    def closed(x):
        return model(x)

    return closed


def _tf_cases(settings: Settings) -> Iterator[Tuple[str, Callable, tuple, Any, Dict[str, Any]]]:
    import tensorflow as tf

    yield TRIVIAL, add_one, (tf.ones((4,)),), None, {}
    yield PAIR, add_one_and_double, (tf.ones((4,)),), None, {}
    shapes = [(d, settings.width) for d in settings.depths] + ([(2, settings.wide)] if settings.wide else [])
    for layers, width in shapes:
        model = _tf_mlp(tf, layers, width)
        variables = list(model.ws) + list(model.bs)
        info = dict(
            layers=layers, tensors=len(variables), parameters=sum(int(v.shape.num_elements()) for v in variables)
        )
        yield f"mlp {layers}x{width}", _closed(model), (tf.ones((1, width)),), None, info


class _TFMLP:
    """Built on first use (TensorFlow is imported only when its cases run)."""

    cls: Any = None


def _tf_mlp(tf: Any, layers: int, width: int) -> Any:
    if _TFMLP.cls is None:

        class MLP(tf.Module):
            def __init__(self, layers, width):
                super().__init__()
                init = tf.random.stateless_normal((width, width), seed=(0, 1)) / width**0.5
                self.ws = [tf.Variable(init) for _ in range(layers)]
                self.bs = [tf.Variable(tf.zeros((width,))) for _ in range(layers)]

            def __call__(self, x):
                for w, b in zip(self.ws, self.bs):
                    x = tf.nn.relu(tf.matmul(x, w) + b)
                return x

        _TFMLP.cls = MLP
    return _TFMLP.cls(layers, width)


_CASES = {"torch": _torch_cases, "tf": _tf_cases}


def run(settings: Settings, log: Callable[[str], None] = lambda message: None) -> DispatchResult:
    cases: List[Case] = []
    for framework in settings.frameworks:
        problem = None if fwk.framework_available(framework) else f"{framework} is not installed"
        problem = problem or fwk.janus_backend_problem(framework)
        if problem is not None:
            cases.append(Case(framework, TRIVIAL, error=problem))
            continue
        try:
            for name, fn, args, config, info in _CASES[framework](settings):
                log(f"dispatch: {framework} {name}")
                try:
                    cases.append(measure(framework, name, fn, args, settings, config, **info))
                except Exception as e:
                    cases.append(Case(framework, name, error=_error(e), **info))
        except Exception as e:  # building the cases failed
            cases.append(Case(framework, TRIVIAL, error=_error(e)))
    env = fwk.environment("cpu", settings.frameworks)
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}  # as in JSON
    return DispatchResult(plain, cases, env, created)


def measure_case(framework: str, name: str, settings: Settings) -> Case:
    """One case of `run` measured again (a fresh jitted function and model)."""
    for case_name, fn, args, config, info in _CASES[framework](settings):
        if case_name == name:
            return measure(framework, name, fn, args, settings, config, **info)
    raise KeyError(f"no dispatch case {name!r} for {framework}")


def _error(e: BaseException) -> str:
    last = traceback.extract_tb(e.__traceback__)[-1:] if e.__traceback__ else []
    where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"{type(e).__name__}: {e}{where}"[:300]


# -- reports --------------------------------------------------------------------------------------
def _us(s: Optional[Stat], p90: bool = False) -> str:
    if s is None:
        return "-"
    return f"{s.median_us:.2f} / {s.p90_us:.2f}" if p90 else f"{s.median_us:.2f}"


def markdown(result: DispatchResult) -> str:
    lines = [
        "# JANUS dispatch overhead per call",
        "",
        "Microseconds per call, median (`/ p90`) over rounds of warm batches.  op: the compiled graph's "
        "own run; overhead = janus - op = guard + launch + commit + runtime + other (see janus_bench/dispatch.py).",
    ]
    head = (
        "| case | tensors | eager | janus | op | overhead | guard | launch | commit | runtime | other | "
        "guard/tensor | janus - eager | executable |"
    )
    for framework in result.settings["frameworks"]:
        cases = [c for c in result.cases if c.framework == framework]
        lines += ["", f"## {framework}", "", head, "|" + "---|" * 14]
        for c in cases:
            if c.error is not None and c.janus is None:
                lines.append(f"| {c.name} | {c.tensors} | error: {c.error} |" + " |" * 11)
                continue
            guard = c.parts["guard"]
            per_tensor = f"{guard.median_us / c.tensors * 1000:.0f} ns" if c.tensors else "-"
            vs_eager = c.janus.median_us - c.eager.median_us if c.janus and c.eager else None
            parts = " | ".join(_us(c.parts.get(p)) for p in COLUMNS)
            lines.append(
                f"| {c.name} | {c.tensors} | {_us(c.eager)} | {_us(c.janus, True)} | {_us(c.op)} | "
                f"{_us(c.overhead, True)} | {parts} | {per_tensor} | "
                f"{'-' if vs_eager is None else f'{vs_eager:+.2f}'} | {c.executable} |"
                + (f" error: {c.error}" if c.error else "")
            )
        lines += ["", _verdict(framework, cases)]
    return "\n".join(lines) + "\n"


def _verdict(framework: str, cases: List[Case]) -> str:
    trivial = next((c for c in cases if c.name == TRIVIAL and c.overhead is not None), None)
    notes = []
    target = TARGET_US.get(framework)
    if trivial is not None and trivial.overhead is not None and target is not None:
        ok = "met" if trivial.overhead.median_us <= target else "NOT met"
        notes.append(f"target: overhead <= {target:g} us for `{TRIVIAL}`: {ok} ({trivial.overhead.median_us:.2f} us)")
    models = [c for c in cases if c.tensors and "guard" in c.parts]
    if len(models) >= 2:
        small = min(models, key=lambda c: (c.tensors, c.parameters))
        big = max(models, key=lambda c: c.tensors)
        wide = max(models, key=lambda c: c.parameters)
        notes.append(
            f"guard: {small.name} {small.parts['guard'].median_us:.2f} us, {big.name} "
            f"{big.parts['guard'].median_us:.2f} us ({big.tensors} tensors), {wide.name} "
            f"{wide.parts['guard'].median_us:.2f} us ({wide.parameters} parameters)"
        )
    return "; ".join(notes) + "." if notes else ""


def write(result: DispatchResult, out: Path) -> Dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / JSON_NAME, "md": out / MD_NAME}
    paths["json"].write_text(json.dumps(asdict(result), indent=2) + "\n")
    paths["md"].write_text(markdown(result))
    return paths


def load(path: Path) -> DispatchResult:
    data = json.loads(Path(path).read_text())
    cases = []
    for c in data["cases"]:
        stats = {k: Stat(**c[k]) if c.get(k) else None for k in ("eager", "janus", "op", "overhead")}
        parts = {k: Stat(**v) for k, v in c.get("parts", {}).items()}
        rest = {k: v for k, v in c.items() if k not in stats and k != "parts"}
        cases.append(Case(**rest, **stats, parts=parts))
    return DispatchResult(data["settings"], cases, data.get("environment", {}), data.get("created", ""))


def main_from_args(args: Any, out: Any, err: Any) -> int:
    """`janus-bench --dispatch` (cli.py)."""
    threads = args.threads if args.threads is not None else (0 if args.profile == "paper" else 1)
    if threads:
        fwk.set_threads(threads, args.frameworks)
    settings = Settings.for_profile(args.profile, args.frameworks)
    if args.repeats is not None:
        settings.rounds = args.repeats
    result = run(settings, log=lambda m: err.print(m, markup=False, highlight=False))
    paths = write(result, args.out)
    out.print(markdown(result), markup=False, highlight=False, soft_wrap=True)
    err.print("wrote " + ", ".join(str(p) for p in paths.values()), markup=False, highlight=False)
    if args.strict and any(c.error for c in result.cases):
        return 1
    return 0

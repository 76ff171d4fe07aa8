"""`janus-bench --distributed N`: training steps under data parallelism.

For each workload (default: lstm_train and resnet50) and framework, the workload's own
training step runs in three modes, with 1 and with N workers:

* torch: the model inside the step is wrapped in `DistributedDataParallel` (gloo over
  loopback, one process per rank, one intra-op thread each); eager = the step as
  written, janus = `janus.jit(step)`, native = `torch.compile(step)`;
* tf: the model and optimizer are built under `MirroredStrategy` over N logical CPU
  devices (one process; variables mean-aggregated); eager = `strategy.run(step)`,
  janus = `strategy.run(janus.jit(step))`, native = `tf.function` around `strategy.run`.

Every rank (replica) trains on its own batches of the workload's size, so N workers do
N times the work of one: *scaling* is N * t(1) / t(N) (N = perfect).  Times are the
median over rounds of the slowest rank's mean step time.  The JANUS column `graph` is
the share of timed steps served from a graph (a split step counts when a segment did).
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any, Callable, Dict, List, Sequence, Tuple

import janus

from .models import get_workload

DEFAULT_MODELS = ("lstm_train", "resnet50")
MODES = ("eager", "janus", "native")
SEED = 0


def _spec(models, frameworks, modes, profile, steps, rounds, warmup) -> Dict[str, Any]:
    return dict(
        models=list(models),
        frameworks=list(frameworks),
        modes=list(modes),
        profile=profile,
        steps=steps,
        rounds=rounds,
        warmup=warmup,
    )


# -- timing, shared ------------------------------------------------------------------------
def _time_round(step: Callable, batches: Sequence, barrier: Callable, slowest: Callable) -> float:
    """The slowest worker's mean seconds per step over `batches`."""
    barrier()
    t0 = time.perf_counter()
    for b in batches:
        step(*b)
    return slowest((time.perf_counter() - t0) / len(batches))


def _janus_calls(fn) -> Tuple[int, int]:
    stats = getattr(fn, "stats", None)
    return (0, 0) if stats is None else (stats.calls, stats.graph_calls)


def _wait_compiled(fn) -> None:
    state = getattr(fn, "_state", None)
    for spec in list(getattr(state, "cache", {}).values()):
        wait = getattr(spec.executable, "wait_compiled", None)
        if wait is not None:
            wait(timeout=600)


def _error(e: Exception) -> Dict[str, Any]:
    return {"error": f"{type(e).__name__}: {e}".splitlines()[0][:300], "trace": traceback.format_exc()[-2000:]}


def _warm(make, spec) -> Any:
    """Build (a fresh model), warm up (profiling, conversion, compiles): (fn, timed
    batches), or an error row."""
    try:
        fn, batches = make()
        for b in batches[: spec["warmup"]]:
            fn(*b)
        _wait_compiled(fn)
        return fn, batches[spec["warmup"] :]
    except Exception as e:  # recorded in the row; the other ranks fail in the collective
        return _error(e)


def measure(makes: Dict[str, Callable], spec, barrier: Callable, slowest: Callable) -> Dict[str, Dict[str, Any]]:
    """Every mode built and warmed up, then timed in alternating order over the rounds
    (same-run ratios: a change of machine load hits every mode alike); per mode the
    median round, and for JANUS the share of timed calls a graph served."""
    ready = {mode: _warm(make, spec) for mode, make in makes.items()}
    rows: Dict[str, Dict[str, Any]] = {m: r for m, r in ready.items() if isinstance(r, dict)}
    live = {m: r for m, r in ready.items() if not isinstance(r, dict)}
    before = {m: _janus_calls(fn) for m, (fn, _) in live.items()}
    times: Dict[str, List[float]] = {m: [] for m in live}
    for _ in range(spec["rounds"]):
        for mode, (fn, batches) in live.items():
            try:
                times[mode].append(_time_round(fn, batches, barrier, slowest))
            except Exception as e:
                rows[mode] = _error(e)
    for mode, (fn, _) in live.items():
        if mode in rows:
            continue
        rows[mode] = {"ms_per_step": statistics.median(times[mode]) * 1e3}
        (c0, g0), (c1, g1) = before[mode], _janus_calls(fn)
        if c1 > c0:
            rows[mode]["graph_share"] = (g1 - g0) / (c1 - c0)
    return rows


# -- torch: DistributedDataParallel ----------------------------------------------------------
def _wrap_ddp(fn: Callable) -> Callable:
    """The workload's step with the model it closes over replaced by DDP(model) (the
    optimizer holds the same parameters)."""
    import torch
    from torch.nn.parallel import DistributedDataParallel as DDP

    for cell in fn.__closure__ or ():
        if isinstance(cell.cell_contents, torch.nn.Module):
            cell.cell_contents = DDP(cell.cell_contents)
            return fn
    raise RuntimeError("the workload's step holds no torch module to wrap in DDP")


def _torch_make(model: str, mode: str, spec, rank: int):
    import torch

    def make():
        step, make_batch = get_workload(model).impl("torch").build(spec["profile"], SEED + rank, "cpu")
        step = _wrap_ddp(step)
        if mode == "janus":
            step = janus.jit(step, backend="torch")
        elif mode == "native":
            step = torch.compile(step)
        n = spec["warmup"] + spec["steps"]
        batches = [make_batch() for _ in range(n)]
        return step, batches

    return make


def torch_worker(rank: int, world: int, store: str, out: str, spec) -> None:
    import torch
    import torch.distributed as dist

    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")  # loopback only
    torch.set_num_threads(1)
    timeout = datetime.timedelta(seconds=600)  # a rank that failed makes the others fail, not hang
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world, timeout=timeout)

    def slowest(seconds: float) -> float:
        t = torch.tensor([seconds], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t)

    rows = []
    for model in spec["models"]:
        makes = {mode: _torch_make(model, mode, spec, rank) for mode in spec["modes"]}
        for mode, row in measure(makes, spec, dist.barrier, slowest).items():
            rows.append(dict(row, model=model, framework="torch", mode=mode, world=world))
        dist.barrier()
    if rank == 0:
        with open(out, "w") as fh:
            json.dump(rows, fh)
    dist.destroy_process_group()
    sys.stdout.flush()
    os._exit(0)  # skip C++ static destructors (gloo/compile threads torn down at exit)


def run_torch(world: int, spec, timeout_s: float) -> List[Dict[str, Any]]:
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        ctx = mp.start_processes(
            torch_worker,
            args=(world, os.path.join(tmp, "store"), out, spec),
            nprocs=world,
            join=False,
            start_method="spawn",
        )
        end = time.monotonic() + timeout_s
        try:
            while not ctx.join(timeout=max(1.0, end - time.monotonic())):
                if time.monotonic() > end:
                    raise TimeoutError(f"torch workers still running after {timeout_s:.0f} s")
        finally:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
        with open(out) as fh:
            return json.load(fh)


# -- tf: MirroredStrategy --------------------------------------------------------------------
def _mean_aggregated(next_creator, **kwargs):
    import tensorflow as tf

    kwargs.setdefault("aggregation", tf.VariableAggregation.MEAN)
    return next_creator(**kwargs)


def _tf_make(strategy, model: str, mode: str, spec):
    import tensorflow as tf

    def make():
        with strategy.scope(), tf.variable_creator_scope(_mean_aggregated):
            step, make_batch = get_workload(model).impl("tf").build(spec["profile"], SEED, "cpu")
        devices = strategy.extended.worker_devices
        if mode == "janus":
            inner = janus.jit(step, backend="tf")
            fn = _StrategyStep(strategy, inner)
        elif mode == "native":
            fn = tf.function(lambda *a: strategy.run(step, args=a))
        else:
            fn = _StrategyStep(strategy, step)
        n = spec["warmup"] + spec["steps"]
        batches = []
        for _ in range(n):
            per = [make_batch() for _ in devices]

            def value_fn(ctx, per=per):
                with tf.device(devices[ctx.replica_id_in_sync_group]):
                    return tuple(tf.identity(t) for t in per[ctx.replica_id_in_sync_group])

            batches.append(strategy.experimental_distribute_values_from_function(value_fn))
        return fn, batches

    return make


class _StrategyStep:
    """`strategy.run(step, args)`, with the jitted step's stats and graphs visible."""

    def __init__(self, strategy, step):
        self.strategy, self.step = strategy, step

    def __call__(self, *args):
        return self.strategy.run(self.step, args=args)

    @property
    def stats(self):
        return getattr(self.step, "stats", None)

    @property
    def _state(self):
        return getattr(self.step, "_state", None)


def tf_worker(world: int, out: str, spec) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * world)
    tf.get_logger().setLevel("ERROR")
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(world)])
    rows = []
    for model in spec["models"]:
        makes = {mode: _tf_make(strategy, model, mode, spec) for mode in spec["modes"]}
        for mode, row in measure(makes, spec, lambda: None, lambda s: s).items():
            rows.append(dict(row, model=model, framework="tf", mode=mode, world=world))
    with open(out, "w") as fh:
        json.dump(rows, fh)


def run_tf(world: int, spec, timeout_s: float) -> List[Dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        cmd = [sys.executable, "-m", "janus_bench.distributed", "tf-worker", str(world), out, json.dumps(spec)]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"tf worker failed: {proc.stderr[-1500:]}")
        with open(out) as fh:
            return json.load(fh)


# -- the run and its table -------------------------------------------------------------------
RUNNERS = {"torch": run_torch, "tf": run_tf}


def run(world: int, spec, timeout_s: float = 1800.0, log: Callable[[str], None] = print) -> List[Dict[str, Any]]:
    """Every framework at 1 and `world` workers; failures become rows with an error."""
    rows: List[Dict[str, Any]] = []
    for fw in spec["frameworks"]:
        for w in sorted({1, world}):
            log(f"{fw}: {w} worker(s)")
            try:
                rows += RUNNERS[fw](w, spec, timeout_s)
            except Exception as e:
                for model in spec["models"]:
                    for mode in spec["modes"]:
                        rows.append(dict(model=model, framework=fw, mode=mode, world=w, error=str(e)[:300]))
    return rows


def _cell(row, key, fmt):
    if row is None:
        return "-"
    if "error" in row:
        return "error"
    value = row.get(key)
    return "-" if value is None else fmt.format(value)


def markdown(rows: List[Dict[str, Any]], world: int) -> str:
    """One line per model x framework x mode: ms/step at 1 and N workers, scaling, and
    the same-run ratio to eager at N."""
    index = {(r["model"], r["framework"], r["mode"], r["world"]): r for r in rows}
    lines = [
        f"| model | framework | mode | ms/step (1) | ms/step ({world}) | scaling 1->{world} "
        f"| vs eager ({world}) | graph-served ({world}) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    keys = sorted(
        {(r["model"], r["framework"], r["mode"]) for r in rows}, key=lambda k: (k[0], k[1], MODES.index(k[2]))
    )
    for model, fw, mode in keys:
        one, many = index.get((model, fw, mode, 1)), index.get((model, fw, mode, world))
        eager = index.get((model, fw, "eager", world))
        scaling = vs = "-"
        if one and many and "error" not in one and "error" not in many:
            scaling = f"{world * one['ms_per_step'] / many['ms_per_step']:.2f}"
        if eager and many and "error" not in eager and "error" not in many:
            vs = f"{eager['ms_per_step'] / many['ms_per_step']:.2f}x"
        share = _cell(many, "graph_share", "{:.0%}") if mode == "janus" else ""
        lines.append(
            f"| {model} | {fw} | {mode} | {_cell(one, 'ms_per_step', '{:.2f}')} "
            f"| {_cell(many, 'ms_per_step', '{:.2f}')} | {scaling} | {vs} | {share} |"
        )
    errors = [r for r in rows if "error" in r]
    for r in errors:
        lines.append(f"\n{r['model']}/{r['framework']}/{r['mode']} ({r['world']} workers): {r['error']}")
    return "\n".join(lines)


def main(world: int, spec, out_dir, log: Callable[[str], None] = print) -> str:
    rows = run(world, spec, log=log)
    table = markdown(rows, world)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "distributed.json"), "w") as fh:
        json.dump({"world": world, "spec": spec, "rows": rows}, fh, indent=1)
    with open(os.path.join(out_dir, "distributed.md"), "w") as fh:
        fh.write(table + "\n")
    return table


#: steps per timed round and warm-up steps (profiling, conversion, compiles) per profile
STEPS = {"smoke": (4, 4), "quick": (10, 5), "paper": (50, 10)}


def main_from_args(args, out, err) -> int:
    """`janus-bench --distributed N` (cli.py): models default to lstm_train and resnet50."""
    if args.distributed < 1:
        err.print("--distributed needs at least 1 worker")
        return 2
    steps, warmup = STEPS[args.profile]
    rounds = args.repeats or (2 if args.profile == "smoke" else 3)
    spec = _spec(args.models or DEFAULT_MODELS, args.frameworks, args.modes, args.profile, steps, rounds, warmup)
    table = main(args.distributed, spec, str(args.out), log=lambda m: err.print(m, markup=False, highlight=False))
    out.print(table, markup=False, highlight=False, soft_wrap=True)
    return 0


if __name__ == "__main__":  # python -m janus_bench.distributed tf-worker WORLD OUT SPEC
    if sys.argv[1] == "tf-worker":
        tf_worker(int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]))
        sys.stdout.flush()
        os._exit(0)

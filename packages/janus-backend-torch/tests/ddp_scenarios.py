"""Jitted training steps under DistributedDataParallel, run by `test_ddp.py` in two
processes (gloo over loopback, a file store: no port to pick).

Every scenario runs the same step twice per iteration on every rank: eagerly on one
DDP model (the oracle) and through JANUS on a twin DDP model, on the same batch (each
rank draws its own data, so an all-reduce that did not happen shows as a difference).
Both models live in the default process group; both ranks issue their collectives in
the same order, so a rank whose jitted step ran imperatively while the other's ran from
a graph would deadlock or mismatch here if JANUS changed the collectives.

A worker writes one JSON file per rank: per scenario, the largest difference to eager
(losses, parameters, buffers), a checksum of the parameters (the test compares ranks),
JANUS's stats and the tier that served the graph.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import sys
import traceback

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

import janus

STEPS = 6


class MLP(nn.Module):
    def __init__(self, unused=False):
        super().__init__()
        self.inp = nn.Linear(6, 24)
        self.body = nn.Sequential(nn.Linear(24, 24), nn.Tanh(), nn.Linear(24, 24), nn.Tanh(), nn.Linear(24, 24))
        self.out = nn.Linear(24, 3)
        self.spare = nn.Linear(24, 3) if unused else None  # never called: find_unused_parameters

    def forward(self, x):
        return self.out(torch.tanh(self.body(torch.relu(self.inp(x)))))


class Branchy(MLP):
    """A data-dependent branch after DDP's pre-forward: a graph `cond` (no speculation
    after an in-graph framework update), taken differently on the two ranks."""

    def forward(self, x):
        h = self.body(torch.relu(self.inp(x)))
        if h.sum() > 0:
            h = torch.tanh(h) * 2
        else:
            h = torch.sigmoid(h) - 1
        return self.out(h)


def _bn_net():
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 3),
    )


def _pair(make, **ddp_kwargs):
    torch.manual_seed(0)
    base = make()
    return DDP(copy.deepcopy(base), **ddp_kwargs), DDP(copy.deepcopy(base), **ddp_kwargs)


def _train_step(model, opt, clip=None):
    def step(x, y):
        if x.abs().max() > 4.0:  # speculated before DDP's pre-forward (an assertion)
            x = x.clamp(-4.0, 4.0)
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def _batch(gen, rank, i, shape=(5, 6)):
    x = torch.randn(*shape, generator=gen)
    return x, torch.randn(shape[0], 3, generator=gen)


def _diff(a, b) -> float:
    return float((a.detach().double() - b.detach().double()).abs().max()) if a.numel() else 0.0


def _compare(m1, m2) -> float:
    worst = 0.0
    for p, q in zip(list(m1.parameters()) + list(m1.buffers()), list(m2.parameters()) + list(m2.buffers())):
        worst = max(worst, _diff(p.float(), q.float()))
    return worst


def _report(g, m1, m2, worst_loss, extra=None):
    execs = [s.executable for s in g._state.cache.values()]
    for e in execs:
        if hasattr(e, "wait_compiled"):
            e.wait_compiled(timeout=300)
    out = {
        "loss_diff": worst_loss,
        "param_diff": _compare(m1, m2),
        "checksum": [float(p.detach().double().sum()) for p in m2.parameters()],
        "stats": g.stats.model_dump(),
        "tiers": [e.describe() for e in execs],
    }
    out.update(extra or {})
    return out


def _run_steps(f, g, batches):
    worst = 0.0
    for x, y in batches:
        worst = max(worst, _diff(f(x, y), g(x, y)))
    return worst


def scenario_train(rank, mode="fx", make=MLP, **ddp_kwargs):
    """The plain step; tiny buckets, so the all-reduce runs bucket by bucket."""
    m1, m2 = _pair(make, bucket_cap_mb=0.001, **ddp_kwargs)
    o1 = torch.optim.SGD(m1.parameters(), lr=0.05, momentum=0.9)
    o2 = torch.optim.SGD(m2.parameters(), lr=0.05, momentum=0.9)
    g = janus.jit(_train_step(m2, o2), backend="torch", config=janus.Config(compile_mode=mode, fallback="raise"))
    gen = torch.Generator().manual_seed(100 + rank)
    worst = _run_steps(_train_step(m1, o1), g, [_batch(gen, rank, i) for i in range(STEPS)])
    buckets = str(m2._get_ddp_logging_data().get("rebuilt_bucket_sizes", ""))
    return _report(g, m1, m2, worst, {"buckets": len([b for b in buckets.split(",") if b.strip()])})


def scenario_batchnorm(rank, mode="fx"):
    """Buffers broadcast from rank 0 by DDP's pre-forward, read by the in-graph forward."""
    m1, m2 = _pair(_bn_net)
    o1 = torch.optim.SGD(m1.parameters(), lr=0.05)
    o2 = torch.optim.SGD(m2.parameters(), lr=0.05)

    def make(model, opt):
        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.detach()

        return step

    g = janus.jit(make(m2, o2), backend="torch", config=janus.Config(compile_mode=mode, fallback="raise"))
    gen = torch.Generator().manual_seed(200 + rank)
    batches = [
        (torch.randn(4, 3, 6, 6, generator=gen) + rank, torch.randint(0, 3, (4,), generator=gen)) for _ in range(STEPS)
    ]
    return _report(g, m1, m2, _run_steps(make(m1, o1), g, batches))


def scenario_no_sync(rank):
    """Gradient accumulation: the jitted micro-step (forward + backward) runs inside and
    outside `ddp.no_sync()`; one graph serves both (DDP reads the flag when it runs)."""
    m1, m2 = _pair(MLP)
    o1, o2 = torch.optim.SGD(m1.parameters(), lr=0.1), torch.optim.SGD(m2.parameters(), lr=0.1)

    def make(model):
        def micro(x, y):
            loss = F.mse_loss(model(x), y) / 2
            loss.backward()
            return loss.detach()

        return micro

    f, g = make(m1), janus.jit(make(m2), backend="torch", config=janus.Config(fallback="raise"))
    gen = torch.Generator().manual_seed(300 + rank)
    worst = 0.0
    for _ in range(4):
        (x1, y1), (x2, y2) = _batch(gen, rank, 0), _batch(gen, rank, 1)
        for model, fn in ((m1, f), (m2, g)):
            with model.no_sync():
                a = fn(x1, y1)
            b = fn(x2, y2)
            if fn is f:
                fa, fb = a, b
            else:
                worst = max(worst, _diff(fa, a), _diff(fb, b))
        for o in (o1, o2):
            o.step()
            o.zero_grad()
    return _report(g, m1, m2, worst)


def scenario_diverge(rank):
    """Rank 0's speculation fails at step 4 (an outlier in its batch) while rank 1's
    holds; at step 5 rank 1's batch has another shape (a guard miss) while rank 0's
    does not.  Each rank runs that step imperatively, the other from its graph."""
    m1, m2 = _pair(MLP)
    o1, o2 = torch.optim.SGD(m1.parameters(), lr=0.05), torch.optim.SGD(m2.parameters(), lr=0.05)
    g = janus.jit(_train_step(m2, o2), backend="torch", config=janus.Config(fallback="raise"))
    gen = torch.Generator().manual_seed(400 + rank)
    batches = []
    for i in range(STEPS + 2):
        x, y = _batch(gen, rank, i, shape=(7 if (i == 4 and rank == 1) else 5, 6))
        if i == 3 and rank == 0:
            x[0, 0] = 25.0
        batches.append((x, y))
    return _report(g, m1, m2, _run_steps(_train_step(m1, o1), g, batches))


SCENARIOS = {
    "fx": lambda rank: scenario_train(rank, "fx"),
    "inductor": lambda rank: scenario_train(rank, "inductor"),
    "branchy": lambda rank: scenario_train(rank, "fx", Branchy),
    "unused": lambda rank: scenario_train(rank, "fx", lambda: MLP(unused=True), find_unused_parameters=True),
    "batchnorm": lambda rank: scenario_batchnorm(rank, "fx"),
    "batchnorm_inductor": lambda rank: scenario_batchnorm(rank, "inductor"),
    "no_sync": scenario_no_sync,
    "diverge": scenario_diverge,
}


def worker(rank: int, world: int, store, out_dir: str, names) -> None:
    """One rank: every named scenario in order; the results in `out_dir/rank<r>.json`.
    `store`: a file for the rendezvous, or None for torchrun's environment (env://)."""
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")  # loopback only
    torch.set_num_threads(1)
    init = f"file://{store}" if store else "env://"
    timeout = datetime.timedelta(seconds=120)  # a collective that never matches fails, not hangs
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world, timeout=timeout)
    results = {}
    try:
        for name in names:
            try:
                results[name] = SCENARIOS[name](rank)
            except Exception:
                results[name] = {"error": traceback.format_exc()[-3000:]}
            dist.barrier()
    finally:
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as fh:
            json.dump(results, fh)
        dist.destroy_process_group()
    # the results are written: leave without running C++ static destructors (a gloo or
    # compile-pool thread torn down at exit can abort the process after the fact)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":  # torchrun --nproc_per_node 2 ddp_scenarios.py OUT_DIR NAME...
    worker(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), None, sys.argv[1], sys.argv[2:])

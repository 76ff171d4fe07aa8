"""Jitted training steps under DistributedDataParallel: two processes (gloo, loopback),
the oracle the same step run eagerly on a twin DDP model in the same processes
(`ddp_scenarios.py`).  Every scenario asserts the values (losses, parameters, buffers
against eager DDP; parameters equal across ranks) and JANUS's stats (graph-served from
the third step on every rank), so neither a missing all-reduce nor a silent fallback can
pass.  The processes are launched once per module and killed at a deadline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import ddp_scenarios
import pytest
import torch
import torch.distributed as dist

pytestmark = pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(), reason="torch built without gloo"
)

WORLD = 2
DEADLINE_S = 420
TOL = 1e-5


def launch(names, out_dir, deadline_s=DEADLINE_S):
    """Both ranks via torch.multiprocessing (spawn); per rank its results, or fail at the
    deadline with the processes killed (a deadlock must not hang the test run)."""
    ctx = torch.multiprocessing.start_processes(
        ddp_scenarios.worker,
        args=(WORLD, os.path.join(out_dir, "store"), out_dir, list(names)),
        nprocs=WORLD,
        join=False,
        start_method="spawn",
    )
    end = time.monotonic() + deadline_s
    try:
        while not ctx.join(timeout=max(1.0, end - time.monotonic())):
            if time.monotonic() > end:
                raise TimeoutError(f"DDP workers still running after {deadline_s} s (a deadlock?)")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
    return [_read(out_dir, r) for r in range(WORLD)]


def _read(out_dir, rank):
    with open(os.path.join(out_dir, f"rank{rank}.json")) as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    ranks = launch(list(ddp_scenarios.SCENARIOS), str(out))
    return lambda name: [r[name] for r in ranks]


def _check(per_rank, graph_calls, calls=ddp_scenarios.STEPS, tol=TOL):
    for rank, r in enumerate(per_rank):
        assert "error" not in r, f"rank {rank}:\n{r.get('error')}"
        assert r["loss_diff"] <= tol and r["param_diff"] <= tol, (rank, r["loss_diff"], r["param_diff"])
        st = r["stats"]
        assert st["calls"] == calls and st["graph_calls"] == graph_calls[rank], (rank, st)
        assert st["split_calls"] == 0 and st["conversion_failures"] == 0, (rank, st)
    # the all-reduce made the ranks' parameters equal (each rank trained on its own data)
    a, b = per_rank[0]["checksum"], per_rank[1]["checksum"]
    assert a == pytest.approx(b, rel=1e-6, abs=1e-6)


def test_ddp_step_fx_is_graph_served_and_matches_eager(results):
    r = results("fx")
    _check(r, [4, 4])
    assert all(x["tiers"] == ["torch fx"] for x in r)
    assert all(x["buckets"] >= 2 for x in r), "tiny buckets: the all-reduce runs bucket by bucket"


def test_ddp_step_inductor_matches_eager(results):
    r = results("inductor")
    _check(r, [4, 4], tol=1e-4)
    assert all(x["tiers"] == ["torch inductor"] for x in r), [x["tiers"] for x in r]


def test_ddp_batchnorm_buffers_broadcast_in_graph(results):
    _check(results("batchnorm"), [4, 4])


def test_ddp_batchnorm_inductor(results):
    r = results("batchnorm_inductor")
    _check(r, [4, 4], tol=1e-4)
    assert all(x["tiers"] == ["torch inductor"] for x in r), [x["tiers"] for x in r]


def test_ddp_data_dependent_branch_differs_per_rank(results):
    _check(results("branchy"), [4, 4])


def test_ddp_find_unused_parameters(results):
    _check(results("unused"), [4, 4])


def test_ddp_no_sync_accumulation_shares_one_graph(results):
    r = results("no_sync")
    _check(r, [6, 6], calls=8)
    assert all(x["stats"]["graphs_built"] == 1 for x in r)


def test_rank_whose_assumption_fails_does_not_deadlock_the_other(results):
    r0, r1 = results("diverge")
    _check([r0, r1], [5, 5], calls=ddp_scenarios.STEPS + 2)
    assert r0["stats"]["assumption_failures"] == 1 and r1["stats"]["assumption_failures"] == 0
    assert r1["stats"]["guard_misses"] == 1 and r0["stats"]["guard_misses"] == 0


def test_ddp_step_under_torchrun(tmp_path):
    """The same step launched by torchrun (env:// rendezvous on a free loopback port)."""
    script = os.path.join(os.path.dirname(__file__), "ddp_scenarios.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(WORLD)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run(
        cmd + [script, str(tmp_path), "fx"], env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check([_read(str(tmp_path), r)["fx"] for r in range(WORLD)], [4, 4])

"""janus mode vs eager: for each workload and each framework whose JANUS backend is
installed, the jitted step gives the same outputs as the plain step, call by call
(including the calls served from a graph).  Skips cleanly without the backend."""
from __future__ import annotations

import pytest

from janus_bench import frameworks as fwk
from janus_bench.models import get_workload

from bench_helpers import PAIRS, assert_close, need_framework, run_calls

CALLS = 6  # profile_runs (2) + a graph build + graph-served calls


@pytest.mark.parametrize("workload,fw", PAIRS)
def test_janus_matches_eager(workload, fw):
    need_framework(fw)
    if not fwk.janus_backend_importable(fw):
        pytest.skip(f"{fwk.BACKEND_DIST[fw]} is not installed")
    why = fwk.janus_backend_problem(fw)
    if why:
        pytest.skip(why)
    import janus
    impl = get_workload(workload).impl(fw)
    expected, _ = run_calls(impl, CALLS)
    got, jitted = run_calls(impl, CALLS, wrap=lambda f: janus.jit(f, backend=fw))
    for i, (e, g) in enumerate(zip(expected, got)):
        assert_close(g, e, rtol=1e-4, atol=1e-5,
                     what=f"{workload}/{fw} call {i + 1} ({jitted.stats.graph_calls} graph calls so far)\n"
                          + janus.explain(jitted)[:2000])
    s = jitted.stats
    assert s.calls == CALLS and s.graph_calls + s.imperative_calls == CALLS

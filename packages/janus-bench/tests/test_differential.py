"""janus mode vs eager: for each workload and each framework whose JANUS backend is
installed, the jitted step gives the same outputs as the plain step, call by call
(including the calls served from a graph).  Skips cleanly without the backend."""

from __future__ import annotations

import pytest
from bench_helpers import PAIRS, assert_close, need_framework, run_calls

from janus_bench import frameworks as fwk
from janus_bench.models import get_workload

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
        assert_close(
            g,
            e,
            rtol=1e-4,
            atol=1e-5,
            what=f"{workload}/{fw} call {i + 1} ({jitted.stats.graph_calls} graph calls so far)\n"
            + janus.explain(jitted)[:2000],
        )
    s = jitted.stats
    assert s.calls == CALLS and s.graph_calls + s.imperative_calls == CALLS


#: tf training steps that must be served from a graph (a fallback would still match eager,
#: so the test above cannot tell): contexts in `with`, per-layer conv strides, Keras
#: optimizers over tf.Variables, sparse (IndexedSlices) gradients
GRAPH_SERVED_TF = ["gan", "pix2pix", "resnet50", "inception_v3", "lstm_lm", "lm_large_vocab"]


def _tf_state(step):
    """The tf.Variables a step closes over (modules' and optimizers' own), in a stable order."""
    import types

    import tensorflow as tf

    seen, out = set(), []

    def visit(o, depth):
        if id(o) in seen or depth > 4:
            return
        seen.add(id(o))
        if isinstance(o, tf.Variable):
            out.append(o)
        elif isinstance(o, tf.Module) or (type(o).__module__.startswith("keras") and hasattr(o, "variables")):
            for v in o.variables:
                visit(v, depth + 1)
        elif isinstance(o, types.FunctionType):
            for cell in o.__closure__ or ():
                try:
                    visit(cell.cell_contents, depth + 1)
                except ValueError:  # an empty cell
                    pass

    visit(step, 0)
    return out


@pytest.mark.parametrize("workload", GRAPH_SERVED_TF)
def test_tf_training_step_is_graph_served_and_updates_like_eager(workload):
    need_framework("tf")
    if not fwk.janus_backend_importable("tf") or fwk.janus_backend_problem("tf"):
        pytest.skip("the tf backend of JANUS is not usable here")
    import janus

    impl = get_workload(workload).impl("tf")
    step1, batch1 = impl.build("smoke", 0)
    step2, batch2 = impl.build("smoke", 0)
    jitted = janus.jit(step2, backend="tf")
    for i in range(CALLS):
        assert_close(
            fwk.to_numpy(jitted(*batch2())),
            fwk.to_numpy(step1(*batch1())),
            rtol=1e-4,
            atol=1e-5,
            what=f"{workload} call {i + 1}",
        )
    assert jitted.stats.graph_calls == CALLS - 2, janus.explain(jitted)[:2000]
    v1, v2 = _tf_state(step1), _tf_state(step2)
    assert v1 and len(v1) == len(v2)
    for a, b in zip(v1, v2):
        assert_close(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5, what=f"{workload} variable {a.name}")

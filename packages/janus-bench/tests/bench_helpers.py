"""Shared helpers of the janus-bench tests."""

from __future__ import annotations

import numpy as np
import pytest

from janus_bench import frameworks as fwk
from janus_bench.models import get_workload, workloads

PAIRS = [(w, fw) for w in workloads() for fw in get_workload(w).implementations]


def need_framework(fw: str):
    if not fwk.framework_available(fw):
        pytest.skip(f"{fwk.FRAMEWORK_MODULE[fw]} is not installed")
    try:
        fwk.import_framework(fw)
    except Exception as e:  # pragma: no cover
        pytest.skip(f"{fw} does not import: {e}")


def run_calls(impl, n: int, seed: int = 0, wrap=None, profile: str = "smoke"):
    step, make_batch = impl.build(profile, seed)
    fn = wrap(step) if wrap else step
    return [fwk.to_numpy(fn(*make_batch())) for _ in range(n)], fn


def assert_close(a, b, rtol=1e-5, atol=1e-6, what=""):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b), f"{what}: structure differs"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, rtol, atol, f"{what}[{i}]")
        return
    np.testing.assert_allclose(
        np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol, err_msg=what
    )


def synthetic_result(times, profile: str = "quick", started_at: str = "2026-01-01T00:00:00+00:00"):
    """A RunResult from {(model, framework): {mode: ms per call or an error string}}."""
    from janus_bench.schema import Environment, Row, RunConfig, RunResult

    rows = []
    for (model, fw), modes in times.items():
        eager = modes.get("eager")
        native = modes.get("native")
        for mode, ms in modes.items():
            row = Row(model=model, framework=fw, mode=mode, profile=profile)
            if isinstance(ms, str):
                row.error, row.error_phase = ms, "warm-up"
            else:
                row.ms_per_call = ms
                row.speedup_vs_eager = eager / ms if isinstance(eager, float) else None
                row.ratio_vs_native = native / ms if isinstance(native, float) else None
            rows.append(row)
    return RunResult(
        tool_version="0",
        started_at=started_at,
        config=RunConfig(profile=profile, models=sorted({m for m, _ in times})),
        environment=Environment(python="3.11", platform="linux", cpu="test cpu", cpu_count=2, device="cpu"),
        rows=rows,
    )

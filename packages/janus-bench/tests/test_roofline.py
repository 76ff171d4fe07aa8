"""Roofline figures: FLOP counts against analytic ones, the matmul peak, the runner's
per-row figures and the report's "% of matmul peak" column."""

from __future__ import annotations

import math
import time

import pytest
from bench_helpers import need_framework, synthetic_result

from janus_bench import roofline, runner
from janus_bench.models import get_workload
from janus_bench.report import HEADER, markdown

B, IN, OUT = 8, 32, 16


def _linear_step(train: bool):
    import torch

    torch.manual_seed(0)
    layer = torch.nn.Linear(IN, OUT)

    def step(x):
        y = layer(x)
        if train:
            y.sum().backward()
        return y

    return step, lambda: (torch.randn(B, IN),)


def test_linear_layer_flops_match_the_analytic_count():
    need_framework("torch")
    fwd = roofline.count_torch_flops(*_linear_step(train=False))
    assert fwd.flops == 2 * B * IN * OUT and not fwd.varies and fwd.calls == 2
    # backward adds the weight gradient only: the input does not require grad
    train = roofline.count_torch_flops(*_linear_step(train=True))
    assert train.flops == 4 * B * IN * OUT


def test_matrix_vector_products_are_counted_and_varying_steps_averaged():
    need_framework("torch")
    import torch

    w = torch.ones(OUT, IN)
    sizes = iter([1, 2, 3, 4, 5, 6, 7])
    count = roofline.count_torch_flops(lambda xs: [w @ x for x in xs], lambda: ([torch.ones(IN)] * next(sizes),))
    assert count.varies and count.calls == roofline.MAX_COUNTED_CALLS
    assert count.flops == pytest.approx(2 * OUT * IN * 3.5)  # mean of 1..6 products
    assert roofline.VARIES in count.source


def test_workload_flops_and_tf_rows_reuse_the_torch_count():
    need_framework("torch")
    w = get_workload("lstm_forward")
    s = w.sizes["smoke"]
    gates = 4 * s["hidden"]
    expected = s["steps"] * 2 * s["batch"] * (s["input"] + s["hidden"]) * gates
    torch_count = roofline.step_flops(w, "torch", "smoke")
    assert torch_count.flops == expected and torch_count.source == roofline.SOURCE_TORCH
    tf_count = roofline.step_flops(w, "tf", "smoke", torch_count=torch_count)
    assert tf_count.flops == expected and tf_count.source == roofline.SOURCE_FROM_TORCH
    assert roofline.step_flops(w, "mxnet", "smoke").flops is None


@pytest.mark.parametrize("fw", ["torch", "tf"])
def test_peak_is_a_positive_finite_rate_measured_quickly(fw):
    need_framework(fw)
    roofline.measure_peak(fw, budget_s=0.01)  # first use of the framework's kernels
    t = time.perf_counter()
    peak = roofline.measure_peak(fw, budget_s=0.1)
    assert time.perf_counter() - t < 2.0
    assert peak is not None and peak > 0 and math.isfinite(peak)


def test_runner_records_gflops_and_the_fraction_of_the_peak():
    need_framework("torch")
    frameworks = ["torch", "tf"] if roofline.fwk.framework_available("tf") else ["torch"]
    config = runner.make_config("smoke", ["lstm_forward"], frameworks=frameworks, modes=["eager"], repeats=1)
    result = runner.run(config)
    peaks = result.environment.matmul_peak_gflops
    assert set(peaks) == set(frameworks) and all(p > 0 for p in peaks.values())
    rows = {r.framework: r for r in result.rows}
    for fw, r in rows.items():
        assert r.error is None and r.flops_per_call and r.gflops and r.peak_fraction, r
        assert r.gflops == pytest.approx(r.flops_per_call / (r.ms_per_call / 1e3) / 1e9)
        assert r.peak_fraction == pytest.approx(r.gflops / peaks[fw], rel=1e-3)  # peaks stored rounded
    if "tf" in rows:
        assert rows["tf"].flops_per_call == rows["torch"].flops_per_call
        assert rows["tf"].flops_source == roofline.SOURCE_FROM_TORCH


def test_no_roofline_figures_without_a_peak_budget():
    need_framework("torch")
    config = runner.make_config(
        "smoke", ["branchy"], frameworks=["torch"], modes=["eager"], repeats=1, peak_budget_s=0.0
    )
    result = runner.run(config)
    assert result.environment.matmul_peak_gflops == {}
    assert all(r.peak_fraction is None and r.gflops is None for r in result.rows)


def test_report_renders_the_column_and_the_peaks():
    result = synthetic_result({("lstm", "torch"): {"eager": 2.0, "janus": 1.0}, ("lstm", "tf"): {"eager": 4.0}})
    result.environment.matmul_peak_gflops = {"torch": 95.2, "tf": 88.0}
    for r, fraction in zip(result.rows, [0.061, 0.122, 0.0004]):
        r.peak_fraction = fraction
        r.flops_source = roofline.SOURCE_FROM_TORCH if r.framework == "tf" else roofline.SOURCE_TORCH
    result.rows[0].peak_fraction = None  # no count: an empty cell, not a guess
    text = markdown(result)
    assert "% of matmul peak" in HEADER
    assert "torch 95 GFLOP/s, tf 88 GFLOP/s, measured in this run" in text
    column = HEADER.index("% of matmul peak")
    cells = [line.split(" | ")[column].strip() for line in text.splitlines() if line.startswith("| lstm")]
    assert cells == ["–", "12%", "0.04%*"]


def test_fraction_cell_formats():
    assert roofline.fraction_cell(None, None) == "–"
    assert roofline.fraction_cell(0.034, roofline.SOURCE_TORCH) == "3.4%"
    assert roofline.fraction_cell(1.05, roofline.SOURCE_TORCH) == "105%"
    varying = roofline.StepFlops(1.0, roofline.SOURCE_FROM_TORCH, calls=6, varies=True).source
    assert roofline.fraction_cell(0.5, varying) == "~50%*"
    assert roofline.fraction_cell(1e-6, roofline.SOURCE_TORCH) == "<0.01%"

"""The CLI end to end in the smoke profile, and the runner's error handling."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from janus_bench import cli, runner
from janus_bench import frameworks as fwk
from janus_bench.models import registry
from janus_bench.report import JSON_NAME, MD_NAME, PNG_NAME, markdown_table
from janus_bench.schema import RunResult


def _some_framework():
    for fw in ("torch", "tf"):
        if fwk.framework_available(fw):
            return fw
    return "torch"  # rows will carry the import error; the CLI must still finish


def test_cli_smoke_writes_json_markdown_png(tmp_path, capsys):
    fw = _some_framework()
    rc = cli.main(
        [
            "--smoke",
            "--models",
            "branchy",
            "--frameworks",
            fw,
            "--repeats",
            "1",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert rc == 0
    result = RunResult.model_validate_json((tmp_path / JSON_NAME).read_text())
    assert result.config.profile == "smoke"
    assert [(r.model, r.framework, r.mode) for r in result.rows] == [
        ("branchy", fw, m) for m in ("eager", "janus", "native")
    ]
    for r in result.rows:
        assert r.error is not None or (r.ms_per_call is not None and r.ms_per_call > 0), r
    if fwk.framework_available(fw):
        eager = result.rows[0]
        assert eager.error is None and eager.speedup_vs_eager == pytest.approx(1.0)
    assert result.environment.versions["python"]
    md = (tmp_path / MD_NAME).read_text()
    assert "| model | framework | mode | ms/call |" in md and "| branchy |" in md
    pytest.importorskip("matplotlib")
    assert (tmp_path / PNG_NAME).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "| branchy |" in out  # the table is printed at the end


def test_missing_framework_and_unknown_models_are_recorded(tmp_path, monkeypatch):
    from janus_bench.models import PLANNED

    monkeypatch.setattr(fwk, "framework_available", lambda fw: False)
    monkeypatch.setitem(PLANNED, "not_yet", "a model still to come")
    rc = cli.main(
        [
            "--smoke",
            "--models",
            "branchy,not_yet,nope",
            "--frameworks",
            "torch,tf",
            "--repeats",
            "1",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert rc == 0
    data = json.loads((tmp_path / JSON_NAME).read_text())
    rows = data["rows"]
    assert len(rows) == 6 and all(r["error_phase"] == "import" for r in rows)
    assert data["skipped"]["not_yet"].startswith("planned") and data["skipped"]["nope"] == "unknown workload"
    assert "ERROR (import)" in (tmp_path / MD_NAME).read_text()
    assert (
        cli.main(
            [
                "--smoke",
                "--models",
                "branchy",
                "--frameworks",
                "torch",
                "--modes",
                "eager",
                "--repeats",
                "1",
                "--out",
                str(tmp_path),
                "--no-progress",
                "--strict",
            ]
        )
        == 1
    )


def test_a_failing_mode_does_not_stop_the_run(monkeypatch):
    """A workload whose native mode fails to compile and whose janus backend is absent."""
    monkeypatch.setattr(fwk, "framework_available", lambda fw: True)
    monkeypatch.setattr(fwk, "import_framework", lambda fw: None)
    monkeypatch.setattr(fwk, "janus_backend_problem", lambda fw: "no JANUS backend 'torch' registered (test)")

    def boom(fw, fn, backend="inductor"):
        raise RuntimeError("compiler exploded")

    monkeypatch.setattr(fwk, "native_compile", boom)

    def build(size, seed, device="cpu"):
        state = {"n": seed}

        def step(x):
            state["n"] += 1
            return [v * 2.0 for v in x]

        return step, lambda: ([1.0, 2.0, float(state["n"])],)

    sizes = {p: {} for p in registry.PROFILES}
    registry.register("_fake", description="test", family="test", sizes=sizes, samples=lambda s: 3, torch=build)
    try:
        cfg = runner.make_config("smoke", ["_fake"], frameworks=["torch"], repeats=2)
        steps = []
        result = runner.run(cfg, lambda desc, adv: steps.append(adv))
    finally:
        registry._REGISTRY.pop("_fake")
    eager, jan, native = result.rows
    assert eager.error is None and eager.ms_per_call > 0 and eager.samples_per_s > 0
    assert len(eager.ms_per_call_repeats) == 2
    assert jan.error_phase == "janus-backend" and jan.ms_per_call is None
    assert native.error_phase == "wrap" and "compiler exploded" in native.error and native.error_traceback
    assert sum(steps) == runner.plan_steps(cfg)
    table = markdown_table(result)
    assert "ERROR (wrap): RuntimeError: compiler exploded" in table


def test_python_m_janus_bench_lists_workloads():
    p = subprocess.run([sys.executable, "-m", "janus_bench", "--list"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "lstm_forward" in p.stdout and "treernn" in p.stdout and "resnet50" in p.stdout

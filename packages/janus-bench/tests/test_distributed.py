"""`janus-bench --distributed 2` end to end in the smoke profile: lstm_train under torch
DDP (two processes, gloo on loopback) and tf MirroredStrategy (two logical CPU devices),
eager and JANUS, with 1 and 2 workers."""

from __future__ import annotations

import json

import pytest

from janus_bench import cli
from janus_bench import frameworks as fwk
from janus_bench.distributed import markdown

FRAMEWORKS = [fw for fw in ("torch", "tf") if fwk.framework_available(fw) and fwk.janus_backend_importable(fw)]


@pytest.mark.skipif(not FRAMEWORKS, reason="neither torch nor tf with its JANUS backend")
def test_distributed_smoke_table(tmp_path, capsys):
    argv = ["--smoke", "--distributed", "2", "--models", "lstm_train", "--modes", "eager,janus"]
    rc = cli.main(argv + ["--frameworks", ",".join(FRAMEWORKS), "--repeats", "1", "--out", str(tmp_path)])
    assert rc == 0
    data = json.loads((tmp_path / "distributed.json").read_text())
    rows = data["rows"]
    assert data["world"] == 2
    assert {(r["framework"], r["mode"], r["world"]) for r in rows} == {
        (fw, mode, w) for fw in FRAMEWORKS for mode in ("eager", "janus") for w in (1, 2)
    }
    for r in rows:
        assert "error" not in r, r
        assert r["ms_per_step"] > 0
        if r["mode"] == "janus":  # every timed step ran from a graph (segments, for tf)
            assert r["graph_share"] == 1.0, r
    out = capsys.readouterr().out
    assert "| lstm_train | " in out and "scaling 1->2" in out
    assert (tmp_path / "distributed.md").read_text().strip() == markdown(rows, 2)


def test_markdown_reports_errors_and_ratios():
    rows = [
        dict(model="m", framework="torch", mode="eager", world=1, ms_per_step=10.0),
        dict(model="m", framework="torch", mode="eager", world=2, ms_per_step=12.5),
        dict(model="m", framework="torch", mode="janus", world=1, ms_per_step=5.0),
        dict(model="m", framework="torch", mode="janus", world=2, ms_per_step=6.25, graph_share=1.0),
        dict(model="m", framework="torch", mode="native", world=2, error="boom"),
    ]
    table = markdown(rows, 2)
    assert "| m | torch | eager | 10.00 | 12.50 | 1.60 | 1.00x |  |" in table
    assert "| m | torch | janus | 5.00 | 6.25 | 1.60 | 2.00x | 100% |" in table
    assert "| m | torch | native | - | error | - | - |" in table and "boom" in table

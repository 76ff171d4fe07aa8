"""Reports: the chart's layout, paths relative to the project, and `janus-bench compare`."""

from __future__ import annotations

import json
import os
import site

import pytest
from bench_helpers import synthetic_result

from janus_bench import cli
from janus_bench.compare import compare
from janus_bench.paths import project_root, relative
from janus_bench.report import JSON_NAME, MD_NAME, chart, write_all

TIMES = {
    ("lstm", "torch"): {"eager": 2.0, "janus": 1.0, "native": 0.9},
    ("treernn", "torch"): {"eager": 0.6, "janus": 0.6, "native": 700.0},
    ("gan", "torch"): {"eager": 25.0, "janus": 27.0, "native": "RuntimeError: backward twice"},
    ("lstm", "tf"): {"eager": 44.0, "janus": 1.3, "native": 1.9},
    ("treernn", "tf"): {"eager": 20.0, "janus": 1.2, "native": 415.0},
}


def test_chart_has_one_panel_per_framework_with_models_as_rows_on_a_log_scale():
    pytest.importorskip("matplotlib")
    fig = chart(synthetic_result(TIMES))
    panels = fig.axes
    assert [ax.get_title() for ax in panels] == ["torch", "tf"]
    assert [t.get_text() for t in panels[0].get_yticklabels()] == ["lstm", "treernn", "gan"]
    assert [t.get_text() for t in panels[1].get_yticklabels()] == ["lstm", "treernn"]
    assert all(ax.get_xscale() == "log" for ax in panels)
    labels = [t.get_text() for t in panels[0].texts]
    assert "error" in labels and "2x" in labels  # gan's native row failed; lstm janus = 2.0 / 1.0
    assert [t.get_text() for t in panels[0].get_legend().get_texts()] == ["janus", "native"]
    width, height = fig.get_size_inches()
    assert width <= 12 and height <= 12  # readable: not one 5,000-pixel row


def test_reports_name_paths_relative_to_the_project(tmp_path):
    result = synthetic_result(TIMES)
    root = project_root()
    where = str(root) if root is not None else os.path.expanduser("~")
    sp = site.getsitepackages()[0]
    gan = next(r for r in result.rows if r.error)
    gan.error = (
        f'AttributeError: in user code: File "{where}/packages/janus-bench/src/janus_bench/models/rl.py", line 293'
    )
    gan.error_traceback = f'File "{sp}/torch/autograd/__init__.py", line 1\nFile "{where}/x.py"'
    paths = write_all(result, tmp_path)
    for name in (JSON_NAME, MD_NAME):
        text = (tmp_path / name).read_text()
        assert where + "/" not in text and sp not in text, name
    saved = json.loads(paths["json"].read_text())
    row = next(r for r in saved["rows"] if r["error"])
    assert "packages/janus-bench/src/janus_bench/models/rl.py" in row["error"] or "~/packages" in row["error"]
    assert "<site-packages>/torch/autograd/__init__.py" in row["error_traceback"]


def test_relative_leaves_other_paths_and_names_alone():
    home = os.path.expanduser("~")
    assert relative(f"{home}fs/data and {home}/data") == f"{home}fs/data and ~/data"
    assert relative(None) is None and relative("no paths") == "no paths"


def test_compare_prints_per_workload_ratio_changes():
    after = {k: dict(v) for k, v in TIMES.items()}
    after[("lstm", "torch")]["janus"] = 2.0  # JANUS got 2x slower: its speedup halves
    after[("lstm", "tf")]["janus"] = 0.65  # and 2x faster here
    del after[("treernn", "tf")]
    text = compare(synthetic_result(TIMES), synthetic_result(after))
    lines = {
        tuple(c.strip() for c in line.split("|")[1:3]): line for line in text.splitlines() if line.startswith("| ")
    }
    assert "1 -> 2 (2.00)" in lines[("lstm", "torch")]
    assert "2 -> 1 (x0.50) WORSE" in lines[("lstm", "torch")]
    assert "(x2.00) better" in lines[("lstm", "tf")]
    assert "error in A, B" in lines[("gan", "torch")]
    assert "only in A: treernn/tf" in text


def test_compare_from_the_command_line(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(synthetic_result(TIMES).model_dump_json())
    b.write_text(synthetic_result(TIMES, started_at="2026-02-01T00:00:00+00:00").model_dump_json())
    assert cli.main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "| lstm | torch |" in out and "2026-02-01" in out
    with pytest.raises(SystemExit):
        cli.main(["compare", str(a), str(tmp_path / "missing.json")])


def test_tf_function_errors_read_as_one_line():
    from janus_bench.runner import _err

    message = (
        'in user code:\n\n    File "/somewhere/models/rl.py", line 313, in a3c_train  *\n'
        "        action = int(sample_action(r_act, prob.numpy())[0])\n\n"
        "    AttributeError: 'SymbolicTensor' object has no attribute 'numpy'\n"
    )
    text = _err(AttributeError(message))
    assert text == "AttributeError: 'SymbolicTensor' object has no attribute 'numpy' (in a3c_train, rl.py:313)"

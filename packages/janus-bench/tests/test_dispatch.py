"""`janus-bench --dispatch`: the per-call overhead table and its breakdown (issue 15).

Timing-based, so every bound is generous and relative (no absolute microseconds): the
parts are measured independently and must roughly add up to the overhead, and the guard
must not grow with a model's parameter count (same tensors, 1000x the elements), nor
faster than its tensor count."""

from __future__ import annotations

import pytest

from janus_bench import cli, dispatch
from janus_bench import frameworks as fwk

FRAMEWORKS = [fw for fw in ("torch", "tf") if fwk.framework_available(fw) and fwk.janus_backend_problem(fw) is None]
SMALL = dict(depths=(2, 20), width=8, wide=256, calls=2000, rounds=15, budget_s=0.2)


@pytest.fixture(scope="module", params=FRAMEWORKS)
def result(request):
    return dispatch.run(dispatch.Settings(frameworks=(request.param,), **SMALL))


def _cases(result):
    return {c.name: c for c in result.cases}


def _holds(result, names, check) -> None:
    """`check(cases)` on the measured cases, else on `names` measured once more: one busy
    phase of a shared machine can spoil a median."""
    cases = _cases(result)
    if check(cases):
        return
    settings = dispatch.Settings(frameworks=(result.cases[0].framework,), **SMALL)
    again = {**cases, **{n: dispatch.measure_case(settings.frameworks[0], n, settings) for n in names}}
    assert check(again), {n: (again[n].overhead, again[n].parts) for n in names}


def test_every_case_is_served_from_its_graph(result):
    cases = _cases(result)
    assert set(cases) == {dispatch.TRIVIAL, dispatch.PAIR, "mlp 2x8", "mlp 20x8", "mlp 2x256"}
    for c in cases.values():
        assert c.error is None, (c.name, c.error)
        assert c.janus and c.op and c.eager and c.overhead and c.calls > 0 and c.executable
    assert cases["mlp 20x8"].tensors == 40 and cases["mlp 2x256"].parameters > 500 * cases["mlp 2x8"].parameters


def test_parts_are_non_negative_and_add_up_to_the_overhead(result):
    for c in result.cases:
        assert set(c.parts) == set(dispatch.COLUMNS)
        for name in dispatch.PARTS:
            assert c.parts[name].median_us >= 0 and c.parts[name].p90_us >= c.parts[name].median_us - 1e-9
        # the columns of the table add up (other: what the parts leave)
        assert c.parts_sum_us + c.parts["other"].median_us == pytest.approx(c.overhead.median_us, abs=0.01)
        assert c.overhead.median_us <= c.janus.median_us + 1e-9

    def roughly(cases):  # the independently measured parts account for the overhead, roughly
        return all(
            0.1 * cases[n].overhead.median_us - 20.0
            <= cases[n].parts_sum_us
            <= 2.0 * cases[n].overhead.median_us + 20.0
            for n in cases
        )

    _holds(result, [c.name for c in result.cases], roughly)


def test_a_tuple_result_is_committed_a_single_output_is_not(result):
    cases = _cases(result)
    assert cases[dispatch.TRIVIAL].parts["commit"].median_us == 0.0  # returned as is: nothing to commit
    assert cases[dispatch.PAIR].parts["commit"].median_us > 0.0


def _guard(cases, name):
    return cases[name].parts["guard"].median_us


def test_guard_cost_does_not_grow_with_the_parameter_count(result):
    # the same 4 tensors holding 1000x the parameters: the guard reads metadata, never values
    _holds(result, ["mlp 2x8", "mlp 2x256"], lambda c: _guard(c, "mlp 2x256") <= 3.0 * _guard(c, "mlp 2x8") + 2.0)


def test_guard_cost_grows_at_most_linearly_with_the_tensors_read(result):
    def linear(c):  # per tensor, the 40-tensor guard costs no more than a small factor of the 4-tensor one's
        return _guard(c, "mlp 20x8") / 40 <= 3.0 * _guard(c, "mlp 2x8") / 4 + 0.5

    _holds(result, ["mlp 2x8", "mlp 20x8"], linear)


def test_markdown_table_and_json_round_trip(result, tmp_path):
    md = dispatch.markdown(result)
    fw = result.cases[0].framework
    assert f"## {fw}" in md and "| case | tensors | eager | janus | op | overhead | guard |" in md
    assert f"| {dispatch.TRIVIAL} | 0 |" in md and "| mlp 20x8 | 40 |" in md
    assert "target: overhead <=" in md and "guard: mlp 2x8" in md
    paths = dispatch.write(result, tmp_path)
    assert paths["md"].read_text() == md
    again = dispatch.load(paths["json"])
    assert again.cases == result.cases and again.settings == result.settings


def test_errors_are_rows_not_crashes():
    result = dispatch.DispatchResult({"frameworks": ["torch"]}, [dispatch.Case("torch", "x + 1", error="boom")])
    assert "error: boom" in dispatch.markdown(result)


@pytest.mark.skipif(not FRAMEWORKS, reason="no framework with its JANUS backend installed")
def test_cli_dispatch_writes_json_and_markdown(tmp_path, capsys, monkeypatch):
    tiny = dispatch.Settings(frameworks=(FRAMEWORKS[0],), depths=(2,), wide=0, calls=200, rounds=4, budget_s=0.05)
    monkeypatch.setattr(dispatch.Settings, "for_profile", classmethod(lambda cls, profile, frameworks: tiny))
    rc = cli.main(["--dispatch", "--smoke", "--frameworks", FRAMEWORKS[0], "--out", str(tmp_path), "--repeats", "3"])
    assert rc == 0
    assert tiny.rounds == 3  # --repeats: rounds of batches
    result = dispatch.load(tmp_path / dispatch.JSON_NAME)
    assert [c.name for c in result.cases] == [dispatch.TRIVIAL, dispatch.PAIR, "mlp 2x8"]
    assert (tmp_path / dispatch.MD_NAME).read_text().startswith("# JANUS dispatch overhead per call")
    assert "| mlp 2x8 |" in capsys.readouterr().out

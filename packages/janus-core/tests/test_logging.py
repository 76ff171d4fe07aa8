"""Log events on the `janus` logger (graph built, guard miss, fallback, tier change), the
JANUS_LOG switch, guard descriptions in words, and no logging work on graph-served calls."""

import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import janus
from janus import logs


@pytest.fixture
def log_categories():
    """Categories on for one test, records through the caller's logging (caplog)."""
    before = logs.enabled()
    yield logs
    logs.disable()
    on = [c for c, flag in before.items() if flag]
    if on:
        logs.enable(*on)


@pytest.fixture
def run_program(tmp_path):
    """Run `code` from a file (prog.py) in a fresh interpreter with `env` added."""

    def run(code: str, **env) -> subprocess.CompletedProcess:
        (tmp_path / "prog.py").write_text(code)
        environ = {k: v for k, v in os.environ.items() if k != "JANUS_LOG"}
        environ.update(env)
        return subprocess.run(
            [sys.executable, str(tmp_path / "prog.py")], capture_output=True, text=True, env=environ, cwd=tmp_path
        )

    return run


PROGRAM = textwrap.dedent("""
    import numpy as np, janus

    def step(x, mode):
        y = np.tanh(x) * 2.0
        if mode == "train":
            y = y + 1.0
        return y

    g = janus.jit(step)
    for _ in range(3):
        g(np.ones(3), "train")
    g(np.ones(3), "eval")
    print("ok")
""")


def test_janus_log_prints_the_categories_it_names_to_stderr(run_program):
    out = run_program(PROGRAM, JANUS_LOG="graphs,fallbacks,guards")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    err = out.stderr
    assert "[janus.graphs] built specialization #1 of step (prog.py:4) on backend reference" in err
    assert "[janus.guards] step (prog.py:4): no specialization fits" in err
    assert "mode == 'train'" in err and "this call has 'eval'" in err
    assert "[janus.fallbacks] step (prog.py:4) ran imperatively [guard-miss]" in err


def test_without_janus_log_nothing_is_printed_and_nothing_attached(run_program):
    out = run_program(PROGRAM + "\nimport logging\nprint(logging.getLogger('janus').handlers, janus.logs.enabled())")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert "[] {'graphs': False, 'guards': False, 'fallbacks': False, 'tiers': False}" in out.stdout


def test_an_unknown_category_is_reported_and_ignored(run_program):
    out = run_program(PROGRAM, JANUS_LOG="graphs,recompiles")
    assert out.returncode == 0 and "ok" in out.stdout
    assert "ignoring JANUS_LOG='graphs,recompiles': unknown JANUS log category 'recompiles'" in out.stderr
    assert "[janus.graphs]" not in out.stderr


def test_records_carry_their_fields(log_categories, caplog):
    log_categories.enable("graphs", "fallbacks")

    def f(x, k):
        if k > 2:
            return next(iter([x]))  # advancing an iterator: runs imperatively
        return x * k

    g = janus.jit(
        f, backend="reference", config=janus.Config(islands=False) if "islands" in janus.Config.model_fields else None
    )
    with caplog.at_level(logging.INFO, logger="janus"):
        for k in (1, 1, 1, 5, 5, 5, 5):
            g(np.ones(2), k)
    built = [r for r in caplog.records if r.name == "janus.graphs"]
    assert built and built[0].janus["event"] == "graphs" and built[0].janus["backend"] == "reference"
    assert built[0].janus["function"].endswith("f") and built[0].janus["site"].startswith("test_logging.py:")
    fallbacks = [r.janus for r in caplog.records if r.name == "janus.fallbacks"]
    assert fallbacks and all({"reason", "kind", "site"} <= set(f) for f in fallbacks)


def test_graph_served_calls_do_no_logging_work(monkeypatch, log_categories):
    calls = []
    monkeypatch.setattr(logs, "emit", lambda *a, **k: calls.append(a))
    g = janus.jit(lambda x: x + 1.0, backend="reference")
    for _ in range(3):
        g(np.ones(2))
    log_categories.disable()
    calls.clear()
    for _ in range(50):
        g(np.ones(2))
    assert calls == [] and g.stats.graph_calls == 51
    log_categories.enable()  # on: a served call still has no event to log
    for _ in range(50):
        g(np.ones(2))
    assert calls == []


def scaled(x):
    return x * 3.0


def test_explain_describes_guards_in_words():
    def f(x, n, opts):
        for _ in range(n):
            x = scaled(x)
        return x + len(opts)

    g = janus.jit(f, backend="reference")
    for _ in range(3):
        g(np.ones(2, np.float32), 2, [1, 2])
    text = janus.explain(g)
    assert "x is a float32[2] tensor  (fails on another dtype, device or shape)" in text
    assert "n == 2  (an int fixed in the graph; fails when it changes)" in text
    assert "len(opts) == 2  (fails when items are added or removed)" in text
    # which code, where, and what invalidates it -- not "runs the code of scaled (line 110)"
    assert "scaled is the function scaled defined at test_logging.py:" in text
    assert "(fails when scaled is rebound or patched)" in text

"""The fuzzing harness itself: deterministic generation, strict comparison, minimization
and reproducer files (fast; no program runs under JANUS except one tiny reproducer)."""

import ast
import subprocess
import sys

import generator
import minimize
import numpy as np
import oracle
import reproduce


def test_generation_is_deterministic_and_valid():
    for seed in range(60):
        program = generator.generate(seed)
        assert program.body == generator.generate(seed).body
        tree = ast.parse(program.module_source("numpy"))
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert {"f", "CALLS", "rec", "tree_sum"} <= names
        calls = minimize._calls_list(tree)
        assert 6 <= len(calls.elts) <= 12


def test_comparison_is_strict():
    d = oracle.first_difference
    assert d(0.1 + 0.2, 0.3)[0] == "float"  # one ulp apart
    assert d(1, 1.0)[0] == "type"
    assert d(True, 1)[0] == "type"
    assert d(2**70, 2**70 + 1)[0] == "value"
    assert d({"a": 1, "b": 2}, {"b": 2, "a": 1})[0] == "keys"
    assert d(np.ones(3, np.float32), np.ones(3, np.float64))[0] == "shape/dtype"
    assert d(np.ones(3, np.float32), np.ones((1, 3), np.float32))[0] == "shape/dtype"
    assert d(np.ones(3, np.float32), np.full(3, 1.001, np.float32))[0] == "tensor"
    assert d(np.ones(3, np.float32), np.full(3, 1 + 1e-7, np.float32)) is None
    assert d(float("nan"), float("nan")) is None
    assert d(-0.0, 0.0)[0] == "float"
    box = ("object", "Box", {"step": 1})
    assert d(box, ("object", "Box", {"step": 2}), "obj") == ("value", "obj.step: 1 vs 2")


def test_compare_reports_calls_and_state():
    eager = oracle.Run(
        [oracle.Outcome("ok", 1, "a\n"), oracle.Outcome("raised", "ValueError", "")],
        state={"COUNT": 2, "obj": ("object", "Box", {"scale": 0.5})},
    )
    jit = oracle.Run(
        [oracle.Outcome("ok", 1, "b\n"), oracle.Outcome("ok", None, "")],
        state={"COUNT": 2, "obj": ("object", "Box", {"scale": 0.25})},
    )
    kinds = [x.kind for x in oracle.compare(eager, jit)]
    assert kinds == ["stdout", "exception:ValueError->ok", "state:obj.scale:float"]


def test_minimizer_keeps_what_the_mismatch_needs(monkeypatch, tmp_path):
    source = generator.generate(7).module_source("numpy")
    needed = "COUNT += 1"
    source = source.replace("    global COUNT, TOTAL\n", f"    global COUNT, TOTAL\n    {needed}\n", 1)
    monkeypatch.setattr(
        minimize.Candidate,
        "reproduces",
        lambda self, src: needed in src and len(minimize._calls_list(ast.parse(src)).elts) >= 2,
    )
    small, _ = minimize.minimize(source, "reference", "state:COUNT:value", str(tmp_path), budget_s=30)
    f = next(n for n in ast.parse(small).body if isinstance(n, ast.FunctionDef) and n.name == "f")
    assert needed in small
    assert len(f.body) <= 3 and len(minimize._calls_list(ast.parse(small)).elts) == 2


def test_reproducer_file_runs_standalone(tmp_path):
    program = generator.prelude("numpy") + (
        "COUNT = 0\n\n\ndef f(x):\n    global COUNT\n    COUNT += 1\n    return T.tanh(x) * COUNT\n\n\n"
        "def CALLS():\n    return [(T.tensor([[0.5, 1.0]]),)] * 4\n"
    )
    path = tmp_path / "repro.py"
    path.write_text(reproduce.reproducer_source(program, "reference", "return:tensor", 0, "a test", "repro.py"))
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "eager and JANUS agree" in done.stdout and "call 3:" in done.stdout

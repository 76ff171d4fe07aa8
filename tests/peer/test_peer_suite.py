"""JANUS against PyTorch Dynamo's own function tests (tests/peer/dynamo_functions.py).

Asserts that every function behaves under janus.jit(fn, backend="torch") as it does
eagerly (results, exceptions by type, printed output, argument and closure state).
Coverage (calls served from graphs) is reported, not asserted; the torch.compile
comparison runs only from the command line (python tests/peer/measure.py).
"""

from __future__ import annotations

import io
import os
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("janus_torch")

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import measure  # noqa: E402


@pytest.fixture(scope="module")
def results():
    return measure.measure(peer=False)


def test_ported_suite_is_large_enough():
    assert len(measure.CASES) >= 100
    assert len({c.name for c in measure.CASES}) == len(measure.CASES)


def test_no_correctness_mismatch(results):
    report = io.StringIO()
    measure.summarize(results, peer=False, out=report)
    # the coverage summary goes to the captured output (shown with -rA or -s)
    print(report.getvalue())
    bad = [r for r in results if r.problems]
    lines = []
    for r in bad:
        lines.append(f"{r.name} (tests/peer/{r.where}):")
        lines += [f"    {p}" for p in r.problems[:4]]
    assert not bad, f"{len(bad)} of {len(results)} functions differ from eager:\n" + "\n".join(lines)

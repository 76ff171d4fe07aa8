"""The conformance corpus on every installed backend: eager is the oracle.

`test_matches_eager` asserts values, exceptions, Python state and stdout for every case
(unsupported features must fall back, never give a wrong answer).  `test_graph_served`
asserts how many calls a graph served, so a silent fallback cannot pass as a conversion;
cases whose features a backend does not serve yet are strict xfails there.
"""

import cases_basics  # noqa: F401  (registers cases)
import cases_pitfalls  # noqa: F401
import cases_pitfalls2  # noqa: F401
import cases_semantics  # noqa: F401
import cases_training  # noqa: F401
import pytest
from corpus import CASES, in_scope
from frameworks import BACKEND_OF, available, same, same_exact, shim
from harness import differences, run

import janus

PARAMS = [(name, fw) for name, c in sorted(CASES.items()) for fw in ("numpy", "torch", "tf") if fw in c["frameworks"]]


def _skip_unavailable(fw):
    if not available(fw):
        pytest.skip(f"{fw} or its JANUS backend is not installed")


@pytest.mark.parametrize("name,fw", PARAMS, ids=[f"{n}-{BACKEND_OF[f]}" for n, f in PARAMS])
def test_matches_eager(name, fw):
    _skip_unavailable(fw)
    c, T = CASES[name], shim(fw)
    ref = run(c, T)
    got = run(c, T, backend=BACKEND_OF[fw])
    problems = differences(ref, got, same_exact if c["exact"] else same)
    assert not problems, "\n".join(problems) + "\n" + janus.explain(got[5])


def _coverage_params():
    out = []
    for name, fw in PARAMS:
        c = CASES[name]
        marks = (
            []
            if in_scope(c, BACKEND_OF[fw])
            else [pytest.mark.xfail(strict=True, reason=f"{c['tags']} not served yet")]
        )
        out.append(pytest.param(name, fw, marks=marks, id=f"{name}-{BACKEND_OF[fw]}"))
    return out


@pytest.mark.parametrize("name,fw", _coverage_params())
def test_graph_served(name, fw):
    _skip_unavailable(fw)
    c, T = CASES[name], shim(fw)
    _, _, _, stats, served, g = run(c, T, backend=BACKEND_OF[fw])
    assert stats.graph_calls == sum(served)
    assert stats.graph_calls + stats.imperative_calls == stats.calls
    assert stats.graph_calls >= c["served"], (
        f"{stats.graph_calls} calls served by a graph, expected at least {c['served']}; "
        f"served per call: {''.join('G' if s else '.' for s in served)}\n{janus.explain(g)}"
    )

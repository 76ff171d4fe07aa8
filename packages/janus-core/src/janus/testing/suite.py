"""The conformance suite as pytest tests, parametrized by the `janus.testing` plugin with
one program per case, framework and selected backend (`pytest --janus-backend NAME`).

`test_matches_eager` asserts values, exceptions, Python state and stdout for every
program (what a backend does not serve must fall back, never give a wrong answer).
`test_graph_served` asserts how many calls a graph served, so a silent fallback cannot
pass as a conversion; programs needing features the backend does not declare are
expected failures there, and programs no backend serves yet (tags outside
`programs.FEATURES`) strict ones: serving them means the corpus's tags need updating.
"""

from __future__ import annotations

import janus

from .frameworks import same, same_exact, shim
from .harness import differences, run
from .programs import Program, case_of


def test_matches_eager(janus_program: Program) -> None:
    c, T = case_of(janus_program), shim(janus_program.framework)
    ref = run(c, T)
    got = run(c, T, backend=janus_program.backend)
    problems = differences(ref, got, same_exact if c["exact"] else same)
    assert not problems, "\n".join(problems) + "\n" + janus.explain(got[5])


def test_graph_served(janus_served_program: Program) -> None:
    program = janus_served_program
    c, T = case_of(program), shim(program.framework)
    _, _, _, stats, served, g = run(c, T, backend=program.backend)
    assert stats.graph_calls == sum(served)
    assert stats.graph_calls + stats.imperative_calls == stats.calls
    assert stats.graph_calls >= c["served"], (
        f"{stats.graph_calls} calls served by a graph, expected at least {c['served']}; "
        f"served per call: {''.join('G' if s else '.' for s in served)}\n{janus.explain(g)}"
    )

"""Standalone reproducer files, and what they print when run.

A reproducer is the (minimized) program module itself, with a header that puts
tests/fuzz on sys.path and a `__main__` block that runs it eagerly
and under JANUS (each in a fresh import of the file) and prints both side by side:

    python fuzz-out/reference-state-1.py
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

_HEADER = '''"""JANUS fuzz reproducer: backend {backend!r}, mismatch {kind!r} (generator seed {seed}).

{summary}
Run: python {name}
"""
import sys
sys.path[:0] = [{fuzz!r}]
'''

_MAIN = """

if __name__ == "__main__":
    import reproduce
    sys.exit(reproduce.main(__file__, {backend!r}))
"""


def reproducer_source(program: str, backend: str, kind: str, seed: int, summary: str, name: str) -> str:
    """`program` is a full module source (prelude included)."""
    summary = summary.replace('"""', "'''")
    return (
        _HEADER.format(backend=backend, kind=kind, seed=seed, summary=summary, name=name, fuzz=HERE)
        + program.rstrip()
        + "\n"
        + _MAIN.format(backend=backend)
    )


def _outcome_text(o) -> str:
    what = f"raised {o.value}" if o.status == "raised" else f"returned {o.value!r}"
    printed = f"  printed {o.stdout!r}" if o.stdout else ""
    return (what + printed).replace("\n", " ")


def main(path: str, backend: str) -> int:
    """Run the reproducer at `path`; exit status 1 when eager and JANUS still differ."""
    from oracle import check

    import janus

    verdict = check(path, backend, timeout=30)
    for i, (e, j) in enumerate(zip(verdict.eager.outcomes, verdict.janus.outcomes)):
        served = "graph" if j.graph_served else "imperative"
        print(f"call {i}:\n  eager: {_outcome_text(e)}\n  janus: {_outcome_text(j)}  [{served}]")
    if verdict.janus.error:
        print(f"janus run failed: {verdict.janus.error}")
    print(f"final state:\n  eager: {verdict.eager.state!r}\n  janus: {verdict.janus.state!r}")
    if not verdict.differences:
        print("eager and JANUS agree (the mismatch no longer reproduces)")
        return 0
    print("differences:")
    for d in verdict.differences:
        print(f"  {d.where}: [{d.kind}] {d.detail}")
    if verdict.janus.jitted is not None:
        print(janus.explain(verdict.janus.jitted))
    return 1


if __name__ == "__main__":
    sys.path[:0] = [HERE]
    sys.exit(main(sys.argv[1], sys.argv[2]))

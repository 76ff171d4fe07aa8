"""Graph-served coverage of the conformance corpus per backend (issue 14's measure):
graph-served calls / calls after the profiling calls, and correctness against eager.

    python scripts/corpus_coverage.py [reference torch tf]
"""

import sys
import warnings

from janus.testing.frameworks import same, shim
from janus.testing.harness import differences, run
from janus.testing.programs import case_of, programs


def coverage(backend: str) -> None:
    served = total = wrong = 0
    misses = []
    for program in programs(backend):
        c, T = case_of(program), shim(program.framework)
        ref = run(c, T)
        got = run(c, T, backend=backend)
        stats = got[3]
        calls = max(stats.calls - stats.profiled_calls, 0)
        served += min(stats.graph_calls, calls)
        total += calls
        if differences(ref, got, same):
            wrong += 1
        if stats.graph_calls < calls:
            misses.append(f"{program.id}: {stats.graph_calls}/{calls}")
    share = served / total if total else float("nan")
    print(f"{backend}: {len(programs(backend))} programs, graph-served {served}/{total} = {share:.1%}, wrong: {wrong}")
    for line in misses:
        print(f"    not all served: {line}")


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    for name in sys.argv[1:] or ["reference", "torch", "tf"]:
        coverage(name)

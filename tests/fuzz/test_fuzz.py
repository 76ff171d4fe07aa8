"""Differential fuzzing: generated programs must behave under `janus.jit` exactly as
they do eagerly (return values, exceptions, printed output, Python state) on every
installed backend.

The batch is fixed: JANUS_FUZZ_PROGRAMS programs (default 200) from generator seed
JANUS_FUZZ_SEED (default 0); JANUS_FUZZ_TIMEOUT bounds one run of one program (default
5 s; a run that hangs is a mismatch).  A failure shows the first mismatching programs in
full (source, call sequence, differences, janus.explain) and lists the rest; each is
reproduced by `python tests/fuzz/run.py --programs 1 --seed SEED --backends BACKEND`.
"""

import os

import generator
import oracle
import pytest

from janus.testing.frameworks import available

PROGRAMS = int(os.environ.get("JANUS_FUZZ_PROGRAMS", "200"))
FIRST_SEED = int(os.environ.get("JANUS_FUZZ_SEED", "0"))
TIMEOUT = float(os.environ.get("JANUS_FUZZ_TIMEOUT", "5"))
SHOWN_IN_FULL = 3


def _report(backend, mismatches, served, calls) -> str:
    head = (
        f"{len(mismatches)} of {PROGRAMS} generated programs (seeds {FIRST_SEED}.."
        f"{FIRST_SEED + PROGRAMS - 1}) behave differently under janus.jit(backend={backend!r}); "
        f"{served} of {calls} calls were graph-served"
    )
    listing = [
        f"  seed {seed}: {v.kind} at {v.differences[0].where}: {v.differences[0].detail[:150]!r}"
        for seed, v, _ in mismatches
    ]
    full = [
        f"\n##### seed {seed}\n" + oracle.describe(verdict, source)
        for seed, verdict, source in mismatches[:SHOWN_IN_FULL]
    ]
    return "\n".join([head] + listing + full)


@pytest.mark.parametrize("backend", ["reference", "torch", "tf"])
def test_generated_programs_behave_as_eager(backend, tmp_path):
    framework = oracle.FRAMEWORK_OF[backend]
    if not available(framework):
        pytest.skip(f"{framework} or its JANUS backend is not installed")
    oracle.warm_up(backend, str(tmp_path))
    mismatches, served, calls = [], 0, 0
    for seed in range(FIRST_SEED, FIRST_SEED + PROGRAMS):
        source = generator.generate(seed).module_source(framework)
        path = oracle.write_program(source, str(tmp_path))
        verdict = oracle.check(path, backend, timeout=TIMEOUT)
        served += verdict.served.count("G")
        calls += len(verdict.janus.outcomes)
        if verdict.differences:
            mismatches.append((seed, verdict, source))
    print(f"{backend}: {served} of {calls} calls graph-served, {len(mismatches)} mismatching programs")
    assert not mismatches, _report(backend, mismatches, served, calls)

"""GPU graphs: the device in specs and guards, the CUDA-graphs tier, the conformance
corpus on CUDA tensors, RNG parity.  The CUDA tests skip without a CUDA device (run them
with scripts/gpu-check.sh on a GPU machine); the tier's CPU behaviour is tested here."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_same, executables, jit

from janus_torch import cudagraphs

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _mlp(x, w1, w2):
    return torch.tanh(x @ w1).relu() @ w2 + 1.0


def test_cudagraphs_mode_without_cuda_tensors_stays_on_fx_and_says_why():
    w1, w2 = torch.randn(8, 16), torch.randn(16, 4)
    f = lambda x: _mlp(x, w1, w2)
    g = jit(f, compile_mode="cudagraphs", fallback="raise")
    for _ in range(4):
        x = torch.randn(5, 8)
        assert_same(f(x), g(x))
    assert g.stats.graph_calls == 2
    described = executables(g)[0].describe()
    assert described.startswith("torch fx (cuda graphs: ") and ("no CUDA" in described or "on cpu" in described)


def test_cudagraphs_eligibility_reasons(monkeypatch):
    """What keeps a graph off the tier (CUDA pretended available: the specs decide)."""
    w = torch.randn(4, 4)
    built = []
    for f, args in (
        (lambda x: x @ w, (torch.randn(2, 4),)),
        (lambda x, k: x * k, (torch.randn(2, 4), 3.5)),
    ):
        g = jit(f, fallback="raise", max_scalar_values=1)
        for _ in range(3):
            g(*args)
        built.append(executables(g)[0])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cudagraphs.ineligible(built[0].graph, built[0].lowered) == "an input on cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cudagraphs.ineligible(built[1].graph, built[1].lowered) == "no CUDA device"


# -- on a GPU ------------------------------------------------------------------------------
@cuda
def test_device_is_part_of_specs_and_guards():
    w = torch.randn(8, 4)

    def f(x):
        return (x @ w.to(x.device)).sum(1)

    g = jit(f, fallback="raise")
    for dev in ("cuda", "cuda", "cuda", "cpu", "cpu", "cpu", "cuda"):
        x = torch.randn(3, 8, device=dev)
        assert_same(f(x), g(x))
    devices = {str(n.out.spec.device) for e in executables(g) for n in e.graph.inputs}
    assert {"cpu", "cuda:0"} <= devices, devices
    assert g.stats.guard_misses >= 1


@cuda
def test_cudagraphs_tier_replays_a_static_graph():
    w1, w2 = torch.randn(8, 16, device="cuda"), torch.randn(16, 4, device="cuda")
    f = lambda x: _mlp(x, w1, w2)
    g = jit(f, compile_mode="cudagraphs", fallback="raise")
    first = None
    for i in range(6):
        x = torch.randn(5, 8, device="cuda")
        got = g(x)
        torch.testing.assert_close(got, f(x))
        if i == 2:
            first, first_x = got.clone(), got
    torch.testing.assert_close(first_x, first)  # a later replay did not overwrite a result
    assert g.stats.graph_calls == 4
    assert executables(g)[0].describe() == "torch cuda graph"


@cuda
def test_dropout_rng_parity_on_gpu():
    def f(x):
        return F.dropout(x, 0.5, True) * 2

    g = jit(f, fallback="raise")
    for i in range(5):
        x = torch.randn(64, device="cuda")
        torch.manual_seed(i)
        want = f(x)
        torch.manual_seed(i)
        got = g(x)
        assert_same(want, got)
    assert g.stats.graph_calls == 3


def _cuda_shim():
    import functools

    from janus.testing.frameworks import make_torch

    T = make_torch()
    plain_tensor, plain_itensor = T.tensor, T.itensor
    T.tensor = lambda a: plain_tensor(a).cuda()
    T.itensor = lambda a: plain_itensor(a).cuda()
    T.zeros = functools.partial(torch.zeros, device="cuda")
    T.ones = functools.partial(torch.ones, device="cuda")
    T.Variable = lambda a: T.tensor(a)
    return T


def _torch_programs():
    if not torch.cuda.is_available():
        return []  # skipped: no need to load the corpus
    from janus.testing.programs import programs

    return [p for p in programs("torch") if p.framework == "torch"]


@cuda
@pytest.mark.parametrize("program", _torch_programs(), ids=lambda p: getattr(p, "case", str(p)))
def test_conformance_corpus_on_cuda(program):
    """Every torch program of the corpus, with its tensors on CUDA, against eager."""
    import janus
    from janus.testing.frameworks import same, same_exact
    from janus.testing.harness import differences, run
    from janus.testing.programs import case_of

    c, T = case_of(program), _cuda_shim()
    with torch.device("cuda"):  # tensors the programs make themselves land on the GPU too
        ref = run(c, T)
        got = run(c, T, backend=program.backend)
    problems = differences(ref, got, same_exact if c["exact"] else same)
    assert not problems, "\n".join(problems) + "\n" + janus.explain(got[5])

"""Training steps with gradient clipping over `model.parameters()`, batch-norm training
steps on the Inductor tier.  Differential: the oracle is the same step run eagerly on a
twin model; every test asserts graph_calls so a silent fallback cannot pass."""

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from conftest import assert_same, executables, jit


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 8)
        self.body = nn.Sequential(
            nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)
        )
        self.tied = self.a  # a module reachable twice: its parameters count once
        self.scale = nn.Parameter(torch.ones(2))

    def forward(self, x):
        return self.body(torch.relu(self.tied(x))) * self.scale


def test_parameters_and_named_parameters_in_graph():
    torch.manual_seed(0)
    m = Net()

    def f(x):
        total = x.sum() * 0
        for p in m.parameters():
            total = total + p.sum()
        names = [name for name, _ in m.named_parameters()]
        shapes = [tuple(p.shape) for _, p in m.named_parameters(recurse=False)]
        return total, names, shapes

    g = jit(f, fallback="raise")
    for _ in range(4):
        x = torch.randn(3, 4)
        assert_same(f(x), g(x))
    assert g.stats.graph_calls == 2
    m.extra = nn.Linear(2, 2)  # a new parameter: the graph must miss, not skip it
    for _ in range(4):
        x = torch.randn(3, 4)
        assert_same(f(x), g(x))
    assert g.stats.guard_misses >= 1 and g.stats.graphs_built == 2


def _clip_step(model, opt, clip, with_norm):
    def step(x, y):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return (loss.detach(), norm) if with_norm else loss.detach()

    return step


@pytest.mark.parametrize("mode", ["fx", "inductor"])
@pytest.mark.parametrize("with_norm", [False, True])
def test_clip_grad_norm_training_step_matches_eager(mode, with_norm):
    torch.manual_seed(1)
    m1 = Net()
    m2 = copy.deepcopy(m1)
    o1 = torch.optim.SGD(m1.parameters(), lr=0.5, momentum=0.9)
    o2 = torch.optim.SGD(m2.parameters(), lr=0.5, momentum=0.9)
    f = _clip_step(m1, o1, 0.05, with_norm)  # a small clip: clipping is active on every step
    g = jit(_clip_step(m2, o2, 0.05, with_norm), fallback="raise", compile_mode=mode)
    for _ in range(7):
        x, y = torch.randn(5, 4) * 3, torch.randn(5, 2)
        torch.testing.assert_close(f(x, y), g(x, y), rtol=1e-4, atol=1e-5)
        for p, q in zip(m1.parameters(), m2.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5)
    assert g.stats.graph_calls == 5 and g.stats.graphs_built == 1
    if mode == "inductor":
        assert executables(g)[0].describe() == "torch inductor", executables(g)[0].describe()


def test_clip_grad_value_training_step_matches_eager():
    torch.manual_seed(2)
    m1 = Net()
    m2 = copy.deepcopy(m1)
    o1, o2 = torch.optim.SGD(m1.parameters(), lr=0.1), torch.optim.SGD(m2.parameters(), lr=0.1)

    def make(m, o):
        def step(x):
            loss = m(x).pow(2).sum()
            o.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_value_(m.parameters(), 0.01)
            o.step()
            return loss.detach()

        return step

    f, g = make(m1, o1), jit(make(m2, o2), fallback="raise")
    for _ in range(5):
        x = torch.randn(6, 4)
        torch.testing.assert_close(f(x), g(x))
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q)
    assert g.stats.graph_calls == 3


@pytest.mark.parametrize("name", ["lstm_lm", "lm_large_vocab"])
def test_lm_benchmark_steps_are_graph_served(name):
    from janus_bench.models import get_workload

    impl = get_workload(name).impl("torch")
    fe, mk1 = impl.build("smoke", 0, "cpu")
    fj, mk2 = impl.build("smoke", 0, "cpu")
    g = jit(fj, fallback="raise")
    for _ in range(5):
        torch.testing.assert_close(fe(*mk1()), g(*mk2()), rtol=1e-4, atol=1e-5)
    assert g.stats.graph_calls == 3
    eager_model = fe.__closure__  # the twin models' parameters agree after the steps
    m1 = next(c.cell_contents for c in fe.__closure__ if isinstance(c.cell_contents, nn.Module))
    m2 = next(c.cell_contents for c in fj.__closure__ if isinstance(c.cell_contents, nn.Module))
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    del eager_model


def _bn_net():
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    )


@pytest.mark.parametrize("mode", ["fx", "inductor"])
def test_batchnorm_training_step_matches_eager(mode):
    m1 = _bn_net()
    m2 = copy.deepcopy(m1)
    o1 = torch.optim.SGD(m1.parameters(), lr=0.1, momentum=0.9)
    o2 = torch.optim.SGD(m2.parameters(), lr=0.1, momentum=0.9)

    def make(m, o):
        def step(x, y):
            loss = F.cross_entropy(m(x), y)
            o.zero_grad()
            loss.backward()
            o.step()
            return loss.detach()

        return step

    from torch._dynamo.utils import counters

    f, g = make(m1, o1), jit(make(m2, o2), fallback="raise", compile_mode=mode)
    for i in range(6):
        x, y = torch.randn(4, 3, 6, 6), torch.randint(0, 3, (4,))
        torch.testing.assert_close(f(x, y), g(x, y), rtol=1e-4, atol=1e-5)
        if i == 2:  # the first graph call compiled (inductor mode) on copies of the inputs
            graphs = counters["stats"]["unique_graphs"]
    # the copies have the inputs' tensor types (Parameter): no recompile on real calls
    assert counters["stats"]["unique_graphs"] == graphs
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    for a, b in zip(m1.buffers(), m2.buffers()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert g.stats.graph_calls == 4
    if mode == "inductor":
        # the forward (with its no_grad running-statistics blocks) is compiled
        assert executables(g)[0].describe() == "torch inductor", executables(g)[0].describe()


@pytest.mark.parametrize("mode", ["fx", "inductor"])
def test_gan_style_two_backwards_through_one_forward(mode):
    """D's loss backward()s first, G's later through the same fake batch: a fused forward
    (one autograd node) would be freed by the first backward, so it must not be compiled
    as one piece; the step must still match eager."""

    def make():
        torch.manual_seed(4)
        G = nn.Sequential(
            nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 6)
        )
        D = nn.Sequential(
            nn.Linear(6, 16),
            nn.LeakyReLU(0.2),
            nn.Linear(16, 16),
            nn.BatchNorm1d(16),  # run 3x a step
            nn.LeakyReLU(0.2),
            nn.Linear(16, 1),
        )
        go, do = torch.optim.Adam(G.parameters(), lr=1e-2), torch.optim.Adam(D.parameters(), lr=1e-2)

        def step(real, z):
            fake = G(z)
            ones, zeros = torch.ones(real.shape[0], 1), torch.zeros(real.shape[0], 1)
            d_loss = F.binary_cross_entropy_with_logits(D(real), ones) + F.binary_cross_entropy_with_logits(
                D(fake.detach()), zeros
            )
            do.zero_grad()
            d_loss.backward()
            do.step()
            g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
            go.zero_grad()
            g_loss.backward()
            go.step()
            return d_loss.detach(), g_loss.detach()

        return step, G, D

    (f, G1, D1), (s2, G2, D2) = make(), make()
    g = jit(s2, fallback="raise", compile_mode=mode)
    for _ in range(6):
        real, z = torch.randn(8, 6), torch.randn(8, 4)
        torch.testing.assert_close(f(real, z), g(real, z), rtol=1e-4, atol=1e-5)
    for p, q in zip(
        list(G1.parameters()) + list(D1.parameters()) + list(G1.buffers()) + list(D1.buffers()),
        list(G2.parameters()) + list(D2.parameters()) + list(G2.buffers()) + list(D2.buffers()),
    ):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert g.stats.graph_calls == 4

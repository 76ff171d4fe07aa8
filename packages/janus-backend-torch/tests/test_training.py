"""Grad-mode contexts, training steps in graphs, torch modules, recursion as data.
Differential: the oracle is the same program run eagerly on a twin model; every test
asserts graph_calls so a silent fallback cannot pass."""

import copy

import pytest
import torch
import torch.nn as nn
from conftest import assert_same, executables, jit


def test_no_grad_block_in_graph_and_grad_mode_restored():
    W = torch.randn(8, 8, requires_grad=True)

    def f(x):
        with torch.no_grad():
            y = torch.tanh(x @ W)
        return y, y * 2 + x @ W  # the same matmul outside no_grad must keep its grad

    g = jit(f, fallback="raise")
    for _ in range(5):
        x = torch.randn(3, 8)
        assert_same(f(x), g(x))
        assert torch.is_grad_enabled()
    assert g.stats.graph_calls == 3


@pytest.mark.parametrize("ctx", ["enable_grad", "set_grad_enabled", "inference_mode"])
def test_other_grad_contexts(ctx):
    W = torch.randn(4, 4, requires_grad=True)

    def f(x):
        with torch.no_grad():
            if ctx == "enable_grad":
                with torch.enable_grad():
                    a = x @ W
            elif ctx == "set_grad_enabled":
                with torch.set_grad_enabled(True):
                    a = x @ W
            else:
                with torch.inference_mode():
                    a = torch.relu(x) + 1
            b = x @ W
        return a * 2, b

    g = jit(f, fallback="raise")
    for _ in range(4):
        x = torch.randn(2, 4)
        want, got = f(x), g(x)
        assert_same(want, got)
        assert want[0].is_inference() == got[0].is_inference()
    assert g.stats.graph_calls == 2 and torch.is_grad_enabled()


def _train_step(model, opt, loss_fn=lambda p, y: ((p - y) ** 2).mean()):
    def step(x, y):
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss.detach()

    return step


@pytest.mark.parametrize(
    "make_opt",
    [lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), lambda p: torch.optim.Adam(p, lr=0.01)],
    ids=["sgd_momentum", "adam"],
)
@pytest.mark.parametrize("mode", ["fx", "inductor"])
def test_training_steps_match_eager(make_opt, mode):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    twin = copy.deepcopy(model)
    eager = _train_step(model, make_opt(model.parameters()))
    opt2 = make_opt(twin.parameters())
    g = jit(_train_step(twin, opt2), fallback="raise", compile_mode=mode)
    for k in range(7):
        x, y = torch.randn(8, 6), torch.randn(8, 1)
        torch.testing.assert_close(eager(x, y), g(x, y), rtol=1e-4, atol=1e-5)
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
        assert q.grad is None
    assert g.stats.graph_calls == 5 and g.stats.graphs_built == 1
    ex = executables(g)[0]
    ex.wait_compiled(300)
    if mode == "inductor":
        assert ex.describe() == "torch inductor", ex.describe()


def test_optimizer_state_matches():
    torch.manual_seed(1)
    m1 = nn.Linear(5, 3)
    m2 = copy.deepcopy(m1)
    o1, o2 = (
        torch.optim.SGD(m1.parameters(), lr=0.1, momentum=0.5),
        torch.optim.SGD(m2.parameters(), lr=0.1, momentum=0.5),
    )
    f, g = _train_step(m1, o1), jit(_train_step(m2, o2), fallback="raise")
    for _ in range(6):
        x, y = torch.randn(4, 5), torch.randn(4, 3)
        f(x, y), g(x, y)
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(o1.state[p]["momentum_buffer"], o2.state[q]["momentum_buffer"])
    assert g.stats.graph_calls == 4


def test_assertion_failure_before_step_applies_nothing():
    torch.manual_seed(2)
    m1 = nn.Linear(4, 1)
    m2 = copy.deepcopy(m1)
    o1, o2 = torch.optim.SGD(m1.parameters(), lr=0.1), torch.optim.SGD(m2.parameters(), lr=0.1)

    def make(m, o):
        def step(x):
            out = m(x)
            if x.sum() > 0:  # speculated direction: asserted before backward()
                loss = out.pow(2).mean()
            else:
                loss = (out - 1).pow(2).mean()
            loss.backward()
            o.step()
            o.zero_grad()
            return loss.detach()

        return step

    f, g = make(m1, o1), jit(make(m2, o2))
    for s in (1, 1, 1, 1, -1, 1, 1):  # the fifth call goes the other way: its assertion fails
        x = torch.rand(3, 4) * s
        torch.testing.assert_close(f(x), g(x))
        for p, q in zip(m1.parameters(), m2.parameters()):
            torch.testing.assert_close(p, q)
    assert g.stats.assumption_failures >= 1 and g.stats.graph_calls >= 2


def test_error_after_step_is_not_rerun():
    m = nn.Linear(3, 1)
    o = torch.optim.SGD(m.parameters(), lr=0.1)

    def step(x, idx):
        loss = m(x).pow(2).mean()
        loss.backward()
        o.step()
        o.zero_grad()
        return x[idx]  # may raise IndexError after the step

    g = jit(step)
    for _ in range(3):
        g(torch.randn(2, 3), 0)
    before = [p.detach().clone() for p in m.parameters()]
    with pytest.raises(BaseException) as info:
        g(torch.randn(2, 3), 5)
    after = list(m.parameters())
    n_changed = sum(not torch.equal(a, b) for a, b in zip(before, after))
    assert n_changed >= 1  # the step ran once, as in eager ...
    assert "IndexError" in str(info.value) or isinstance(info.value, IndexError)


def test_lstm_benchmark_models_are_graph_served():
    from janus_bench.models.lstm import SIZES, build_forward_torch, build_train_torch

    size = SIZES["smoke"]
    fwd, mk = build_forward_torch(size, 0)
    g = jit(fwd, fallback="raise")
    for _ in range(4):
        xs = mk()
        assert_same(fwd(*xs), g(*xs))
    assert g.stats.graph_calls == 2
    fe, mk1 = build_train_torch(size, 0)
    fj, mk2 = build_train_torch(size, 0)
    g = jit(fj, fallback="raise")
    for _ in range(5):
        torch.testing.assert_close(fe(*mk1()), g(*mk2()))
    assert g.stats.graph_calls == 3


def test_torch_modules_batchnorm_conv_generic():
    def mk():
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(2, 4, 3),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AvgPool2d(1),
            nn.Flatten(),
            nn.ELU(),
            nn.Linear(16, 3),
        )

    m1, m2 = mk(), mk()
    g = jit(lambda x: m2(x), fallback="raise")
    for i in range(5):
        if i == 3:
            m1.eval(), m2.eval()
        x = torch.randn(5, 2, 6, 6)
        assert_same(m1(x), g(x))
        bn1, bn2 = m1[1], m2[1]
        torch.testing.assert_close(bn1.running_mean, bn2.running_mean)
        torch.testing.assert_close(bn1.running_var, bn2.running_var)
        assert int(bn1.num_batches_tracked) == int(bn2.num_batches_tracked)
    assert g.stats.graph_calls >= 2


def test_recursion_as_data_new_tree_every_call():
    emb = torch.randn(50, 8)
    W = torch.randn(16, 8) * 0.3

    def node(t):
        if isinstance(t, int):
            return emb[t]
        return torch.tanh(torch.cat([node(t[0]), node(t[1])]) @ W)

    def f(tree):
        return node(tree)

    import random

    rnd = random.Random(0)

    def tree(n):
        if n == 1:
            return rnd.randrange(50)
        k = rnd.randrange(1, n)
        return (tree(k), tree(n - k))

    g = jit(f, fallback="raise")

    def every_kind(i):  # (tree, leaf), (leaf, leaf), (leaf, tree), (tree, tree); new leaf ids each call
        return (((i, i + 1), i + 2), (i + 3, (i + 4, i + 5)))

    def deep(t):  # nested 4+ levels: not a small constant tuple the core would specialize on
        return ((((t, 1), 2), 3), 4)

    for i in range(12):
        t = deep(every_kind(i) if i < 3 else tree(rnd.randrange(2, 12)))
        assert_same(f(t), g(t))
    assert g.stats.graphs_built == 1 and g.stats.graph_calls == 10

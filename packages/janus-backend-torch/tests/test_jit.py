"""janus.jit(backend="torch") end to end; the oracle is the same function run eagerly.
Every test asserts graph_calls, so a silent fallback to eager cannot pass."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from conftest import assert_same, executables, jit

import janus


def run_both(fn, calls, **config):
    jitted = jit(fn, **config)
    for args in calls:
        want = fn(*args)
        got = jitted(*args)
        assert_same(want, got)
    return jitted


def test_straight_line():
    W1, W2 = torch.randn(8, 16), torch.randn(16, 4)

    def f(x):
        h = torch.tanh(x @ W1)
        return torch.sum(F.relu(h @ W2) * 0.5 + 1.0), h.shape[1]

    g = run_both(f, [(torch.randn(3, 8),) for _ in range(6)])
    assert g.stats.graph_calls == 4 and g.stats.graphs_built == 1
    assert executables(g)[0].describe() == "torch fx"


def test_python_scalar_inputs_build_one_graph():
    def f(x, lr, step):
        return x - lr * torch.tanh(x) * step, lr * 2.0, step + 1

    g = run_both(f, [(torch.randn(4), 0.1 * (i + 1), i) for i in range(10)])
    assert g.stats.graphs_built == 1
    assert g.stats.graph_calls == 8


def test_linear_module_inlined_and_weight_replaced():
    model = nn.Linear(5, 3)

    def f(x):
        return torch.sigmoid(model(x))

    g = jit(f)
    x = torch.randn(2, 5)
    for _ in range(4):
        assert_same(f(x), g(x))
    assert g.stats.graph_calls == 2
    assert ".weight" in janus.explain(g)  # parameters are graph inputs read by path
    with torch.no_grad():
        model.weight.mul_(2.0)  # in-place update is seen without a rebuild
    assert_same(f(x), g(x))
    assert g.stats.graph_calls == 3 and g.stats.graphs_built == 1
    model.weight = nn.Parameter(torch.randn(4, 5))  # another shape: guard miss, then a new graph
    model.bias = nn.Parameter(torch.randn(4))
    for _ in range(3):
        assert_same(f(x), g(x))
    assert g.stats.graphs_built == 2 and g.stats.graph_calls >= 4


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.drop = nn.Dropout(0.5)
        self.body = nn.Sequential(nn.Linear(16, 16), nn.Tanh())
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        h = self.drop(h)
        return self.fc2(self.body(h))


def test_mlp_module_eval_and_train():
    model = MLP().eval()

    def f(x):
        return model(x).sum(-1)

    g = jit(f)
    x = torch.randn(4, 6)
    for _ in range(4):
        assert_same(f(x), g(x))
    assert g.stats.graph_calls == 2
    model.train()  # dropout active: the guard on .training misses, a train graph is built
    for i in range(4):
        torch.manual_seed(i)
        want = f(x)
        torch.manual_seed(i)
        got = g(x)
        assert_same(want, got)
    assert g.stats.graphs_built == 2 and g.stats.graph_calls >= 3
    model.eval()
    assert_same(f(x), g(x))
    assert g.stats.graph_calls >= 4


def test_hook_registered_later_is_honoured():
    model = MLP().eval()
    calls = []

    def f(x):
        return model(x)

    g = jit(f)
    x = torch.randn(2, 6)
    for _ in range(3):
        assert_same(f(x), g(x))
    assert g.stats.graph_calls == 1
    handle = model.fc2.register_forward_hook(lambda m, i, o: calls.append(1) or o * 10)
    before = g.stats.graph_calls
    for _ in range(3):
        assert_same(f(x), g(x))
    assert g.stats.graph_calls == before  # never served while the hook is there
    assert len(calls) == 6
    handle.remove()
    for _ in range(3):
        assert_same(f(x), g(x))
    assert g.stats.graph_calls > before


def test_dynamic_batch_dim_is_relaxed():
    W = torch.randn(6, 3)

    def f(x):
        return torch.mean(torch.relu(x @ W), 0)

    g = run_both(f, [(torch.randn(b, 6),) for b in [4, 4, 4, 7, 1, 16, 4, 9, 2]])
    assert g.stats.graphs_built <= 2
    assert g.stats.graph_calls >= 5
    assert any("?" in t for t in [janus.explain(g)])


def test_tensor_if_speculated_and_failure_falls_back():
    def f(x):
        if torch.sum(x) > 0:
            return x * 2.0
        return x - 100.0

    xs = [torch.ones(3)] * 4 + [-torch.ones(3)] + [torch.ones(3)] * 3
    g = run_both(f, [(x,) for x in xs])
    assert g.stats.assumption_failures == 1
    assert g.stats.graph_calls >= 4


def test_requires_grad_and_backward():
    w = torch.randn(3, 3, requires_grad=True)

    def f(x):
        return torch.tanh(x @ w).sum()

    g = jit(f)
    x = torch.randn(2, 3)
    for _ in range(4):
        want = f(x)
        (gw,) = torch.autograd.grad(want, [w])
        got = g(x)
        assert got.requires_grad
        (gg,) = torch.autograd.grad(got, [w])
        assert_same(want.detach(), got.detach())
        assert_same(gw, gg)
    assert g.stats.graph_calls == 2


def test_error_parity_falls_back_to_eager():
    def f(a, b):
        return torch.mm(a, b)

    g = jit(f)
    a = torch.ones(2, 2)
    for _ in range(3):
        assert_same(f(a, a), g(a, a))
    with pytest.raises(RuntimeError):
        f(a, torch.ones(3, 2))
    with pytest.raises(RuntimeError):
        g(a, torch.ones(3, 2))
    assert g.stats.graph_calls == 1


def test_in_place_method_on_local_tensor_is_kept():
    def f(x):
        h = x * 2.0
        h.add_(1.0)
        return h

    g = run_both(f, [(torch.randn(3),) for _ in range(4)])
    assert g.stats.graph_calls == 2


def test_in_place_write_to_input_is_committed_after_the_graph():
    def f(x, lr):
        x.sub_(lr * torch.ones(2))
        x[0] = 5.0
        return x * 2

    g = jit(f)
    a, b = torch.zeros(2), torch.zeros(2)
    for i in range(5):
        assert_same(f(a, 0.1 * i), g(b, 0.1 * i))
        assert_same(a, b)  # the write into the input happened, once
    assert g.stats.graph_calls == 3


def test_lstm_cell_module():
    cell = nn.LSTMCell(4, 8)

    def f(xs, h, c):
        for x in xs:
            h, c = cell(x, (h, c))
        return h

    xs = [torch.randn(2, 4) for _ in range(3)]
    h, c = torch.zeros(2, 8), torch.zeros(2, 8)
    g = run_both(f, [(xs, h, c)] * 4)
    assert g.stats.graph_calls == 2

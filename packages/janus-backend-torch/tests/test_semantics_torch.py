"""Eager semantics on torch (issue 12): framework preconditions of in-place writes, effects
committed when a graph raises after an optimizer step, in-place writes on graph branches,
the backend chosen after calls without tensors."""

import numpy as np
import pytest
import torch

import janus


def test_in_place_write_to_a_leaf_that_requires_grad_raises_every_call():
    def f(w, x):
        w.add_(x)
        return w * 2

    g = janus.jit(f)
    w = torch.zeros(3)
    for _ in range(3):
        g(w, torch.ones(3))
    w.requires_grad_(True)
    before = w.detach().clone()
    for _ in range(4):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            g(w, torch.ones(3))
    assert torch.equal(w.detach(), before)


def _train(step, idxs):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    log, outs, table = [], [], torch.arange(4.0)
    for idx in idxs:
        try:
            outs.append(round(float(step(model, opt, torch.ones(2, 3), table, idx, log).detach()), 5))
        except IndexError:
            outs.append("IndexError")
    return outs, log, [p.detach().clone() for p in model.parameters()]


def test_an_effect_before_an_optimizer_step_survives_a_later_raise():
    def step(model, opt, x, table, idx, log):
        log.append("start")
        loss = (model(x) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss + table[idx]

    idxs = [0, 1, 2, 3, 7, 1, 9]
    want, got = _train(step, idxs), _train(janus.jit(step), idxs)
    assert got[0] == want[0] and got[1] == want[1]
    assert all(torch.equal(a, b) for a, b in zip(got[2], want[2]))


def test_in_place_writes_on_both_branches_of_a_graph_cond():
    def f(w, x):
        if x.sum() > 0:
            w.add_(x)
        else:
            w.mul_(2.0)
        return w * 1.0

    def run(fn):
        w = torch.tensor([1.0, 2.0])
        outs = [
            fn(w, torch.tensor(v))
            for v in [[1.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [-1.0, -3.0]]
        ]
        return outs, w

    g = janus.jit(f)
    (want, w_want), (got, w_got) = run(f), run(g)
    assert all(torch.equal(a, b) for a, b in zip(got, want)) and torch.equal(w_got, w_want)
    assert g.stats.graph_calls >= 3, janus.explain(g)


def test_the_backend_follows_tensors_after_calls_without_them():
    def f(a, b):
        return a + b

    g = janus.jit(f)
    assert g(1, 2) == 3 and g(2, 3) == 5  # no tensors yet: the default backend
    x = torch.ones(2)
    for _ in range(4):
        assert torch.equal(g(x, x), f(x, x))
    assert g._state.backend_name == "torch" and g.stats.graph_calls >= 1, janus.explain(g)


def test_numpy_arrays_from_outside_are_graph_inputs_read_on_every_call():
    # an array handed in anew each call (an island's result, an environment's observation)
    # and a buffer filled in place between calls: the graph reads each as it is then
    buf = np.zeros(4, np.float32)
    rng = np.random.default_rng(5)
    table = torch.randn(16, 4)

    def f(obs, idx, x):
        a = torch.from_numpy(obs) * x
        b = torch.tensor(buf) + table[idx].sum(0)
        return a + b

    g = janus.jit(f)
    for i in range(8):
        buf[...] = i
        args = (rng.standard_normal(4).astype(np.float32), rng.permutation(16)[:5], torch.ones(4))
        assert torch.equal(g(*args), f(*args))
    assert g.stats.graph_calls >= 5 and g.stats.graphs_built == 1, janus.explain(g)


def test_numpy_arithmetic_on_an_outside_array_is_never_baked_into_a_graph():
    buf = np.zeros(4, np.float32)

    def f(x):
        return torch.from_numpy(buf * 2.0) + x

    g = janus.jit(f)
    for i in range(8):
        buf[...] = i
        assert torch.equal(g(torch.ones(4)), f(torch.ones(4)))


def test_a_failed_speculation_after_a_random_draw_does_not_draw_twice():
    # the graph drew randn, then its speculated branch failed: the call re-ran eagerly and
    # drew again, so every later random number differed from eager's
    def f(x):
        y = x * 2
        if y.sum() > 0:
            return y + torch.randn(3)
        return y - torch.randn(3)

    xs = [torch.full((3,), float(i) - 3) for i in range(8)]  # the branch flips at call 4
    torch.manual_seed(0)
    want = [f(x) for x in xs] + [torch.rand(2)]
    g = janus.jit(f)
    torch.manual_seed(0)
    got = [g(x) for x in xs] + [torch.rand(2)]
    assert all(torch.equal(a, b) for a, b in zip(want, got))
    assert g.stats.assumption_failures >= 1 and g.stats.graph_calls >= 4, janus.explain(g)


def _adam_step_with_scheduler():
    torch.manual_seed(1)
    m = torch.nn.Linear(4, 4)
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)

    def f(x):
        opt.zero_grad()
        loss = m(x).pow(2).mean()
        loss.backward()
        opt.step()
        sched.step()
        return loss.detach(), opt.param_groups[0]["lr"]

    return f, m


def _trains_like_eager(build, calls=8):
    """Run the training step `build()` makes eagerly and under janus.jit on the same inputs:
    every result and every trained tensor must be equal; returns the jitted step."""
    f, trained_e = build()
    f2, trained_j = build()
    g = janus.jit(f2)
    tensors = lambda t: list(t.parameters()) if isinstance(t, torch.nn.Module) else [t]
    for i in range(calls):
        x = torch.full((2, 4), float(i % 5) - 2) / 3
        want, got = f(x), g(x)
        want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
        assert all(torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b for a, b in zip(want, got)), i
        assert all(torch.equal(a, b) for a, b in zip(tensors(trained_e), tensors(trained_j))), i
    return g


def test_an_optimizer_step_wrapped_by_an_lr_scheduler_runs_in_the_graph():
    # the scheduler replaces `opt.step` by a plain wrapper function: it was taken for a pure
    # framework call, run once while converting and dropped from the graph, so the graph
    # calls never updated the weights
    g = _trains_like_eager(_adam_step_with_scheduler)
    assert g.stats.graph_calls >= 4, janus.explain(g)


def _sgd_with_lr_decay(with_scheduler):
    torch.manual_seed(1)
    m = torch.nn.Linear(4, 4)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    if with_scheduler:  # wraps opt.step
        torch.optim.lr_scheduler.StepLR(opt, 100)

    def f(x):
        for group in opt.param_groups:
            group["lr"] = group["lr"] * 0.9  # read by the step below
        opt.zero_grad()
        loss = m(x).pow(2).mean()
        loss.backward()
        opt.step()
        return loss.detach()

    return f, m


@pytest.mark.parametrize("with_scheduler", [False, True])
def test_an_optimizer_setting_written_before_the_step_is_the_one_it_uses(with_scheduler):
    # the lr write was a deferred effect committed after the graph's step: one step late
    _trains_like_eager(lambda: _sgd_with_lr_decay(with_scheduler))


def _functional_sgd_step():
    from torch.optim import _functional as optim_functional

    torch.manual_seed(1)
    w = torch.randn(4, 4, requires_grad=True)

    def f(x):
        loss = (x @ w).pow(2).mean()
        (grad,) = torch.autograd.grad(loss, [w])
        with torch.no_grad():
            optim_functional.sgd(
                [w],
                [grad],
                [None],
                weight_decay=0.0,
                momentum=0.0,
                lr=0.1,
                dampening=0.0,
                nesterov=False,
                maximize=False,
            )
        return loss.detach()

    return f, w


def test_optimizer_code_that_is_not_a_known_update_runs_on_the_host():
    # torch.optim's functional sgd updates `w` in place and returns None: taken for a pure
    # call, it ran once while converting and was dropped from the graph (silent)
    g = _trains_like_eager(_functional_sgd_step)
    assert g.stats.graph_calls >= 4, janus.explain(g)

"""Compile modes: fx, inductor (synchronous), tiered (background switch), default;
and the lowering of cond/while/assert on hand-built IR."""

import operator

import pytest
import torch
from conftest import assert_same, executables, jit

import janus
from janus.errors import AssumptionFailed
from janus.ir.graph import Graph, Node, Region
from janus.ir.spec import PySpec, TensorSpec
from janus_torch import executable as executable_module
from janus_torch import tier_trial
from janus_torch.executable import TorchExecutable, compile_inductor

W = torch.randn(8, 8) * 0.3


def step(x, lr):
    h = torch.tanh(x @ W)
    return h - lr * h.sum(), lr * 2.0


def unrolled(x):
    for _ in range(40):
        x = torch.tanh(x @ W) + 0.1
    return x


def calls(n):
    return [(torch.randn(4, 8), 0.01 * (i + 1)) for i in range(n)]


#: calls of a freshly compiled tiered graph until its fx-vs-inductor trial decides
TRIAL = 2 * tier_trial.SAMPLES


@pytest.fixture
def inductor_wins(monkeypatch):
    """The tier trial keeps Inductor whatever the timings (tests of the switch itself)."""
    monkeypatch.setattr(tier_trial, "MARGIN", float("inf"))


def run_all(g, fn, argsets):
    for args in argsets:
        assert_same(fn(*args), g(*args))


def test_fx_mode():
    g = jit(step, compile_mode="fx")
    run_all(g, step, calls(5))
    assert g.stats.graph_calls == 3
    assert executables(g)[0].describe() == "torch fx"


def test_inductor_mode_compiles_before_first_graph_call():
    g = jit(step, compile_mode="inductor")
    run_all(g, step, calls(3))
    ex = executables(g)[0]
    assert ex.describe() == "torch inductor", ex.failure
    run_all(g, step, calls(6))  # a new lr each call: no new graph, Python result exact
    assert g.stats.graph_calls == 7 and g.stats.graphs_built == 1


#: calls until a tiered specialization is hot: the profiled ones, then HOT_CALLS graph calls
HOT = 2 + executable_module.HOT_CALLS


def test_tiered_mode_switches_after_background_compile(inductor_wins):
    g = jit(step, compile_mode="tiered")
    run_all(g, step, calls(HOT))
    ex = executables(g)[0]
    assert ex.status in ("compiling", "trial")
    assert ex.wait_compiled(timeout=300)
    assert ex.describe() == "torch inductor (timing fx against inductor on real calls)", ex.failure
    run_all(g, step, calls(TRIAL))  # the trial: fx and inductor alternate, results exact
    assert ex.describe().startswith("torch inductor (faster than fx: fx "), ex.describe()
    run_all(g, step, calls(5))
    assert g.stats.graph_calls == HOT - 2 + TRIAL + 5 and g.stats.graphs_built == 1


def test_tier_trial_keeps_the_faster_tier():
    import time

    decided = []
    slow = lambda x: time.sleep(0.002) or x
    fast = lambda x: x
    trial = tier_trial.TierTrial(fast, slow, lambda tier, why: decided.append(tier))
    assert [trial(i) for i in range(TRIAL)] == list(range(TRIAL))
    assert decided == ["fx"] and "fx " in trial.why
    trial = tier_trial.TierTrial(slow, fast, lambda tier, why: decided.append(tier))
    [trial(i) for i in range(TRIAL)]
    assert decided == ["fx", "inductor"]


def test_a_specialization_served_once_never_compiles():
    # a rare shape (a rollout's last, short episode) costs no background compile
    g = jit(step, compile_mode="tiered")
    run_all(g, step, calls(HOT - 1))
    ex = executables(g)[0]
    assert ex.status == "fx" and not ex.wait_compiled(timeout=0.1)
    assert ex.describe() == f"torch fx (inductor after {executable_module.HOT_CALLS} calls)"


def test_tiered_mode_relaxed_batch_dim(inductor_wins):
    g = jit(lambda_free_relaxed, compile_mode="tiered")
    argsets = [(torch.randn(b, 8),) for b in [4, 4, 4, 6, 9, 9, 3]]
    run_all(g, lambda_free_relaxed, argsets)
    for ex in executables(g):
        assert ex.wait_compiled(timeout=300) or ex.status == "fx"  # hot ones compiled
    run_all(g, lambda_free_relaxed, [(torch.randn(b, 8),) for b in [5, 7, 12] * (TRIAL // 3 + 1)])
    assert any(ex.describe().startswith("torch inductor (faster") for ex in executables(g))
    assert g.stats.graph_calls >= 5


def lambda_free_relaxed(x):
    return torch.relu(x @ W).mean(0)


def test_failed_background_compile_keeps_fx(monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(executable_module, "compile_inductor", broken)
    g = jit(step, compile_mode="tiered")
    run_all(g, step, calls(HOT))
    ex = executables(g)[0]
    assert ex.wait_compiled(timeout=60)
    assert ex.describe().startswith("torch fx (inductor failed: RuntimeError: no compiler today")
    run_all(g, step, calls(3))
    assert g.stats.graph_calls == HOT - 2 + 3


def test_tier_changes_are_logged(monkeypatch, caplog):
    from janus import logs

    def broken(*a, **k):
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(executable_module, "compile_inductor", broken)
    monkeypatch.setattr(logs, "TIERS", True)
    g = jit(step, compile_mode="tiered")
    with caplog.at_level("INFO", logger="janus"):
        run_all(g, step, calls(HOT))
        assert executables(g)[0].wait_compiled(timeout=60)
    tiers = [r for r in caplog.records if r.name == "janus.tiers"]
    assert len(tiers) == 1, [r.getMessage() for r in caplog.records]
    assert "(tiered mode): stays on fx: inductor RuntimeError: no compiler today" in tiers[0].getMessage()
    assert tiers[0].janus["status"] == "failed" and tiers[0].janus["mode"] == "tiered"


def test_random_graph_stays_on_fx_in_tiered_mode():
    def f(x):
        return torch.nn.functional.dropout(x, 0.5, True) * 2.0

    g = jit(f, compile_mode="tiered")
    for i in range(4):
        x = torch.ones(16)
        torch.manual_seed(i)
        want = f(x)
        torch.manual_seed(i)
        assert_same(want, g(x))
    assert g.stats.graph_calls == 2
    assert "inductor skipped" in executables(g)[0].describe()


def test_default_mode_small_graph_fx_large_graph_tiered(inductor_wins):
    small = jit(step)
    run_all(small, step, calls(3))
    assert executables(small)[0].describe() == "torch fx"
    large = jit(unrolled)
    x = torch.randn(2, 8)
    for _ in range(HOT):
        assert_same(unrolled(x), large(x))
    ex = executables(large)[0]
    assert ex.mode == "tiered"
    assert ex.wait_compiled(timeout=300) and ex.status == "trial", ex.failure
    for _ in range(TRIAL):
        assert_same(unrolled(x), large(x))
    assert ex.describe().startswith("torch inductor (faster than fx"), ex.describe()
    assert large.stats.graph_calls == HOT - 2 + TRIAL


# -- hand-built IR -------------------------------------------------------------------------
def _cond_graph():
    g = Graph("cond_test")
    x = g.add(Node("input", "arg x")).add_output(TensorSpec("float32", (3,)), "x")
    s = g.add(Node("call", torch.sum, (x,))).add_output(TensorSpec("float32", ()))
    pred = g.add(Node("call", operator.gt, (s, 0))).add_output(TensorSpec("bool", ()))
    then_r, else_r = Region(), Region()
    for region, fn, const in ((then_r, operator.mul, 2.0), (else_r, operator.sub, 100.0)):
        p = region.params
        from janus.ir.graph import Value

        param = Value(TensorSpec("float32", (3,)))
        p.append(param)
        y = region.add(Node("call", fn, (param, const))).add_output(TensorSpec("float32", (3,)))
        z = region.add(Node("call", operator.add, (y, s))).add_output(TensorSpec("float32", (3,)))  # reads outer %s
        region.add(Node("output", None, (z,)))
    c = g.add(Node("cond", None, (pred, x), regions=[then_r, else_r])).add_output(TensorSpec("float32", (3,)))
    g.add(Node("output", None, (c,)))
    return g


def _cond_eager(x):
    s = x.sum()
    return (x * 2.0 if s > 0 else x - 100.0) + s


def _while_graph():
    from janus.ir.graph import Value

    g = Graph("while_test")
    x = g.add(Node("input", "arg x")).add_output(TensorSpec("float32", (2,)), "x")
    limit = g.add(Node("input", "arg limit")).add_output(TensorSpec("float32", ()), "limit")
    cond_r, body_r = Region(), Region()
    cp = Value(TensorSpec("float32", (2,)))
    cond_r.params.append(cp)
    s = cond_r.add(Node("call", torch.sum, (cp,))).add_output(TensorSpec("float32", ()))
    lt = cond_r.add(Node("call", operator.lt, (s, limit))).add_output(TensorSpec("bool", ()))
    cond_r.add(Node("output", None, (lt,)))
    bp = Value(TensorSpec("float32", (2,)))
    body_r.params.append(bp)
    nxt = body_r.add(Node("call", operator.mul, (bp, 1.5))).add_output(TensorSpec("float32", (2,)))
    body_r.add(Node("output", None, (nxt,)))
    w = g.add(Node("while", None, (x,), regions=[cond_r, body_r])).add_output(TensorSpec("float32", (2,)))
    g.add(Node("output", None, (w,)))
    return g


def _while_eager(x, limit):
    while x.sum() < limit:
        x = x * 1.5
    return x


@pytest.mark.parametrize("mode", ["fx", "inductor"])
def test_cond_lowering(mode):
    ex = TorchExecutable(_cond_graph(), janus.Config(compile_mode=mode))
    for x in [torch.ones(3), -torch.ones(3), torch.tensor([1.0, -5.0, 2.0])]:
        (got,) = ex.run([x])
        assert_same(_cond_eager(x), got)
    assert ex.describe() == ("torch fx" if mode == "fx" else "torch inductor"), ex.failure


@pytest.mark.parametrize("mode", ["fx", "inductor"])
def test_while_lowering(mode):
    ex = TorchExecutable(_while_graph(), janus.Config(compile_mode=mode))
    for x, limit in [(torch.ones(2), 10.0), (torch.ones(2) * 3, 1.0), (torch.ones(2) * 0.1, 50.0)]:
        (got,) = ex.run([x, torch.tensor(limit)])
        assert_same(_while_eager(x, torch.tensor(limit)), got)
    assert ex.describe() in ("torch fx", "torch inductor")
    if mode == "inductor":
        assert ex.status in ("inductor", "failed")  # while_loop support varies by torch version


def test_asserts_checked_once_after_the_run():
    g = Graph("asserts")
    x = g.add(Node("input", "arg x")).add_output(TensorSpec("float32", (2,)), "x")
    preds = []
    for threshold in (0.0, 10.0):
        s = g.add(Node("call", torch.sum, (x,))).add_output(TensorSpec("float32", ()))
        preds.append(g.add(Node("call", operator.gt, (s, threshold))).add_output(TensorSpec("bool", ())))
    g.add(Node("assert", "site A", (preds[0],), {"expect": True}))
    g.add(Node("assert", "site B", (preds[1],), {"expect": False}))
    y = g.add(Node("call", operator.mul, (x, 2.0))).add_output(TensorSpec("float32", (2,)))
    g.add(Node("output", None, (y,)))
    ex = TorchExecutable(g, janus.Config(compile_mode="fx"))
    assert_same(list(ex.run([torch.ones(2)])), [torch.ones(2) * 2])
    with pytest.raises(AssumptionFailed) as e:
        ex.run([-torch.ones(2)])
    assert e.value.site == "site A"
    with pytest.raises(AssumptionFailed) as e:
        ex.run([torch.ones(2) * 8])
    assert e.value.site == "site B"


def test_invoke_is_not_an_opcode():
    # the IR has no graph-function call: a node that claims one is refused when built
    with pytest.raises(ValueError, match="unknown IR opcode 'invoke'"):
        Node("invoke", Graph("callee"), ())


def test_python_scalar_input_and_output_under_inductor():
    g = Graph("scalars")
    x = g.add(Node("input", "arg x")).add_output(TensorSpec("float32", (2,)), "x")
    lr = g.add(Node("input", "arg lr")).add_output(PySpec(float), "lr")
    y = g.add(Node("call", operator.mul, (x, lr))).add_output(TensorSpec("float32", (2,)))
    d = g.add(Node("call", operator.mul, (lr, 2.0))).add_output(PySpec(float))
    g.add(Node("output", None, (y, d)))
    ex = TorchExecutable(g, janus.Config(compile_mode="inductor"))
    for lr_value in (0.5, 0.25, 3.0):
        y_got, d_got = ex.run([torch.ones(2), lr_value])
        assert_same(torch.ones(2) * lr_value, y_got)
        assert d_got == lr_value * 2.0
    assert ex.describe() == "torch inductor", ex.failure
    assert compile_inductor is executable_module.compile_inductor


W_BRANCHY = torch.randn(8, 8, generator=torch.Generator().manual_seed(2)) * 0.3


def branchy(x):
    for _ in range(3):
        x = torch.tanh(x @ W_BRANCHY)
        if x.sum() > 0:
            x = x * 2
        else:
            x = x - 1
    return x


def _fx_code(g):
    return executables(g)[0].lowered.module.code


@pytest.mark.parametrize("mode", ["fx", "inductor"])
def test_pointwise_branches_become_where_and_match_eager(mode):
    # both directions seen in the profile -> a cond; its branches are pure pointwise
    # arithmetic, so it lowers straight-line (no host read of the predicate)
    gen = torch.Generator().manual_seed(3)  # fixed data: both directions in the profile
    xs = [torch.randn(4, 8, generator=gen) * s for s in (1, -1, 1, -1, 3, -3, 1, -1)]
    g = jit(branchy, compile_mode=mode)
    run_all(g, branchy, [(x,) for x in xs])
    assert g.stats.graphs_built == 1 and g.stats.graph_calls >= 5, janus.explain(g)
    code = _fx_code(g)
    assert "torch.where" in code and "janus_control" not in code and "run_cond" not in code
    assert not executables(g)[0].lowered.has_control_flow


def test_branches_are_not_merged_when_autograd_sees_them():
    # where's gradient would reach the untaken branch (0 * inf = nan): keep the real cond
    w = (torch.randn(8, 8, generator=torch.Generator().manual_seed(5)) * 0.3).requires_grad_()

    def f(x):
        h = torch.tanh(x @ w)
        if h.sum() > 0:
            h = h / x.sum()
        else:
            h = h * 2
        return h

    gen = torch.Generator().manual_seed(4)
    xs = [torch.randn(4, 8, generator=gen) * s for s in (1, -1, 1, -1, 1, -1, 1, -1)]
    g = jit(f, compile_mode="fx")
    for x in xs:
        a, b = f(x), g(x)
        assert_same(a, b)
        (ga,) = torch.autograd.grad(a.sum(), w)
        (gb,) = torch.autograd.grad(b.sum(), w)
        assert_same(ga, gb)
    assert g.stats.graph_calls >= 2, janus.explain(g)
    assert "torch.where" not in _fx_code(g)

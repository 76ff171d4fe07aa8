"""The backend object on its own: plugin registration, specs, guards, classification."""

import operator
import random
import subprocess
import sys

import numpy as np
import torch

import janus
from janus.ir.spec import PySpec, TensorSpec
from janus_torch.backend import TorchBackend

B = TorchBackend()


def test_registered_through_entry_point():
    assert "torch" in janus.backends()
    from janus.plugin import plugins

    assert isinstance(plugins.get("torch"), TorchBackend)
    assert plugins.claim(torch.ones(1)) == "torch"
    assert plugins.claim(np.ones(1)) != "torch"


def test_plugin_module_does_not_import_torch():
    code = (
        "import sys, janus_torch.plugin, janus; names = janus.backends(); "
        "assert 'torch' in names, names; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_spec_of_tensor_and_parameter():
    x = torch.zeros(2, 3, dtype=torch.float64)
    assert B.spec_of(x) == TensorSpec("float64", (2, 3), "cpu", False)
    p = torch.nn.Parameter(torch.zeros(4))
    assert B.spec_of(p) == TensorSpec("float32", (4,), "cpu", True)
    assert B.owns(p) and B.owns(x) and not B.owns(np.zeros(2)) and not B.owns(1.0)


def _guard(spec):
    names = {}

    def bind(obj):
        name = f"k{len(names)}"
        names[name] = obj
        return name

    src = B.guard_source("x", spec, bind)
    code = compile(f"lambda x: {src}", "<guard>", "eval")
    return eval(code, names), src


def test_guard_source_exact_spec():
    check, src = _guard(TensorSpec("float32", (2, 3), "cpu", False))
    assert check(torch.zeros(2, 3))
    assert not check(torch.zeros(3, 2))
    assert not check(torch.zeros(2, 3, dtype=torch.float64))
    assert not check(torch.zeros(2, 3, requires_grad=True))
    assert not check(torch.zeros(2, 3, device="meta"))
    assert "spec_of" not in src  # inline checks, no call back into Python


def test_guard_source_relaxed_dims_and_parameters():
    check, _ = _guard(TensorSpec("float32", (None, 4), "cpu", True))
    assert check(torch.nn.Parameter(torch.zeros(7, 4)))
    assert check(torch.zeros(1, 4, requires_grad=True))
    assert check(torch.zeros(0, 4, requires_grad=True))
    assert not check(torch.zeros(7, 5, requires_grad=True))
    assert not check(torch.zeros(7, 4, 1, requires_grad=True))
    assert not check(torch.zeros(7, 4))  # requires_grad differs
    check0, _ = _guard(TensorSpec("int64", (), "cpu", False))
    assert check0(torch.tensor(3)) and not check0(torch.tensor([3]))


def test_guard_source_matches_spec_of():
    for t in [
        torch.zeros(3),
        torch.ones(2, 2, dtype=torch.int32),
        torch.nn.Parameter(torch.ones(1)),
        torch.zeros((), dtype=torch.bool),
    ]:
        check, _ = _guard(B.spec_of(t))
        assert check(t)


def test_is_mutating():
    x = torch.zeros(2)
    assert B.is_mutating(x.add_, [x, 1], {})
    assert B.is_mutating(torch.Tensor.copy_, [x, x], {})
    assert B.is_mutating(torch.Tensor.__setitem__, [x, 0, 1.0], {})
    assert B.is_mutating(operator.setitem, [x, 0, 1.0], {})
    assert B.is_mutating(torch.add, [x, x], {"out": x})
    assert B.is_mutating(torch.nn.functional.relu, [x], {"inplace": True})
    # backward() is not a write JANUS refuses: it is an impure node run in the graph, in order
    assert B.is_mutating(x.backward, [x], {}) is None and B.is_impure(x.backward, [x], {})
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    assert B.is_impure(opt.step, [], {}) and B.is_impure(type(opt).step, [opt], {})
    assert not B.is_impure(torch.tanh, [x], {})
    assert B.is_mutating(torch.manual_seed, [0], {})
    assert B.is_mutating(torch.nn.BatchNorm1d(2), [x], {})  # a torch module with buffers it may update
    assert B.is_mutating(torch.nn.LSTM(2, 2), [x], {})  # not inlined: see modules.inline_target
    for pure in [
        torch.add,
        torch.tanh,
        x.add,
        torch.nn.functional.relu,
        operator.add,
        torch.Tensor.__add__,
        torch.Tensor.__getitem__,
    ]:
        assert B.is_mutating(pure, [x, x], {}) is None, pure


def test_is_random():
    for fn in [
        torch.rand,
        torch.randn,
        torch.randn_like,
        torch.randint,
        torch.bernoulli,
        torch.multinomial,
        torch.normal,
        torch.nn.functional.dropout,
        torch.randperm,
        "uniform_",
        "normal_",
        "bernoulli",
    ]:
        assert B.is_random(fn), fn
    for fn in [torch.tanh, torch.add, operator.mul, "sum"]:
        assert not B.is_random(fn), fn


def test_preserve_state_restores_every_rng():
    with B.preserve_state():
        torch.rand(3), random.random(), np.random.rand()
    a = (torch.rand(3), random.random(), np.random.rand())
    state = (torch.get_rng_state(), random.getstate(), np.random.get_state())
    torch.set_rng_state(state[0]), random.setstate(state[1]), np.random.set_state(state[2])
    with B.preserve_state():
        torch.rand(5), random.random(), np.random.rand()
    b = (torch.rand(3), random.random(), np.random.rand())
    torch.set_rng_state(state[0]), random.setstate(state[1]), np.random.set_state(state[2])
    c = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(b[0], c[0]) and b[1:] == c[1:]
    assert not torch.equal(a[0], torch.zeros(3))


def test_to_python():
    assert B.to_python(torch.tensor(2.5), PySpec(float)) == 2.5
    assert type(B.to_python(torch.tensor(3), PySpec(int))) is int
    assert B.to_python(torch.tensor(True), PySpec(bool)) is True
    assert B.to_python(4, PySpec(float)) == 4.0 and type(B.to_python(4, PySpec(float))) is float


def test_inline_target():
    lin = torch.nn.Linear(2, 3)
    assert B.inline_target(lin) is not None
    assert B.inline_target(torch.tanh) is None
    from janus_torch.modules import call_whole

    # not in the table, no buffers, no children: called whole (behind a no-hooks guard)
    assert B.inline_target(torch.nn.LSTM(2, 2)).__func__ is call_whole
    assert B.inline_target(torch.nn.InstanceNorm1d(2, track_running_stats=True)) is None  # buffers it may update
    assert B.inline_target(torch.nn.AlphaDropout(0.1)) is None  # random
    handle = lin.register_forward_hook(lambda m, i, o: None)
    assert B.inline_target(lin) is None
    handle.remove()
    assert B.inline_target(lin) is not None

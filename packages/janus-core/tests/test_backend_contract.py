"""The backend contract's safe defaults, seen from a third-party backend that implements
only the required core (`janus.Backend`): unknown in-place calls fall back instead of
being assumed pure, graph names are identifiers, every type a backend needs is exported,
and a backend whose executable keeps failing is retired."""

import numpy as np
import pytest

import janus
from janus.backend import ConversionRules, rules_of
from janus.plugin import plugins


class InterpretedExecutable(janus.Executable):
    def __init__(self, graph):
        self.interpreter = janus.Interpreter(graph)

    def run(self, inputs):
        return self.interpreter.run(inputs)


class MinimalBackend(janus.Backend):
    """The required core only: no ConversionRules, no ScheduleOps."""

    tensor_types = (np.ndarray, np.generic)
    framework_modules = ("numpy",)
    graph_names = []

    def spec_of(self, value):
        return janus.TensorSpec(str(value.dtype), tuple(value.shape), "cpu")

    def compile(self, graph, config):
        MinimalBackend.graph_names.append(graph.name)
        return InterpretedExecutable(graph)


class FailingExecutable(janus.Executable):
    runs = 0

    def run(self, inputs):
        FailingExecutable.runs += 1
        raise RuntimeError("device lost")


class FailingBackend(MinimalBackend):
    def compile(self, graph, config):
        return FailingExecutable()


class _Plugin:
    @janus.hookimpl
    def janus_register_backends(self, register):
        register("minimal", MinimalBackend)
        register("failing", FailingBackend)


@pytest.fixture(autouse=True, scope="module")
def minimal_backends():
    plugin = _Plugin()
    plugins.register(plugin, name="contract-test-backends")
    yield
    plugins.unregister(plugin)


def _writes_out_keyword(v, g):
    np.subtract(v, g, out=v)
    return v.sum()


def _writes_out_by_position(v, g):
    np.clip(v, 0.0, 1.0, v)
    return v + g


def _ufunc_out_by_position(v, g):
    np.negative(v, v)
    return v * g


def _copyto(v, g):
    np.copyto(v, g * 2.0)
    return v * 1.0


def _fill_method(v, g):
    v.fill(3.0)
    return v + g


def _augmented_assignment(v, g):
    v -= g
    return v * 1.0


def _item_assignment(v, g):
    v[0] = 5.0
    return v + g


def _ufunc_at(v, g):
    np.add.at(v, [0, 0], 1.0)
    return v + g


IN_PLACE_PROGRAMS = [
    _writes_out_keyword,
    _writes_out_by_position,
    _ufunc_out_by_position,
    _copyto,
    _fill_method,
    _augmented_assignment,
    _item_assignment,
    _ufunc_at,
]


@pytest.mark.parametrize("fn", IN_PLACE_PROGRAMS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("islands", [True, False])
def test_in_place_writes_match_eager_on_a_backend_without_conversion_rules(fn, islands):
    # with islands the write runs on the host between graph segments; without, the call falls back
    if "islands" in janus.Config.model_fields:
        config = janus.Config(islands=islands)
    elif islands:
        pytest.skip("this JANUS has no Config.islands")
    else:
        config = janus.Config()
    g = janus.jit(fn, backend="minimal", config=config)
    for i in range(6):
        ref_args = (np.arange(3, dtype=np.float32) - i, np.ones(3, np.float32))
        jit_args = tuple(a.copy() for a in ref_args)
        want, got = fn(*ref_args), g(*jit_args)
        np.testing.assert_array_equal(got, want)
        for a, b in zip(jit_args, ref_args):
            np.testing.assert_array_equal(a, b)  # the argument was written as eager wrote it


class _Tensor:
    def add_(self, other):
        return self


def test_default_rules_call_unknown_writers_mutating():
    rules = rules_of(MinimalBackend())
    v = np.zeros(3)
    assert rules.is_mutating(np.subtract, [v, v], {"out": v})
    assert rules.is_mutating(np.clip, [v, 0, 1, v], {})  # out by position
    assert rules.is_mutating(np.add, [v, v, v], {})
    assert rules.is_mutating(_Tensor().add_, [1], {})  # named like an in-place method
    assert rules.is_mutating(np.copyto, [v, v], {}) and rules.is_mutating(v.sort, [], {})
    assert not rules.is_mutating(np.clip, [v, 0, 1], {}) and not rules.is_mutating(np.add, [v, v], {})
    with pytest.raises(janus.Unsupported, match="implements no ConversionRules.assign"):
        rules.check_inplace(v)


def test_a_backend_with_assign_may_write_in_place():
    class Writes(ConversionRules):
        def assign(self, target, value):
            target[...] = value

    Writes().check_inplace(np.zeros(2))  # no error


def test_graph_names_are_identifiers():
    class Model:
        def step(self, x):
            def inner(y):
                return y * 2.0

            return inner(x) + 1.0

    g = janus.jit(Model().step, backend="minimal")
    h = janus.jit(lambda x: x - 1.0, backend="minimal")
    for _ in range(3):
        g(np.ones(2))
        h(np.ones(2))
    names = MinimalBackend.graph_names[-2:]
    assert len(names) == 2 and all(n.isidentifier() for n in names), names


def test_a_backend_whose_executable_keeps_failing_is_retired():
    log = []

    def f(x):
        log.append(1)
        return np.tanh(x) * 2.0

    g = janus.jit(f, backend="failing")
    for _ in range(10):
        np.testing.assert_allclose(g(np.ones(3)), np.tanh(np.ones(3)) * 2.0)
    assert len(log) == 10  # every call ran exactly once (eagerly)
    assert FailingExecutable.runs <= 2  # two broken graphs, then the function stays imperative
    assert g.stats.graph_calls == 0 and g.stats.imperative_calls == 10
    text = janus.explain(g)
    assert "RuntimeError: device lost" in text and "retired" in text


def test_under_fallback_raise_a_failing_executable_is_an_error():
    g = janus.jit(lambda x: x + 1.0, backend="failing", config=janus.Config(fallback="raise"))
    g(np.ones(2))
    g(np.ones(2))
    with pytest.raises(janus.JanusError, match="device lost.*retired"):
        g(np.ones(2))


def test_every_type_a_backend_needs_is_exported():
    for name in (
        "Backend",
        "ConversionRules",
        "ScheduleOps",
        "Capabilities",
        "Executable",
        "TensorSpec",
        "PySpec",
        "Graph",
        "Region",
        "Node",
        "Value",
        "OPCODES",
        "Interpreter",
        "HostRows",
        "AssumptionFailed",
        "EffectsApplied",
        "BackendNotFound",
        "PluginWarning",
        "BackendRegistrar",
        "hookimpl",
    ):
        assert name in janus.__all__ and getattr(janus, name) is not None, name

"""Plugins are isolated: a broken plugin (import error, raising hook, raising factory) is
skipped with one warning naming its distribution, and every other backend keeps working;
built-in backends win name and ownership conflicts unless a plugin is selected by name."""

import textwrap
import warnings

import numpy as np
import pytest

import janus
from janus.plugin import plugins

NUMPY_BACKEND = """
from janus.reference.backend import ReferenceBackend

class Backend(ReferenceBackend):
    compiled = 0

    def compile(self, graph, config):
        Backend.compiled += 1
        return super().compile(graph, config)
"""


@pytest.fixture
def install(tmp_path, monkeypatch):
    """install(dist, {module: source}, {entry point name: module}): a distribution on sys.path."""

    def make(dist, modules, entry_points):
        for name, source in modules.items():
            (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{dist.replace('-', '_')}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
        (info / "entry_points.txt").write_text("[janus]\n" + lines)
        monkeypatch.syspath_prepend(str(tmp_path))
        plugins.reload()

    yield make
    monkeypatch.undo()
    plugins.reload()


def _plugin(name, factory_body, claims="None"):
    return f"""
        from janus import hookimpl

        @hookimpl
        def janus_register_backends(register):
            def factory():
                {factory_body}
            register({name!r}, factory, claims={claims})
    """


def _plugin_warnings(record):
    return [str(w.message) for w in record if issubclass(w.category, janus.PluginWarning)]


def _reference_still_works():
    f = janus.jit(lambda x: np.tanh(x) * 2.0)
    for _ in range(4):
        np.testing.assert_allclose(f(np.ones(3)), np.tanh(np.ones(3)) * 2.0)
    assert f.stats.graph_calls == 2
    g = janus.jit(lambda x: x + 1.0, backend="reference")
    assert g(np.zeros(2)).tolist() == [1.0, 1.0]


def test_a_plugin_that_fails_to_import_is_skipped_with_one_warning(install):
    install(
        "janus-broken-import",
        {"broken_import_plugin": "raise RuntimeError('boom at import')"},
        {"bad": "broken_import_plugin"},
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert janus.backends()[0] == "reference" and "bad" not in janus.backends()
        _reference_still_works()
    messages = _plugin_warnings(record)
    assert len(messages) == 1, messages
    assert "janus-broken-import" in messages[0] and "RuntimeError: boom at import" in messages[0]


def test_a_plugin_whose_hook_raises_is_skipped_and_the_others_load(install):
    install(
        "janus-two-plugins",
        {
            "raising_hook_plugin": """
                from janus import hookimpl

                @hookimpl
                def janus_register_backends(register):
                    register("half", lambda: None)  # dropped with the rest of this plugin
                    raise KeyError("no config")
            """,
            "good_plugin": _plugin("good", "import good_backend; return good_backend.Backend()"),
            "good_backend": NUMPY_BACKEND,
        },
        {"raising": "raising_hook_plugin", "good": "good_plugin"},
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        names = janus.backends()
        _reference_still_works()
    assert "good" in names and "half" not in names
    messages = _plugin_warnings(record)
    assert len(messages) == 1 and "janus-two-plugins" in messages[0] and "KeyError" in messages[0], messages
    g = janus.jit(lambda x: x * 3.0, backend="good")
    for _ in range(3):
        assert g(np.ones(2)).tolist() == [3.0, 3.0]
    assert g.stats.graph_calls == 1


def test_a_factory_import_error_is_backend_not_found_naming_the_distribution(install):
    install(
        "janus-needs-jax",
        {"needs_jax_plugin": _plugin("jaxish", "import jax_that_is_not_installed")},
        {"jaxish": "needs_jax_plugin"},
    )
    assert "jaxish" in janus.backends()  # factories are lazy: listed until tried
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(2):
            with pytest.raises(janus.BackendNotFound) as e:
                janus.jit(lambda x: x, backend="jaxish")
            assert "janus-needs-jax" in str(e.value) and "jax_that_is_not_installed" in str(e.value)
            assert isinstance(e.value.__cause__.__cause__, ImportError)
        _reference_still_works()
    assert len(_plugin_warnings(record)) == 1
    assert "jaxish" not in janus.backends()


@pytest.mark.parametrize(
    "declared, problem",
    [
        ("tensor_types = (int,)", r"declares no framework_modules.*framework_modules = \('numpy',\)"),
        ("framework_modules = ('numpy',)", r"declares no tensor_types.*set `tensor_types` to its tensor classes"),
        ("", r"declares no tensor_types"),
    ],
)
def test_a_factory_returning_something_unusable_says_what_to_change(install, declared, problem):
    suffix = str(abs(hash(declared)))  # fresh module names: each case imports its own
    module, plugin = "half_done_backend_" + suffix, "half_done_plugin_" + suffix
    install(
        "janus-half-done",
        {
            plugin: _plugin("halfdone", f"import {module}; return {module}.Backend()"),
            module: f"""
                from janus import Backend, Executable

                class Backend(Backend):
                    {declared}

                    def spec_of(self, value): ...
                    def compile(self, graph, config): ...
            """,
        },
        {"halfdone": plugin},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", janus.PluginWarning)
        with pytest.raises(janus.BackendNotFound, match=problem):
            janus.jit(lambda x: x, backend="halfdone")


def test_a_factory_returning_no_backend_says_so(install):
    install("janus-not-a-backend", {"nab_plugin": _plugin("nab", "return object()")}, {"nab": "nab_plugin"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", janus.PluginWarning)
        with pytest.raises(janus.BackendNotFound, match="returned object, not an instance of a janus.Backend subclass"):
            janus.jit(lambda x: x, backend="nab")


def test_a_plugin_claiming_numpy_does_not_take_it_from_reference(install):
    install(
        "janus-numpy-greedy",
        {
            "greedy_plugin": _plugin(
                "greedy", "import greedy_backend; return greedy_backend.Backend()", claims="lambda v: True"
            ),
            "greedy_backend": NUMPY_BACKEND,
        },
        {"greedy": "greedy_plugin"},
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        f = janus.jit(lambda x: x * 2.0)
        for _ in range(4):
            f(np.ones(3))
    assert plugins.claim(np.ones(3)) == "reference"
    assert "backend=reference" in janus.explain(f)
    messages = _plugin_warnings(record)
    assert len(messages) == 1 and "'greedy'" in messages[0] and "numpy.ndarray" in messages[0], messages
    assert "backend='greedy'" in messages[0]  # how to select it
    import greedy_backend

    before = greedy_backend.Backend.compiled
    g = janus.jit(lambda x: x * 2.0, backend="greedy")  # selected by name: it gets them
    for _ in range(4):
        g(np.ones(3))
    assert g.stats.graph_calls == 2 and greedy_backend.Backend.compiled == before + 1


def test_a_plugin_named_like_a_builtin_does_not_replace_it(install):
    install(
        "janus-impostor",
        {
            "impostor_plugin": _plugin("reference", "import impostor_backend; return impostor_backend.Backend()"),
            "impostor_backend": NUMPY_BACKEND,
        },
        {"reference": "impostor_plugin", "impostor": "impostor_plugin"},
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert janus.backends().count("reference") == 1
        from janus.reference.backend import ReferenceBackend

        assert type(plugins.get("reference")) is ReferenceBackend
    messages = _plugin_warnings(record)
    assert len(messages) == 1 and "janus-impostor:reference" in messages[0], messages
    import impostor_backend

    assert isinstance(plugins.get("janus-impostor:reference"), impostor_backend.Backend)


def test_backends_order_builtins_first_then_plugins_by_name(install):
    install(
        "janus-zoo",
        {"zeta_plugin": _plugin("zeta", "return None"), "alpha_plugin": _plugin("alpha", "return None")},
        {"zeta": "zeta_plugin", "alpha": "alpha_plugin"},
    )
    names = janus.backends()
    builtins = [n for n in ("reference", "torch", "tf") if n in names]
    assert names[: len(builtins)] == builtins and names[0] == "reference"
    assert names[len(builtins) :] == sorted(names[len(builtins) :])


def test_an_observer_that_raises_is_unregistered_and_calls_go_on():
    class Observer:
        calls = 0

        @janus.hookimpl
        def janus_on_graph_built(self, event):
            Observer.calls += 1
            raise ValueError("observer bug")

    obs = Observer()
    plugins.register(obs, name="raising-observer")
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            g = janus.jit(lambda x: x - 1.0, backend="reference")
            for v in (1.0, 1.0, 1.0, 2.0, 2.0, 2.0):
                assert g(np.full(2, v)).tolist() == [v - 1.0] * 2
    finally:
        if plugins.pm.is_registered(obs):
            plugins.unregister(obs)
    assert Observer.calls == 1
    messages = _plugin_warnings(record)
    assert len(messages) == 1 and "raising-observer" in messages[0] and "ValueError: observer bug" in messages[0]

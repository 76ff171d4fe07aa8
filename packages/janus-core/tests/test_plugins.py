"""Plugins: lazy entry points, a third-party backend registered through distribution metadata."""

import subprocess
import sys
import textwrap

import numpy as np

import janus
from janus.plugin import plugins

PLUGIN = """
from janus import hookimpl

@hookimpl
def janus_register_backends(register):
    def factory():
        from janus_dummy.backend import DummyBackend
        return DummyBackend()
    register("dummy", factory)
"""

BACKEND = """
from janus.reference.backend import ReferenceBackend

class DummyBackend(ReferenceBackend):
    name = "dummy"
    compiled = 0

    def compile(self, graph, config):
        DummyBackend.compiled += 1
        return super().compile(graph, config)
"""


def test_third_party_backend_through_distribution_metadata(tmp_path, monkeypatch):
    pkg = tmp_path / "janus_dummy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text(PLUGIN)
    (pkg / "backend.py").write_text(BACKEND)
    dist = tmp_path / "janus_dummy-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: janus-dummy\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[janus]\ndummy = janus_dummy.plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.reload()
    try:
        assert "dummy" in janus.backends()
        assert "janus_dummy.backend" not in sys.modules  # the factory is lazy
        g = janus.jit(lambda x: np.tanh(x) * 2, backend="dummy")
        for _ in range(4):
            np.testing.assert_array_equal(g(np.ones(3)), np.tanh(np.ones(3)) * 2)
        assert g.stats.graph_calls == 2
        assert sys.modules["janus_dummy.backend"].DummyBackend.compiled == 1
    finally:
        monkeypatch.undo()
        plugins.reload()
    assert "dummy" not in janus.backends()


def test_observation_hooks_see_fallbacks_and_graphs():
    seen = []

    class Observer:
        @janus.hookimpl
        def janus_on_fallback(self, event):
            seen.append(("fallback", event.kind))

        @janus.hookimpl
        def janus_on_graph_built(self, event):
            seen.append(("graph", event.backend))

    obs = Observer()
    plugins.register(obs)
    try:
        g = janus.jit(lambda x: x * 2, backend="reference")
        for v in (1.0, 1.0, 1.0, 2.0):
            g(np.full(2, v) if v == 1.0 else np.ones(3))
    finally:
        plugins.unregister(obs)
    assert ("graph", "reference") in seen and ("fallback", "guard-miss") in seen


def test_importing_janus_imports_no_framework():
    code = textwrap.dedent("""
        import sys, janus
        janus.backends()
        bad = [m for m in ("torch", "tensorflow") if m in sys.modules]
        assert not bad, bad
    """)
    subprocess.run([sys.executable, "-c", code], check=True)

"""`janus.testing`: programs chosen by what a backend declares (never by its name), and
the pytest plugin (`pytest --janus-backend NAME`) catching a backend that is wrong."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import janus
from janus.plugin import plugins
from janus.testing.corpus import load_cases
from janus.testing.programs import FEATURES, features, frameworks_of, programs


class _NumpyBackend(janus.Backend):
    tensor_types = (np.ndarray, np.generic)
    framework_modules = ("numpy",)

    def spec_of(self, value):
        return janus.TensorSpec(str(value.dtype), tuple(value.shape))

    def compile(self, graph, config):
        raise janus.Unsupported("anything", "", "this backend compiles nothing")


class _Plain(_NumpyBackend):
    capabilities = janus.Capabilities(cond=False, while_loop=False)


class _Torchish(_NumpyBackend):
    framework_modules = ("torch",)

    def owns(self, value):
        torch = sys.modules.get("torch")
        return torch is not None and isinstance(value, torch.Tensor)


class _Plugin:
    @janus.hookimpl
    def janus_register_backends(self, register):
        register("plain", _Plain)
        register("torchish", _Torchish)


@pytest.fixture(scope="module", autouse=True)
def backends():
    plugin = _Plugin()
    plugins.register(plugin, name="testing-kit-backends")
    yield
    plugins.unregister(plugin)


def test_programs_follow_declared_capabilities_not_names():
    plain, reference = plugins.get("plain"), plugins.get("reference")
    assert "control" not in features(plain) and "recursion" not in features(plain)
    assert {"control", "recursion", "state"} <= set(features(reference))
    assert frameworks_of(plain) == ["numpy"]
    cases = load_cases()
    mine = {p.case: p for p in programs("plain")}
    theirs = {p.case: p for p in programs("reference")}
    assert set(mine) == set(theirs) == {n for n, c in cases.items() if "numpy" in c["frameworks"]}
    for name, p in mine.items():
        tags = set(cases[name]["tags"])
        assert p.framework == "numpy" and p.id == f"{name}-plain"
        assert p.must_be_served == (tags <= set(features(plain)))
        assert theirs[name].must_be_served == (tags <= set(features(reference)))
    assert not mine["tensor_if_alternating"].must_be_served  # "control": plain declares no cond
    assert "does not declare control" in mine["tensor_if_alternating"].not_served_reason()
    assert not mine["tensor_if_alternating"].served_by_no_backend


def test_a_backend_owning_no_installed_framework_runs_nothing():
    torchish = plugins.get("torchish")
    owned = frameworks_of(torchish)
    assert all(fw == "torch" for fw in owned)
    if not owned:
        assert programs("torchish") == []


def test_every_tag_of_the_corpus_is_known_or_marks_unserved_programs():
    tags = {t for c in load_cases().values() for t in c["tags"]}
    assert {"core", "control", "recursion", "state", "training"} <= tags
    assert {"core", "control", "recursion", "state", "training"} <= set(FEATURES)


WRONG_BACKEND = """
    import numpy as np
    import janus
    from janus.plugin import plugins
    from janus.reference.backend import ReferenceBackend
    from janus.reference.executable import ReferenceExecutable


    class OffByOne(ReferenceExecutable):
        def run(self, inputs):
            return [o + 1 if isinstance(o, (np.ndarray, np.generic)) else o for o in super().run(inputs)]


    class WrongBackend(ReferenceBackend):
        def compile(self, graph, config):
            return OffByOne(graph)


    class Plugin:
        @janus.hookimpl
        def janus_register_backends(self, register):
            register("wrong", WrongBackend)


    plugins.register(Plugin(), name="wrong-plugin")
"""


def _pytest(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )


def test_pytest_janus_backend_runs_the_corpus(tmp_path):
    out = _pytest(tmp_path, "--janus-backend", "reference", "-k", "straight_line_mlp or C23_error_parity", "-rA")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASSED suite.py::test_matches_eager[straight_line_mlp-reference]" in out.stdout
    assert "PASSED suite.py::test_graph_served[C23_error_parity-reference]" in out.stdout
    assert "4 passed" in out.stdout


def test_pytest_janus_backend_names_the_installed_backends_when_one_is_missing(tmp_path):
    out = _pytest(tmp_path, "--janus-backend", "nope")
    assert out.returncode != 0
    assert "--janus-backend nope: no JANUS backend named 'nope'; installed backends: reference" in out.stderr


def test_the_kit_catches_a_backend_that_gives_wrong_answers(tmp_path):
    (tmp_path / "conftest.py").write_text(textwrap.dedent(WRONG_BACKEND))
    out = _pytest(tmp_path, "--janus-backend", "wrong", "-k", "straight_line_mlp and matches_eager")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed" in out.stdout and "call 2: eager returned" in out.stdout

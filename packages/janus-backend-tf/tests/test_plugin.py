"""The entry point: found by janus, and importing it does not import TensorFlow."""

import subprocess
import sys

import janus


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_registered_through_entry_point():
    assert "tf" in janus.backends()
    from importlib.metadata import entry_points

    eps = [ep for ep in entry_points(group="janus") if ep.name == "tf"]
    assert eps and eps[0].value == "janus_tf.plugin"


def test_plugin_module_does_not_import_tensorflow():
    assert _run("import sys, janus_tf.plugin; print('tensorflow' in sys.modules)") == "False"


def test_listing_backends_and_claiming_do_not_import_tensorflow():
    code = (
        "import sys, janus\n"
        "from janus.plugin import plugins\n"
        "names = janus.backends()\n"
        "import janus_tf.plugin as p\n"
        "print('tf' in names, p.claims(1.0), 'tensorflow' in sys.modules)"
    )
    assert _run(code) == "True False False"


def test_claims_tensorflow_values_once_imported():
    import tensorflow as tf

    from janus.plugin import plugins
    from janus_tf.plugin import claims

    assert claims(tf.ones(2)) and claims(tf.Variable(1.0))
    assert not claims(1.0) and not claims([tf.ones(2)])
    assert plugins.claim(tf.ones(2)) == "tf"


def test_factory_returns_the_backend():
    from janus.plugin import plugins

    backend = plugins.get("tf")
    assert backend.name == "tf"
    assert backend.capabilities.inplace_operators is False
    assert backend.framework_modules == ("tensorflow", "keras")

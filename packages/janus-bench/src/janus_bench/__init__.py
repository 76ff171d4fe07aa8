"""janus-bench: the JANUS benchmark suite.

    janus-bench --quick --models lstm_forward,branchy --frameworks torch,tf

Runs each workload eagerly, under ``janus.jit`` and under the framework's own graph
mode (``torch.compile`` / ``tf.function``) in one process, and writes JSON, Markdown and
a PNG chart."""

__version__ = "0.1.0"

"""The TensorFlow backend of JANUS (backend name ``"tf"``).

`janus_tf.plugin` is the entry point (it does not import TensorFlow); `backend.py` holds
`TFBackend` (values, guards, effects classification), `lowering.py` turns IR graphs into
TensorFlow graphs, `executable.py` runs them as ConcreteFunctions.
"""
__version__ = "0.1.0"

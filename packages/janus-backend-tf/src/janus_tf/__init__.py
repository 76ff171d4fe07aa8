"""The TensorFlow backend of JANUS (backend name ``"tf"``).

`janus_tf.plugin` is the entry point (it does not import TensorFlow); `backend.py` holds
`TFBackend` (values, guards, conversion rules), `lowering.py` turns IR graphs into
TensorFlow graphs, `executable.py` runs them as ConcreteFunctions.  Imports point one
way: backend -> executable -> lowering -> leaf modules (`call_effects.py`,
`variable_spec.py`, `functional.py`, `batching.py`, `variable_undo.py`).
"""

__version__ = "0.1.0"

"""Entry point of the TensorFlow backend (group ``janus``, name ``tf``).

Imports nothing heavy: TensorFlow is imported only when the backend is first used, and
`claims` recognises TensorFlow values only when the program has imported TensorFlow.
"""

from __future__ import annotations

import sys

from janus.errors import BackendNotFound
from janus.plugin import hookimpl

MIN_TF_VERSION = (2, 16)


def claims(value) -> bool:
    """Is `value` a TensorFlow tensor or variable?  Never imports TensorFlow."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return False
    try:
        return isinstance(value, (tf.Tensor, tf.Variable))
    except AttributeError:  # a half-imported tensorflow module
        return False


def make_backend():
    # the framework and the backend are imported on first use only (see the module docstring)
    try:
        import tensorflow as tf
    except ImportError as e:
        raise BackendNotFound(
            "the JANUS backend 'tf' needs TensorFlow: `pip install tensorflow` "
            "(or `pip install janus-backend-tf[tensorflow]` / `[cpu]`)"
        ) from e
    version = tuple(int(p) for p in tf.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_TF_VERSION:
        raise BackendNotFound(f"the JANUS backend 'tf' needs TensorFlow >= 2.16, found {tf.__version__}")
    from .backend import TFBackend

    return TFBackend()


@hookimpl
def janus_register_backends(register):
    register("tf", make_backend, claims=claims)

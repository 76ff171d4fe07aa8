"""Entry point of the reference backend: registers a lazy factory, imports nothing heavy."""

from __future__ import annotations

import sys

from ..hooks import hookimpl


def _claims(value) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, (np.ndarray, np.generic))


@hookimpl
def janus_register_backends(register):
    def factory():
        from .backend import ReferenceBackend

        return ReferenceBackend()

    register("reference", factory, claims=_claims)

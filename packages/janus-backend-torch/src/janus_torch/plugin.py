"""Entry point of the torch backend: registers a lazy factory and never imports torch
(so `import janus` and backend discovery stay fast for users of other frameworks)."""

from __future__ import annotations

import sys

from janus.plugin import hookimpl


def _claims(value) -> bool:
    # a value can only be a torch tensor if the user already imported torch
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


@hookimpl
def janus_register_backends(register):
    def factory():
        from .backend import TorchBackend

        return TorchBackend()

    register("torch", factory, claims=_claims)

"""The PyTorch backend of JANUS (backend name ``"torch"``).

Importing this package does not import torch: the entry point (`janus_torch.plugin`)
registers a lazy factory, and `TorchBackend` is loaded on first attribute access
(modules of the package never import it, so these lazy imports close no cycle).

Imports point one way: backend -> executable -> training -> lowering -> codegen/select ->
leaf modules (`runtime.py`, `call_effects.py`, `functional.py`, `modules.py`);
`distributed.py` (DDP calls) sits on `modules.py`, `cudagraphs.py` (the CUDA-graphs tier)
is a leaf of the executable.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["TorchBackend", "TorchExecutable"]


def __getattr__(name):  # lazy, so `import janus_torch` stays free of torch
    if name == "TorchBackend":
        from .backend import TorchBackend

        return TorchBackend
    if name == "TorchExecutable":
        from .executable import TorchExecutable

        return TorchExecutable
    raise AttributeError(f"module 'janus_torch' has no attribute {name!r}")

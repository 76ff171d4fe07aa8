"""PyTorch Dynamo's function tests, ported as a peer suite for JANUS (see
dynamo_common.py for what is ported and how).  The cases register themselves, in
upstream order, when the parts are imported; upstream kept them in one module, so every
part's functions see the module-level names of all parts, as they did there."""

import importlib

import dynamo_common
from dynamo_common import CASES, SKIPPED, Case, T  # noqa: F401

#: imported in upstream order: the order the cases register in
PARTS = tuple(importlib.import_module(name) for name in dynamo_common.PARTS)


def share_namespace() -> None:
    """Each part also reads the names of the parts imported after it (never replacing
    its own), as a function anywhere in upstream's module could."""
    names = {}
    for module in (dynamo_common,) + PARTS:
        names.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    for module in PARTS:
        for k, v in names.items():
            module.__dict__.setdefault(k, v)


share_namespace()

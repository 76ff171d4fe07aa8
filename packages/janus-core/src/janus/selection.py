"""Which backend a call's values belong to (the one that claims its tensors)."""

from __future__ import annotations

import types
from typing import Any, Iterator, Optional

from .plugin import plugins


def _values(args, kwargs, depth: int = 0) -> Iterator[Any]:
    """The arguments, and values a few levels into lists, tuples, dicts and objects."""
    for v in list(args) + list(kwargs.values()):
        yield v
        if depth < 3 and isinstance(v, (list, tuple)):
            yield from _values(v, {}, depth + 1)
        elif depth < 3 and isinstance(v, dict):
            yield from _values((), v, depth + 1)
        elif depth < 1 and hasattr(v, "__dict__") and not isinstance(v, (type, types.ModuleType)):
            yield from _values((), dict(vars(v)), depth + 1)


#: Python values no backend takes as its tensors
_PLAIN = frozenset({int, float, bool, complex, str, bytes, type(None), list, tuple, dict})


def claim_backend(args, kwargs) -> Optional[str]:
    """The backend claiming the first tensor found in the arguments, or None.  A framework's
    tensor wins over NumPy arrays found before it: those are host values to its backend."""
    claims = [name for name in map(plugins.claim, _values(args, kwargs)) if name is not None]
    return next((name for name in claims if name != "reference"), claims[0] if claims else None)


def foreign_backend(args, kwargs, backend) -> Optional[str]:
    """Another backend claiming a value of the arguments that `backend` does not own."""
    for v in _values(args, kwargs):
        if type(v) in _PLAIN or backend.owns(v):  # nothing to ask the plugins (the common case)
            continue
        name = plugins.claim(v)
        if name == "reference":  # NumPy arrays: host values to every other backend
            continue
        if name is not None and name != backend.name and not backend.owns(v):
            return name
    return None


def claim_closure(fn: Any) -> Optional[str]:
    """The backend claiming a tensor the function closes over, or None."""
    cells = [c.cell_contents for c in (getattr(fn, "__closure__", None) or ()) if _filled(c)]
    return claim_backend(cells, {})


def _filled(cell) -> bool:
    try:
        _ = cell.cell_contents
        return True
    except ValueError:
        return False

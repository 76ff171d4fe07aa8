"""Which NumPy calls write into their arguments.  janus-core depends on NumPy: the
reference backend (NumPy arrays are its tensors) and the default rule for library calls
evaluated during conversion both need to know."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Dict, Optional, Sequence

#: functions that write into an argument
MUTATING_FUNCTIONS = frozenset({"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis"})
#: ndarray methods that change the array in place
MUTATING_METHODS = frozenset(
    {"fill", "sort", "resize", "itemset", "put", "partition", "setflags", "setfield", "byteswap"}
)
#: ufunc methods that write into their first argument (`np.add.at(a, idx, 1)`)
MUTATING_UFUNC_METHODS = frozenset({"at"})


def is_numpy(func: Any) -> bool:
    """A NumPy function, ufunc, or a method of a NumPy object."""
    owner = getattr(func, "__self__", None)
    if owner is not None and not isinstance(owner, type) and type(owner).__module__.split(".")[0] == "numpy":
        return True
    mod = getattr(func, "__module__", None) or type(func).__module__ or ""
    return mod.split(".")[0] == "numpy"


def writes(func: Any, kwargs: Dict[str, Any], args: Sequence[Any] = ()) -> bool:
    """Does calling the NumPy function or method `func` write into an argument?"""
    name = getattr(func, "__name__", "") or ""
    if out_argument_given(func, args, kwargs):
        return True
    owner = getattr(func, "__self__", None)
    if owner is not None and not isinstance(owner, type) and type(owner).__module__.split(".")[0] == "numpy":
        if type(owner).__name__ == "ufunc":
            return name in MUTATING_UFUNC_METHODS
        return name in MUTATING_METHODS
    return name in MUTATING_FUNCTIONS


def out_argument_given(func: Any, args: Sequence[Any], kwargs: Dict[str, Any]) -> bool:
    """Is an output argument passed, by keyword (`out=v`) or by position (`np.clip(v, 0, 1, v)`,
    `np.add(a, b, a)`): a parameter named `out` that the positional arguments reach?"""
    if kwargs.get("out") is not None:
        return True
    position = _out_position(func)
    return position is not None and len(args) > position and args[position] is not None


@functools.lru_cache(maxsize=1024)
def _out_position_cached(func: Any) -> Optional[int]:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # no signature (some C functions)
        return None
    for i, p in enumerate(params):
        if p.kind in (p.VAR_POSITIONAL, p.KEYWORD_ONLY, p.VAR_KEYWORD):
            return None
        if p.name == "out":
            return i
    return None


def _out_position(func: Any) -> Optional[int]:
    try:
        return _out_position_cached(func)
    except TypeError:  # unhashable callable
        return None

"""Which NumPy calls write into their arguments.  janus-core depends on NumPy: the
reference backend (NumPy arrays are its tensors) and the default rule for library calls
evaluated during conversion both need to know."""

from __future__ import annotations

from typing import Any, Dict

#: functions that write into an argument
MUTATING_FUNCTIONS = frozenset({"copyto", "put", "place", "putmask", "fill_diagonal"})
#: ndarray methods that change the array in place
MUTATING_METHODS = frozenset(
    {"fill", "sort", "resize", "itemset", "put", "partition", "setflags", "setfield", "byteswap"}
)


def is_numpy(func: Any) -> bool:
    """A NumPy function, ufunc, or a method of a NumPy object."""
    owner = getattr(func, "__self__", None)
    if owner is not None and not isinstance(owner, type) and type(owner).__module__.split(".")[0] == "numpy":
        return True
    mod = getattr(func, "__module__", None) or type(func).__module__ or ""
    return mod.split(".")[0] == "numpy"


def writes(func: Any, kwargs: Dict[str, Any]) -> bool:
    """Does calling the NumPy function or method `func` write into an argument?"""
    name = getattr(func, "__name__", "") or ""
    owner = getattr(func, "__self__", None)
    if owner is not None and not isinstance(owner, type) and type(owner).__module__.split(".")[0] == "numpy":
        return name in MUTATING_METHODS or "out" in kwargs
    return name in MUTATING_FUNCTIONS or "out" in kwargs

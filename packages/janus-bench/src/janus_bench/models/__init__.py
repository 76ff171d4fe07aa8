"""The benchmark's workloads, one module per model family (torch and tf side by side).

Importing this package registers every implemented workload; see `registry` for the
interface and `PLANNED` for the paper's models still to be added."""

import importlib as _importlib
import pkgutil as _pkgutil

from .registry import FRAMEWORKS, PLANNED, PROFILES, Implementation, Workload, get_workload, register, workloads

# every model module registers itself on import: adding a model is adding a module
_FIRST = ("lstm", "branchy", "treernn", "lenet")
for _name in _FIRST + tuple(
    sorted(
        m.name
        for m in _pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name not in _FIRST + ("registry",)
    )
):
    _importlib.import_module(f"{__name__}.{_name}")
for _name in list(PLANNED):
    if _name in workloads():
        del PLANNED[_name]

__all__ = ["FRAMEWORKS", "PLANNED", "PROFILES", "Implementation", "Workload", "get_workload", "register", "workloads"]

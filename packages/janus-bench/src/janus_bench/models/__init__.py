"""The benchmark's workloads, one module per model family (torch and tf side by side).

Importing this package registers every implemented workload; see `registry` for the
interface and `PLANNED` for the paper's models still to be added."""
from .registry import FRAMEWORKS, PLANNED, PROFILES, Implementation, Workload, get_workload, register, workloads
from . import lstm, branchy, treernn, lenet  # noqa: E402,F401  (registration)

__all__ = ["FRAMEWORKS", "PLANNED", "PROFILES", "Implementation", "Workload", "get_workload", "register", "workloads"]

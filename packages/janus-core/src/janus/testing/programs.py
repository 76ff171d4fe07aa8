"""Which conformance programs a backend runs, chosen from what it declares, never from
its name:

* the frameworks whose tensors it owns: each framework it lists in
  `Backend.framework_modules` that is installed, confirmed by `Backend.owns` on a
  sample tensor of that framework (a NumPy backend runs the NumPy programs);
* which programs must be graph-served: those whose tags are all in `features(backend)`,
  derived from its `Capabilities` (and the optional contract classes it implements).
  The others must still match eager exactly, by falling back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

from ..backend import Backend, schedule_ops
from ..plugin import plugins
from .corpus import load_cases
from .frameworks import MODULE_OF, installed, shim

#: what the programs carrying each tag need of a backend to be graph-served
FEATURES: Dict[str, Callable[[Backend], bool]] = {
    "core": lambda b: True,
    "heap": lambda b: True,  # deferred effects: committed by the core
    "io": lambda b: True,
    "speculation": lambda b: True,  # `assert` nodes: part of the required core
    "islands": lambda b: True,  # graph segments around host islands: run by the core
    "host-state": lambda b: True,  # host state read or advanced (RNGs, iterators): islands
    "control": lambda b: b.capabilities.cond and b.capabilities.while_loop,
    "break": lambda b: b.capabilities.cond,
    "recursion": lambda b: b.capabilities.recursion and schedule_ops(b) is not None,
    "state": lambda b: b.capabilities.inplace_writes,
    "training": lambda b: b.capabilities.training,
}
#: why programs with a tag outside FEATURES are not expected to be graph-served
NOT_SERVED_YET = "JANUS runs programs tagged {tags} imperatively on every backend today"


def features(backend: Backend) -> List[str]:
    """The tags whose programs `backend` must serve from graphs."""
    return [tag for tag, needs in FEATURES.items() if needs(backend)]


def frameworks_of(backend: Backend) -> List[str]:
    """The frameworks (shim names) whose tensors `backend` owns."""
    modules = {m.split(".")[0] for m in backend.framework_modules}
    return [
        fw for fw in MODULE_OF if MODULE_OF[fw] in modules and installed(fw) and backend.owns(shim(fw).tensor([1.0]))
    ]


@dataclass(frozen=True)
class Program:
    """One conformance case on one framework, run on one backend."""

    case: str
    framework: str
    backend: str
    #: tags of the case the backend does not serve (empty: it must be graph-served)
    unserved: Tuple[str, ...]
    #: the backend owns more than one framework's tensors: ids name the framework
    several_frameworks: bool = False

    @property
    def id(self) -> str:
        return f"{self.case}-{self.backend}" + (f"-{self.framework}" if self.several_frameworks else "")

    @property
    def must_be_served(self) -> bool:
        return not self.unserved

    @property
    def served_by_no_backend(self) -> bool:
        """Does a tag mark programs no backend serves yet (not a capability this one lacks)?
        Serving one anyway means the corpus's tags are out of date: a strict failure."""
        return any(t not in FEATURES for t in self.unserved)

    def not_served_reason(self) -> str:
        known = [t for t in self.unserved if t in FEATURES]
        if known:
            return (
                f"backend {self.backend!r} does not declare {', '.join(known)} (janus.testing.programs.FEATURES); "
                "if it serves these programs, declare the capability"
            )
        return NOT_SERVED_YET.format(tags=", ".join(self.unserved))


def programs(backend_name: str) -> List[Program]:
    """Every conformance program the installed backend `backend_name` runs, ordered by
    case name.  Raises `janus.BackendNotFound` when it is not installed or cannot load."""
    backend = plugins.get(backend_name)
    served = set(features(backend))
    fws = frameworks_of(backend)
    out = []
    for name, c in sorted(load_cases().items()):
        unserved = tuple(t for t in c["tags"] if t not in served)
        for fw in fws:
            if fw in c["frameworks"]:
                out.append(Program(name, fw, backend_name, unserved, len(fws) > 1))
    return out


def case_of(program: Program) -> Dict[str, Any]:
    return load_cases()[program.case]

"""The conformance corpus: imperative programs whose eager run is the oracle.

A case is `build(T) -> (fn, calls, observe)`: the program, the (args, kwargs) it is
called with in order (a third item, when present, is run before the call: it changes
the world between calls), and a function returning the Python state it can reach.
`T` is a framework shim (`janus.testing.frameworks`): `T.sum` is `np.sum`,
`torch.sum` or `tf.reduce_sum`, so one program is written once for every framework.

`tags` name the features a case exercises; `served` says how many of its calls must run
from a graph on a backend that declares those features ("graph-served from the third
call on, apart from calls right after a behaviour change"; `janus.testing.programs`
maps tags to capabilities).  New cases go in a `cases_*.py` module of this package:
every such module is loaded by `load_cases()`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any, Callable, Dict, Iterable, Tuple

#: name -> case: dict(build, tags, served, frameworks, name, exact)
CASES: Dict[str, Dict[str, Any]] = {}
#: the frameworks a case runs on unless it names fewer (keys of `frameworks.MAKERS`)
ALL_FRAMEWORKS: Tuple[str, ...] = ("numpy", "torch", "tf")


def case(
    name: str,
    *,
    tags: Iterable[str],
    served: int,
    frameworks: Tuple[str, ...] = ALL_FRAMEWORKS,
    exact: bool = False,
) -> Callable[[Callable], Callable]:
    """Register `build` as case `name`.  `exact`: Python floats in results and state must
    be equal bit for bit (cases about Python-number semantics), not within the tolerance
    tensors get."""

    def deco(build: Callable) -> Callable:
        if name in CASES and CASES[name]["build"].__module__ != build.__module__:
            raise ValueError(f"conformance case {name!r} is defined twice ({build.__module__})")
        CASES[name] = dict(build=build, tags=tuple(tags), served=served, frameworks=frameworks, name=name, exact=exact)
        return build

    return deco


def load_cases() -> Dict[str, Dict[str, Any]]:
    """Import every `cases_*` module of this package (each registers its cases); return CASES."""
    package = __name__.rpartition(".")[0]
    here = importlib.import_module(package)
    for info in pkgutil.iter_modules(here.__path__):
        if info.name.startswith("cases_"):
            importlib.import_module(f"{package}.{info.name}")
    return CASES


def case_modules() -> Dict[str, Any]:
    """The modules that registered cases, by name (their module-level RNGs are reseeded per run)."""

    names = {c["build"].__module__ for c in CASES.values()}
    return {n: sys.modules[n] for n in sorted(names) if n in sys.modules}

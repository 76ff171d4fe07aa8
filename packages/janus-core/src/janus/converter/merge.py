"""Merging what the two branches of a graph `cond` left behind.

Both branches of a tensor-dependent `if` are converted; afterwards every piece of Python
state either branch changed must end as in the branch that runs.  `BranchState` is what
one branch left: its local names, the final states of the objects it wrote (from the
journal) and its shadows of outside objects.  `slot_pairs` lines up the two sides slot
by slot (a name, a dict key, a list index, an attribute); the converter merges each
differing pair through the cond's results, or, for Python values a graph cannot carry
(strings, None, objects), as a host-side choice made after the graph ran (`select`).
A difference in structure (a key or list item on one side only) cannot be merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Tuple

from ..errors import Unsupported
from .frame import UNBOUND
from .journal import slots
from .sym import Sym


@dataclass
class BranchState:
    outcome: str  # "fall" (ran to the end) | "return"
    value: Any  # the returned value
    names: Dict[str, Any]
    objects: Dict[int, Tuple[Any, Any, Any]]  # id -> (obj, state before, state after)
    shadows: Dict[Tuple, Any] = field(default_factory=dict)
    effects: List[Any] = field(default_factory=list)  # the effects made on the branch
    template_values: List[Any] = field(default_factory=list)  # values its print snapshots use


@dataclass(eq=False)
class Slot:
    """One place written on a branch: `owner[key]` (a namespace, container or object)."""

    owner: Any
    key: Any
    then: Any
    orelse: Any


def select(taken: Any, then: Any, orelse: Any) -> Any:
    """The host-side merge of a value a graph cannot carry (run after the graph)."""
    return then if taken else orelse


def object_slots(then: BranchState, orelse: BranchState, what: str, site: str) -> Tuple[List[Slot], List[Tuple]]:
    """The differing slots of every object either branch wrote, and the objects' merged
    structure as (obj, state) to restore before the slots are written.  Raises
    `Unsupported` when the branches leave an object with different structure."""
    found: List[Slot] = []
    structures: List[Tuple] = []
    for oid in dict.fromkeys(list(then.objects) + list(orelse.objects)):
        obj, before = (then.objects.get(oid) or orelse.objects[oid])[:2]
        t_state = then.objects[oid][2] if oid in then.objects else before
        e_state = orelse.objects[oid][2] if oid in orelse.objects else before
        if isinstance(t_state, set):
            if t_state != e_state:
                raise Unsupported(what, site, "the branches leave a set with different items")
            structures.append((obj, t_state))
            continue
        t_slots, e_slots = slots(t_state), slots(e_state)
        if [k for k, _ in t_slots] != [k for k, _ in e_slots]:
            if not hasattr(obj, "missing"):  # a table whose absent keys mean something (names, versions)
                raise Unsupported(
                    what,
                    site,
                    f"the branches leave a `{type(obj).__name__}` with different "
                    f"{'keys' if isinstance(t_state, dict) else 'lengths'}",
                )
            t_state, e_state = _union(obj, t_state, e_state)
            t_slots, e_slots = slots(t_state), slots(e_state)
        structures.append((obj, t_state))
        found += [Slot(obj, k, tv, ev) for (k, tv), (_, ev) in zip(t_slots, e_slots) if tv is not ev]
    return found, structures


def _union(table: Any, a: dict, b: dict) -> Tuple[dict, dict]:
    keys = list(dict.fromkeys(list(a) + list(b)))
    return (
        {k: a[k] if k in a else table.missing(k) for k in keys},
        {k: b[k] if k in b else table.missing(k) for k in keys},
    )


def name_slots(then: BranchState, orelse: BranchState, before: Dict[str, Any]) -> List[Slot]:
    """The local names the branches rebound (UNBOUND where a branch leaves one unbound)."""
    names = [
        n
        for n in dict.fromkeys(list(then.names) + list(orelse.names))
        if then.names.get(n, UNBOUND) is not before.get(n, UNBOUND)
        or orelse.names.get(n, UNBOUND) is not before.get(n, UNBOUND)
    ]
    return [Slot(None, n, then.names.get(n, UNBOUND), orelse.names.get(n, UNBOUND)) for n in names]


def shadow_slots(
    then: BranchState, orelse: BranchState, before: Dict[Tuple, Any], read_before: Callable[[Tuple], Any]
) -> Tuple[List[Slot], List[Tuple]]:
    """Writes to outside objects seen by later reads in the call: merged, the side that
    did not write keeping the value from before the `if` (`read_before(key)`, UNBOUND
    when it cannot be read); one that cannot be merged is unknown after the `if`."""
    both, one_sided = [], []
    for key in dict.fromkeys(list(then.shadows) + list(orelse.shadows)):
        tv, ev = then.shadows.get(key, UNBOUND), orelse.shadows.get(key, UNBOUND)
        t_wrote, e_wrote = tv is not before.get(key, UNBOUND), ev is not before.get(key, UNBOUND)
        if not (t_wrote or e_wrote):
            continue
        tv = tv if t_wrote else read_before(key)
        ev = ev if e_wrote else read_before(key)
        if _plain(tv) and _plain(ev):
            both.append(Slot(None, key, tv, ev))
        else:
            one_sided.append(key)
    return both, one_sided


def _plain(value: Any) -> bool:
    """A value a shadow merge can take (a graph value or a Python number)."""
    return isinstance(value, Sym) or type(value) in (int, float, bool)

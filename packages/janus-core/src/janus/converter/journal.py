"""Python state the converter holds concretely, under graph control flow.

Containers and objects built in the call (and the locals of enclosing frames) are real
Python objects during conversion: a write to them happens at once.  That is right in
straight-line code, but both branches of a graph `cond` are converted, only one of which
runs, and the body of a graph `while` is converted once for any number of iterations.
So while a region is converted, every in-place write goes through the journal first:

* the first write to an object inside a region saves the object's state (a *scope*);
* after the region the converter reads the object's final state, and `rollback` puts
  the saved state back: a `cond`'s other branch starts from the same state, and the
  converter merges the two final states on the condition; a loop's written *slots*
  (a dict key, a list index, an attribute) become loop-carried values.

Objects built inside the region itself (`born` after the region began) need no journal.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

MISSING = object()


def snapshot(obj: Any) -> Any:
    """The part of `obj` a write can change, as a detached copy."""
    if isinstance(obj, (list, deque)):
        return list(obj)
    if isinstance(obj, dict):
        return dict(obj)
    if isinstance(obj, set):
        return set(obj)
    return dict(vars(obj))


def restore(obj: Any, state: Any) -> None:
    """Put `state` (from `snapshot`) back into `obj`, keeping the object's identity."""
    if isinstance(obj, list):
        obj[:] = state
    elif isinstance(obj, (dict, set, deque)):
        obj.clear()
        obj.update(state) if not isinstance(obj, deque) else obj.extend(state)
    else:
        current = vars(obj)
        current.clear()
        current.update(state)


def slots(state: Any) -> List[Tuple[Any, Any]]:
    """(key, value) pairs of a snapshot: dict keys / attribute names, or list indexes."""
    if isinstance(state, dict):
        return list(state.items())
    if isinstance(state, list):
        return list(enumerate(state))
    return [(item, item) for item in state]


def fetch(obj: Any, key: Any) -> Any:
    """Read one slot of `obj` (MISSING when a dict or object lacks it)."""
    if isinstance(obj, (list, deque)):
        return obj[key]
    if isinstance(obj, dict):
        return obj.get(key, MISSING)
    return vars(obj).get(key, MISSING)


def store(obj: Any, key: Any, value: Any) -> None:
    """Write one slot of `obj` (the counterpart of `slots`)."""
    if isinstance(obj, (list, dict, deque)):
        obj[key] = value
    elif isinstance(obj, set):
        obj.add(value)
    else:
        vars(obj)[key] = value


@dataclass
class Scope:
    kind: str  # "branch" | "loop" | "node"
    epoch: int
    #: id(obj) -> (obj, state before the region's first write to it)
    saved: Dict[int, Tuple[Any, Any]] = field(default_factory=dict)

    def finals(self) -> Dict[int, Tuple[Any, Any, Any]]:
        """id(obj) -> (obj, state before, state now) for every object written in the region."""
        return {oid: (obj, before, snapshot(obj)) for oid, (obj, before) in self.saved.items()}

    def rollback(self) -> None:
        for obj, before in self.saved.values():
            restore(obj, before)


class Journal:
    def __init__(self) -> None:
        self.scopes: List[Scope] = []
        self.epoch = 0
        self._births: Dict[int, int] = {}
        self._alive: List[Any] = []  # keeps born objects alive, so their ids stay theirs

    def born(self, obj: Any) -> Any:
        """Record that `obj` was just built by the converted code."""
        self._births[id(obj)] = self.epoch
        self._alive.append(obj)
        return obj

    def enter(self, kind: str) -> Scope:
        self.epoch += 1
        scope = Scope(kind, self.epoch)
        self.scopes.append(scope)
        return scope

    def leave(self, scope: Scope) -> None:
        assert self.scopes and self.scopes[-1] is scope, "internal: journal scopes left out of order"
        self.scopes.pop()

    def born_in_current_scope(self, obj: Any) -> bool:
        """Was `obj` built inside the innermost region (or is there none)?  Only such an
        object may change in a way the journal cannot save (an iterator advancing)."""
        return not self.scopes or self._births.get(id(obj), 0) >= self.scopes[-1].epoch

    def write(self, obj: Any) -> None:
        """Call before changing `obj` in place."""
        if not self.scopes:
            return
        scope = self.scopes[-1]
        if self._births.get(id(obj), 0) >= scope.epoch or id(obj) in scope.saved:
            return
        scope.saved[id(obj)] = (obj, snapshot(obj))

"""What the converter knows about the world outside the function: the origins of the
outside objects the conversion touched, its writes to them (shadows, visible to later
reads of the same call) and the deferred effects, in program order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..paths import Path

#: a shadow for an attribute or item deleted earlier in the call
DELETED = object()
#: what a lookup of an absent attribute or item finds
MISSING = object()
#: an item written under graph control flow, or deleted: no value known while converting
UNKNOWN = object()


class ConditionalWrite:
    """A shadow written on one branch of a graph `cond` only: unknown after the `if`."""


@dataclass
class PendingEffect:
    """An effect as conversion builds it: operands are converter values (finished into a
    `janus.effects` record, with templates, when the conversion ends)."""

    kind: str  # setattr | delattr | setitem | delitem | append | extend | insert | clear | ... | print | call
    target: Any
    args: Tuple
    site: str = ""
    conds: Tuple = ()  # ((predicate Sym, expected bool), ...) for effects inside a graph cond


@dataclass
class Heap:
    #: id(obj) -> (obj, path) for every outside object the conversion touched
    origins: Dict[int, Tuple[Any, Path]] = field(default_factory=dict)
    #: (id(obj), ("attr", name) | ("item", key)) -> value written earlier in this call
    shadows: Dict[Tuple[int, Tuple], Any] = field(default_factory=dict)
    #: ids of outside containers with pending structural writes (append, del ...)
    dirty: Dict[int, str] = field(default_factory=dict)
    #: id(list) -> the items appended to an outside list, while appends at the top level
    #: of the graph are its only changes (reads see the list as it will be)
    tails: Dict[int, List[Any]] = field(default_factory=dict)
    effects: List[PendingEffect] = field(default_factory=list)

    def appended(self, obj: Any) -> Optional[List[Any]]:
        """What was appended to the outside list `obj` in this call, when appends at the top
        level of the graph are its only changes (the list itself changes at the commit);
        None when it was changed otherwise."""
        tail = self.tails.get(id(obj))
        if tail is None or self.dirty.get(id(obj)) not in ("append", "extend"):
            return None
        return None if any(k[0] == id(obj) for k in self.shadows) else tail

    def current_items(self, obj: Any, read: Any) -> Optional[List[Any]]:
        """The items of the outside list or tuple `obj` as this call left them so far:
        `read(i)` for an item it did not write; None when no such picture is known (a
        data-dependent write, a change other than appends and item writes)."""
        tail: List[Any] = []
        if id(obj) in self.dirty:
            found = self.appended(obj)
            if found is None:
                return None
            tail = found
        items = []
        for i in range(len(obj)):
            written = self.written_item(obj, i)
            if written is UNKNOWN:
                return None
            items.append(read(i) if written is MISSING else written)
        return items + tail

    def written_item(self, obj: Any, i: Any) -> Any:
        """What this call wrote into item `i` of the outside container `obj`: the value,
        MISSING (nothing: read it from outside), or UNKNOWN (a data-dependent write or a
        deletion)."""
        shadow = self.shadows.get((id(obj), ("item", i)), MISSING)
        return UNKNOWN if isinstance(shadow, ConditionalWrite) or shadow is DELETED else shadow

    def path_of(self, obj: Any) -> Optional[Path]:
        entry = self.origins.get(id(obj))
        return entry[1] if entry is not None and entry[0] is obj else None

    def note(self, obj: Any, path: Path) -> None:
        if id(obj) not in self.origins:
            self.origins[id(obj)] = (obj, path)

    def add(self, kind: str, target: Any, args: Tuple, site: str) -> PendingEffect:
        effect = PendingEffect(kind, target, args, site)
        self.effects.append(effect)
        return effect

"""Deferred effects: what a converted function does to the world, done after its graph.

Writes to Python objects, globals, list appends, prints, logging and writes into
framework tensors are recorded by the converter as effects, in program order, with
their operands as templates (`janus.templates`).  The runtime commits them after the
graph ran and every assertion held, so a failed speculation changes nothing.  An effect
made on a branch of a graph `cond` carries the branch's condition (`conds`): it is
committed only when that branch ran.

Each kind is a frozen record with one `apply`; `commit` is the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence, Tuple

from .templates import Materializer, needs_outputs


@dataclass(frozen=True)
class Effect:
    site: str
    #: ((predicate template, expected truth), ...): committed only when all hold
    conds: Tuple[Tuple[tuple, bool], ...]

    @property
    def kind(self) -> str:
        return type(self).__name__.lower()

    def operands(self) -> tuple:
        """The templates this effect reads (to tell whether it needs graph outputs)."""
        return ()

    def apply(self, m: Materializer) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class _OnHost(Effect):
    """An effect on outside object `target` (an index into the guard's host values)."""

    target: int
    values: Tuple[tuple, ...]

    def operands(self) -> tuple:
        return self.values

    def apply(self, m: Materializer) -> None:
        self.write(m.hosts[self.target], *[m.value(v) for v in self.values])

    def write(self, obj: Any, *values: Any) -> None:
        raise NotImplementedError


class SetAttr(_OnHost):
    def write(self, obj: Any, name: Any, value: Any) -> None:
        setattr(obj, name, value)


class DelAttr(_OnHost):
    def write(self, obj: Any, name: Any) -> None:
        delattr(obj, name)


class SetItem(_OnHost):
    def write(self, obj: Any, key: Any, value: Any) -> None:
        obj[key] = value


class DelItem(_OnHost):
    def write(self, obj: Any, key: Any) -> None:
        del obj[key]


class Append(_OnHost):
    def write(self, obj: Any, value: Any) -> None:
        obj.append(value)


class Extend(_OnHost):
    def write(self, obj: Any, values: Any) -> None:
        obj.extend(values)


class Insert(_OnHost):
    def write(self, obj: Any, index: Any, value: Any) -> None:
        obj.insert(index, value)


class Clear(_OnHost):
    def write(self, obj: Any) -> None:
        obj.clear()


class Reverse(_OnHost):
    def write(self, obj: Any) -> None:
        obj.reverse()


class Add(_OnHost):
    def write(self, obj: Any, value: Any) -> None:
        obj.add(value)


class Assign(_OnHost):
    """The final value of a framework tensor written in place, into the tensor itself."""

    def apply(self, m: Materializer) -> None:
        m.backend.assign(m.hosts[self.target], m.value(self.values[0]))


@dataclass(frozen=True)
class Print(Effect):
    args: tuple  # a snapshot template, rendered as it was when print ran
    sep: Any
    end: Any
    flush: bool

    def operands(self) -> tuple:
        return (self.args,)

    def apply(self, m: Materializer) -> None:
        print(*m.fresh(self.args), sep=self.sep, end=self.end, flush=self.flush)


@dataclass(frozen=True)
class Call(Effect):
    """An output call (a logging function, a write to sys.stdout), arguments as they were."""

    fn: Callable
    args: tuple
    kwargs: tuple

    def operands(self) -> tuple:
        return (self.args, self.kwargs)

    def apply(self, m: Materializer) -> None:
        self.fn(*m.fresh(self.args), **m.fresh(self.kwargs))


#: effect kind (the converter's name for a write) -> its record
ON_HOST = {
    "setattr": SetAttr,
    "delattr": DelAttr,
    "setitem": SetItem,
    "delitem": DelItem,
    "append": Append,
    "extend": Extend,
    "insert": Insert,
    "clear": Clear,
    "reverse": Reverse,
    "add": Add,
    "assign": Assign,
}


def commit(effects: Sequence[Effect], m: Materializer) -> None:
    """Apply `effects` in program order (those on a branch that ran)."""
    for effect in effects:
        if effect.conds and not all(bool(m.fresh(pred)) == want for pred, want in effect.conds):
            continue
        effect.apply(m)


def commit_known(effects: Sequence[Effect], m: Materializer) -> None:
    """After a graph raised past an in-graph update: apply the effects whose values do
    not come from the graph (there are no graph outputs to read)."""
    commit([e for e in effects if not e.conds and not needs_outputs(e.operands())], m)

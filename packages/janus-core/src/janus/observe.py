"""The runtime's log events (`janus.logs`), built from its state only when a category is
on: the runtime calls these behind a check of the category's flag, so nothing here runs
on a graph-served call unless someone asked for it."""

from __future__ import annotations

import re
from typing import Any, Optional

from . import logs
from .guards import HOST_RAISED, Guard, compile_diagnosis, name_of

_SITE = re.compile(r"[\w.-]+\.py:\d+")


def function_site(fn: Any) -> str:
    """`file.py:line` where the jitted function is defined ("?" when it has no code)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return "?"
    return f"{code.co_filename.replace(chr(92), '/').rsplit('/', 1)[-1]}:{code.co_firstlineno}"


def graph_built(state: Any, spec: Any) -> None:
    conv = spec.conversion
    nodes = sum(1 for _ in conv.graph.walk())
    where = function_site(state.fn)
    logs.emit(
        "graphs",
        f"built specialization #{spec.number} of {state.name} ({where}) on backend {state.backend.name}: "
        f"{nodes} nodes, {len(conv.guards)} guards, {len(conv.effects)} deferred effects, "
        f"{spec.build_seconds * 1e3:.1f} ms; executable: {spec.executable.describe()}",
        function=state.name,
        site=where,
        backend=state.backend.name,
        specialization=spec.number,
        nodes=nodes,
        guards=len(conv.guards),
        seconds=spec.build_seconds,
    )


def fell_back(state: Any, reason: str, kind: str) -> None:
    function_where = function_site(state.fn)
    found = _SITE.search(reason)
    where = found.group(0) if found else function_where
    logs.emit(
        "fallbacks",
        f"{state.name} ({function_where}) ran imperatively [{kind}]: {reason}",
        function=state.name,
        site=where,
        reason=reason,
        kind=kind,
    )


def guard_missed(state: Any, args: tuple, kwargs: dict) -> None:
    """Which guard of the most recently used specialization the call fails, and what it saw."""
    specs = list(state.cache.values())
    spec = state.mru if state.mru is not None else (specs[-1] if specs else None)
    if spec is None:
        return
    found = first_failure(state, spec, args, kwargs)
    where = function_site(state.fn)
    detail = "every guard holds (another specialization was evicted or the call raised)"
    guard: Optional[Guard] = None
    if found is not None:
        index, seen = found
        if index < 0:
            detail = "the function's code was replaced"
        else:
            guard = spec.conversion.guards[index]
            at = f" [{guard.site}]" if guard.site else ""
            detail = f"{guard.assumption()}{at}; this call has {_observed(guard, seen, state.backend)}"
    logs.emit(
        "guards",
        f"{state.name} ({where}): no specialization fits ({len(specs)} cached); #{spec.number} fails: {detail}",
        function=state.name,
        site=guard.site if guard is not None and guard.site else where,
        specialization=spec.number,
        guard=guard.describe() if guard is not None else None,
    )


def first_failure(state: Any, spec: Any, args: tuple, kwargs: dict) -> Optional[tuple]:
    """`(index, value read)` of the first guard of `spec` the call fails (index -1: the
    function's code changed), or None."""
    diagnose = getattr(spec, "_janus_diagnose", None)
    if diagnose is None:
        diagnose = compile_diagnosis(state.fn, state.backend, spec.conversion)
        spec._janus_diagnose = diagnose
    try:
        return diagnose(*args, **kwargs)
    except TypeError:  # the arguments do not bind
        return None


def _observed(guard: Guard, seen: Any, backend: Any) -> str:
    """The value a failing guard read, as its description words it."""
    if isinstance(seen, BaseException):
        return f"reading it raised {type(seen).__name__}: {seen}"
    if seen is HOST_RAISED:
        return "a host computation that raised"
    kind = guard.kind
    if kind == "type":
        return name_of(type(seen))
    if kind == "tensor":
        return str(backend.spec_of(seen)) if backend.owns(seen) else name_of(type(seen))
    if kind == "len":
        return f"len {len(seen)}"
    if kind == "keys":
        return f"the keys {list(seen)}"
    if kind == "contains":
        return f"{guard.expect[0]!r} {'in' if guard.expect[0] in seen else 'not in'} it"
    if kind in ("identity", "code"):
        return name_of(seen)
    if kind == "alias":
        return "two different objects"
    return f"{seen!r:.80}"

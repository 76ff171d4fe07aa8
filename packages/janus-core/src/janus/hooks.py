"""The plugin contract: the pluggy project ``janus``, its typed hook specifications and the
events they carry, and the registrar a plugin registers its backends with.  A leaf
module: plugins import it without importing the plugin manager."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional

import pluggy

PROJECT = "janus"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class FallbackEvent:
    function: str
    reason: str
    kind: str  # "unsupported", "guard-miss", "assumption", "error", "profiling", "disabled"


@dataclass(frozen=True)
class GraphBuiltEvent:
    function: str
    backend: str
    graph_text: str
    seconds: float


class JanusSpec:
    """The hooks a plugin may implement."""

    @hookspec
    def janus_register_backends(self, register: BackendRegistrar) -> None:
        """Register backends: ``register(name, factory, claims=...)``.  Do not import the
        framework here; `factory()` is called lazily and returns a `janus.Backend`.  Each
        plugin's hook is called on its own: one that raises is skipped with a warning, and
        what it registered before raising is dropped."""

    @hookspec
    def janus_on_fallback(self, event: FallbackEvent) -> None:
        """Observe a call that ran imperatively, and why.  An observer that raises is
        unregistered with a warning (the call goes on)."""

    @hookspec
    def janus_on_graph_built(self, event: GraphBuiltEvent) -> None:
        """Observe a newly built specialization."""


@dataclass
class BackendEntry:
    """One registered backend: created by `factory()` the first time it is used."""

    name: str
    factory: Callable[[], Any]
    claims: Optional[Callable[[Any], bool]]
    #: the distribution whose plugin registered it ("" until the plugin manager knows)
    distribution: str = ""
    instance: Any = None
    #: why `factory()` failed (raised again on every later use, warned about once)
    error: Optional[BaseException] = None


class BackendRegistrar:
    """Handed to `janus_register_backends`; records lazily created backends."""

    def __init__(self) -> None:
        self.entries: List[BackendEntry] = []

    def __call__(
        self, name: str, factory: Callable[[], Any], *, claims: Optional[Callable[[Any], bool]] = None
    ) -> None:
        """Register backend `name`.  `factory()` returns the `janus.Backend` (import the
        framework there, not at module level); `claims(value)` answers, without importing
        the framework, whether `value` is this backend's tensor (used to pick a backend)."""
        if not name or not isinstance(name, str) or ":" in name:
            raise ValueError(f"a JANUS backend needs a non-empty string name without ':', got {name!r}")
        if not callable(factory):
            raise TypeError(f"register({name!r}, factory): factory must be callable, got {type(factory).__name__}")
        if claims is not None and not callable(claims):
            raise TypeError(f"register({name!r}, ..., claims=...): claims must be callable or None")
        self.entries.append(BackendEntry(name, factory, claims))

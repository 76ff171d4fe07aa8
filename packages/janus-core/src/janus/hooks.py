"""The plugin contract: the pluggy project ``janus``, its typed hook specifications and the
events they carry, and the registrar a plugin registers its backends with.  A leaf
module: plugins import it without importing the plugin manager."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

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
        framework here; `factory()` is called lazily and returns a `janus.Backend`."""

    @hookspec
    def janus_on_fallback(self, event: FallbackEvent) -> None:
        """Observe a call that ran imperatively, and why."""

    @hookspec
    def janus_on_graph_built(self, event: GraphBuiltEvent) -> None:
        """Observe a newly built specialization."""


@dataclass
class _Entry:
    name: str
    factory: Callable[[], Any]
    claims: Optional[Callable[[Any], bool]]
    instance: Any = None


class BackendRegistrar:
    """Handed to `janus_register_backends`; records lazily created backends."""

    def __init__(self) -> None:
        self._entries: Dict[str, _Entry] = {}

    def __call__(
        self, name: str, factory: Callable[[], Any], *, claims: Optional[Callable[[Any], bool]] = None
    ) -> None:
        """Register backend `name`.  `claims(value)` answers, without importing the
        framework, whether `value` is this backend's tensor (used to pick a backend)."""
        if not name or not isinstance(name, str):
            raise ValueError("a backend needs a non-empty string name")
        self._entries[name] = _Entry(name, factory, claims)

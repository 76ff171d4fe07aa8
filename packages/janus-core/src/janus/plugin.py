"""Plugin system: the pluggy project ``janus``, its typed hook specifications, and the
registry of backends.

A backend package exposes a module in the entry-point group ``janus`` that implements
`janus_register_backends(register)`.  That module must not import its framework:
`register` takes a *factory*, called the first time the backend is used.
"""

from __future__ import annotations

import threading
from typing import Any, List, Optional

import pluggy

from .errors import BackendNotFound
from .hooks import PROJECT, BackendRegistrar, FallbackEvent, GraphBuiltEvent, JanusSpec, hookimpl, hookspec
from .reference import plugin as reference_plugin

__all__ = [
    "PROJECT",
    "hookspec",
    "hookimpl",
    "FallbackEvent",
    "GraphBuiltEvent",
    "JanusSpec",
    "BackendRegistrar",
    "PluginManager",
    "plugins",
    "backends",
]


class PluginManager:
    def __init__(self):
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(JanusSpec)
        self._registrar: Optional[BackendRegistrar] = None
        self._lock = threading.RLock()

    def _load(self) -> BackendRegistrar:
        with self._lock:
            if self._registrar is None:
                if not self.pm.is_registered(reference_plugin):
                    self.pm.register(reference_plugin, name="reference")
                self.pm.load_setuptools_entrypoints(PROJECT)
                reg = BackendRegistrar()
                self.pm.hook.janus_register_backends(register=reg)
                self._registrar = reg
            return self._registrar

    def reload(self) -> None:
        """Forget the backends and read the entry points again (after installing a plugin
        in-process, or in tests)."""
        with self._lock:
            for plugin, _dist in list(self.pm.list_plugin_distinfo()):
                if self.pm.is_registered(plugin):
                    self.pm.unregister(plugin)
            self._registrar = None

    def register(self, plugin: Any, name: Optional[str] = None) -> None:
        """Register a plugin object in-process (tests, notebooks)."""
        with self._lock:
            self.pm.register(plugin, name=name)
            self._registrar = None

    def unregister(self, plugin: Any) -> None:
        with self._lock:
            self.pm.unregister(plugin)
            self._registrar = None

    def names(self) -> List[str]:
        return list(self._load()._entries)

    def get(self, name: str) -> Any:
        reg = self._load()
        entry = reg._entries.get(name)
        if entry is None:
            raise BackendNotFound(
                f"no JANUS backend named {name!r}; installed backends: {', '.join(sorted(reg._entries))}. "
                f"Install one with e.g. `pip install janus-backend-torch` or `pip install janus-backend-tf`."
            )
        if entry.instance is None:
            with self._lock:
                if entry.instance is None:
                    entry.instance = entry.factory()
        return entry.instance

    def claim(self, value: Any) -> Optional[str]:
        """The name of the backend that claims `value` as its tensor, if any."""
        for entry in self._load()._entries.values():
            try:
                if entry.claims is not None and entry.claims(value):
                    return entry.name
            except Exception:  # a plugin's check must not break dispatch
                continue
        return None

    @property
    def hook(self):
        self._load()
        return self.pm.hook


plugins = PluginManager()


def backends() -> List[str]:
    """Names of the registered backends, the built-in ``reference`` first."""
    return plugins.names()

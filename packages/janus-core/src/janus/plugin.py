"""Plugin system: the pluggy project ``janus``, its typed hook specifications, and the
registry of backends.

A backend package exposes a module in the entry-point group ``janus`` that implements
`janus_register_backends(register)`.  That module must not import its framework:
`register` takes a *factory*, called the first time the backend is used.

Plugins are isolated from each other: a plugin whose module fails to import, whose
`janus_register_backends` raises, or whose observation hook raises is skipped with one
`janus.PluginWarning` naming its distribution and the error; a factory that raises makes
that backend alone unusable (`janus.BackendNotFound`, naming the distribution).

Conflicts are decided the same way every time.  The built-in backends (``reference``
from janus-core, ``torch`` from janus-backend-torch, ``tf`` from janus-backend-tf) keep
their names and are asked first whether they claim a value; a third-party backend that
registers a taken name stays reachable as ``"DISTRIBUTION:NAME"``, and one that claims
values a built-in backend claims gets them only when selected by name
(``janus.jit(f, backend="mine")``).  Both conflicts warn once.
"""

from __future__ import annotations

import importlib.metadata
import re
import threading
import warnings
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import pluggy

from .backend import Backend
from .errors import BackendNotFound, PluginWarning
from .hooks import (
    PROJECT,
    BackendEntry,
    BackendRegistrar,
    FallbackEvent,
    GraphBuiltEvent,
    JanusSpec,
    hookimpl,
    hookspec,
)
from .reference import plugin as reference_plugin

__all__ = [
    "PROJECT",
    "hookspec",
    "hookimpl",
    "FallbackEvent",
    "GraphBuiltEvent",
    "JanusSpec",
    "BackendRegistrar",
    "BUILTIN_BACKENDS",
    "PluginManager",
    "plugins",
    "backends",
]

#: the project's own backends, in the order `backends()` lists them: name -> distribution
BUILTIN_BACKENDS: Dict[str, str] = {"reference": "janus-core", "torch": "janus-backend-torch", "tf": "janus-backend-tf"}
_IN_PROCESS = ""  # the distribution of a plugin registered with `plugins.register`


def _from(distribution: str) -> str:
    """Where a plugin came from, for messages."""
    return f"from distribution {distribution}" if distribution else "registered in-process"


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _is_builtin(entry: BackendEntry) -> bool:
    return _canonical(BUILTIN_BACKENDS.get(entry.name, "?")) == _canonical(entry.distribution)


def _warn(message: str) -> None:
    # attributed to "janus", not to a line of this module: the message names the plugin
    warnings.warn_explicit(message, PluginWarning, filename="janus", lineno=0, module="janus.plugin")


def _janus_entry_points() -> List[importlib.metadata.EntryPoint]:
    """The entry points of group ``janus``, one per (name, module), by distribution and name."""
    seen: Dict[Tuple[str, str], importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=PROJECT):
        seen.setdefault((ep.name, ep.value), ep)
    return sorted(seen.values(), key=lambda ep: (_distribution_of(ep), ep.name))


def _distribution_of(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else f"(the distribution providing {ep.value})"


class PluginManager:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(JanusSpec)
        self._lock = threading.RLock()
        #: name -> backend, in `backends()` order; None until the plugins are loaded
        self._backends: Optional[Dict[str, BackendEntry]] = None
        #: "DISTRIBUTION:NAME" -> a backend whose name another backend has
        self._shadowed: Dict[str, BackendEntry] = {}
        #: plugin name -> its distribution, for plugins loaded from entry points
        self._distributions: Dict[str, str] = {"reference": "janus-core"}
        self._claims_checked: Set[type] = set()
        self._warned: Set[str] = set()

    # -- loading --------------------------------------------------------------------------
    def _load(self) -> Dict[str, BackendEntry]:
        with self._lock:
            if self._backends is None:
                if not self.pm.is_registered(reference_plugin):
                    self.pm.register(reference_plugin, name="reference")
                self._load_entry_points()
                self._backends = self._choose(self._registered_backends())
                self._claims_checked = set()
            return self._backends

    def _load_entry_points(self) -> None:
        for ep in _janus_entry_points():
            if self.pm.has_plugin(ep.name) or self.pm.is_blocked(ep.name):
                continue
            dist = _distribution_of(ep)
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
            except Exception as e:
                self._warn_once(
                    f"JANUS plugin {ep.name!r} {_from(dist)} was skipped: loading {ep.value} raised "
                    f"{type(e).__name__}: {e}. The other backends work; reinstall or uninstall {dist} to fix it."
                )
                continue
            self._distributions[ep.name] = dist

    def _registered_backends(self) -> List[BackendEntry]:
        """Every plugin's backends, each plugin's hook called on its own."""
        entries: List[BackendEntry] = []
        for impl in self.pm.hook.janus_register_backends.get_hookimpls():
            dist = self._distributions.get(impl.plugin_name, _IN_PROCESS)
            staged = BackendRegistrar()
            try:
                impl.function(**dict.fromkeys(impl.argnames, staged))
            except Exception as e:
                self._warn_once(
                    f"JANUS plugin {impl.plugin_name!r} {_from(dist)} was skipped: its "
                    f"janus_register_backends raised {type(e).__name__}: {e}. The other backends work."
                )
                continue
            for entry in staged.entries:
                entry.distribution = dist
                entries.append(entry)
        return entries

    def _choose(self, entries: List[BackendEntry]) -> Dict[str, BackendEntry]:
        """Built-in backends first (in BUILTIN_BACKENDS order), then the others by name; a
        name registered twice goes to the built-in backend, else to the first."""
        order = list(BUILTIN_BACKENDS)
        ranked = sorted(
            entries,
            key=lambda e: (not _is_builtin(e), order.index(e.name) if _is_builtin(e) else 0, e.name, e.distribution),
        )
        chosen: Dict[str, BackendEntry] = {}
        self._shadowed = {}
        for entry in ranked:
            holder = chosen.get(entry.name)
            if holder is None:
                chosen[entry.name] = entry
                continue
            qualified = f"{entry.distribution or 'in-process'}:{entry.name}"
            self._shadowed[qualified] = entry
            kind = "the built-in backend" if _is_builtin(holder) else "backend"
            self._warn_once(
                f"JANUS backend {entry.name!r} {_from(entry.distribution)} does not replace {kind} "
                f"{entry.name!r} ({_from(holder.distribution)}); select it with backend={qualified!r}."
            )
        return chosen

    def reload(self) -> None:
        """Forget the backends and read the entry points again (after installing a plugin
        in-process, or in tests).  Plugins registered with `register` stay."""
        with self._lock:
            for name in list(self._distributions):
                plugin = self.pm.get_plugin(name)
                if name != "reference" and plugin is not None:
                    self.pm.unregister(plugin)
                    del self._distributions[name]
            self._backends = None
            self._warned = set()  # a fresh load warns about what is still wrong

    def register(self, plugin: Any, name: Optional[str] = None) -> None:
        """Register a plugin object in-process (tests, notebooks)."""
        with self._lock:
            self.pm.register(plugin, name=name)
            self._backends = None

    def unregister(self, plugin: Any) -> None:
        with self._lock:
            self.pm.unregister(plugin)
            self._backends = None

    # -- backends ---------------------------------------------------------------------------
    def names(self) -> List[str]:
        return [name for name, entry in self._load().items() if entry.error is None]

    def get(self, name: str) -> Backend:
        """The backend `name` (or "DISTRIBUTION:NAME"), created on first use."""
        known = self._load()
        entry = known.get(name) or self._shadowed.get(name)
        if entry is None:
            raise BackendNotFound(
                f"no JANUS backend named {name!r}; installed backends: {', '.join(self.names()) or 'none'}. "
                f"Install one with e.g. `pip install janus-backend-torch` or `pip install janus-backend-tf`."
            )
        if entry.instance is None:
            with self._lock:
                if entry.instance is None and entry.error is None:
                    self._create(entry, name)
        if entry.error is not None:
            raise BackendNotFound(str(entry.error)) from entry.error
        return entry.instance

    def _create(self, entry: BackendEntry, name: str) -> None:
        where = f"JANUS backend {name!r} ({_from(entry.distribution)})"
        try:
            instance = entry.factory()
        except BackendNotFound as e:  # the plugin's own message says what to install
            entry.error = BackendNotFound(f"{where} is not usable: {e}")
            entry.error.__cause__ = e
        except Exception as e:
            entry.error = BackendNotFound(
                f"{where} could not be created: its factory raised {type(e).__name__}: {e}"
                + (". Install what it imports, or uninstall the distribution." if isinstance(e, ImportError) else ".")
            )
            entry.error.__cause__ = e
        else:
            entry.error = _contract_problem(instance, where)
            if entry.error is None:
                instance.name = name
                entry.instance = instance
        if entry.error is not None:
            self._warn_once(f"{entry.error} The other backends work.")

    def claim(self, value: Any) -> Optional[str]:
        """The name of the backend that claims `value` as its tensor, if any: the first in
        `backends()` order (built-in backends first)."""
        entries = list(self._load().values())
        for i, entry in enumerate(entries):
            if self._claims(entry, value):
                if type(value) not in self._claims_checked:
                    self._claims_checked.add(type(value))
                    self._warn_other_claimants(entry, entries[i + 1 :], value)
                return entry.name
        return None

    def _claims(self, entry: BackendEntry, value: Any) -> bool:
        if entry.claims is None:
            return False
        try:
            return bool(entry.claims(value))
        except Exception as e:  # a plugin's check must not break dispatch
            self._warn_once(
                f"JANUS backend {entry.name!r} ({_from(entry.distribution)}): its claims() raised "
                f"{type(e).__name__}: {e}; it claims nothing."
            )
            return False

    def _warn_other_claimants(self, holder: BackendEntry, others: List[BackendEntry], value: Any) -> None:
        kind = "the built-in backend" if _is_builtin(holder) else "backend"
        for entry in others:
            if self._claims(entry, value):
                self._warn_once(
                    f"JANUS backend {entry.name!r} ({_from(entry.distribution)}) claims "
                    f"{type(value).__module__}.{type(value).__qualname__} values, which {kind} {holder.name!r} "
                    f"takes; select it with janus.jit(fn, backend={entry.name!r})."
                )

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            _warn(message)

    # -- observation hooks ----------------------------------------------------------------
    @property
    def hook(self) -> _IsolatedHooks:
        """The hooks, called plugin by plugin: one that raises is unregistered, with a warning."""
        self._load()
        return _IsolatedHooks(self)

    def _call_isolated(self, hook_name: str, kwargs: Dict[str, Any]) -> None:
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception as e:
                dist = self._distributions.get(impl.plugin_name, _IN_PROCESS)
                self._warn_once(
                    f"JANUS plugin {impl.plugin_name!r} {_from(dist)} was unregistered: its {hook_name} "
                    f"raised {type(e).__name__}: {e}."
                )
                with self._lock:
                    if self.pm.is_registered(impl.plugin):
                        self.pm.unregister(impl.plugin)


class _IsolatedHooks:
    """`plugins.hook.janus_on_fallback(event=...)` calling each implementation on its own."""

    def __init__(self, manager: PluginManager) -> None:
        self._manager = manager

    def __getattr__(self, hook_name: str) -> Callable[..., None]:
        return lambda **kwargs: self._manager._call_isolated(hook_name, kwargs)


def _contract_problem(instance: Any, where: str) -> Optional[BackendNotFound]:
    """Why a factory's result cannot serve as a backend, in words that say what to change."""
    if not isinstance(instance, Backend):
        return BackendNotFound(
            f"{where}: its factory returned {type(instance).__name__}, not an instance of a janus.Backend subclass."
        )
    if type(instance).owns is Backend.owns and not instance.tensor_types:
        return BackendNotFound(
            f"{where} declares no tensor_types, so it owns no value: set `tensor_types` to its tensor "
            f"classes (e.g. `(numpy.ndarray, numpy.generic)`) on {type(instance).__name__}, or override `owns`."
        )
    if not instance.framework_modules:
        return BackendNotFound(
            f"{where} declares no framework_modules, so no call would ever become a graph node: set "
            f"`framework_modules = ('numpy',)` (the top-level modules whose functions it runs) and "
            f"`tensor_types` (its tensor classes) on {type(instance).__name__}."
        )
    return None


plugins = PluginManager()


def backends() -> List[str]:
    """Names of the usable backends: the built-in ones first (``reference``, then ``torch``
    and ``tf`` where installed), then third-party backends by name.  A backend whose
    factory failed is left out once it has been tried (`janus.jit(backend=NAME)` says why)."""
    return plugins.names()

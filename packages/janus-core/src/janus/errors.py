"""Exceptions JANUS raises itself.  User code's own exceptions always pass through unchanged."""

from __future__ import annotations

from typing import Any


class JanusError(Exception):
    """Base class of every error JANUS raises on its own account."""


class BackendNotFound(JanusError, LookupError):
    """No usable backend of that name: not installed, or its plugin or factory failed
    (the message names the distribution and the error)."""


class PluginWarning(UserWarning):
    """A JANUS plugin was skipped or shadowed (it failed to load, or its backend's name or
    tensors belong to another backend); the other backends keep working."""


class SourceUnavailable(JanusError):
    """The function's Python source cannot be retrieved (built by exec, a C builtin...)."""


class Unsupported(JanusError):
    """A construct the converter cannot express; the call runs imperatively instead.

    Carries the construct and where it is, so the message reads
    ``generator expression at model.py:12: <why>``.
    """

    def __init__(self, construct: str, where: str = "", why: str = ""):
        self.construct, self.where, self.why = construct, where, why
        #: the node of the jitted function's own AST (a call, else a statement) that needs
        #: the host: where the function can be split into graph segments around an island
        self.island: Any = None
        #: False when no island helps (a conversion that ran out of time, a recursion limit)
        self.splittable = True
        #: the island is the whole statement holding the construct, not its call (a loop
        #: whose iterations must be separate graph calls)
        self.whole_statement = False
        text = construct + (f" at {where}" if where else "") + (f": {why}" if why else "")
        super().__init__(text)


class IRError(JanusError):
    """A malformed IR graph (raised by the verifier)."""


class AssumptionFailed(JanusError):
    """An in-graph speculation did not hold; the call is re-run imperatively."""

    def __init__(self, site: str = "", detail: str = ""):
        self.site = site
        super().__init__(f"speculation failed at {site}" + (f": {detail}" if detail else ""))


class EffectsApplied(BaseException):
    """Raised by an executable whose graph failed *after* an in-graph update of framework
    state (backward(), an optimizer step) had run: the runtime must not re-run the call
    imperatively (that would apply the update twice).  It re-raises `error`, the user's
    exception.  A BaseException so generic `except Exception` handlers do not retry."""

    def __init__(self, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error} (raised in a JANUS graph after an in-graph update ran)")
        self.error = error

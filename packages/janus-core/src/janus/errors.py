"""Exceptions JANUS raises itself.  User code's own exceptions always pass through unchanged."""

from __future__ import annotations


class JanusError(Exception):
    """Base class of every error JANUS raises on its own account."""


class BackendNotFound(JanusError, LookupError):
    pass


class SourceUnavailable(JanusError):
    """The function's Python source cannot be retrieved (built by exec, a C builtin...)."""


class Unsupported(JanusError):
    """A construct the converter cannot express; the call runs imperatively instead.

    Carries the construct and where it is, so the message reads
    ``generator expression at model.py:12: <why>``.
    """

    def __init__(self, construct: str, where: str = "", why: str = ""):
        self.construct, self.where, self.why = construct, where, why
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

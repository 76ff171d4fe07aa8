"""JANUS's log events, on the standard `logging` logger ``janus``.

One record per event, on a child logger per category, at INFO:

| category | logger | event |
|---|---|---|
| ``graphs`` | ``janus.graphs`` | a specialization was built (backend, guards, nodes, seconds) |
| ``guards`` | ``janus.guards`` | a call matched no specialization: which guard failed, and the value it saw |
| ``fallbacks`` | ``janus.fallbacks`` | a call ran imperatively: the reason and where (`file:line`) |
| ``tiers`` | ``janus.tiers`` | a backend changed how a graph runs (torch: fx -> Inductor) |

Each record carries its fields as a dict in `record.janus` (``event``, ``function``,
``site`` ...).  Categories are off until turned on, by the environment variable
``JANUS_LOG`` (``JANUS_LOG=graphs,fallbacks,guards`` or ``all``; read at import) which
also prints the records to stderr, or by `enable()`.  A category that is off costs one
module attribute read where its event would be (the flags below): graph-served calls
never log.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Dict, Iterable, Optional

CATEGORIES = ("graphs", "guards", "fallbacks", "tiers")
ENV_VAR = "JANUS_LOG"

#: per-category switches, read by the code that emits the events (cheap when off)
GRAPHS = False
GUARDS = False
FALLBACKS = False
TIERS = False

logger = logging.getLogger("janus")
_handler: Optional[logging.Handler] = None


def enabled() -> Dict[str, bool]:
    """Which categories are on."""
    return {c: bool(globals()[c.upper()]) for c in CATEGORIES}


def _names(categories: Iterable[str]) -> list:
    names = []
    for c in categories:
        c = c.strip().lower()
        if not c:
            continue
        if c == "all":
            names += list(CATEGORIES)
        elif c in CATEGORIES:
            names.append(c)
        else:
            raise ValueError(f"unknown JANUS log category {c!r}; known: {', '.join(CATEGORIES)}, all")
    return names


def enable(*categories: str, stderr: bool = False) -> None:
    """Turn categories on (none given: all).  Records go to the ``janus`` logger's handlers
    (your logging configuration); `stderr=True` adds a handler printing them to stderr.
    The ``janus`` logger's level is set to INFO when it has none."""
    global _handler
    for c in _names(categories or CATEGORIES):
        globals()[c.upper()] = True
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if stderr and _handler is None:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        logger.addHandler(_handler)


def disable(*categories: str) -> None:
    """Turn categories off (none given: all, and remove the stderr handler)."""
    global _handler
    for c in _names(categories or CATEGORIES):
        globals()[c.upper()] = False
    if not categories and _handler is not None:
        logger.removeHandler(_handler)
        _handler = None


def configure_from_environment(value: Optional[str] = None) -> None:
    """Apply ``JANUS_LOG`` (or `value`): the categories it names are on and print to stderr."""
    text = os.environ.get(ENV_VAR, "") if value is None else value
    if not text.strip() or text.strip().lower() in ("0", "false", "no", "off"):
        return
    try:
        names = _names(text.split(","))
    except ValueError as e:
        print(f"janus: ignoring {ENV_VAR}={text!r}: {e}", file=sys.stderr)
        return
    enable(*names, stderr=True)


def emit(category: str, message: str, **fields: Any) -> None:
    """Log one event of `category` (call it only when the category's flag is on)."""
    fields["event"] = fields.get("event", category)
    logging.getLogger(f"janus.{category}").info(message, extra={"janus": fields})


configure_from_environment()

"""Control signals of the converter: Python control flow while converting, and requests
to convert again in another mode.  A leaf module."""

from __future__ import annotations

from typing import Any


class BreakSignal(Exception):
    """`break` reached while converting a loop body."""


class ContinueSignal(Exception):
    """`continue` reached while converting a loop body."""


class ReturnSignal(Exception):
    """`return` reached: carries the returned (converter) value."""

    def __init__(self, value: Any):
        super().__init__()
        self.value = value


class Respecialize(Exception):
    """Conversion must restart with exact shapes (Python code read a relaxed dimension)."""


class Reconvert(Exception):
    """Conversion must restart as it was: the analyzer learned something on the way (a
    branch speculated earlier in this conversion goes the other way later on)."""


class ScheduleRecursion(Exception):
    """Recursion over a structure was found: convert again in schedule mode."""

    def __init__(self, code: Any, tree_index: int):
        super().__init__()
        self.code, self.tree_index = code, tree_index


#: signals that must pass through a converted `try` untouched
RESTARTS = (Respecialize, Reconvert, ScheduleRecursion)


class _Pass:
    def __repr__(self) -> str:
        return "PASS"


#: a resolver's (or hook's) answer for a call it does not take
PASS = _Pass()

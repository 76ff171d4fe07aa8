"""The speculative graph generator: function AST + profile -> IR graph + guards + effects.

`convert` is the entry point (`driver.py`); the converter itself is `statements.Converter`
(statements) over `expressions.ExpressionConverter` (expressions, names), composed of
parts with their own state: `session.Session` (graph, inputs, guards, heap), `objects`,
`calls`, `control`, `recursion`, `state` (in-place tensor writes).  See
docs/architecture.md.
"""

from .driver import Conversion, convert

__all__ = ["Conversion", "convert"]

"""A template JANUS backend: NumPy arrays, graphs compiled to chains of Python closures.

Copy this package to start a backend for another framework (README.md says what to
rename).  `plugin.py` is the entry point and imports no framework; `backend.py` holds
the contract (`janus.Backend`, plus `janus.ConversionRules` for in-place writes);
`executable.py` lowers the IR.
"""

__version__ = "0.1.0"

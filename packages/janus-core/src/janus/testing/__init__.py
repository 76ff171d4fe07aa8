"""`janus.testing`: the JANUS conformance kit, for any installed backend.

The conformance corpus is a set of imperative programs (values, control flow, Python
state, printed output, training steps) each run eagerly -- the oracle -- and under
`janus.jit` on a backend; the two must agree on every call's value or exception, on
the Python state the program can reach, and on stdout.  Run it with pytest:

    pytest --janus-backend NAME          # or: pytest -p janus.testing --janus-backend NAME

A backend runs the programs of the frameworks whose tensors it owns, and must serve
from graphs those whose features its `Capabilities` declare (`janus.testing.programs`).

Modules: `corpus` (the case registry), `cases_*` (the cases), `frameworks` (one shim
per framework, and comparison), `harness` (running a case eagerly and under JANUS),
`programs` (selection by capability), `suite` (the pytest tests).  The pytest hooks live
in the top-level module `janus_pytest_plugin` (so that loading the plugin does not import
JANUS); this module re-exports them, so `-p janus.testing` works too.
"""

from __future__ import annotations

from janus_pytest_plugin import pytest_addoption, pytest_collect_file, pytest_configure, pytest_generate_tests

__all__ = ["pytest_addoption", "pytest_collect_file", "pytest_configure", "pytest_generate_tests"]

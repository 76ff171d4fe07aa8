"""The conformance corpus (`janus.testing`, shipped in janus-core) on every installed
backend: the suite's tests, parametrized by the `janus.testing` pytest plugin with one
program per case, framework and backend (`--janus-backend NAME` narrows the backends).

The cases live in packages/janus-core/src/janus/testing/cases_*.py.
"""

from janus.testing.suite import test_graph_served, test_matches_eager  # noqa: F401

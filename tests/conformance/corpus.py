"""The conformance corpus: imperative programs whose eager run is the oracle.

A case is `build(T) -> (fn, calls, observe)`: the program, the (args, kwargs) it is
called with in order, and a function returning the Python state it can reach.  `tags`
name the features it exercises; `served` says how many of its calls must run from a
graph once its features are supported ("graph-served from the third call on, apart
from calls right after a behaviour change"), and `scope` the issue that supports them.
"""

from __future__ import annotations

CASES = {}

#: the tags each backend's converter serves from graphs today
SUPPORTED = {
    "reference": {"core", "heap", "speculation", "control", "io", "state", "recursion", "break"},
    "torch": {"core", "heap", "speculation", "control", "io", "state", "recursion", "training", "break"},
    "tf": {"core", "heap", "speculation", "control", "io", "state", "recursion", "training", "break"},
}


def case(name, *, tags, served, frameworks=("numpy", "torch", "tf"), exact=False):
    """`exact`: Python floats in results and state must be equal bit for bit (cases about
    Python-number semantics), not within the tolerance tensors get."""

    def deco(build):
        CASES[name] = dict(build=build, tags=tuple(tags), served=served, frameworks=frameworks, name=name, exact=exact)
        return build

    return deco


def in_scope(c, backend: str) -> bool:
    return set(c["tags"]) <= SUPPORTED.get(backend, set())

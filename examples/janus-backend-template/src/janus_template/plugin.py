"""The entry point (group ``janus``, name ``template``, see pyproject.toml).

JANUS imports this module whenever it lists backends, so it must stay cheap: import
the framework inside the factory, and recognise tensors in `claims` without importing
it (a value can only be a framework tensor if the program imported the framework).
"""

from __future__ import annotations

from typing import Any

from janus import hookimpl


def make_backend() -> Any:
    from .backend import TemplateBackend  # the framework is imported here, on first use

    return TemplateBackend()


@hookimpl
def janus_register_backends(register: Any) -> None:
    # No `claims=`: NumPy arrays belong to the built-in "reference" backend, so this one is
    # selected by name, `janus.jit(fn, backend="template")`.  A backend for a framework of
    # its own passes `claims=lambda value: isinstance(value, myfw.Tensor)` (looking the
    # framework up in sys.modules, never importing it) so that `janus.jit(fn)` picks it
    # from the first call's tensors; claiming another backend's tensors only warns.
    register("template", make_backend)

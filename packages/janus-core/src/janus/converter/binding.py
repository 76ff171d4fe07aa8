"""Python's argument binding, for a function the converter inlines from its AST: the same
errors as a real call (missing, unexpected or repeated arguments).  A leaf module."""

from __future__ import annotations

from typing import Any, Dict


def bind_params(node, defaults: list, kw_defaults: dict, args: list, kwargs: dict, name: str) -> Dict[str, Any]:
    """Python's argument binding for an AST function signature."""
    a = node.args
    positional = [p.arg for p in a.posonlyargs + a.args]
    out: Dict[str, Any] = {}
    kwargs = dict(kwargs)
    for i, value in enumerate(args):
        if i < len(positional):
            out[positional[i]] = value
        elif a.vararg is None:
            raise TypeError(f"{name}() takes {len(positional)} positional arguments but {len(args)} were given")
    if a.vararg is not None:
        out[a.vararg.arg] = tuple(args[len(positional) :])
    posonly = {p.arg for p in a.posonlyargs}
    for pname in positional + [p.arg for p in a.kwonlyargs]:
        if pname in kwargs and pname not in posonly:
            if pname in out:
                raise TypeError(f"{name}() got multiple values for argument '{pname}'")
            out[pname] = kwargs.pop(pname)
    _fill_defaults(a, positional, defaults, kw_defaults, out, name)
    if a.kwarg is not None:
        out[a.kwarg.arg] = kwargs
    elif kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    return out


def _fill_defaults(a, positional: list, defaults: list, kw_defaults: dict, out: dict, name: str) -> None:
    first_default = len(positional) - len(defaults)
    for i, pname in enumerate(positional):
        if pname not in out:
            if i < first_default:
                raise TypeError(f"{name}() missing required positional argument: '{pname}'")
            out[pname] = defaults[i - first_default]
    for p in a.kwonlyargs:
        if p.arg not in out:
            if p.arg not in kw_defaults:
                raise TypeError(f"{name}() missing required keyword-only argument: '{p.arg}'")
            out[p.arg] = kw_defaults[p.arg]

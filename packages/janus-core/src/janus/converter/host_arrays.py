"""NumPy arrays from outside the function passed to framework calls.

An array a parameter, a global or an island hands to `torch.from_numpy(a)` or
`tf.gather(t, idx)` is a new object on most calls, and one the caller may fill in place
between calls.  Embedding it in the graph as a constant would bake in its contents
(silently stale) or rebuild the graph on every call.  Instead the array becomes a graph
input: on every call the backend makes its tensor from the array as it is then
(`ConversionRules.host_array_tensor`), guarded by type, dtype and shape.  Which calls
may take that tensor in the array's place is the backend's rule
(`ConversionRules.host_array_call`); any other call on such an array runs on the host.
"""

from __future__ import annotations

from typing import Any, List, Tuple

import numpy as np

from ..errors import Unsupported
from ..paths import Path
from .sym import Sym, unwrap_examples

#: a value a framework call reads from outside the function: (position, array, path)
Found = Tuple[Any, np.ndarray, Path]


def outside_arrays(session, args: tuple, kwargs: dict) -> List[Found]:
    """The NumPy arrays read from outside the function among a call's arguments."""
    heap, found = session.heap, []
    for position, value in list(enumerate(args)) + list(kwargs.items()):
        if isinstance(value, np.ndarray) and not session.backend.owns(value):
            path = heap.path_of(value)
            if path is not None:
                found.append((position, value, path))
    return found


def lift(session, op: str, target: Any, args: tuple, kwargs: dict, site: str) -> Tuple[tuple, dict, Any]:
    """`(args, kwargs, result)`: the arrays replaced by their input tensors, and, when the
    call only makes a tensor of an array (`torch.from_numpy(a)`), that tensor as the
    call's result (else None)."""
    found = outside_arrays(session, args, kwargs)
    if not found:
        return args, kwargs, None
    new_args, new_kwargs = list(args), dict(kwargs)
    ex_args, ex_kwargs = unwrap_examples(args), unwrap_examples(kwargs)
    name = target if isinstance(target, str) else getattr(target, "__name__", repr(target))
    for position, array, path in found:
        rule = session.rules.host_array_call(target, position, ex_args, ex_kwargs) if array.dtype != object else None
        if rule is None:
            raise Unsupported(
                f"an outside NumPy array passed to `{name}`",
                site,
                "its contents can change between calls, and this call cannot take it as a graph input",
            )
        tensor = input_tensor(session, array, path, site)
        how, fn = rule
        if how == "same" and len(found) == 1:
            return args, kwargs, tensor
        if how == "apply" and len(found) == 1:
            return args, kwargs, session.emit("call", fn, (tensor,), {}, site)
        if how != "pass":
            raise Unsupported(f"several outside NumPy arrays passed to `{name}`", site)
        if isinstance(position, int):
            new_args[position] = tensor
        else:
            new_kwargs[position] = tensor
    return tuple(new_args), new_kwargs, None


def input_tensor(session, array: np.ndarray, path: Path, site: str) -> Sym:
    """The graph input made from the array at `path` on every call."""
    convert = session.rules.host_array_tensor
    tensor_path = Path(("expr", ("call", convert, (("path", path),))))
    known = session.input_sym(tensor_path)
    if known is not None:
        return known
    session.guard("type", path, type(array), site)
    session.guard("value", path.attr("dtype"), array.dtype, site)
    session.guard("value", path.attr("shape"), tuple(array.shape), site)
    example = convert(array)
    return session.new_input(tensor_path, session.backend.spec_of(example), example)

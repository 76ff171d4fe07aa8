"""Runs one generated program eagerly (the oracle) and under `janus.jit`, and compares.

Each run imports the program file afresh under a new module name, so its globals, `obj`
and `log` start identical.  Per call it records the return value (as NumPy / Python
values) or the exception type, the call's stdout, the arguments after the call (in-place
writes reach the caller) and whether a graph served it; after the calls, the program's
module-level state.  Comparison is strict: Python floats
bit for bit, ints / strs / bools exactly, dict key order included; only tensors get a
tolerance (allclose rtol=1e-5, atol=1e-6, same dtype and shape).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import os
import random
import re
import signal
import struct
import sys
import threading
import types
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import numpy as np

import janus
from janus.testing.frameworks import BACKEND_OF, shim

FRAMEWORK_OF = {backend: fw for fw, backend in BACKEND_OF.items()}
RTOL, ATOL = 1e-5, 1e-6
#: module-level names a program does not own (the prelude and the call sequence)
NOT_STATE = {"T", "np", "shim", "CALLS"}

_module_numbers = itertools.count()
_file_numbers = itertools.count()


class ProgramTimeout(BaseException):
    """Raised in a run that exceeds its time; a BaseException so `except` in programs misses it."""


@dataclass
class Outcome:
    status: str  # "ok" or "raised"
    value: Any  # the snapshot of the return value, or the exception's type name
    stdout: str
    graph_served: bool = False
    args_after: Any = None  # the arguments after the call: in-place writes to them are effects too


@dataclass
class Run:
    outcomes: List[Outcome] = field(default_factory=list)
    state: Any = None
    stats: Any = None  # janus.Stats of the jitted run
    jitted: Any = None  # the JitFunction, for janus.explain
    error: Optional[str] = None  # the run itself failed (load error, timeout)


@dataclass
class Difference:
    kind: str  # for grouping: "return:float", "stdout", "state:obj.step:value", "exception:ok->KeyError"...
    where: str
    detail: str


@dataclass
class Verdict:
    backend: str
    path: str
    eager: Run
    janus: Run
    differences: List[Difference]

    @property
    def kind(self) -> Optional[str]:
        return self.differences[0].kind if self.differences else None

    @property
    def served(self) -> str:
        return "".join("G" if o.graph_served else "." for o in self.janus.outcomes)


def write_program(source: str, directory: str, stem: str = "prog") -> str:
    """A new file for every variant: `inspect.getsource` caches lines per path."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{stem}_{os.getpid()}_{next(_file_numbers)}.py")
    with open(path, "w") as fh:
        fh.write(source)
    return path


def load_fresh(path: str) -> types.ModuleType:
    name = f"janus_fuzz_prog_{next(_module_numbers)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # inspect.getsource finds the module through sys.modules
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def reseed() -> None:
    random.seed(0)
    np.random.seed(0)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(0)


def snapshot(value: Any, T, depth: int = 0) -> Any:
    """Tensors -> NumPy arrays, user objects -> ("object", class name, attributes), recursively."""
    if depth > 20:
        return ("too-deep", type(value).__name__)
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v, T, depth + 1) for v in value)
    if isinstance(value, dict):
        return {k: snapshot(v, T, depth + 1) for k, v in value.items()}
    if isinstance(value, np.generic):
        return np.asarray(value)
    if isinstance(value, np.ndarray):
        return value.copy()
    if T.is_tensor(value) or type(value).__name__ in ("ResourceVariable", "Variable"):
        return np.asarray(T.to_numpy(value)).copy()
    if isinstance(value, (int, float, complex, str, bytes, type(None))):
        return value
    if hasattr(value, "__dict__") and not callable(value):
        return ("object", type(value).__name__, snapshot(dict(vars(value)), T, depth + 1))
    return ("opaque", type(value).__name__, repr(value)[:200])


def owned_state(module: types.ModuleType, T) -> dict:
    state = {}
    for name, value in vars(module).items():
        if name.startswith("__") or name in NOT_STATE:
            continue
        if isinstance(value, (types.ModuleType, types.FunctionType, type)):
            continue
        state[name] = snapshot(value, T)
    return state


@contextlib.contextmanager
def time_limit(seconds: float):
    """SIGALRM-based; a no-op off the main thread (no way to interrupt there)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise ProgramTimeout(f"run exceeded {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call(fn, args, T, jitted) -> Outcome:
    before = jitted.stats.graph_calls if jitted is not None else 0
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            result = ("ok", snapshot(fn(*args), T))
        except Exception as e:
            result = ("raised", type(e).__name__)
    served = jitted is not None and jitted.stats.graph_calls > before
    return Outcome(result[0], result[1], buf.getvalue(), served, snapshot(args, T))


def run_program(path: str, backend: str, use_janus: bool, timeout: float = 60.0) -> Run:
    """One run of the program at `path`: eagerly, or under janus.jit on `backend`."""
    T = shim(FRAMEWORK_OF[backend])
    run = Run()
    module = None
    reseed()
    try:
        with time_limit(timeout):
            module = load_fresh(path)
            calls = module.CALLS()
            fn = janus.jit(module.f, backend=backend) if use_janus else module.f
            run.jitted = fn if use_janus else None
            for args in calls:
                run.outcomes.append(_call(fn, args, T, run.jitted))
            run.state = owned_state(module, T)
    except ProgramTimeout as e:
        run.error = f"timeout: {e} (in call {len(run.outcomes)})"
    except Exception as e:
        run.error = f"{type(e).__name__}: {e}"[:300]
    finally:
        if module is not None:
            sys.modules.pop(module.__name__, None)
    if run.jitted is not None:
        run.stats = run.jitted.stats
    return run


def _float_bits(v: float) -> bytes:
    return struct.pack("<d", v)


def first_difference(a: Any, b: Any, path: str = "value") -> Optional[Tuple[str, str]]:
    """Where `b` (JANUS) departs from `a` (eager): (category, description), or None.
    Categories: type, shape/dtype, tensor, float, length, keys, value."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return _array_difference(a, b, path)
    if type(a) is not type(b):
        return "type", f"{path}: {type(a).__name__} {a!r:.80} vs {type(b).__name__} {b!r:.80}"
    if isinstance(a, float):
        same = _float_bits(a) == _float_bits(b) or (a != a and b != b)
        return None if same else ("float", f"{path}: {a!r} vs {b!r}")
    if _is_object_snapshot(a) and _is_object_snapshot(b) and a[1] == b[1]:
        return _mapping_difference(a[2], b[2], path, lambda k: f"{path}.{k}")
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return "length", f"{path}: length {len(a)} vs {len(b)}: {a!r:.120} vs {b!r:.120}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(a, dict):
        return _mapping_difference(a, b, path, lambda k: f"{path}[{k!r}]")
    return None if a == b else ("value", f"{path}: {a!r:.100} vs {b!r:.100}")


def _is_object_snapshot(v: Any) -> bool:
    return isinstance(v, tuple) and len(v) == 3 and isinstance(v[0], str) and v[0] == "object"


def _array_difference(a: Any, b: Any, path: str) -> Optional[Tuple[str, str]]:
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return "type", f"{path}: {type(a).__name__} {a!r:.80} vs {type(b).__name__} {b!r:.80}"
    if a.shape != b.shape or a.dtype != b.dtype:
        return "shape/dtype", f"{path}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    if a.dtype.kind in "fc":
        if np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True):
            return None
        worst = np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))) if a.size else 0.0
        return "tensor", f"{path}: tensors differ, max |diff| {worst:.3g}: {a!r:.120} vs {b!r:.120}"
    return None if np.array_equal(a, b) else ("tensor", f"{path}: {a!r:.120} vs {b!r:.120}")


def _mapping_difference(a: dict, b: dict, path: str, item_path) -> Optional[Tuple[str, str]]:
    if list(a) != list(b):
        return "keys", f"{path}: keys {list(a)!r:.100} vs {list(b)!r:.100}"
    for k in a:
        found = first_difference(a[k], b[k], item_path(k))
        if found:
            return found
    return None


def state_label(path: str) -> str:
    """`obj.items[2]` -> `obj.items`: what a state difference is about, for grouping."""
    return re.sub(r"\[[^\]]*\]", "", path)


def _call_differences(i: int, e: Outcome, j: Outcome) -> List[Difference]:
    where, found = f"call {i}", []
    if e.status != j.status or (e.status == "raised" and e.value != j.value):
        eager_what = e.value if e.status == "raised" else "ok"
        janus_what = j.value if j.status == "raised" else "ok"
        found.append(
            Difference(
                f"exception:{eager_what}->{janus_what}",
                where,
                f"eager {e.status} {e.value!r:.100}, janus {j.status} {j.value!r:.100}",
            )
        )
    elif e.status == "ok":
        found_return = first_difference(e.value, j.value, "result")
        if found_return:
            found.append(Difference(f"return:{found_return[0]}", where, found_return[1]))
    if e.stdout != j.stdout:
        found.append(Difference("stdout", where, f"eager printed {e.stdout!r:.300}\n  janus printed {j.stdout!r:.300}"))
    found_args = first_difference(e.args_after, j.args_after, "args")
    if found_args:
        found.append(Difference(f"args:{found_args[0]}", where, "arguments after the call: " + found_args[1]))
    return found


def compare(eager: Run, jit: Run) -> List[Difference]:
    if eager.error:
        raise RuntimeError(f"the program itself fails outside its calls: {eager.error}")
    if jit.error:
        label = "run:timeout" if jit.error.startswith("timeout") else f"run:{jit.error.split(':')[0]}"
        return [Difference(label, "run", jit.error)]
    found: List[Difference] = []
    for i, (e, j) in enumerate(zip(eager.outcomes, jit.outcomes)):
        found += _call_differences(i, e, j)
    if list(eager.state) != list(jit.state):
        found.append(
            Difference(
                "state:globals:keys", "after the calls", f"module globals {list(eager.state)} vs {list(jit.state)}"
            )
        )
    for name in eager.state:
        found_state = first_difference(eager.state[name], jit.state.get(name, "(missing)"), name)
        if found_state:
            category, detail = found_state
            label = state_label(detail.split(":")[0])
            found.append(Difference(f"state:{label}:{category}", "after the calls", detail))
    return found


def check(path: str, backend: str, timeout: float = 60.0) -> Verdict:
    """Eager vs JANUS for the program file at `path` on `backend`."""
    eager = run_program(path, backend, use_janus=False, timeout=timeout)
    jit = run_program(path, backend, use_janus=True, timeout=timeout)
    return Verdict(backend, path, eager, jit, compare(eager, jit))


_WARM_UP = """import numpy as np
from janus.testing.frameworks import shim

T = shim({fw!r})


def f(x):
    if T.sum(x) > 0:
        return T.tanh(T.matmul(x, x)) * 2.0
    return x - 1.0


def CALLS():
    return [(T.tensor([[0.5, -0.25], [0.1, 0.2]]),)] * 3 + [(T.tensor([[-0.5, -0.25], [0.1, 0.2]]),)] * 3
"""


def warm_up(backend: str, directory: str) -> None:
    """One small program through both runs, untimed: a framework's first graph build
    initializes lazily (seconds for TensorFlow), which must not count as a hang."""
    path = write_program(_WARM_UP.format(fw=FRAMEWORK_OF[backend]), directory, "warm_up")
    check(path, backend, timeout=0)
    os.remove(path)


def calls_source(source: str) -> str:
    """The call sequence: the `CALLS()` function of a program."""
    at = source.find("def CALLS():")
    return source[at:] if at >= 0 else "(no CALLS)"


def describe(verdict: Verdict, source: str, with_source: bool = True) -> str:
    """A readable report of one mismatch: program, calls, differences, janus.explain."""
    lines = [f"=== mismatch on backend {verdict.backend}: {verdict.kind}  ({verdict.path})"]
    if with_source:
        lines += ["--- program", source.split("def CALLS():")[0].rstrip(), "--- call sequence", calls_source(source)]
    lines.append("--- differences (eager vs janus)")
    lines += [f"  {d.where}: [{d.kind}] {d.detail}" for d in verdict.differences[:12]]
    if len(verdict.differences) > 12:
        lines.append(f"  ... and {len(verdict.differences) - 12} more")
    lines.append(f"--- graph-served calls: {verdict.served or '(none)'}")
    if verdict.janus.jitted is not None:
        lines += ["--- janus.explain", janus.explain(verdict.janus.jitted)]
    return "\n".join(lines)

"""Measures JANUS on PyTorch Dynamo's own function tests (see dynamo_functions.py).

For every case: run it eagerly (the oracle) and under ``janus.jit(fn, backend="torch")``
with the same inputs (RNGs seeded identically), compare what each call returned (values
within tolerance, dtypes, shapes, Python types, which results are the argument objects),
raised (by type), printed, and did to its arguments and to the Python state it closes
over; count the calls served from a graph after the profiling calls; collect the
fallback reasons.  In CLI mode also ask torch.compile(fullgraph=True, backend="eager")
whether Dynamo captures the function as one graph, so coverage can be reported where
the peer builds a graph.

    python tests/peer/measure.py                 # everything, with the torch.compile check
    python tests/peer/measure.py --no-peer       # JANUS only (what the pytest test runs)
    python tests/peer/measure.py --case test_deque --case 'test_pos[1,tensor]' -v
    python tests/peer/measure.py --json /tmp/peer.json
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import io
import json
import math
import os
import random
import re
import signal
import sys
import time
import traceback
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from dynamo_functions import CASES, SKIPPED, Case, T  # noqa: E402

import janus  # noqa: E402

CALLS = 6
PROFILE_RUNS = janus.Config().profile_runs  # 2 by default
RTOL, ATOL = 1e-4, 1e-5
CASE_TIMEOUT_S = 60.0
PEER_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------------------
# Normalizing what a call produced into comparable data
# --------------------------------------------------------------------------------------

_ADDR = re.compile(r" at 0x[0-9a-fA-F]+")


class Arr:
    """An array-valued leaf (a tensor or an ndarray), compared with tolerance."""

    def __init__(self, kind, dtype, shape, values, extra=()):
        self.kind, self.dtype, self.shape, self.values, self.extra = kind, dtype, shape, values, extra

    def __repr__(self):
        if self.values is None or self.values.size > 6:
            body = "..." if self.values is not None else "no data"
        else:
            body = np.array2string(self.values.reshape(-1), precision=4, separator=",")
        extra = "".join(f", {e}" for e in self.extra if e)
        return f"{self.kind}({self.dtype}{list(self.shape)}{extra}: {body})"

    def key(self):
        return repr(self)


def _tensor(t: torch.Tensor) -> Arr:
    extra = ("requires_grad" if t.requires_grad else "", "" if t.device.type == "cpu" else str(t.device))
    if t.device.type == "meta" or t.is_sparse or t.is_quantized:
        return Arr("tensor", str(t.dtype), tuple(t.shape), None, extra)
    v = t.detach()
    if v.dtype in (torch.bfloat16, torch.float16):
        v = v.float()
    return Arr("tensor", str(t.dtype), tuple(t.shape), v.cpu().numpy().copy(), extra)


def normalize(v, ids: Optional[Dict[int, str]] = None, path: str = "r", depth: int = 0):
    """`ids`: id of an object already seen -> where; a second sighting (or an argument
    object, pre-seeded) normalizes to ("same object as", where), so identity is compared."""
    if ids is None:
        ids = {}
    if depth > 20:
        return ("too deep",)
    tracked = isinstance(v, (torch.Tensor, np.ndarray, list, dict, set, collections.deque)) or (
        hasattr(v, "__dict__") and not isinstance(v, (type, types.FunctionType, types.ModuleType, torch.nn.Module))
    )
    if tracked:
        if id(v) in ids:
            return ("same object as", ids[id(v)])
        ids[id(v)] = path
    n = lambda x, p: normalize(x, ids, p, depth + 1)
    if isinstance(v, torch.Tensor):
        return _tensor(v)
    if isinstance(v, np.ndarray):
        return Arr("ndarray", str(v.dtype), v.shape, v.copy())
    if isinstance(v, np.generic):
        return ("np." + type(v).__name__, v.item() if not isinstance(v, np.void) else repr(v))
    if v is None or isinstance(v, (bool, int, str, bytes, complex)):
        return (type(v).__name__, v)
    if isinstance(v, float):
        return ("float", v)
    if isinstance(v, torch.Size):
        return ("torch.Size", tuple(v))
    if isinstance(v, (torch.dtype, torch.device, torch.layout, torch.memory_format)):
        return (type(v).__name__, str(v))
    if isinstance(v, np.dtype):
        return ("np.dtype", str(v))
    if isinstance(v, (range, slice, type(Ellipsis))):
        return (type(v).__name__, repr(v))
    if isinstance(v, tuple):
        return (type(v).__qualname__, tuple(n(x, f"{path}[{i}]") for i, x in enumerate(v)))
    if isinstance(v, (list, collections.deque)):
        return (type(v).__qualname__, tuple(n(x, f"{path}[{i}]") for i, x in enumerate(v)))
    if isinstance(v, dict):
        items = []
        for i, (k, x) in enumerate(v.items()):
            items.append((n(k, f"{path}.key{i}"), n(x, f"{path}[{k!r:.20}]")))
        extra = ()
        if isinstance(v, collections.defaultdict):
            extra = (Minor(getattr(v.default_factory, "__qualname__", repr(v.default_factory))),)
        return (type(v).__qualname__, tuple(items)) + extra
    if isinstance(v, (set, frozenset)):
        elems = [n(x, f"{path}{{}}") for x in v]
        return (type(v).__qualname__, tuple(sorted(elems, key=_sort_key)))
    if isinstance(v, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return ("function", getattr(v, "__name__", repr(v)), Minor(getattr(v, "__qualname__", "")))
    if isinstance(v, type):
        return ("class", v.__qualname__)
    if isinstance(v, torch.nn.Module):
        return ("module", type(v).__qualname__)
    if isinstance(v, (torch.finfo, torch.iinfo)):
        return (type(v).__name__, repr(v))
    if dataclasses.is_dataclass(v):
        return ("dataclass " + type(v).__qualname__, n(vars(v), path + ".__dict__"))
    if hasattr(v, "__dict__") and not isinstance(v, types.ModuleType):
        return ("object " + type(v).__qualname__, n(vars(v), path + ".__dict__"))
    return ("repr " + type(v).__qualname__, _ADDR.sub("", repr(v)))


class Minor(str):
    """A detail compared but reported apart (a function's __qualname__): a difference
    here is listed as a note, not as a correctness mismatch."""


def _sort_key(x):
    return repr(x)


def differ(a, b, path="", minor: Optional[List[str]] = None) -> Optional[str]:
    """The first difference between two normalized values, in words; None if the same.
    Differences in `Minor` leaves are appended to `minor` instead."""
    if isinstance(a, Minor) and isinstance(b, Minor):
        if a != b and minor is not None:
            minor.append(f"{path}: eager {str(a)!r}, janus {str(b)!r}")
        return None
    if isinstance(a, Arr) or isinstance(b, Arr):
        if not (isinstance(a, Arr) and isinstance(b, Arr)):
            return f"{path}: eager {a!r:.120}, janus {b!r:.120}"
        if (a.kind, a.dtype, tuple(a.shape), a.extra) != (b.kind, b.dtype, tuple(b.shape), b.extra):
            return f"{path}: eager {a!r:.160}, janus {b!r:.160}"
        if (a.values is None) != (b.values is None):
            return f"{path}: eager {a!r:.160}, janus {b!r:.160}"
        if a.values is None:
            return None
        av, bv = a.values, b.values
        if av.dtype.kind in "fc":
            ok = np.allclose(av, bv, rtol=RTOL, atol=ATOL, equal_nan=True)
        else:
            ok = np.array_equal(av, bv)
        if not ok:
            where = ""
            with contextlib.suppress(Exception):
                bad = (
                    np.argwhere(~np.isclose(av, bv, rtol=RTOL, atol=ATOL, equal_nan=True))
                    if av.dtype.kind in "fc"
                    else np.argwhere(av != bv)
                )
                if len(bad):
                    i = tuple(bad[0])
                    where = f" (first at {list(i)}: eager {av[i]!r}, janus {bv[i]!r}; {len(bad)} elements differ)"
            return f"{path}: values differ{where}"
        return None
    if isinstance(a, tuple) and isinstance(b, tuple):
        tagged = bool(a) and isinstance(a[0], str)
        if tagged:
            if not b or a[0] != b[0]:
                return f"{path}: eager {_short(a)}, janus {_short(b)}"
            if a[0] == "float" and b[0] == "float":
                x, y = a[1], b[1]
                if (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9):
                    return None
                return f"{path}: eager {x!r}, janus {y!r}"
            if a[0] == "same object as" or b[0] == "same object as":
                return None if a == b else f"{path}: eager {_short(a)}, janus {_short(b)}"
        if len(a) != len(b):
            return f"{path}: eager {_short(a)}, janus {_short(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = differ(x, y, path if tagged else f"{path}[{i}]", minor)
            if d:
                return d
        return None
    if type(a) is not type(b):
        return f"{path}: eager {_short(a)}, janus {_short(b)}"
    if isinstance(a, np.ndarray):
        return None if np.array_equal(a, b) else f"{path}: eager {a!r:.100}, janus {b!r:.100}"
    if a != b:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return None
        return f"{path}: eager {_short(a)}, janus {_short(b)}"
    return None


def _short(x, n=200):
    s = repr(x)
    return s if len(s) <= n else s[: n - 3] + "..."


# --------------------------------------------------------------------------------------
# Running one case
# --------------------------------------------------------------------------------------


class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    if seconds <= 0 or not hasattr(signal, "setitimer") or sys.platform == "win32":
        yield
        return

    def on_alarm(signum, frame):
        raise CaseTimeout(f"over {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def fill(template, gen: torch.Generator, memo: Dict[int, Any]):
    """The template with every T placeholder replaced by a fresh tensor (one tensor per
    placeholder object, so a placeholder used twice gives the same tensor twice)."""
    if isinstance(template, T):
        if id(template) not in memo:
            memo[id(template)] = template.make(gen)
        return memo[id(template)]
    if isinstance(template, list):
        if any(_has_placeholder(x) for x in template):
            return [fill(x, gen, memo) for x in template]
        return template
    if isinstance(template, tuple) and not hasattr(template, "_fields"):
        if any(_has_placeholder(x) for x in template):
            return tuple(fill(x, gen, memo) for x in template)
        return template
    if isinstance(template, dict) and any(_has_placeholder(x) for x in template.values()):
        return {k: fill(x, gen, memo) for k, x in template.items()}
    return template


def _has_placeholder(x) -> bool:
    if isinstance(x, T):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_placeholder(y) for y in x)
    if isinstance(x, dict):
        return any(_has_placeholder(y) for y in x.values())
    return False


def seed_all(seed: int = 0) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _built(case: Case):
    if case.setup is not None:
        case.setup()
    b = case.build()
    fn, observe = b if isinstance(b, tuple) else (b, None)
    return fn, observe


@dataclass
class Run:
    outcomes: List[tuple] = field(default_factory=list)  # per call: ("ok", normalized) | ("raised", type, msg)
    state: Any = None
    stdout: str = ""
    stats: Any = None
    explain: str = ""
    served: List[bool] = field(default_factory=list)  # per call: a graph (or a graph segment) ran
    split: List[bool] = field(default_factory=list)  # per call: run as segments around host islands
    harness_error: Optional[str] = None
    seconds: float = 0.0


def run_case(case: Case, jit: bool, calls: int = CALLS, timeout: float = CASE_TIMEOUT_S) -> Run:
    run = Run()
    t0 = time.perf_counter()
    buf = io.StringIO()
    g = None
    try:
        with time_limit(timeout), contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn, observe = _built(case)
            template = case.args()
            seed_all(0)
            gen = torch.Generator().manual_seed(1234)
            g = janus.jit(fn, backend="torch") if jit else fn
            for _ in range(calls):
                args = fill(template, gen, {})
                before = (g.stats.graph_calls, g.stats.split_calls) if jit else (0, 0)
                try:
                    r = g(*args)
                    if case.post is not None:
                        r = case.post(r)
                except CaseTimeout:
                    raise
                except Exception as e:
                    run.outcomes.append(("raised", type(e).__name__, str(e).splitlines()[0][:160] if str(e) else ""))
                else:
                    ids = {}
                    for i, a in enumerate(args):
                        normalize(a, ids, f"arg{i}")
                    run.outcomes.append(("ok", normalize(r, ids, "result"), normalize(list(args), {}, "args")))
                run.served.append(bool(jit and g.stats.graph_calls > before[0]))
                run.split.append(bool(jit and g.stats.split_calls > before[1]))
            if observe is not None:
                run.state = normalize(observe(), {}, "state")
    except CaseTimeout as e:
        run.harness_error = f"timeout: {e}"
    except Exception:
        run.harness_error = "harness: " + traceback.format_exc(limit=3)
    run.stdout = buf.getvalue()
    if jit and g is not None:
        run.stats = g.stats.snapshot() if hasattr(g.stats, "snapshot") else g.stats
        with contextlib.suppress(Exception):
            run.explain = janus.explain(g)
    run.seconds = time.perf_counter() - t0
    return run


def compare(ref: Run, got: Run, notes: Optional[List[str]] = None) -> List[str]:
    """Correctness mismatches, in words; minor differences go to `notes`."""
    problems: List[str] = []
    minor: List[str] = []
    if ref.harness_error:
        return [f"eager run failed in the harness: {ref.harness_error}"]
    if got.harness_error:
        problems.append(f"janus run failed in the harness: {got.harness_error}")
    for i, (r, o) in enumerate(zip(ref.outcomes, got.outcomes)):
        if r[0] != o[0]:
            problems.append(f"call {i}: eager {_outcome_words(r)}, janus {_outcome_words(o)}")
        elif r[0] == "raised":
            if r[1] != o[1]:
                problems.append(f"call {i}: eager raised {r[1]}, janus raised {o[1]}: {o[2]}")
        else:
            d = differ(r[1], o[1], "result", minor)
            if d:
                problems.append(f"call {i}: {d}")
            d = differ(r[2], o[2], "args after the call", minor)
            if d:
                problems.append(f"call {i}: {d}")
            for m in minor:
                if notes is not None:
                    notes.append(f"call {i}: {m}")
            minor.clear()
    if len(ref.outcomes) != len(got.outcomes) and not got.harness_error:
        problems.append(f"eager made {len(ref.outcomes)} calls, janus {len(got.outcomes)}")
    d = differ(ref.state, got.state, "state", minor)
    if d:
        problems.append(f"Python state after the calls: {d}")
    if notes is not None:
        notes += [f"state: {m}" for m in minor]
    if ref.stdout != got.stdout:
        problems.append(f"stdout differs: eager {ref.stdout!r:.300}, janus {got.stdout!r:.300}")
    return problems


def _outcome_words(o):
    if o[0] == "raised":
        return f"raised {o[1]}({o[2]!r:.100})"
    return f"returned {_short(o[1], 120)}"


# --------------------------------------------------------------------------------------
# The peer: can torch.compile(fullgraph=True) capture it?
# --------------------------------------------------------------------------------------


def peer_check(case: Case, ref: Run, calls: int = 2, timeout: float = PEER_TIMEOUT_S) -> Tuple[bool, str]:
    """(captured as one graph, detail).  Captured: every call ran through the compiled
    function without a Dynamo error and ended as eager did (returned, or raised the same
    exception type)."""
    import torch._dynamo

    torch._dynamo.reset()
    buf = io.StringIO()
    try:
        with time_limit(timeout), contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn, _ = _built(case)
            template = case.args()
            seed_all(0)
            gen = torch.Generator().manual_seed(1234)
            cf = torch.compile(fn, fullgraph=True, backend="eager")
            for i in range(calls):
                args = fill(template, gen, {})
                try:
                    cf(*args)
                except CaseTimeout:
                    raise
                except Exception as e:
                    mod = type(e).__module__ or ""
                    eager = ref.outcomes[i] if i < len(ref.outcomes) else ("ok",)
                    if mod.startswith("torch._dynamo") or eager[0] != "raised" or eager[1] != type(e).__name__:
                        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
                        return False, f"{type(e).__name__}: {first}"
        return True, "fullgraph"
    except CaseTimeout as e:
        return False, f"timeout {e}"
    except Exception as e:
        return False, f"harness: {type(e).__name__}: {e}"
    finally:
        with contextlib.suppress(Exception):
            torch._dynamo.reset()


# --------------------------------------------------------------------------------------
# Fallback reasons
# --------------------------------------------------------------------------------------

_LOC = re.compile(r"(\S*dynamo_\w+\.py|<[^>]+>|\S+\.py):\d+(:\d+)?")
ISLAND = "split around a host island: "


def site_free(reason: str) -> str:
    """A reason with file:line sites taken out."""
    return re.sub(r"\s+", " ", _LOC.sub("<site>", reason)).strip()


def reason_key(reason: str) -> str:
    """A reason with what is specific to one function (sites, names, numbers) taken out,
    for grouping."""
    s = site_free(reason)
    s = re.sub(r"\b\d+\b", "N", s)
    s = re.sub(r"'[^']{1,60}'", "'…'", s)
    s = re.sub(r"`[^`]{1,80}`", "`…`", s)
    return s[:220]


def reasons_of(run: Run) -> Dict[str, int]:
    out: Dict[str, int] = {}
    if run.stats is not None:
        for r, n in run.stats.fallback_reasons.items():
            if r != "profiling":
                out[r] = out.get(r, 0) + n
    return out


def explain_reasons(text: str) -> List[str]:
    """`runs imperatively:` and conversion-failure lines of janus.explain."""
    out, mode = [], None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("runs imperatively:"):
            out.append(s)
            mode = None
        elif s == "conversion failures:":
            mode = "failures"
        elif mode == "failures" and line.startswith("    ") and not line.startswith("     "):
            out.append(s)
        elif line.startswith("  ") and not line.startswith("   "):
            mode = None
    return out


# --------------------------------------------------------------------------------------
# The whole suite
# --------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    kind: str
    where: str
    problems: List[str]
    eager_raised: bool
    calls: int
    graph_calls: int
    split_calls: int
    #: calls after profiling served by one whole graph (not as segments around islands)
    whole_graph_calls: int
    reasons: Dict[str, int]
    explain_lines: List[str]
    seconds: float
    notes: List[str] = field(default_factory=list)
    peer: Optional[bool] = None
    peer_detail: str = ""
    explain: str = ""

    @property
    def coverage(self) -> float:
        denom = self.calls - PROFILE_RUNS
        return self.graph_calls / denom if denom > 0 else 0.0


def measure(names: Optional[List[str]] = None, peer: bool = False, calls: int = CALLS, progress=None) -> List[Result]:
    results = []
    cases = [c for c in CASES if names is None or c.name in names or c.name.split("[")[0] in names]
    for k, case in enumerate(cases):
        ref = run_case(case, jit=False, calls=calls)
        got = run_case(case, jit=True, calls=calls)
        st = got.stats
        notes: List[str] = []
        after = slice(PROFILE_RUNS, None)
        res = Result(
            name=case.name,
            kind=case.kind,
            where=case.where,
            problems=compare(ref, got, notes),
            notes=notes,
            eager_raised=any(o[0] == "raised" for o in ref.outcomes),
            calls=st.calls if st else 0,
            graph_calls=st.graph_calls if st else 0,
            split_calls=st.split_calls if st else 0,
            whole_graph_calls=sum(1 for sv, sp in zip(got.served[after], got.split[after]) if sv and not sp),
            reasons=reasons_of(got),
            explain_lines=explain_reasons(got.explain),
            seconds=ref.seconds + got.seconds,
            explain=got.explain,
        )
        if peer:
            res.peer, res.peer_detail = peer_check(case, ref)
        results.append(res)
        if progress:
            progress(k + 1, len(cases), res)
    return results


def _add(groups, key_raw: str, count: int, name: str) -> None:
    key = reason_key(key_raw)
    g = groups.setdefault(key, {"count": 0, "names": [], "examples": []})
    g["count"] += count
    if name not in g["names"]:
        g["names"].append(name)
    ex = site_free(key_raw)
    if ex not in g["examples"]:
        g["examples"].append(ex)


def _sorted_groups(groups) -> List[Tuple[str, int, List[str], List[str]]]:
    return sorted(
        ((k, g["count"], g["names"], g["examples"]) for k, g in groups.items()), key=lambda x: (-len(x[2]), -x[1], x[0])
    )


def group_reasons(results: List[Result]) -> List[Tuple[str, int, List[str], List[str]]]:
    """Why calls after profiling were not graph-served: (reason group, calls, function
    names, distinct reasons in the group), the group with most functions first.  The
    runtime's generic "split ...: no segment ran from a graph" is refined with the
    islands janus.explain names."""
    groups: Dict[str, dict] = {}
    for r in results:
        missed = max(r.calls - PROFILE_RUNS, 0) - r.graph_calls
        if missed <= 0:
            continue
        islands = [x[len(ISLAND) :] for x in r.explain_lines if x.startswith(ISLAND)]
        others = [x for x in r.explain_lines if not x.startswith(ISLAND)]
        added = False
        for reason, n in r.reasons.items():
            if reason.startswith("split around host islands") and islands:
                for isl in islands:
                    _add(groups, "split, no graph segment ran; island: " + isl, n, r.name)
            else:
                _add(groups, reason, n, r.name)
            added = True
        if not added:
            for x in others or islands:
                _add(groups, x, missed, r.name)
                added = True
        if not added:
            _add(groups, "(no reason recorded)", missed, r.name)
    return _sorted_groups(groups)


def group_islands(results: List[Result]) -> List[Tuple[str, int, List[str], List[str]]]:
    """What keeps a function from being one graph: the host islands of functions run as
    graph segments (count: calls run split)."""
    groups: Dict[str, dict] = {}
    for r in results:
        if r.split_calls <= 0:
            continue
        for x in r.explain_lines:
            if x.startswith(ISLAND):
                _add(groups, x[len(ISLAND) :], r.split_calls, r.name)
    return _sorted_groups(groups)


def coverage(rs: List[Result]) -> dict:
    denom = sum(max(r.calls - PROFILE_RUNS, 0) for r in rs)
    served = sum(min(r.graph_calls, max(r.calls - PROFILE_RUNS, 0)) for r in rs)
    whole = sum(r.whole_graph_calls for r in rs)
    return {
        "functions": len(rs),
        "calls": denom,
        "served": served,
        "whole": whole,
        "pct": 100.0 * served / denom if denom else 0.0,
        "pct_whole": 100.0 * whole / denom if denom else 0.0,
        "all_served": sum(1 for r in rs if r.calls - PROFILE_RUNS > 0 and r.graph_calls >= r.calls - PROFILE_RUNS),
        "none_served": sum(1 for r in rs if r.graph_calls == 0),
        "split": sum(1 for r in rs if r.split_calls > 0),
    }


def _names(names: List[str], limit: int = 40) -> str:
    more = f", ... (+{len(names) - limit})" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def summarize(results: List[Result], peer: bool, out=sys.stdout, verbose: bool = False) -> None:
    w = lambda *a: print(*a, file=out)
    n = len(results)
    w(
        f"JANUS on PyTorch Dynamo's test_functions.py: {n} functions ({sum(r.kind == 'make_test' for r in results)} "
        f"@make_test, {sum(r.kind == 'fn' for r in results)} inner functions of other tests), "
        f"{CALLS} calls each, the first {PROFILE_RUNS} profiled; {len(SKIPPED)} upstream tests skipped (listed at the end)"
    )
    w("upstream: pytorch/pytorch test/dynamo/test_functions.py @ 0014f2167fd77588eec64d39ef4428e95c614e46")
    w("")

    bad = [r for r in results if r.problems]
    w(f"== correctness: {len(bad)} mismatches (eager vs janus.jit(fn, backend='torch'), same inputs) ==")
    for r in bad:
        w(f"-- {r.name}  (tests/peer/{r.where})")
        for p in r.problems[:8]:
            w(f"     {p}")
        if len(r.problems) > 8:
            w(f"     ... {len(r.problems) - 8} more")
        w(f"     reproduce: python tests/peer/measure.py --no-peer -v --case '{r.name}'")
    noted = [r for r in results if r.notes]
    if noted:
        w("")
        w(f"== minor differences, not counted as mismatches: {len(noted)} functions ==")
        for r in noted:
            w(f"-- {r.name}: {r.notes[0]}" + (f" (+{len(r.notes) - 1} more)" if len(r.notes) > 1 else ""))
    eager_raises = [r.name for r in results if r.eager_raised]
    w("")
    w(f"eager raises on some call (the exception type is compared): {len(eager_raises)}: {_names(eager_raises)}")
    w("")

    def line(label, rs):
        c = coverage(rs)
        w(
            f"  {label:<40} {c['functions']:>4} fns  graph-served {c['served']:>5}/{c['calls']:<5} = {c['pct']:5.1f}%  "
            f"(one whole graph {c['pct_whole']:5.1f}%)  all calls served: {c['all_served']:>4}  none: {c['none_served']:>3}  "
            f"split: {c['split']:>3}"
        )

    w(f"== coverage: graph_calls / (calls - {PROFILE_RUNS} profiling calls) ==")
    line("overall", results)
    line("@make_test functions", [r for r in results if r.kind == "make_test"])
    line("inner functions of other tests", [r for r in results if r.kind == "fn"])
    line("eager never raises", [r for r in results if not r.eager_raised])
    if peer:
        yes = [r for r in results if r.peer]
        no = [r for r in results if r.peer is False]
        line("torch.compile fullgraph captures", yes)
        line("torch.compile fullgraph fails", no)
        missed = [r.name for r in yes if r.coverage < 1.0]
        w(f"  peer captures, JANUS misses some call: {len(missed)}: {_names(missed, 80)}")
        janus_only = [r.name for r in no if r.coverage >= 1.0]
        w(f"  peer fails, JANUS serves every call: {len(janus_only)}: {_names(janus_only, 80)}")
        w("")
        w("== where torch.compile(fn, fullgraph=True, backend='eager') fails, grouped ==")
        pg: Dict[str, List[str]] = {}
        for r in no:
            pg.setdefault(reason_key(r.peer_detail)[:140], []).append(r.name)
        for k, names in sorted(pg.items(), key=lambda kv: -len(kv[1])):
            w(f"  {len(names):>3}  {k}")
            w(f"         {_names(names)}")
    w("")

    w("== why calls after profiling were not graph-served (stats.fallback_reasons + janus.explain), grouped ==")
    for key, count, names, examples in group_reasons(results):
        w(f"  {len(names):>3} fns, {count:>3} calls: {key}")
        for ex in examples[:4]:
            if ex != key:
                w(f"         e.g. {ex[:200]}")
        w(f"         functions: {_names(names)}")
    w("")
    w("== host islands of functions served as graph segments (why they are not one graph), grouped ==")
    for key, count, names, examples in group_islands(results):
        w(f"  {len(names):>3} fns: {key}")
        for ex in examples[:4]:
            if ex != key:
                w(f"         e.g. {ex[:200]}")
        w(f"         functions: {_names(names)}")
    w("")

    w("== per function ==")
    w(f"  {'name':<60} {'served':>7} {'whole':>5} {'peer':>4} {'sec':>5}  first reason")
    for r in results:
        first = next(iter(sorted(r.reasons.items(), key=lambda kv: -kv[1])), ("", 0))[0]
        if r.explain_lines:
            first = r.explain_lines[0]
        pv = "-" if r.peer is None else ("yes" if r.peer else "no")
        flag = "  MISMATCH" if r.problems else ""
        w(
            f"  {r.name:<60} {r.graph_calls:>3}/{max(r.calls - PROFILE_RUNS, 0):<3} {r.whole_graph_calls:>5} {pv:>4} "
            f"{r.seconds:5.2f}  {site_free(first)[:100]}{flag}"
        )
        if verbose:
            if r.peer is False:
                w(f"    torch.compile fullgraph: {r.peer_detail}")
            w("    " + r.explain.replace("\n", "\n    "))
    w("")
    w(f"== skipped upstream tests ({len(SKIPPED)}) ==")
    for name, why in SKIPPED.items():
        w(f"  {name}: {why}")
    w("")
    w(f"time: {sum(r.seconds for r in results):.1f} s in eager + janus runs")


def to_json(results: List[Result]) -> list:
    out = []
    for r in results:
        d = dataclasses.asdict(r)
        d.pop("explain")
        d["coverage"] = r.coverage
        out.append(d)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--case", action="append", help="run only this case (repeatable; a name without [variant] takes all variants)"
    )
    ap.add_argument("--no-peer", action="store_true", help="skip the torch.compile(fullgraph=True) check")
    ap.add_argument("--calls", type=int, default=CALLS)
    ap.add_argument("--json", help="write per-function results here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print janus.explain for each function")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    a = ap.parse_args(argv)

    def progress(k, total, r):
        if not a.quiet:
            print(
                f"[{k}/{total}] {r.name} {r.graph_calls}/{max(r.calls - PROFILE_RUNS, 0)}"
                f"{' peer=' + str(r.peer) if r.peer is not None else ''}{' MISMATCH' if r.problems else ''}",
                file=sys.stderr,
                flush=True,
            )

    results = measure(a.case, peer=not a.no_peer, calls=a.calls, progress=progress)
    if not results:
        print("no such case", file=sys.stderr)
        return 2
    summarize(results, peer=not a.no_peer, verbose=a.verbose)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(to_json(results), f, indent=1, default=str)
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

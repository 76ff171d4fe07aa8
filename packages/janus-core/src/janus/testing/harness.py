"""Runs a conformance case eagerly (the oracle) and under janus.jit, and compares."""

from __future__ import annotations

import contextlib
import io
import random
import zlib

import numpy as np

import janus

from .corpus import case_modules
from .frameworks import to_py


def reseed(T):
    random.seed(0)
    np.random.seed(0)
    for name, mod in case_modules().items():
        if hasattr(mod, "R"):
            # seeded by the module's own name (`cases_basics`), wherever the package lives
            short = name.rpartition(".")[2]
            # a stable seed: str hashes change per process (PYTHONHASHSEED)
            mod.R = np.random.default_rng(zlib.crc32(short.encode()) % 1000)
    if T.name == "torch":
        T.module.manual_seed(0)
    elif T.name == "tf":
        T.module.random.set_seed(0)


def run(c, T, backend=None, config=None):
    """Returns (outcomes, final state, stdout, stats, per-call graph-served flags)."""
    reseed(T)
    fn, calls, observe = c["build"](T)
    g = fn if backend is None else janus.jit(fn, backend=backend, config=config)
    outs, served, buf = [], [], io.StringIO()
    with contextlib.redirect_stdout(buf):
        for call in calls:
            args, kwargs = call[0], call[1]
            if len(call) > 2:
                call[2]()
            before = g.stats.graph_calls if backend is not None else 0
            try:
                outs.append(("ok", to_py(g(*args, **kwargs), T)))
            except Exception as e:
                outs.append(("raised", type(e).__name__))
            served.append(backend is not None and g.stats.graph_calls > before)
    try:
        state = to_py(observe(), T)
    except Exception as e:
        state = ("raised", type(e).__name__)
    stats = g.stats if backend is not None else None
    return outs, state, buf.getvalue(), stats, served, g


def differences(ref, got, same) -> list:
    problems = []
    (ro, rs, rp, *_), (go, gs, gp, *_) = ref, got
    for i, (r, o) in enumerate(zip(ro, go)):
        if r[0] != o[0] or (r[0] == "raised" and r[1] != o[1]):
            problems.append(f"call {i}: eager {r}, janus {o}")
        elif r[0] == "ok" and not same(r[1], o[1]):
            problems.append(f"call {i}: eager returned {r[1]!r:.200}, janus {o[1]!r:.200}")
    if not same(rs, gs):
        problems.append(f"final Python state differs: eager {rs!r:.200}, janus {gs!r:.200}")
    if rp != gp:
        problems.append(f"stdout differs:\n--- eager\n{rp}\n--- janus\n{gp}")
    return problems

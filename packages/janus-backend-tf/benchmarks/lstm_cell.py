"""LSTM cell unrolled over T steps (forward only): TF eager vs tf.function vs janus.jit(backend="tf").

    python benchmarks/lstm_cell.py [--steps 20 --batch 16 --hidden 64 --calls 300]

Reports the steady time per call (median of repeated blocks), the first five calls
(warm-up, including tracing/profiling/conversion), and the per-call dispatch overhead of
JANUS (guards + input feeding + effect commit) over calling its ConcreteFunction directly.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

import janus


def make_model(hidden: int, features: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = tf.constant(rng.standard_normal((features + hidden, 4 * hidden)).astype(np.float32) * 0.1)
    b = tf.constant(np.zeros(4 * hidden, np.float32))

    def lstm(xs, h, c):
        for t in range(xs.shape[0]):
            z = tf.matmul(tf.concat([xs[t], h], 1), w) + b
            i, f, g, o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
        return h, c

    return lstm


def timed(fn, args, calls: int, blocks: int = 7) -> float:
    """Median seconds per call over `blocks` blocks of `calls` calls."""
    per_call = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(calls):
            out = fn(*args)
        _ = out[0]._numpy() if hasattr(out[0], "_numpy") else out  # finish the work
        per_call.append((time.perf_counter() - t0) / calls)
    return statistics.median(per_call)


def warmup(fn, args, n: int = 5):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn(*args)
        out[0].numpy()
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--calls", type=int, default=200)
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    xs = tf.constant(rng.standard_normal((a.steps, a.batch, a.features)).astype(np.float32))
    h0 = tf.zeros((a.batch, a.hidden))
    c0 = tf.zeros((a.batch, a.hidden))
    args = (xs, h0, c0)

    eager = make_model(a.hidden, a.features)
    tff = tf.function(make_model(a.hidden, a.features))
    jit = janus.jit(make_model(a.hidden, a.features), backend="tf")

    w_tf, w_janus = warmup(tff, args), warmup(jit, args)
    assert jit.stats.graph_calls >= 3, jit.stats
    ref, got = eager(*args), jit(*args)
    assert np.allclose(ref[0].numpy(), got[0].numpy(), atol=1e-5)

    spec = next(iter(jit._state.cache.values()))
    exe = spec.executable
    inputs, _ = spec.guard(*args)
    concrete = exe.concrete_function

    rows = [
        ("TF eager", timed(eager, args, max(a.calls // 10, 5))),
        ("tf.function", timed(tff, args, a.calls)),
        ("janus.jit(tf)", timed(jit, args, a.calls)),
        (
            "ConcreteFunction._call_flat",
            timed(lambda *x: concrete._call_flat(list(inputs), exe._captured), args, a.calls),
        ),
        ("TFExecutable.run", timed(lambda *x: exe.run(inputs), args, a.calls)),
    ]
    base = dict(rows)["tf.function"]
    print(f"LSTM T={a.steps} batch={a.batch} hidden={a.hidden}  ({tf.__version__}, {os.cpu_count()} CPUs)")
    for name, t in rows:
        print(f"  {name:30s} {t * 1e6:9.1f} us/call   {t / base:5.2f}x tf.function")
    print(
        "  dispatch overhead of janus.jit over _call_flat:  "
        f"{(dict(rows)['janus.jit(tf)'] - dict(rows)['ConcreteFunction._call_flat']) * 1e6:+.1f} us/call"
    )
    print(
        "  dispatch overhead of janus.jit over TFExecutable.run (guards + commit): "
        f"{(dict(rows)['janus.jit(tf)'] - dict(rows)['TFExecutable.run']) * 1e6:+.1f} us/call"
    )
    print(
        "  warm-up, first 5 calls (ms): tf.function "
        + " ".join(f"{t * 1e3:.1f}" for t in w_tf)
        + f"  (total {sum(w_tf) * 1e3:.0f})"
    )
    print(
        "                               janus.jit   "
        + " ".join(f"{t * 1e3:.1f}" for t in w_janus)
        + f"  (total {sum(w_janus) * 1e3:.0f})"
    )


if __name__ == "__main__":
    main()

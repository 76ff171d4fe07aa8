"""Jitted training steps under `tf.distribute`, run by `test_distribute.py` in fresh
processes (logical devices must be configured before TensorFlow initialises):

* ``mirrored OUT``: MirroredStrategy over two logical CPU devices of one process;
* ``mwms RANK PORTS OUT``: one of two MultiWorkerMirroredStrategy workers (gRPC on
  loopback ports, one replica each).

Every scenario runs the same step, through `strategy.run`, eagerly on one Keras model
(the oracle) and through JANUS on a twin built the same way, on the same per-replica
batches, and records the largest difference (losses reduced with `strategy.reduce`,
variables) and JANUS's stats, in a JSON file.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

STEPS = 6


def _build(strategy, keras, optimizer):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(16, activation="tanh"),
                keras.layers.Dense(16),
                keras.layers.Dense(3),
            ]
        )
        opt = keras.optimizers.SGD(0.05, momentum=0.9) if optimizer == "sgd" else keras.optimizers.Adam(0.01)
    return model, opt


def tape_step(model, opt):
    """The usual custom training step (the tape is dropped once used: see docs/scale-out.md)."""

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        del tape
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return step


def helper_step(model, opt):
    """The gradients computed by a helper function, the update in the step."""

    def loss_and_grads(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        return loss, tape.gradient(loss, model.trainable_variables)

    def step(x, y):
        loss, grads = loss_and_grads(x, y)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return step


def _per_replica(strategy, batches):
    """Per-replica (x, y) from one batch per replica, each on its replica's device (so
    each replica device gets a graph of its own: the device is part of the specs)."""

    def value_fn(ctx):
        x, y = batches[ctx.replica_id_in_sync_group]
        with tf.device(strategy.extended.worker_devices[ctx.replica_id_in_sync_group]):
            return tf.constant(x), tf.constant(y)

    return strategy.experimental_distribute_values_from_function(value_fn)


def run_scenario(strategy, make_step, optimizer, batches_for):
    import keras

    import janus

    (m1, o1), (m2, o2) = _build(strategy, keras, optimizer), _build(strategy, keras, optimizer)
    f, g = make_step(m1, o1), janus.jit(make_step(m2, o2), backend="tf")
    worst = 0.0
    for i in range(STEPS):
        args = batches_for(i)
        a = strategy.reduce("SUM", strategy.run(f, args=args), axis=None)
        b = strategy.reduce("SUM", strategy.run(g, args=args), axis=None)
        worst = max(worst, abs(float(a) - float(b)))
    var_diff = max(float(np.abs(p.numpy() - q.numpy()).max()) for p, q in zip(m1.variables, m2.variables))
    return {"loss_diff": worst, "var_diff": var_diff, "stats": g.stats.model_dump(), "segments": _segments(g)}


def _segments(g):
    """The stats of the graph segments the step was split into (the update is an island).
    The top-level split counts read a shared counter, so with replica threads running
    one function concurrently, the segments' own counts are the exact ones."""
    split = getattr(getattr(g._state, "splitter", None), "current", None)
    return [seg.stats.model_dump() for seg in split.segments] if split is not None else []


def mirrored(out: str) -> None:
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(0)
    data = [[_batch(rng) for _ in range(2)] for _ in range(STEPS)]
    outlier = [list(step) for step in data]
    outlier[3][0] = _batch(rng, 6)  # replica 0's shape assumption fails at step 4, replica 1's holds
    cases = {
        "tape_sgd": (tape_step, "sgd", data),
        "helper_adam": (helper_step, "adam", data),
        "diverge": (tape_step, "sgd", outlier),
    }
    results = {}
    for name, (make, opt, batches) in cases.items():
        batches_for = functools.partial(_per_replica_step, strategy, batches)
        results[name] = _guarded(run_scenario, strategy, make, opt, batches_for)
    _write(out, results)


def mwms(rank: int, ports: str, out: str) -> None:
    cluster = {"worker": [f"localhost:{p}" for p in ports.split(",")]}
    os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": rank}})
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(10 + rank)  # each worker its own data
    data = [_batch(rng) for _ in range(STEPS)]
    if rank == 0:
        data[3] = _batch(rng, 6)  # worker 0's shape assumption fails at step 4, worker 1's holds

    def batches_for(i):
        return tf.constant(data[i][0]), tf.constant(data[i][1])

    _write(out, {"tape_sgd": _guarded(run_scenario, strategy, tape_step, "sgd", batches_for)})


def _batch(rng, n=4):
    return rng.standard_normal((n, 6)).astype(np.float32), rng.standard_normal((n, 3)).astype(np.float32)


def _per_replica_step(strategy, batches, i):
    return _per_replica(strategy, batches[i])


def _guarded(fn, *args):
    try:
        return fn(*args)
    except Exception:
        return {"error": traceback.format_exc()[-3000:]}


def _write(out: str, results) -> None:
    with open(out, "w") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    if sys.argv[1] == "mirrored":
        mirrored(sys.argv[2])
    else:
        mwms(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    sys.stdout.flush()
    os._exit(0)  # skip TensorFlow's teardown of the collective runtime (slow, noisy)

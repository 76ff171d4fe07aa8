"""Constructs of the TF training steps of the benchmark, differentially against eager
TensorFlow: framework contexts in `with` (tape.stop_recording, tf.name_scope), Python
numbers that differ per layer at one site (conv strides), Keras optimizers over plain
tf.Variables, and sparse gradients (tf.IndexedSlices).  Each test runs an eager twin and a
janus.jit twin, compares results and variables, and asserts the calls a graph served (so a
silent fallback fails)."""

import numpy as np
import pytest
import tensorflow as tf

import janus

R = np.random.default_rng(7)
RAISE = janus.Config(fallback="raise")


def rand(*shape):
    return tf.constant(R.standard_normal(shape).astype(np.float32))


def close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def close_vars(m1, m2):
    assert len(m1.variables) == len(m2.variables)
    for a, b in zip(m1.variables, m2.variables):
        close(a, b)


class Dense(tf.Module):
    def __init__(self, seed, n_in=4, n_out=3):
        super().__init__()
        r = np.random.default_rng(seed)
        self.W = tf.Variable(r.standard_normal((n_in, n_out)).astype(np.float32) * 0.5)
        self.b = tf.Variable(np.zeros(n_out, np.float32))

    def __call__(self, x):
        return tf.matmul(x, self.W) + self.b


# -- contexts in `with` ------------------------------------------------------------------------
def test_stop_recording_inside_a_tape_is_entered_in_the_graph():
    """Two-player step (as in the GAN): the inner update runs under stop_recording, so the
    outer tape's gradient does not see it; a graph that dropped the context would differ."""

    def factory():
        g, d = Dense(0), Dense(1, 3, 1)

        def step(x):
            with tf.GradientTape() as g_tape:
                h = g(x)
                with g_tape.stop_recording():
                    with tf.GradientTape() as d_tape:
                        d_loss = tf.reduce_mean(tf.square(d(tf.stop_gradient(h))))
                    d_grads = d_tape.gradient(d_loss, [d.W, d.b])
                    h2 = h * 3.0  # not recorded: no gradient flows through it to g
                g_loss = tf.reduce_mean(d(h)) + tf.reduce_mean(h2)
            g_grads = g_tape.gradient(g_loss, [g.W, g.b])
            d.W.assign_sub(0.1 * d_grads[0])
            d.b.assign_sub(0.1 * d_grads[1])
            g.W.assign_sub(0.1 * g_grads[0])
            g.b.assign_sub(0.1 * g_grads[1])
            return d_loss, g_loss

        return (g, d), step

    ((g1, d1), eager), ((g2, d2), fn) = factory(), factory()
    j = janus.jit(fn, backend="tf", config=RAISE)
    for _ in range(5):
        x = rand(5, 4)
        for a, b in zip(eager(x), j(x)):
            close(a, b)
        close_vars(g1, g2)
        close_vars(d1, d2)
    assert j.stats.graph_calls == 3


def test_name_scope_block_runs_from_a_graph():
    layer = Dense(2)

    def f(x):
        with tf.name_scope("block"):
            y = tf.nn.relu(layer(x))
        return y * 2.0

    j = janus.jit(f, backend="tf", config=RAISE)
    for _ in range(4):
        x = rand(3, 4)
        close(j(x), f(x))
    assert j.stats.graph_calls == 2


# -- Python numbers that differ per layer at one site --------------------------------------------
class Conv(tf.Module):
    def __init__(self, seed, cin, cout, stride, pad):
        super().__init__()
        self.w = tf.Variable(np.random.default_rng(seed).standard_normal((3, 3, cin, cout)).astype(np.float32) * 0.2)
        self.stride = stride
        self.padding = [[0, 0], [pad, pad], [pad, pad], [0, 0]] if pad else "VALID"

    def __call__(self, x):
        return tf.nn.conv2d(x, self.w, strides=self.stride, padding=self.padding)


def test_per_layer_strides_read_at_one_site_are_guarded_constants():
    """conv2d needs its strides/padding as Python values: one site reads 1 for one layer and 2
    for the next, in every call, so each layer's stride is a constant guarded on that layer."""
    convs = [Conv(0, 2, 4, 1, 1), Conv(1, 4, 4, 2, 1), Conv(2, 4, 3, 1, 0)]

    def f(x):
        for c in convs:
            x = tf.nn.relu(c(x))
        return tf.reduce_sum(x, axis=[1, 2])

    j = janus.jit(f, backend="tf")
    for _ in range(5):
        x = rand(2, 9, 9, 2)
        close(j(x), f(x), rtol=1e-4, atol=1e-5)
    assert j.stats.graph_calls == 3 and j.stats.conversion_failures == 0
    assert "per object" in janus.explain(j)
    # a changed stride is seen (the host guard on its value), never stale; the site then
    # varied between calls, so it becomes an input, which conv2d cannot take: imperative
    convs[1].stride = 1
    x = rand(2, 9, 9, 2)
    for _ in range(4):
        close(j(x), f(x), rtol=1e-4, atol=1e-5)
    assert j.stats.graph_calls == 3


def test_a_scalar_changing_every_call_is_still_an_input():
    layer = Dense(3)
    state = {"lr": 0.1}

    def f(x):
        return layer(x) * state["lr"]

    j = janus.jit(f, backend="tf", config=RAISE)
    for i in range(6):
        state["lr"] = 0.1 * (i + 1)
        x = rand(2, 4)
        close(j(x), f(x))
    assert j.stats.graph_calls == 4 and j.stats.graphs_built == 1


# -- a Keras optimizer over plain tf.Variables ------------------------------------------------------
def _adam_factory():
    keras = pytest.importorskip("keras")
    model = Dense(4)
    opt = keras.optimizers.Adam(0.01)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        variables = model.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return model, opt, step


def test_keras_optimizer_updates_plain_variables_from_a_graph():
    (m1, o1, eager), (m2, o2, fn) = _adam_factory(), _adam_factory()
    j = janus.jit(fn, backend="tf", config=RAISE)
    for _ in range(6):
        x, y = rand(5, 4), rand(5, 3)
        close(eager(x, y), j(x, y))
        close_vars(m1, m2)
        for a, b in zip(o1.variables, o2.variables):  # Adam's moments and its step count
            close(a, b)
    assert j.stats.graph_calls == 4


def test_optimizer_fed_a_variable_it_was_not_built_with_raises_like_eager():
    m, _o, fn = _adam_factory()
    j = janus.jit(fn, backend="tf")
    for _ in range(4):
        j(rand(5, 4), rand(5, 3))
    assert j.stats.graph_calls == 2
    m.b = tf.Variable(np.zeros(3, np.float32))  # same spec: the graph's guards pass
    with pytest.raises(ValueError, match="Unknown variable"):
        fn(rand(5, 4), rand(5, 3))
    with pytest.raises(ValueError, match="Unknown variable"):
        j(rand(5, 4), rand(5, 3))
    assert j.stats.graph_calls == 2 and j.stats.assumption_failures == 1


# -- sparse gradients ---------------------------------------------------------------------------------
class Embed(tf.Module):
    def __init__(self, seed):
        super().__init__()
        r = np.random.default_rng(seed)
        self.emb = tf.Variable(r.standard_normal((10, 4)).astype(np.float32))
        self.out = Dense(seed + 1)


def _sparse_sgd_factory():
    model = Embed(0)

    def step(ids, y):
        with tf.GradientTape() as tape:
            h = tf.gather(model.emb, ids)
            loss = tf.reduce_mean(tf.square(model.out(h) - y))
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        grads, norm = tf.clip_by_global_norm(grads, 0.5)
        for v, g in zip(variables, grads):
            if isinstance(g, tf.IndexedSlices):
                v.scatter_sub(tf.IndexedSlices(0.3 * g.values, g.indices, g.dense_shape))
            else:
                v.assign_sub(0.3 * g)
        return loss, norm

    return model, step


def test_indexed_slices_gradients_clip_and_scatter_from_a_graph():
    (m1, eager), (m2, fn) = _sparse_sgd_factory(), _sparse_sgd_factory()
    j = janus.jit(fn, backend="tf", config=RAISE)
    for _ in range(6):
        ids = tf.constant(R.integers(0, 10, size=6).astype(np.int32))  # repeated ids accumulate
        y = rand(6, 3)
        for a, b in zip(eager(ids, y), j(ids, y)):
            close(a, b)
        close_vars(m1, m2)
    assert j.stats.graph_calls == 4


def test_indexed_slices_leaving_the_function_run_imperatively():
    emb = tf.Variable(R.standard_normal((10, 4)).astype(np.float32))

    def f(ids):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.gather(emb, ids))
        return tape.gradient(loss, emb)

    j = janus.jit(f, backend="tf")
    for _ in range(4):
        ids = tf.constant([1, 3, 3])
        got, want = j(ids), f(ids)
        assert isinstance(got, tf.IndexedSlices)
        close(tf.convert_to_tensor(got), tf.convert_to_tensor(want))
    assert j.stats.graph_calls == 0
    assert "IndexedSlices leaving the graph" in janus.explain(j)

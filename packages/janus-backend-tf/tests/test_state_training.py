"""Framework state, training steps and recursion as data, differentially against eager
TensorFlow: each test runs an eager twin and a janus.jit twin on the same inputs, compares
results and variables, and asserts how many calls a graph served."""

import numpy as np
import pytest
import tensorflow as tf

import janus

R = np.random.default_rng(1)


def rand(*shape):
    return tf.constant(R.standard_normal(shape).astype(np.float32))


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


class Model(tf.Module):
    def __init__(self, seed=0):
        super().__init__()
        r = np.random.default_rng(seed)
        self.W = tf.Variable(r.standard_normal((4, 3)).astype(np.float32))
        self.b = tf.Variable(np.zeros(3, np.float32))


def sgd_step_factory(assert_positive=False):
    model = Model()

    def step(x, y, lr):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, model.W) + model.b - y))
        grads = tape.gradient(loss, [model.W, model.b])
        if assert_positive:
            if tf.reduce_sum(x) > -100.0:  # speculated: always true in the profile
                loss = loss * 1.0
        model.W.assign_sub(lr * grads[0])
        model.b.assign_sub(lr * grads[1])
        return loss

    return model, step


def run_twins(factory, calls):
    (m1, eager), (m2, fn) = factory(), factory()
    jitted = janus.jit(fn, backend="tf")
    for args in calls:
        close(eager(*args), jitted(*args))
        for a, b in zip(m1.trainable_variables, m2.trainable_variables):
            close(a, b)
    return jitted


# -- framework state ---------------------------------------------------------------------------
def test_assign_sub_is_deferred_and_served():
    v = tf.Variable(np.arange(4, dtype=np.float32))
    ref = tf.Variable(v)

    def make(var):
        def f(g):
            var.assign_sub(0.1 * g)
            var.assign_add(g * g)
            return tf.reduce_sum(var * var)  # reads the new value

        return f

    eager, jitted = make(ref), janus.jit(make(v), backend="tf")
    for _ in range(6):
        g = rand(4)
        close(eager(g), jitted(g))
        close(ref, v)
    assert jitted.stats.graph_calls == 4 and jitted.stats.graphs_built == 1


def test_variable_changed_outside_is_read_fresh():
    v = tf.Variable(np.ones(3, np.float32))

    def f(x):
        v.assign(x * 2.0)
        return tf.reduce_sum(v)

    j = janus.jit(f, backend="tf")
    for _ in range(3):
        j(tf.ones(3))
    v.assign([5.0, 5.0, 5.0])  # outside code between calls

    def g(x):
        return x + v

    jg = janus.jit(g, backend="tf")
    for k in range(4):
        v.assign(tf.fill([3], float(k)))
        close(jg(tf.ones(3)), np.full(3, 1.0 + k))
    assert jg.stats.graph_calls == 2 and j.stats.graph_calls == 1


def test_failed_assertion_leaves_variables_untouched():
    v = tf.Variable(np.ones(3, np.float32))
    before = []

    def f(x):
        v.assign_sub(x)
        if tf.reduce_sum(x) > 0:  # speculated direction (always true while profiling)
            return tf.reduce_sum(v)
        return -tf.reduce_sum(v)

    j = janus.jit(f, backend="tf")
    for _ in range(3):
        j(tf.ones(3))
    assert j.stats.graph_calls == 1
    # the graph's assertion fails: its write must not happen; the eager re-run writes once
    before = v.numpy().copy()
    out = j(-tf.ones(3))
    assert j.stats.assumption_failures == 1
    close(v, before + 1.0)
    close(out, -np.sum(before + 1.0))


def test_scatter_nd_update_and_compat_assign():
    v = tf.Variable(np.zeros(5, np.float32))
    ref = tf.Variable(v)

    def make(var):
        def f(x):
            var.scatter_nd_add([[1], [3]], x)
            tf.compat.v1.assign_add(var, tf.ones(5))
            return var * 1.0

        return f

    eager, jitted = make(ref), janus.jit(make(v), backend="tf")
    for _ in range(5):
        x = rand(2)
        close(eager(x), jitted(x))
        close(ref, v)
    assert jitted.stats.graph_calls == 3


def test_item_assignment_into_a_tensor_raises_as_eager():
    def f(x):
        y = x * 2.0
        y[0] = 1.0
        return y

    j = janus.jit(f, backend="tf")
    for _ in range(3):
        with pytest.raises(TypeError):
            j(tf.ones(3))


# -- training steps ------------------------------------------------------------------------------
def test_sgd_training_step_matches_eager_and_is_graph_served():
    calls = [(rand(5, 4), rand(5, 3), 0.1) for _ in range(7)]
    j = run_twins(sgd_step_factory, calls)
    assert j.stats.graph_calls == 5 and j.stats.graphs_built == 1


def test_assertion_failure_mid_step_applies_no_update():
    calls = [(rand(5, 4), rand(5, 3), 0.1) for _ in range(4)]
    calls.append((tf.fill([5, 4], -10.0), rand(5, 3), 0.1))  # the speculated branch flips
    j = run_twins(lambda: sgd_step_factory(assert_positive=True), calls)
    assert j.stats.assumption_failures == 1 and j.stats.graph_calls == 2


def test_trainable_variables_and_aliases():
    """Variables reached by two paths (`model.W` in the forward, `model.trainable_variables`
    for the gradient) are one variable in the graph."""

    def factory():
        model = Model(3)

        def step(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.tanh(tf.matmul(x, model.W) + model.b))
            variables = model.trainable_variables
            grads = tape.gradient(loss, variables)
            for v, g in zip(variables, grads):
                v.assign_sub(0.05 * g)
            return loss

        return model, step

    j = run_twins(factory, [(rand(2, 4),) for _ in range(6)])
    assert j.stats.graph_calls == 4


def test_persistent_and_nested_tapes():
    def factory():
        model = Model(5)

        def step(x):
            with tf.GradientTape(persistent=True) as tape:
                h = tf.matmul(x, model.W) + model.b
                a = tf.reduce_sum(tf.square(h))
                c = tf.reduce_sum(tf.sin(h))
            ga = tape.gradient(a, model.W)
            gc = tape.gradient(c, [model.W, model.b])
            with tf.GradientTape() as outer:
                outer.watch(x)
                with tf.GradientTape() as inner:
                    inner.watch(x)
                    y = tf.reduce_sum(x * x * x)
                dx = inner.gradient(y, x)
                s = tf.reduce_sum(dx)
            ddx = outer.gradient(s, x)
            model.W.assign_sub(0.01 * (ga + gc[0]))
            model.b.assign_sub(0.01 * gc[1])
            return a + c, ddx

        return model, step

    (m1, eager), (m2, fn) = factory(), factory()
    j = janus.jit(fn, backend="tf")
    for _ in range(6):
        x = rand(2, 4)
        r1, r2 = eager(x), j(x)
        close(r1[0], r2[0])
        close(r1[1], r2[1])
        close(m1.W, m2.W)
        close(m1.b, m2.b)
    assert j.stats.graph_calls == 4


def test_keras_layer_and_optimizer_step():
    keras = pytest.importorskip("keras")

    def factory():
        keras.utils.set_random_seed(0)
        layer = keras.layers.Dense(3)
        layer.build((None, 4))
        opt = keras.optimizers.SGD(0.1, momentum=0.9)

        def step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(layer(x) - y))
            grads = tape.gradient(loss, layer.trainable_variables)
            opt.apply_gradients(zip(grads, layer.trainable_variables))
            return loss

        return layer, opt, step

    (l1, o1, eager), (l2, o2, fn) = factory(), factory()
    j = janus.jit(fn, backend="tf")
    for _ in range(6):
        x, y = rand(5, 4), rand(5, 3)
        close(eager(x, y), j(x, y))
        for a, b in zip(l1.weights, l2.weights):
            close(a.numpy(), b.numpy())
    assert int(o1.iterations.numpy()) == int(o2.iterations.numpy()) == 6
    assert j.stats.graph_calls == 4


# -- recursion as data ---------------------------------------------------------------------------
def test_tree_recursion_new_trees_share_one_graph():
    W = tf.Variable(R.standard_normal((8, 16)).astype(np.float32) * 0.3)
    emb = tf.Variable(R.standard_normal((20, 8)).astype(np.float32))

    def build():
        def node(t):
            if isinstance(t, int):
                return emb[t]
            return tf.tanh(tf.linalg.matvec(W, tf.concat([node(t[0]), node(t[1])], 0)))

        def f(tree):
            return node(tree)

        return f

    def tree(n):
        if n == 1:
            return int(R.integers(20))
        k = int(R.integers(1, n))
        return (tree(k), tree(n - k))

    eager, j = build(), janus.jit(build(), backend="tf")
    trees = [tree(int(R.integers(2, 12))) for _ in range(12)]
    for t in trees:
        close(eager(t), j(t))
    assert j.stats.graphs_built == 1 and j.stats.graph_calls == 10

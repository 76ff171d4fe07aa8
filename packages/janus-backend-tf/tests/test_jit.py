"""janus.jit(backend="tf") against eager TensorFlow: every test compares results and
asserts how many calls a graph served, so a silent fallback cannot pass."""

import numpy as np
import pytest
import tensorflow as tf

import janus

R = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return tf.constant(R.standard_normal(shape).astype(dtype))


def assert_same(a, b):
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, (tf.Tensor, tf.Variable)):
        assert isinstance(b, (tf.Tensor, tf.Variable)) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    else:
        assert type(a) is type(b) and a == b


def compare(fn, calls, **jit_kwargs):
    jitted = janus.jit(fn, backend="tf", **jit_kwargs)
    for args in calls:
        assert_same(fn(*args), jitted(*args))
    return jitted


def test_straight_line_code():
    W1, W2, b = rand(8, 16), rand(16, 4), rand(4)

    def mlp(x):
        h = tf.nn.relu(tf.matmul(x, W1))
        y = tf.matmul(h, W2) + b
        return tf.reduce_mean(tf.nn.softmax(y), axis=0), tf.reduce_sum(y * 0.5 - 1.0)

    j = compare(mlp, [(rand(3, 8),) for _ in range(6)])
    assert j.stats.graph_calls == 4 and j.stats.graphs_built == 1
    assert janus.explain(j).count("tf ConcreteFunction") == 1


def test_python_scalar_inputs_build_one_graph():
    def step(x, lr, n):
        return x - lr * tf.tanh(x) * n, lr * 2, n + 1

    j = compare(step, [(rand(4), 0.1 * (i + 1), i) for i in range(8)])
    assert j.stats.graphs_built == 1 and j.stats.graph_calls >= 5
    assert j(rand(4), 0.123456789, 7)[1] == 0.123456789 * 2  # carried exactly (float64)


def test_python_scalar_takes_the_tensor_dtype():
    def f(x, k, i):
        return x * k + x[i], tf.gather(x, i), tf.range(i)

    compare(f, [(rand(5, dtype=np.float64), 0.1 + i, i % 3) for i in range(4)])
    j = compare(f, [(tf.constant([1, 2, 3, 4, 5], tf.int64), 2 + i, i % 3) for i in range(6)])
    assert j.stats.graph_calls >= 3


def test_variable_is_read_fresh_every_call():
    v = tf.Variable(tf.ones((3,)))

    def f(x):
        return tf.reduce_sum(x * v) + v[0]

    j = janus.jit(f, backend="tf")
    for i in range(6):
        v.assign(tf.fill((3,), float(i)))  # outside code changes the variable between calls
        x = rand(3)
        assert_same(f(x), j(x))
    assert j.stats.graph_calls == 4


def test_function_returning_its_variable_returns_the_same_object():
    v = tf.Variable(2.0)

    def f(x):
        return v, x * v

    j = janus.jit(f, backend="tf")
    for _ in range(4):
        out = j(tf.constant(3.0))
        assert out[0] is v and float(out[1]) == 6.0
    assert j.stats.graph_calls == 2


def test_relaxed_batch_dimension():
    W = rand(6, 3)

    def f(x):
        return tf.reduce_mean(tf.nn.relu(tf.matmul(x, W)), 0)

    j = compare(f, [(rand(b, 6),) for b in [4, 4, 7, 1, 16, 4, 9, 2]])
    assert j.stats.graph_calls >= 5 and j.stats.graphs_built <= 2
    assert "?" in janus.explain(j)  # a relaxed dimension in the graph's input spec


def test_speculated_tensor_if_falls_back_on_assertion_failure():
    def f(x):
        if tf.reduce_sum(x) > 0:
            return x * 2.0
        return x - 100.0

    xs = [tf.ones(3)] * 4 + [-tf.ones(3)] + [tf.ones(3)] * 2
    j = janus.jit(f, backend="tf")
    served = []
    for x in xs:
        before = j.stats.graph_calls
        assert_same(f(x), j(x))
        served.append(j.stats.graph_calls > before)
    assert j.stats.assumption_failures >= 1
    assert served[:4] == [False, False, True, True] and served[4] is False
    assert j.stats.graph_calls >= 3


def test_list_returning_tf_functions_keep_lists():
    def f(x):
        parts = tf.split(x, 2, axis=1)
        rows = tf.unstack(x)
        return parts, rows[0][:2] + parts[0][0]

    j = compare(f, [(rand(3, 4),) for _ in range(5)])
    assert isinstance(j(rand(3, 4))[0], list) and j.stats.graph_calls == 4


def test_errors_match_eager():
    def f(a, b):
        return tf.matmul(a, b)

    j = janus.jit(f, backend="tf")
    a = tf.ones((2, 2))
    for args in [(a, a), (a, a), (a, a)]:
        assert_same(f(*args), j(*args))
    bad = tf.ones((3, 3))
    with pytest.raises(tf.errors.InvalidArgumentError):
        f(a, bad)
    with pytest.raises(tf.errors.InvalidArgumentError):
        j(a, bad)
    assert j.stats.graph_calls == 1


def test_gradient_tape_outside_sees_through_the_graph():
    v = tf.Variable(tf.ones((3,)))

    def f(x):
        return tf.reduce_sum(tf.tanh(x * v))

    j = janus.jit(f, backend="tf")
    for _ in range(3):
        j(rand(3))
    x = rand(3)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ref, got = f(x), j(x)
    assert j.stats.graph_calls == 2
    assert_same(ref, got)
    for src in (x, v):
        assert_same(tape.gradient(ref, src), tape.gradient(got, src))


def test_print_is_not_run_inside_the_graph(capsys):
    def f(x):
        tf.print("inside")
        return x + 1.0

    j = compare(f, [(tf.ones(2),) for _ in range(5)])
    # tf.print writes output: it runs on the host, as an island, once per call
    assert j.stats.islands_run == j.stats.split_calls == j.stats.graph_calls == 3

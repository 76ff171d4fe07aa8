"""Training steps (issue 7): forward, gradients and the optimizer update in one function,
called for K steps.  The oracle is the same steps run eagerly; `observe()` returns the
parameters and the optimizer state, so a step that updates anything differently from
eager (or applies half an update before an assertion fails) shows up there.

Each program is written as a user of each framework writes it (torch: `backward()`,
`.grad`, `torch.optim`, `nn.Module`s; tf: `GradientTape`, `assign_sub`, Keras layers
and optimizers), from the same NumPy initial values.
"""

from typing import Any, Dict

import numpy as np

from .corpus import case

TRAINING: Dict[str, Any] = dict(tags=["training"], frameworks=("torch", "tf"))
R = np.random.default_rng(7)


def _init(shape, seed, scale=0.3):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _batches(k, n=8, d=4, seed=11):
    r = np.random.default_rng(seed)
    return [
        (r.standard_normal((n, d)).astype(np.float32), r.standard_normal((n, 1)).astype(np.float32)) for _ in range(k)
    ]


def _torch_params(*arrays):
    import torch

    return [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]


def _tf_vars(*arrays):
    import tensorflow as tf

    return [tf.Variable(a.copy()) for a in arrays]


def _calls(T, batches):
    return [((T.tensor(x), T.tensor(y)), {}) for x, y in batches]


@case("T1_sgd_by_hand_grad_read_and_reset", served=4, **TRAINING)
def _(T):
    W0, b0 = _init((4, 1), 1), _init((1,), 2)
    if T.name == "torch":
        import torch

        W, b = _torch_params(W0, b0)

        def step(x, y):
            loss = ((torch.tanh(x @ W) + b - y) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                for p in (W, b):
                    p -= 0.1 * p.grad
                    p.grad = None
            return loss.detach()

        return step, _calls(T, _batches(6)), lambda: (W, b, W.grad, b.grad)

    import tensorflow as tf

    W, b = _tf_vars(W0, b0)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((tf.tanh(x @ W) + b - y) ** 2)
        for v, g in zip((W, b), tape.gradient(loss, [W, b])):
            v.assign_sub(0.1 * g)
        return loss

    return step, _calls(T, _batches(6)), lambda: (W, b)


def _optimizer_case(T, make_torch_opt, make_keras_opt):
    W0, W1 = _init((4, 8), 3), _init((8, 1), 4)
    if T.name == "torch":
        import torch

        params = _torch_params(W0, W1)
        opt = make_torch_opt(torch.optim, params)

        def step(x, y):
            opt.zero_grad()
            h = torch.relu(x @ params[0])
            loss = ((h @ params[1] - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss.item()

        def observe():
            state = [sorted((k, v) for k, v in opt.state[p].items() if k != "step") for p in params]
            steps = [float(opt.state[p]["step"]) for p in params if "step" in opt.state[p]]
            return params, state, steps

        return step, _calls(T, _batches(7)), observe

    import tensorflow as tf

    params = _tf_vars(W0, W1)
    opt = make_keras_opt(tf.keras.optimizers)

    def step(x, y):
        with tf.GradientTape() as tape:
            h = tf.nn.relu(x @ params[0])
            loss = tf.reduce_mean((h @ params[1] - y) ** 2)
        grads = tape.gradient(loss, params)
        opt.apply_gradients(zip(grads, params))
        return float(loss)

    return step, _calls(T, _batches(7)), lambda: (params, [v for v in opt.variables])


@case("T2_sgd_momentum_optimizer", served=5, **TRAINING)
def _(T):
    return _optimizer_case(
        T,
        lambda optim, ps: optim.SGD(ps, lr=0.05, momentum=0.9),
        lambda optimizers: optimizers.SGD(learning_rate=0.05, momentum=0.9),
    )


@case("T3_adam_optimizer", served=5, **TRAINING)
def _(T):
    return _optimizer_case(
        T, lambda optim, ps: optim.Adam(ps, lr=0.01), lambda optimizers: optimizers.Adam(learning_rate=0.01)
    )


@case("T4_second_order_and_persistent_gradients", served=3, **TRAINING)
def _(T):
    W0 = _init((4, 1), 5)
    if T.name == "torch":
        import torch

        (W,) = _torch_params(W0)

        def step(x, y):
            out = torch.tanh(x @ W)
            loss = ((out - y) ** 2).mean()
            (g_out,) = torch.autograd.grad(out.sum(), W, retain_graph=True)
            (g,) = torch.autograd.grad(loss, W, create_graph=True)
            penalty = (g**2).sum()  # gradient penalty: a second-order term
            (g_pen,) = torch.autograd.grad(penalty, W)
            with torch.no_grad():
                W.sub_(0.1 * (g.detach() + 0.01 * g_pen))
            return loss.detach(), g_out

        return step, _calls(T, _batches(5)), lambda: (W,)

    import tensorflow as tf

    (W,) = _tf_vars(W0)

    def step(x, y):
        with tf.GradientTape() as outer:
            with tf.GradientTape(persistent=True) as inner:
                out = tf.tanh(x @ W)
                loss = tf.reduce_mean((out - y) ** 2)
            g = inner.gradient(loss, W)
            g_out = inner.gradient(tf.reduce_sum(out), W)  # persistent: a second gradient
            penalty = tf.reduce_sum(g**2)
        g_pen = outer.gradient(penalty, W)  # nested: second order
        W.assign_sub(0.1 * (g + 0.01 * g_pen))
        return loss, g_out

    return step, _calls(T, _batches(5)), lambda: (W,)


@case("T5_modules_linear_embedding_batchnorm", served=4, **TRAINING)
def _(T):
    r = np.random.default_rng(21)
    ids = [r.integers(0, 10, size=(8,)) for _ in range(6)]
    ys = [r.standard_normal((8, 1)).astype(np.float32) for _ in range(6)]
    emb0, lin0, linb0 = _init((10, 6), 6), _init((1, 6), 7), _init((1,), 8)
    if T.name == "torch":
        import torch
        from torch import nn

        emb, bn, lin = nn.Embedding(10, 6), nn.BatchNorm1d(6), nn.Linear(6, 1)
        with torch.no_grad():
            emb.weight.copy_(torch.from_numpy(emb0))
            lin.weight.copy_(torch.from_numpy(lin0))
            lin.bias.copy_(torch.from_numpy(linb0))
        params = list(emb.parameters()) + list(bn.parameters()) + list(lin.parameters())
        opt = torch.optim.SGD(params, lr=0.1)

        def step(i, y):
            opt.zero_grad()
            loss = ((lin(torch.relu(bn(emb(i)))) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss.detach()

        calls = [((torch.from_numpy(a), torch.from_numpy(y)), {}) for a, y in zip(ids, ys)]
        return step, calls, lambda: (params, bn.running_mean, bn.running_var, int(bn.num_batches_tracked))

    import tensorflow as tf

    keras = tf.keras
    emb = keras.layers.Embedding(10, 6, embeddings_initializer=keras.initializers.Constant(emb0))
    bn = keras.layers.BatchNormalization()
    lin = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.Constant(lin0.T), bias_initializer=keras.initializers.Constant(linb0)
    )
    opt = keras.optimizers.SGD(learning_rate=0.1)
    emb.build((None,)), bn.build((None, 6)), lin.build((None, 6))
    params = emb.trainable_variables + bn.trainable_variables + lin.trainable_variables

    def step(i, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((lin(tf.nn.relu(bn(emb(i), training=True))) - y) ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss

    calls = [((tf.constant(a), tf.constant(y)), {}) for a, y in zip(ids, ys)]
    return step, calls, lambda: (params, bn.moving_mean, bn.moving_variance)


@case("T6_rnn_over_sequences_of_varying_length", served=5, **TRAINING)
def _(T):
    r = np.random.default_rng(31)
    lengths = [3, 5, 3, 7, 5, 4, 6]
    seqs = [r.standard_normal((n, 2, 3)).astype(np.float32) for n in lengths]
    ys = [r.standard_normal((2, 4)).astype(np.float32) for _ in lengths]
    Wx0, Wh0 = _init((3, 4), 9), _init((4, 4), 10)
    if T.name == "torch":
        import torch

        Wx, Wh = _torch_params(Wx0, Wh0)

        def step(xs, y):
            h = torch.zeros(2, 4)
            for t in range(xs.shape[0]):
                h = torch.tanh(xs[t] @ Wx + h @ Wh)
            loss = ((h - y) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                for p in (Wx, Wh):
                    p -= 0.1 * p.grad
                    p.grad.zero_()
            return loss.item()

        calls = [((torch.from_numpy(s), torch.from_numpy(y)), {}) for s, y in zip(seqs, ys)]
        return step, calls, lambda: (Wx, Wh)

    import tensorflow as tf

    Wx, Wh = _tf_vars(Wx0, Wh0)

    def step(xs, y):
        with tf.GradientTape() as tape:
            h = tf.zeros((2, 4))
            for t in range(xs.shape[0]):
                h = tf.tanh(xs[t] @ Wx + h @ Wh)
            loss = tf.reduce_mean((h - y) ** 2)
        for v, g in zip((Wx, Wh), tape.gradient(loss, [Wx, Wh])):
            v.assign_sub(0.1 * g)
        return float(loss)

    calls = [((tf.constant(s), tf.constant(y)), {}) for s, y in zip(seqs, ys)]
    return step, calls, lambda: (Wx, Wh)


@case("T7_speculation_fails_mid_step_applies_nothing", served=4, **TRAINING)
def _(T):
    """The clipping branch goes one way for four steps, then the other: the graph's
    assertion fails after the forward pass, and no part of that step's update may stick."""
    W0 = _init((4, 1), 12)
    scales = [1.0, 1.0, 1.0, 1.0, 50.0, 1.0, 1.0]
    batches = [(x * s, y) for (x, y), s in zip(_batches(len(scales), seed=13), scales)]
    log = []
    if T.name == "torch":
        import torch

        (W,) = _torch_params(W0)
        opt = torch.optim.SGD([W], lr=0.05, momentum=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = ((x @ W - y) ** 2).mean()
            loss.backward()
            if W.grad.norm() > 10.0:
                W.grad.mul_(10.0 / W.grad.norm())
                log.append("clipped")
            opt.step()
            return loss.detach()

        return step, _calls(T, batches), lambda: (W, opt.state[W]["momentum_buffer"], list(log))

    import tensorflow as tf

    (W,) = _tf_vars(W0)
    opt = tf.keras.optimizers.SGD(learning_rate=0.05, momentum=0.5)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((x @ W - y) ** 2)
        g = tape.gradient(loss, W)
        if tf.norm(g) > 10.0:
            g = g * (10.0 / tf.norm(g))
            log.append("clipped")
        opt.apply_gradients([(g, W)])
        return loss

    return step, _calls(T, batches), lambda: (W, [v for v in opt.variables], list(log))


@case("T8_gradients_accumulate_over_microbatches", served=4, frameworks=("torch",), tags=["training"])
def _(T):
    import torch

    (W,) = _torch_params(_init((4, 1), 14))

    def step(x, y):
        for k in range(2):  # .grad accumulates across backward() calls
            ((x[k::2] @ W - y[k::2]) ** 2).mean().backward()
        g = W.grad.clone()
        with torch.no_grad():
            W.sub_(0.05 * W.grad)
        W.grad = None
        return g

    return step, _calls(T, _batches(6)), lambda: (W, W.grad)


@case("C9b_gradient_through_a_varying_while", served=4, tags=["training", "control"], frameworks=("torch", "tf"))
def _(T):
    """PEER-PITFALLS C9 with its gradient: Newton's iterations for sqrt(2) run a different
    number of times per call (a graph `while`), and d(sum y)/dx must equal eager autograd's
    (JAX's `lax.while_loop` cannot be reverse-differentiated)."""
    xs = [1.0, 10.0, 1000.0, 1.0, 5.0, 3.0]
    if T.name == "torch":
        import torch

        def f(x):
            y = x * 1.0
            while (y * y - 2).abs().max() > 1e-6:
                y = y - (y * y - 2) / (2 * y)
            (g,) = torch.autograd.grad(y.sum(), x)
            return y.detach(), g

        return f, [((torch.tensor([v, v / 2], requires_grad=True),), {}) for v in xs], lambda: None

    import tensorflow as tf

    def f(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x * 1.0
            while tf.reduce_max(tf.abs(y * y - 2)) > 1e-6:
                y = y - (y * y - 2) / (2 * y)
        return y, tape.gradient(y, x)

    return f, [((tf.constant([v, v / 2]),), {}) for v in xs], lambda: None


@case("T9_conv_dropout_lstmcell_modules", served=4, **TRAINING)
def _(T):
    """A small conv net with dropout (random numbers drawn in the graph must be eager's own,
    in the same order) and an LSTM cell unrolled over three steps."""
    r = np.random.default_rng(41)
    images = [r.standard_normal((2, 1, 6, 6)).astype(np.float32) for _ in range(6)]
    ys = [r.standard_normal((2, 4)).astype(np.float32) for _ in range(6)]
    if T.name == "torch":
        import torch
        from torch import nn

        torch.manual_seed(3)
        conv, drop, cell, head = nn.Conv2d(1, 2, 3), nn.Dropout(0.3), nn.LSTMCell(8, 4), nn.Linear(4, 4)
        params = [p for m in (conv, cell, head) for p in m.parameters()]
        opt = torch.optim.Adam(params, lr=0.01)

        def step(x, y):
            opt.zero_grad()
            feats = drop(torch.relu(conv(x))).reshape(2, 4, 8)
            h = c = torch.zeros(2, 4)
            for t in range(3):
                h, c = cell(feats[:, t], (h, c))
            loss = ((head(h) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss.detach()

        calls = [((torch.from_numpy(a), torch.from_numpy(b)), {}) for a, b in zip(images, ys)]
        return step, calls, lambda: (params, torch.get_rng_state())

    import tensorflow as tf

    keras = tf.keras
    keras.utils.set_random_seed(3)
    conv = keras.layers.Conv2D(2, 3)  # channels last: TensorFlow's CPU kernels have no NCHW
    drop, cell, head = keras.layers.Dropout(0.3, seed=5), keras.layers.LSTMCell(4), keras.layers.Dense(4)
    conv.build((None, 6, 6, 1)), cell.build((None, 8)), head.build((None, 4))
    params = conv.trainable_variables + cell.trainable_variables + head.trainable_variables
    opt = keras.optimizers.Adam(learning_rate=0.01)

    def step(x, y):
        with tf.GradientTape() as tape:
            feats = tf.reshape(drop(tf.nn.relu(conv(x)), training=True), (2, 4, 8))
            state = [tf.zeros((2, 4)), tf.zeros((2, 4))]
            for t in range(3):
                h, state = cell(feats[:, t], state)
            loss = tf.reduce_mean((head(h) - y) ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss

    calls = [((tf.constant(a.transpose(0, 2, 3, 1)), tf.constant(b)), {}) for a, b in zip(images, ys)]
    return step, calls, lambda: (params, drop.seed_generator.state)

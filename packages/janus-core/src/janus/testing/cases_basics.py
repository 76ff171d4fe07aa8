"""Core JANUS features: control flow, types, shapes, heap access (ported from the shared corpus)."""

import numpy as np

from .corpus import case

R = np.random.default_rng(0)


def arr(*shape, scale=1.0):
    return (R.standard_normal(shape) * scale).astype(np.float32)


@case("straight_line_mlp", tags=["core"], served=4)
def _(T):
    W1, W2 = T.tensor(arr(8, 16, scale=0.3)), T.tensor(arr(16, 4, scale=0.3))

    def f(x):
        h = T.tanh(T.matmul(x, W1))
        return T.sum(T.matmul(h, W2) * 0.5 + 1.0)

    return f, [((T.tensor(arr(3, 8)),), {}) for _ in range(6)], lambda: None


@case("python_scalar_hyperparameter", tags=["core"], served=6)
def _(T):
    def f(x, lr):
        return x - lr * T.tanh(x)

    return f, [((T.tensor(arr(4)), 0.1 * (i + 1)), {}) for i in range(8)], lambda: None


@case("static_python_flag", tags=["core"], served=5)
def _(T):
    def f(x, training):
        if training:
            x = x * 0.5
        return T.relu(x)

    return f, [((T.tensor(arr(5)), i % 2 == 0), {}) for i in range(8)], lambda: None


@case("tensor_if_flips_after_profiling", tags=["speculation"], served=6)
def _(T):
    def f(x):
        if T.sum(x) > 0:
            return x * 2.0
        else:
            return x - 100.0

    xs = [np.ones(3, np.float32)] * 5 + [-np.ones(3, np.float32)] + [np.ones(3, np.float32)] * 3
    return f, [((T.tensor(x),), {}) for x in xs], lambda: None


@case("tensor_if_alternating", tags=["control"], served=8)
def _(T):
    def f(x):
        y = T.tanh(x)
        if T.sum(y) > 0:
            y = y * 3.0
        else:
            y = y + 1.0
        return y

    xs = [arr(6) + (2.0 if i % 2 else -2.0) for i in range(10)]
    return f, [((T.tensor(x),), {}) for x in xs], lambda: None


@case("for_range_constant", tags=["core"], served=4)
def _(T):
    W = T.tensor(arr(4, 4, scale=0.5))

    def f(x):
        for _ in range(5):
            x = T.tanh(T.matmul(x, W))
        return x

    return f, [((T.tensor(arr(2, 4)),), {}) for _ in range(6)], lambda: None


@case("for_range_varying_count", tags=["core"], served=4)
def _(T):
    def f(x, n):
        for _ in range(n):
            x = x * 1.1
        return x

    return f, [((T.tensor(arr(2)), n), {}) for n in [3, 3, 3, 0, 7, 1, 12, 3]], lambda: None


@case("while_tensor_condition", tags=["control"], served=3)
def _(T):
    def f(x):
        y = x
        while T.max(T.abs(y * y - 2.0)) > 1e-5:
            y = y - (y * y - 2.0) / (2.0 * y)
        return y

    return f, [((T.tensor([x0]),), {}) for x0 in [1.0, 1.5, 10.0, 1000.0, 2.0]], lambda: None


@case("loop_break_data_dependent", tags=["control", "break"], served=3)
def _(T):
    def f(x):
        total = T.zeros(())
        for i in range(10):
            total = total + T.sum(x) * i
            if total > 50.0:
                break
        return total

    return f, [((T.tensor(np.full(2, v, np.float32)),), {}) for v in [0.1, 0.1, 5.0, 0.1, 100.0]], lambda: None


@case("loop_over_python_list", tags=["core"], served=3)
def _(T):
    def f(xs):
        acc = xs[0] * 0.0
        for x in xs:
            acc = acc + T.sigmoid(x)
        return acc

    lens = [3, 3, 3, 5, 1, 3]
    return f, [(([T.tensor(arr(4)) for _ in range(n)],), {}) for n in lens], lambda: None


@case("list_of_tensors_stacked", tags=["core"], served=3)
def _(T):
    def f(x, n):
        outs = []
        for i in range(n):
            outs.append(x * float(i))
        return T.stack(outs)

    return f, [((T.tensor(arr(3)), n), {}) for n in [4, 4, 4, 2, 6, 4]], lambda: None


@case("tree_recursion_varying_structure", tags=["recursion"], served=4)
def _(T):
    W = T.tensor(arr(8, 8, scale=0.3))

    def node(t):
        if isinstance(t, tuple):
            return T.tanh(T.matmul(node(t[0]) + node(t[1]), W))
        return t

    def f(tree):
        return T.sum(node(tree))

    def leaf():
        return T.tensor(arr(1, 8))

    trees = [
        (leaf(), leaf()),
        ((leaf(), leaf()), leaf()),
        ((leaf(), leaf()), leaf()),
        (leaf(), (leaf(), (leaf(), leaf()))),
        ((leaf(), leaf()), (leaf(), leaf())),
        (leaf(), leaf()),
    ]
    return f, [((t,), {}) for t in trees], lambda: None


@case("dynamic_argument_type", tags=["core"], served=3)
def _(T):
    def f(x, s):
        return x * s + s

    ss = [2, 2, 2, 2.5, T.tensor([3.0]), 2, -1]
    return f, [((T.tensor(arr(3)), s), {}) for s in ss], lambda: None


@case("dynamic_batch_shape", tags=["core"], served=5)
def _(T):
    W = T.tensor(arr(6, 3))

    def f(x):
        return T.mean(T.relu(T.matmul(x, W)), 0)

    return f, [((T.tensor(arr(b, 6)),), {}) for b in [4, 4, 4, 7, 1, 16, 4, 0]], lambda: None


@case("object_attribute_reads", tags=["core"], served=4)
def _(T):
    class Linear:
        def __init__(self):
            self.w = T.tensor(arr(5, 2))
            self.b = T.tensor(arr(2))
            self.scale = 0.5

        def __call__(self, x):
            return (T.matmul(x, self.w) + self.b) * self.scale

    m = Linear()

    def f(x):
        return T.sigmoid(m(x))

    return f, [((T.tensor(arr(3, 5)),), {}) for _ in range(6)], lambda: None


@case("attribute_replaced_between_calls", tags=["core"], served=4)
def _(T):
    class Net:
        def __init__(self):
            self.w = T.tensor(arr(4, 5))
            self.lr = 0.1

        def step(self, x):
            return T.matmul(x, self.w) * self.lr

    n = Net()
    x = T.tensor(arr(2, 4))

    def f(i):
        # outside code changes the object between calls
        if i == 4:
            n.lr = 0.01
        if i == 6:
            n.w = T.tensor(arr(4, 3))
        return n.step(x)

    return f, [((i,), {}) for i in range(8)], lambda: (n.lr,)


@case("attribute_write_counter", tags=["heap"], served=5)
def _(T):
    class M:
        def __init__(self):
            self.step = 0

        def __call__(self, x):
            self.step += 1
            return x * self.step

    m = M()

    def f(x):
        return m(x)

    return f, [((T.tensor(arr(2)),), {}) for _ in range(7)], lambda: (m.step,)


@case("list_append_side_effect", tags=["heap"], served=4)
def _(T):
    log = []

    def f(x):
        y = x * 2.0
        log.append(T.sum(y))
        return y

    return f, [((T.tensor(arr(3)),), {}) for _ in range(6)], lambda: log


@case("dict_update_side_effect", tags=["heap"], served=4)
def _(T):
    stats = {"calls": 0, "last": None}

    def f(x):
        stats["calls"] += 1
        stats["last"] = T.mean(x)
        return x + 1.0

    return f, [((T.tensor(arr(3)),), {}) for _ in range(6)], lambda: stats


@case("print_python_values", tags=["io"], served=4)
def _(T):
    def f(x, i):
        y = T.sum(x * x)
        print("step", i, "loss %.4f" % float(y))
        return y

    return f, [((T.tensor(arr(3)), i), {}) for i in range(6)], lambda: None


@case("in_place_state_update", tags=["state"], served=4)
def _(T):
    v = T.Variable(arr(4))

    def f(g):
        T.assign_sub(v, 0.1 * g)
        return T.sum(v * v)

    return f, [((T.tensor(arr(4)),), {}) for _ in range(6)], lambda: (v,)


@case("nested_outputs", tags=["core"], served=3)
def _(T):
    def f(x):
        return {"sum": T.sum(x), "parts": (x * 2.0, [T.tanh(x), 3])}

    return f, [((T.tensor(arr(3)),), {}) for _ in range(5)], lambda: None


@case("keyword_and_default_args", tags=["core"], served=6)
def _(T):
    def f(x, scale=2.0, *, shift=0.0):
        return x * scale + shift

    calls = [((T.tensor(arr(3)),), {}), ((T.tensor(arr(3)), 3.0), {}), ((T.tensor(arr(3)),), {"shift": 1.0})] * 3
    return f, calls, lambda: None

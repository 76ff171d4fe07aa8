"""Behaviours that tf.function, torch.compile and JAX get wrong (PEER-PITFALLS.md).

Each must match eager exactly; the ones a converter cannot express must fall back
rather than give a wrong answer.  Case names carry the pitfall's number (C1...)."""

import os
import random

import numpy as np

from .corpus import case

R = np.random.default_rng(1)


def arr(*shape):
    return R.standard_normal(shape).astype(np.float32)


@case("C1_list_append_every_call", tags=["heap"], served=2)
def _(T):
    log = []

    def f(x):
        y = x * 2
        log.append(T.sum(y))
        return y

    return f, [((T.ones((3,)) * float(i),), {}) for i in range(4)], lambda: log


@case("C2_counter_on_self", tags=["heap"], served=3)
def _(T):
    class M:
        def __init__(self):
            self.step = 0

        def __call__(self, x):
            self.step += 1
            return x * self.step

    m = M()
    return m.__call__, [((T.ones((2,)),), {}) for _ in range(5)], lambda: m.step


SCALE = 1.0


def act(x):
    return x * 0.5


def _set_scale(v):
    def before():
        global SCALE
        SCALE = v

    return before


@case("C3_global_scalar_changes", tags=["core"], served=4)
def _(T):
    def f(x):
        return x * SCALE

    return f, [((T.ones((2,)),), {}, _set_scale(s)) for s in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], lambda: SCALE


@case("C4_rebound_global_function", tags=["core"], served=4)
def _(T):
    def f(x):
        return act(x) + 1

    def rebind(fn):
        def before():
            global act
            act = fn

        return before

    original = act
    calls = [((T.ones((1,)),), {}, rebind(original)) for _ in range(3)]
    calls += [((T.ones((1,)),), {}, rebind(lambda x: T.tanh(x))) for _ in range(3)]
    calls += [((T.ones((1,)),), {}, rebind(original))]
    return f, calls, lambda: None


@case("C5_env_var_read", tags=["host-state"], served=2)
def _(T):
    def f(x):
        return x + 1 if os.getenv("JANUS_TEST_FLAG") == "1" else x - 1

    return f, [((T.zeros((1,)),), {}) for _ in range(4)], lambda: None


@case("C6_python_rng", tags=["host-state"], served=2)
def _(T):
    def f(x):
        return x + random.random()

    return f, [((T.zeros((1,)),), {}) for _ in range(4)], lambda: None


@case("C8_branch_flips", tags=["speculation"], served=4)
def _(T):
    def f(x):
        if T.sum(x) > 0:
            return x * 2
        else:
            return x - 100

    xs = [T.ones((3,))] * 5 + [T.ones((3,)) * -1.0] + [T.ones((3,))]
    return f, [((x,), {}) for x in xs], lambda: None


@case("C10_varying_loop_bound", tags=["control"], served=15)
def _(T):
    def f(x, n):
        for _ in range(n):
            x = x * 1.1
        return x

    return f, [((T.ones((2,)), n), {}) for n in range(20)], lambda: None


@case("C11_varying_shapes", tags=["core"], served=4)
def _(T):
    def f(x):
        return T.sum(T.matmul(x, T.tensor(np.ones((4, 2), np.float32))), 0)

    return f, [((T.tensor(arr(n, 4)),), {}) for n in [1, 0, 2, 7, 8, 33, 1]], lambda: None


@case("C12_unbound_on_one_branch", tags=["speculation"], served=2)
def _(T):
    def f(x):
        if T.sum(x) > 0:
            y = x * 2
        return y

    xs = [T.ones((2,))] * 4 + [T.ones((2,)) * -1.0] + [T.ones((2,))]
    return f, [((x,), {}) for x in xs], lambda: None


@case("C21_no_doubled_effects_on_fallback", tags=["heap", "speculation"], served=3)
def _(T):
    log = []

    def f(x):
        log.append("start")
        if T.sum(x) > 0:
            y = x + 1
        else:
            y = x - 1
        log.append("end")
        return y

    xs = [T.ones((2,))] * 5 + [T.ones((2,)) * -1.0]
    return f, [((x,), {}) for x in xs], lambda: list(log)


@case("C22_fresh_config_objects", tags=["core"], served=48)
def _(T):
    class Cfg:
        def __init__(self, k):
            self.k = k

    def f(x, cfg):
        return x * cfg.k

    return f, [((T.ones((2,)), Cfg(3)), {}) for _ in range(50)], lambda: None


@case("C23_error_parity", tags=["core"], served=0)
def _(T):
    def f(a, b):
        return T.mm(a, b)

    a = T.ones((2, 2))
    b = T.tensor(np.ones((2, 2))) if T.name != "numpy" else np.ones((2, 3))
    return f, [((a, a), {}), ((a, a), {}), ((a, b), {}), ((a, a), {})], lambda: None


@case("C25_attribute_tensor_replaced", tags=["core"], served=2)
def _(T):
    class Net:
        def __init__(self):
            self.w = T.zeros((4, 5))

        def __call__(self, x):
            return T.matmul(x, self.w)

    n = Net()

    def f(x, swap):
        if swap:
            n.w = T.ones((4, 3))
        return n(x)

    flags = [False, False, False, True, False, False]
    return f, [((T.ones((1, 4)), s), {}) for s in flags], lambda: None


@case("C26_iterator_consumed", tags=["host-state"], served=2)
def _(T):
    it = iter(range(100))

    def f(x):
        return x + next(it)

    return f, [((T.zeros((1,)),), {}) for _ in range(4)], lambda: None

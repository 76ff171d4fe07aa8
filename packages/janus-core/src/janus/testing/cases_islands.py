"""Graph islands (issue 14): functions that cannot be one graph, split into graph segments
around the piece that needs the host -- a tensor value read and used in Python, a call
into an unknown library, a user context manager, a local class.  Each case checks the
values, the Python state and stdout against eager, and that the segments serve calls."""

import itertools
import random

import numpy as np

from .corpus import case

R = np.random.default_rng(14)
SIGNS = [1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0]


def arr(*shape):
    return R.standard_normal(shape).astype(np.float32)


def calls(T, n=8, shape=(4,)):
    return [((T.tensor(arr(*shape)),), {}) for _ in range(n)]


@case("I_random_between_tensor_work", tags=["islands"], served=5)
def _(T):
    def f(x):
        y = T.tanh(x) * 2.0
        r = random.random()  # an island: the draw happens once per call, for real
        return y * r + 1.0

    return f, calls(T), lambda: random.random()


@case("I_float_of_tensor_in_arithmetic", tags=["islands"], served=5)
def _(T):
    def f(x):
        y = x * 2.0
        s = float(T.sum(y)) * 3.0 + 1.0
        return T.tanh(y) * s

    return f, calls(T), lambda: None


@case("I_next_of_outside_iterator", tags=["islands"], served=5)
def _(T):
    counter = itertools.count(1)

    def f(x):
        y = x + 1.0
        k = next(counter)
        return y * k

    return f, calls(T), lambda: next(counter)


@case("I_user_context_manager", tags=["islands"], served=5)
def _(T):
    class Timer:
        def __init__(self):
            self.entered = []

        def __enter__(self):
            self.entered.append(len(self.entered))
            return self

        def __exit__(self, *exc):
            return False

    timer = Timer()

    def f(x):
        y = x * 2.0
        with timer:
            z = y + 1.0
        return T.tanh(z) * 3.0

    return f, calls(T), lambda: list(timer.entered)


@case("I_effects_before_island_are_seen", tags=["islands", "heap"], served=5)
def _(T):
    log = []

    def f(x):
        log.append("in")
        y = x * 2.0
        n = len(log) + random.random()  # sees this call's append
        log.append(n)
        return y + n

    return f, calls(T), lambda: list(log)


@case("I_island_in_a_loop", tags=["islands"], served=5)
def _(T):
    def f(x):
        acc = x
        for i in range(3):
            acc = T.tanh(acc) * 2.0 + random.random() * i
        return acc

    return f, calls(T), lambda: random.random()


@case("I_island_in_a_data_dependent_branch", tags=["islands", "control"], served=5)
def _(T):
    def f(x):
        y = x * 2.0
        if T.sum(y) > 0:
            y = y + random.random()
        else:
            y = y - 1.0
        return y

    return f, [((T.tensor(arr(4) * s),), {}) for s in SIGNS], lambda: random.random()


@case("I_print_and_island", tags=["islands", "io"], served=5)
def _(T):
    def f(x):
        print("before")
        y = x * 3.0
        r = random.randint(0, 9)
        print("drew", r)
        return y + r

    return f, calls(T), lambda: None


@case("I_return_from_loop_after_island", tags=["islands"], served=5)
def _(T):
    def f(x):
        y = x
        for i in range(4):
            y = y * 1.5
            if random.random() > 0.7:
                return y, i
        return y, -1

    return f, calls(T), lambda: random.random()


@case("I_island_raises_like_eager", tags=["islands"], served=4)
def _(T):
    table = {0: 1.0, 1: 2.0, 2: 3.0}

    def f(x, k):
        y = x * 2.0
        scale = table[k]  # a KeyError for k == 3, raised where eager raises it
        return y * scale + float(T.sum(y))

    ks = [0, 1, 2, 0, 3, 1, 2, 0]
    return f, [((T.tensor(arr(4)), k), {}) for k in ks], lambda: dict(table)


@case("I_speculation_fails_after_island", tags=["islands", "control", "heap"], served=4)
def _(T):
    # a branch the profile saw one way, flipped later: the segment after the island
    # fails its speculation and re-runs alone -- the island's draw is not repeated and
    # the appends before it are not doubled
    log = []

    def f(x):
        log.append("a")
        r = random.random()
        log.append(round(r, 6))
        if T.sum(x) > 0:
            out = x * r
        else:
            out = x - r
        log.append("b")
        return out

    signs = [1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0]
    return f, [((T.tensor(np.abs(arr(4)) * s),), {}) for s in signs], lambda: list(log)

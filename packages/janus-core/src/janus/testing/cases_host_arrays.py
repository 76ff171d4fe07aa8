"""NumPy arrays from outside the function in framework calls: a graph must read the array
as it is on each call (a parameter bound to a new array every call, a buffer the host
fills in place between calls), never bake in the contents it had while converting."""

import numpy as np

from .corpus import case

R = np.random.default_rng(41)


def arr(*shape):
    return R.standard_normal(shape).astype(np.float32)


@case("HA_new_array_argument_every_call", tags=["islands"], served=5)
def _(T):
    def f(a, x):
        return T.tanh(T.from_host(a) * x) + 1.0

    return f, [((arr(4), T.tensor(arr(4))), {}) for _ in range(8)], lambda: None


@case("HA_outside_buffer_filled_in_place", tags=["islands"], served=5)
def _(T):
    buf = np.zeros(4, np.float32)

    def f(x):
        y = T.from_host(buf) * 2.0 + x
        buf[...] = T.to_numpy(y) * 0.5  # the host fills the buffer the next call reads
        return y

    return f, [((T.tensor(arr(4)),), {}) for _ in range(8)], lambda: buf.tolist()


@case("HA_numpy_arithmetic_on_outside_buffer", tags=["islands"], served=5)
def _(T):
    state = {"buf": np.ones(3, np.float32)}

    def f(x):
        scaled = state["buf"] * 3.0  # Python (NumPy) work on the buffer: runs on the host
        y = T.from_host(scaled) + x
        state["buf"] += 1.0
        return T.tanh(y)

    return f, [((T.tensor(arr(3)),), {}) for _ in range(8)], lambda: state["buf"].tolist()


@case("HA_read_outside_list_after_appends", tags=["heap"], served=5)
def _(T):
    # a list built before the function and handed to it (as a split hands a segment the
    # list an earlier segment filled), appended to, then read: items old and new
    seen = []

    def f(x, log):
        log.append(x * 2.0)
        log.extend([T.tanh(x), x + 1.0])
        total = log[0] + log[-1] + log[len(log) - 3]
        for item in log:
            total = total + item
        seen.append(len(log))
        return total * 0.5

    calls = [((T.tensor(arr(3)), [T.tensor(arr(3)), T.tensor(arr(3))]), {}) for _ in range(7)]
    return f, calls, lambda: list(seen)

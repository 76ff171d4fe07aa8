"""`xs[i]`: an outside list indexed by a Python int that varies between calls.  The
guard function reads the item on every call, so every index shares one graph (rather
than one graph per index, evicted in turn when a loop walks a long list).
Differential against eager: values, exceptions, in-place writes."""

import numpy as np
import pytest

import janus


def _arr(k):
    return np.full(3, float(k), np.float32)


def scaled_item(x, rewards, i):
    return 0.99 * x + rewards[i]


def tensor_items(x, values, i):
    return values[i] * 2.0 + values[i + 1] - x


def _check(fn, make_args, n=24):
    g = janus.jit(fn, backend="reference")
    for k in range(n):
        want, got = fn(*make_args(k)), g(*make_args(k))
        assert type(want) is type(got) and np.array_equal(want, got), (k, want, got)
    return g


def test_number_items_share_one_graph():
    g = _check(scaled_item, lambda k: (_arr(1), [float(k), 2.5, -1.0, 7.0], k % 4))
    assert g.stats.graphs_built == 1, janus.explain(g)
    assert g.stats.graph_calls == 24 - 2, janus.explain(g)


def test_item_type_change_builds_another_graph():
    g = _check(scaled_item, lambda k: (_arr(1), [float(k), 2, True], k % 3))
    assert g.stats.graphs_built <= 3 and g.stats.graph_calls >= 24 - 6, janus.explain(g)


def test_tensor_items_share_one_graph():
    values = [_arr(k) for k in range(6)]
    g = _check(tensor_items, lambda k: (_arr(1), values, k % 5))
    assert g.stats.graphs_built == 1 and g.stats.graph_calls == 24 - 2, janus.explain(g)


def test_index_out_of_range_raises_as_eager():
    g = janus.jit(scaled_item, backend="reference")
    for k in range(4):
        g(_arr(1), [1.0, 2.0], k % 2)
    with pytest.raises(IndexError):
        scaled_item(_arr(1), [1.0, 2.0], 5)
    with pytest.raises(IndexError):
        g(_arr(1), [1.0, 2.0], 5)


def test_read_after_a_write_in_the_call_sees_the_write():
    def f(x, xs, i):
        xs[0] = 10.0
        return x + xs[i]

    state = ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    g = janus.jit(f, backend="reference")
    for k in range(8):
        assert np.array_equal(f(_arr(0), state[0], k % 3), g(_arr(0), state[1], k % 3))
        assert state[0] == state[1]

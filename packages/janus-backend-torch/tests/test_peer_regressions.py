"""Regressions found by running PyTorch Dynamo's own function tests under JANUS
(tests/peer): each was a wrong result, not a fallback."""

import collections
import functools
import itertools
import operator

import pytest
import torch

import janus


def new_with_size(x):
    return x.new(x.size()).shape, x.size(1) == 10, x.dim()


def inplace_result_is_self(x):
    y = x.add_(1)
    return x is y


def two_equal_results(a, b):
    return a + b, a + b


def islice_of_chain(a):
    t1, t2 = [a + 1, a + 2], [a + 3, a + 4]
    b, c = list(itertools.islice(itertools.chain(t1, t2), 1, 3))
    return b - c


def nonlocal_written_by_inner(x):
    def inner(z):
        nonlocal x
        x = x + z

    inner(2.0)
    inner(3.0)
    return x


def import_in_a_split_function(x):
    import torch.nn.functional as Fn

    if x.dim() == 1:
        x = x + 1
    print("host")  # an island
    return Fn.relu(x)


def dict_fromkeys(x):
    d = dict.fromkeys(["a", "b"], x + 1)
    e = collections.defaultdict.fromkeys("a", "b")
    e["a"] = 1
    o = collections.OrderedDict.fromkeys(("p", "q"), value=x)
    return d["a"] * d["b"] + o["q"] + (1 if e["a"] == 1 else -1)


SCALE = functools.partial(torch.mul, other=torch.full((3,), 2.0))


def outside_partial_over_a_tensor(x):
    return SCALE(x) + 1


def operator_identity(x):
    y = x
    return operator.is_(x, y), operator.is_not(x, x + 0)


def unbound_tensor_method(x):
    y = x.clone()
    torch.Tensor.add_(y, 1)
    return y, x.type()


CASES = [
    (new_with_size, lambda: (torch.randn(10, 10),)),
    (inplace_result_is_self, lambda: (torch.randn(3),)),
    (two_equal_results, lambda: (torch.randn(3), torch.randn(3))),
    (islice_of_chain, lambda: (torch.randn(3),)),
    (nonlocal_written_by_inner, lambda: (torch.randn(3),)),
    (import_in_a_split_function, lambda: (torch.randn(3),)),
    (dict_fromkeys, lambda: (torch.randn(3),)),
    (outside_partial_over_a_tensor, lambda: (torch.randn(3),)),
    (operator_identity, lambda: (torch.randn(3),)),
    (unbound_tensor_method, lambda: (torch.randn(3),)),
]


def _same(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("fn,make", CASES, ids=[c[0].__name__ for c in CASES])
def test_matches_eager(fn, make, capsys):
    g = janus.jit(fn, backend="torch")
    for i in range(5):
        torch.manual_seed(i)
        want = fn(*make())
        torch.manual_seed(i)
        got = g(*make())
        assert _same(want, got), (i, want, got)
        if isinstance(want, tuple) and len(want) == 2 and isinstance(want[0], torch.Tensor):
            assert (got[0] is got[1]) == (want[0] is want[1])  # two results stay two objects
    assert g.stats.graph_calls >= (0 if fn is nonlocal_written_by_inner else 3), janus.explain(g)


def test_nested_functions_keep_their_names():
    def f(x):
        key = lambda v: v
        print("host")  # an island: the function is split
        return x * 2, key.__qualname__

    g = janus.jit(f, backend="torch")
    for _ in range(4):
        assert g(torch.ones(2))[1] == f(torch.ones(2))[1]

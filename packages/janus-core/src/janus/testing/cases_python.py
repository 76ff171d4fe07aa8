"""The Python people write in model code (issue 14): the standard library, lambdas and
closures, objects made in the call, tensor metadata, and control flow the converter
keeps in one graph.  Each runs on every framework it names, against eager."""

import collections
import functools
import itertools
import math
import operator

import numpy as np

from .corpus import case

R = np.random.default_rng(140)
N = 6


def arr(*shape):
    return R.standard_normal(shape).astype(np.float32)


def calls(T, shape=(3, 4), n=N):
    return [((T.tensor(arr(*shape)),), {}) for _ in range(n)]


# -- the standard library ----------------------------------------------------------------
@case("P_collections_built_in_the_call", tags=["core"], served=4)
def _(T):
    def f(x):
        d = collections.OrderedDict()
        d["a"] = x
        d["b"] = x * 2.0
        d.move_to_end("a")
        q = collections.deque(maxlen=2)
        for i in range(3):
            q.append(x + float(i))
        q.appendleft(x)
        groups = collections.defaultdict(list)
        for i in range(4):
            groups[i % 2].append(x * float(i))
        c = collections.Counter(["a", "b", "a"])
        total = sum(d.values()) + sum(q) + T.sum(T.stack(groups[1]))
        return total * c["a"], list(d.keys()), len(q), c.most_common(1)

    return f, calls(T), lambda: None


@case("P_collections_leave_the_call", tags=["core"], served=4)
def _(T):
    def f(x):
        q = collections.deque([x], maxlen=3)
        q.append(x * 2.0)
        d = collections.defaultdict(int)
        d["n"] += 2
        o = collections.OrderedDict(a=1)
        o["t"] = x + 1.0
        return q, d, o

    return f, calls(T), lambda: None


P = collections.namedtuple("P", "a b")


@case("P_namedtuple_and_fromkeys", tags=["core"], served=4)
def _(T):
    def f(x):
        p = P(x, x * 2.0)
        q = p._replace(a=x + 1.0)
        d = dict.fromkeys(["u", "v"], 0.5)
        d["u"] = q.a
        return q.a + q.b * d["v"], p._fields, sorted(d)

    return f, calls(T), lambda: None


@case("P_functools_partial_reduce_lru_cache", tags=["core"], served=4)
def _(T):
    @functools.cache
    def table(n):
        return tuple(i * 0.5 for i in range(n))

    def twice(fn):
        @functools.wraps(fn)
        def inner(*a, **k):
            return fn(*a, **k) * 2.0

        return inner

    @twice
    def helper(t):
        return t + 1.0

    def f(x):
        scale = functools.partial(operator.mul, 3.0)
        summed = functools.reduce(lambda a, b: a + b, [x, x * 2.0, x * 3.0])
        return scale(summed) + helper(x) * sum(table(4)), helper.__name__

    return f, calls(T), lambda: None


@case("P_itertools_operator_math", tags=["core"], served=4)
def _(T):
    def f(x):
        out = []
        for a, b in itertools.product(range(2), range(2)):
            out.append(x * float(a) + float(b))
        for v in itertools.chain([x], [x * 2.0]):
            out.append(v)
        for a, b in itertools.zip_longest([x], [x, x], fillvalue=None):
            out.append(a if a is not None else b)
        out += list(itertools.accumulate([x, x, x]))
        out += list(itertools.islice([x, x * 3.0, x * 4.0], 1, 3))
        y = operator.add(T.sum(T.stack(out), 0), operator.mul(x, 2.0))
        return operator.neg(y) * (math.sqrt(2.0) + math.floor(2.5) + math.pi)

    return f, calls(T), lambda: None


@case("P_iter_next_sorted_min_max_with_key", tags=["core"], served=4)
def _(T):
    def f(x):
        it = iter([x, x * 2.0, x * 3.0])
        a = next(it)
        b = next(it)
        parts = sorted([(2, x * 3.0), (0, x), (1, x * 2.0)], key=lambda kv: kv[0])
        m = max([1, 5, 3], key=lambda v: -v)
        w = min(["bb", "a"], key=len)
        return a + b + next(it, x) + parts[0][1] * m, w, sorted({"b": 1, "a": 2}.items())

    return f, calls(T), lambda: None


@case("P_in_tests_list_repetition_formatting", tags=["core", "control"], served=4)
def _(T):
    def f(x, k):
        keys = {"a": 1}
        items = [1, 2]
        y = x if "a" in keys and 2 in items and 3 not in items else -x
        reps = [y] * 3 + [y * 2.0] * 2
        label = f"{k:03d}-{'%s' % 'a'}-{1.5:.2f}-{len(reps)}"
        return T.sum(T.stack(reps), 0), label

    return f, [((T.tensor(arr(3, 4)), k), {}) for k in range(N)], lambda: None


# -- functions and objects made in the call ----------------------------------------------
class Obj:
    pass


@case("P_lambdas_closures_introspection", tags=["core"], served=4)
def _(T):
    def f(x):
        k = 3.0
        sq = lambda t: t * k
        o = Obj()
        o.w = 2.0

        def inner(t, j=2.0):
            return sq(t) + j

        fns = [sq, inner]
        y = sum(fn(x) for fn in fns) * getattr(o, "w", 1.0) + getattr(o, "missing", 5.0)
        return y, callable(sq), hasattr(o, "w"), hasattr(o, "z"), isinstance(o, Obj), T.is_tensor(y)

    return f, calls(T), lambda: None


# -- control flow ------------------------------------------------------------------------
@case("P_continue_under_a_data_dependent_if", tags=["control"], served=4)
def _(T):
    def f(x):
        acc = x
        for i in range(4):
            if T.sum(acc) > 0:
                continue
            acc = acc + 1.0
        return acc

    return f, [((T.tensor(arr(3, 4) - s),), {}) for s in (0.1, 1.0, 0.5, 2.0, 0.1, 1.0)], lambda: None


@case("P_and_or_not_in_data_dependent_tests", tags=["control"], served=3)
def _(T):
    # the `while` trip count the profile saw once fails its speculation later: 3 served
    def f(x, d):
        if T.sum(x) < 1.0 or d > 6:
            y = x * 2.0
        else:
            y = x - 1.0
        while not T.sum(y) > 10.0 and d < 100:
            y = y + 1.0
        return y if T.sum(y) > 12.0 and d >= 0 else -y

    pairs = ((1.0, 1), (3.0, 2), (0.5, 5), (4.0, 3), (1.0, 6), (2.0, 4))
    return f, [((T.tensor(arr(3, 4) * s), d), {}) for s, d in pairs], lambda: None


@case("P_break_in_while_true", tags=["control", "break"], served=4)
def _(T):
    def f(x):
        i = 0
        while True:
            x = x * 0.5
            i += 1
            if T.sum(T.abs(x)) < 1.0:
                break
        return x, i

    return f, [((T.tensor(arr(3, 4) * s),), {}) for s in (10.0, 2.0, 30.0, 4.0, 5.0, 6.0)], lambda: None


@case("P_return_under_data_dependent_if_in_loop", tags=["control", "islands"], served=3)
def _(T):
    # the `if` that returns runs on the host (a host-control island); the rest is graphs
    # (the inputs are small enough that every call multiplies at least once in a graph)
    def f(x):
        acc = x
        for i in range(4):
            if T.sum(acc) > 10.0:
                return acc, i
            acc = acc * 2.0
        return acc - 1.0, -1

    return f, [((T.tensor(np.abs(arr(3, 4)) * s),), {}) for s in (0.1, 0.6, 0.5, 0.3, 0.1, 0.6)], lambda: None


@case("P_break_nested_in_graph_while", tags=["control", "islands"], served=3)
def _(T):
    # a `break` inside a graph `while` body: the loop runs on the host over graph segments
    def f(x):
        n = 0
        while T.sum(x) > 1.0:
            for j in range(2):
                if T.max(x) > 3.0:
                    break
                x = x * 0.9
            x = x - 0.5
            n += 1
        return x, n

    return f, [((T.tensor(np.abs(arr(3, 4)) * s),), {}) for s in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)], lambda: None


# -- torch: tensor metadata, framework objects made in the call ---------------------------
@case("P_torch_tensor_metadata", tags=["core"], served=4, frameworks=("torch",))
def _(T):
    torch = T.module

    def f(x):
        n = x.size(0) * x.size()[1] + x.dim() + x.ndimension() + x.numel() + x.element_size()
        flags = int(x.is_complex()) + int(x.is_contiguous()) + int(x.is_floating_point())
        same = x.dtype == torch.float32 and x.dtype != torch.int64 and torch.get_default_dtype() == torch.float32
        lo, hi = torch.finfo(x.dtype).min, torch.finfo(x.dtype).max
        y = torch.zeros(x.shape, device=x.device, dtype=x.dtype) + x.clamp(lo, hi)
        return y * (n + flags) if same else y, str(x.dtype), x.device.type, torch.iinfo(torch.int32).bits

    return f, calls(T), lambda: None


@case("P_torch_stateless_modules_made_in_the_call", tags=["core"], served=4, frameworks=("torch",))
def _(T):
    torch = T.module

    def f(x):
        act = torch.nn.ReLU()
        seq = torch.nn.Sequential(torch.nn.Identity(), act, torch.nn.Flatten(0))
        d = torch.device("cpu")
        return seq(x.to(d) - 0.1)

    return f, calls(T), lambda: None


@case("P_torch_module_with_parameters_made_in_the_call", tags=["islands"], served=2, frameworks=("torch",))
def _(T):
    # building a Linear draws its initial weights: an island (eager's random numbers)
    torch = T.module

    def f(x):
        lin = torch.nn.Linear(4, 2)
        return torch.tanh(lin(x)) * 2.0

    return f, calls(T), lambda: None


@case("P_lru_cache_hits_like_eager", tags=["core"], served=4)
def _(T):
    misses = []

    @functools.cache
    def table(n):
        misses.append(n)  # runs on a cache miss only: the same misses under JANUS
        return tuple(i * 0.5 for i in range(n))

    def f(x, n):
        return x * sum(table(n))

    ns = [4, 4, 4, 4, 5, 5, 5, 4]
    return f, [((T.tensor(arr(3)), n), {}) for n in ns], lambda: list(misses)


@case("P_math_of_a_step_counter", tags=["core"], served=5, exact=True)
def _(T):
    # Adam's bias correction: `math` of a Python number that changes on every call
    step = [0]

    def f(x):
        step[0] += 1
        bias1, bias2 = 1.0 - 0.9 ** step[0], 1.0 - 0.999 ** step[0]
        scale = (0.01 / bias1) / (math.sqrt(bias2) + math.log1p(step[0]))
        return x * scale, scale

    return f, [((T.tensor(arr(3)),), {}) for _ in range(8)], lambda: list(step)

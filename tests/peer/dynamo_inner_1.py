# ruff: noqa
# flake8: noqa
# fmt: off
# (formatting off: the ported function bodies keep upstream's layout, line for line)
"""PyTorch Dynamo's function tests (part: small functions inside other test methods, first half); see dynamo_common.py.
Upstream's single module namespace is kept: every part sees the common definitions and
the other parts' module-level names (dynamo_functions.share_namespace)."""

from __future__ import annotations

import dynamo_common

globals().update(dynamo_common.shared_names())

# --------------------------------------------------------------------------------------
# Small functions inside other test methods (`def fn(...)` then torch.compile(fn)).
# Each builder holds the test method's set-up; the inner function is as written.
# --------------------------------------------------------------------------------------


@peer("test_foreach_lerp_", args=lambda: [[T(2, 2), T(2, 2)], [T(2, 2), T(2, 2)], T(kind="rand")])
def _build():
    def fn(x, y, s):
        return torch._foreach_lerp_(x, y, s)

    return fn


@peer("test_broadcast_foreach_pow", args=lambda: [T(kind="rand"), [T(kind="rand"), T(kind="rand")]])
def _build():
    def fn(x, y):
        return torch._foreach_pow(x, y)

    return fn


@peer("test_addcmul_", args=lambda: [T(2, 2), T(2, 2), T(2, 2, kind="rand"), T(kind="rand")])
def _build():
    def fn(x, y, z, s):
        return x.addcmul_(y, z, value=s)

    return fn


def _number_method_builder(method):
    def build():
        def forward(t, m):
            return 2 * t if getattr(m, method)() else t

        return forward

    return build


# upstream loops over m in (0, 1, 2.5) on one compiled function; one value is kept here
for _m, _t in (
    ("as_integer_ratio", int),
    ("bit_length", int),
    ("conjugate", int),
    ("as_integer_ratio", float),
    ("conjugate", float),
    ("hex", float),
    ("is_integer", float),
):
    peer(f"test_number_method[{_m},{_t.__name__}]", args=lambda _t=_t: [T(1, kind="ones", dtype=torch.int64), _t(2.5)])(
        _number_method_builder(_m)
    )


@peer("test_is_integer", args=None, variants={
    "1.0": lambda: [T(1, kind="ones", dtype=torch.int64), 1.0],
    "1.5": lambda: [T(1, kind="ones", dtype=torch.int64), 1.5],
})
def _build():
    def forward(t, m):
        return 2 * t if m.is_integer() else t

    return forward


@peer("test_list_slice", args=lambda: [T(4)])
def _build():
    class Mock:
        def __init__(self):
            self.ets = []
            self.counter = 0

        def run(self, x):
            self.ets = self.ets[-3:]
            self.ets.append(x)
            return torch.sin(x)

    mock = Mock()
    return mock.run, lambda: (len(mock.ets), mock.ets)


@peer("test_dict_id_guard", args=lambda: [T(4)])
def _build():
    d1 = collections.OrderedDict({"a": 2})
    d2 = d1

    def fn(x):
        # Iteration forces DictGuardManager
        for k in d1:
            x = x * d1[k] * d2[k]
        return x

    return fn


def _callable_classes():
    # the test method's local classes (only instances reach fn)
    class CallableClass:
        def __call__():
            pass

    class NotCallableClass:
        pass

    return {"CallableClass": CallableClass, "NotCallableClass": NotCallableClass}


def _callable_class_builder(which):
    def build():
        def fn1(x, arg):
            if callable(arg):
                return x
            return x + 1

        def fn2(x, arg):
            if callable(arg):
                return x * 2
            return x + 1

        return {"fn1": fn1, "fn2": fn2}[which]

    return build


for _which, _label, _args in (
    ("fn1", "NotCallableClass()", lambda: [T(4), _callable_classes()["NotCallableClass"]()]),
    ("fn1", "CallableClass()", lambda: [T(4), _callable_classes()["CallableClass"]()]),
    ("fn1", "1.1", lambda: [T(4), 1.1]),
    ("fn2", "CallableClass()", lambda: [T(4), _callable_classes()["CallableClass"]()]),
):
    peer(f"test_callable_class[{_which},{_label}]", args=_args)(_callable_class_builder(_which))


@peer("test_callable_list", args=None, variants={
    "list": lambda: [T(4), [1, 2, 3]],
    "tuple": lambda: [T(4), (1, 2, 3)],
})
def _build():
    def fn(x, arg):
        if callable(arg):
            return x
        return x + 1

    return fn


@peer("test_torch_size_as_dict_key", args=lambda: [T(2, 3), {}])
def _build():
    def fn(x, cached):
        if x.shape not in cached:
            cached[x.shape] = x
        return x + cached[x.shape]

    return fn


@peer("test_dict_param_keys", args=_tensor_args(1))
def _build():
    a_param = torch.nn.Parameter(torch.ones([4, 4]))

    def fn(a):
        tmp = {"a": a, a_param: 3}
        return tmp["a"] + tmp[a_param]

    return fn


@peer("test_dict_mutable_map", args=lambda: [T(4)])
def _build():
    from collections.abc import MutableMapping

    class TensorDict(MutableMapping):
        def __init__(self) -> None:
            self._dict = {}

        def add(self, key, value):
            self._dict[key] = value

        def items(self):
            return self._dict.items()

        def __delitem__(self, key):
            del self._dict[key]

        def __getitem__(self, key):
            return self._dict[key]

        def __iter__(self):
            return iter(self._dict)

        def __len__(self):
            return len(self._dict)

        def __setitem__(self, key, value):
            self._dict[key] = value

    tensor_dict = TensorDict()
    tensor_dict.add("a", torch.ones(4) * 2)

    def fn(x):
        copy_tensordict = dict(tensor_dict)
        return x * copy_tensordict["a"]

    return fn


@peer("test_unpack_mutable_map", args=lambda: [T(4)])
def _build():
    from collections.abc import MutableMapping

    class TensorDict(MutableMapping):
        def __init__(self) -> None:
            self._dict = {}

        def add(self, key, value):
            self._dict[key] = value

        def items(self):
            return self._dict.items()

        def __delitem__(self, key):
            del self._dict[key]

        def __getitem__(self, key):
            return self._dict[key]

        def __iter__(self):
            return iter(self._dict)

        def __len__(self):
            return len(self._dict)

        def __setitem__(self, key, value):
            self._dict[key] = value

    tensor_dict = TensorDict()
    tensor_dict.add("a", torch.ones(4) * 2)

    def gn(x, a=1):
        return x * a

    def fn(x):
        return gn(x, **tensor_dict)

    return fn


def _default_dict_helper(factory_maker):
    def build():
        factory = factory_maker()
        dd = collections.defaultdict(factory)
        param = torch.nn.Parameter(torch.ones([2, 2]))

        def fn(x):
            dd["a"] = x + 1
            dd[param] = 123
            dd["c"] = x * 2
            return dd["b"], dd

        return fn, lambda: dd

    return build


def _closure_factory():
    def factory():
        return dict()  # noqa: C408

    return factory


for _label, _maker in (
    ("dict", lambda: dict),
    ("list", lambda: list),
    ("tuple", lambda: tuple),
    ("set", lambda: set),
    ("lambda", lambda: (lambda: dict())),  # noqa: C408
    ("closure", _closure_factory),
):
    peer(f"test_default_dict_{_label}", args=_tensor_args(1))(_default_dict_helper(_maker))


@peer("test_default_dict_constr", args=_tensor_args(1))
def _build():
    param = torch.nn.Parameter(torch.ones([2, 2]))

    def fn(x):
        dd = collections.defaultdict(lambda: dict())  # noqa: C408
        dd["a"] = x + 1
        dd[param] = 123
        dd["c"] = x * 2
        dd.update({"b": x * 3})
        dd.update([["d", x - 2], ("e", x + 2)])
        dd.update(zip("ab", [x + 3, x + 4]))
        return dd["b"], dd

    return fn


@peer("test_class_dict", args=lambda: [T(4)])
def _build():
    class A:
        x = 4
        y = 5

        def __init__(self) -> None:
            self.a = 6

    a = A()

    def fn(x):
        if "x" in type(a).__dict__:
            return x + 1
        return x + 2

    return fn


@peer("test_dict_tuple_lazy_guard", args=None, variants={
    "dict": lambda: [T(3), {1: 1, 2: 2}],
    "tuple": lambda: [T(3), (1, 2, 3)],
})
def _build():
    def fn(x, y):
        return torch.sin(x) * y[1]

    return fn


@peer("test_set_isdisjoint", args=_tensor_args(1))
def _build():
    x = {"apple", "banana", "cherry"}
    y = {"google", "microsoft", "apple"}

    def fn(a):
        if x.isdisjoint(y):
            return a + 1
        else:
            return a - 1

    return fn


@peer("test_set_keys_view", args=lambda: [T(4, kind="rand")])
def _build():
    from collections.abc import KeysView

    class StringKeys(KeysView):
        def __init__(self, keys):
            self.keys = keys

        def __getitem__(self, key):
            return self.keys.__getitem__(key)

        def __iter__(self):
            yield from self.keys

        def __repr__(self):
            return f"{type(self).__name__}({self.keys})"

        def __len__(self):
            return len(self.keys)

        def __contains__(self, item):
            return self.keys.__contains__(item)

    a = StringKeys([1, 2, 3, 3])

    def fn(x):
        set_a = set(a)
        return len(set_a) * x

    return fn


@peer("test_constant_set", args=lambda: [T(4, kind="rand")])
def _build():
    s = set([1, 2])

    def fn(x):
        return torch.cos(x) * len(s)

    return fn


@peer("test_set_add", args=lambda: [T(4, kind="rand")])
def _build():
    s = set([1, 2])

    def fn(x):
        s.add(3)
        return torch.cos(x) * len(x)

    return fn, lambda: s


@peer("test_dict_hasattr", args=None, variants={
    "dict": lambda: [{"a": T(3)}],
    "tensor": lambda: [T(4)],
})
def _build():
    def fn(x):
        if hasattr(x, "to"):
            return x.to("cpu")
        if hasattr(x, "items"):
            return torch.cos(x["a"])
        return x

    return fn


@peer("test_is_contiguous_frame_counts", args=None, variants={
    "rand(10)": lambda: [T(10, kind="rand")],
    "rand(2,3,32,32)": lambda: [T(2, 3, 32, 32, kind="rand")],
    "channels_last": lambda: [T(2, 3, 32, 32, kind="rand", then=lambda t: t.contiguous(memory_format=torch.channels_last))],
    "rand(10)[::2]": lambda: [T(10, kind="rand", then=lambda t: t[::2])],
})
def _build():
    def func(x):
        if x.is_contiguous():
            return x + 1
        elif x.is_contiguous(memory_format=torch.channels_last):
            return x + 2
        else:
            return x + 3

    return func


@peer("test_math_radians", args=lambda: [T(10, kind="rand"), 12])
def _build():
    def func(x, a):
        return x + math.radians(a)

    return func


def _partials_hasattr_builder(attr):
    def build():
        def fn(t):
            f = lambda x, y: torch.sin(x) + torch.cos(y)
            p = functools.partial(f, y=t)
            if hasattr(p, attr):
                return p(t)
            else:
                return torch.zeros_like(t)

        return fn

    return build


for _attr in ("__call__", "func", "keywords", "__dict__", "__name__", "__code__", "__qualname__"):
    peer(f"test_partials_hasattr[{_attr}]", args=lambda: [T(3, 4)])(_partials_hasattr_builder(_attr))


@peer("test_partials_hasattr_set_attr", args=lambda: [T(3, 4)])
def _build():
    def fn(t):
        f = lambda x, y: torch.sin(x) + torch.cos(y)
        p = functools.partial(f, y=t)
        p.__name__ = "test"
        if hasattr(p, "__name__"):
            return p(t)
        else:
            return torch.zeros_like(t)

    return fn


@peer("test_filter", args=lambda: [[T(2, kind="arange", dtype=torch.bfloat16), T(2, kind="arange", dtype=torch.bfloat16, requires_grad=True)]])
def _build():
    def fn(inputs):
        out = inputs[0]
        for inp in filter(lambda x: (x.requires_grad), inputs):
            out = out * inp
        return out

    return fn


@peer("test_filter_fallback", args=lambda: [[T(2, kind="ones", dtype=torch.bfloat16), T(2, kind="arange", dtype=torch.bfloat16)]])
def _build():
    def fn(inputs):
        out = inputs[0]
        for inp in filter(lambda x: x[0] == 1, inputs):
            out = out * inp
        return out

    return fn


@peer("test_pow_int", args=lambda: [T(2, 2, kind="ones"), 2])
def _build():
    def fn(a, b):
        return torch.pow(a, b)

    return fn


@peer("test_tensor_size_indexed_by_symint", args=lambda: [T(10, 2, kind="rand"), T(10, 8, 6, kind="rand")])
def _build():
    def fn(x, y):
        index = x.shape[-1]
        return x + y.shape[index]

    return fn


def _partials_lambda_args():
    multiply = lambda x, y: x * y
    lambda0 = functools.partial(multiply, y=3)
    lambda1 = functools.partial(multiply, y=2)
    return [lambda0, lambda1, T(2, 2)]


@peer("test_partials_as_input_partials_lambda", args=_partials_lambda_args)
def _build():
    def fn(f0, f1, x):
        return f0(x) * f1(x)

    return fn


@peer("test_partials_as_input_partials_mod", args=lambda: [
    functools.partial(SmallNN(), y=torch.ones(2, 2) * 0.5),
    functools.partial(SmallNN(), y=torch.ones(2, 2) * -0.25),
    T(2, 2),
])
def _build():
    def fn(f0, f1, x):
        return f0(x) * f1(x)

    return fn


@peer("test_partials_as_input_UDF", args=lambda: [
    functools.partial(udf_mul, y=torch.ones(2, 2) * 0.5),
    functools.partial(udf_mul, y=torch.ones(2, 2) * -0.25),
    T(2, 2),
])
def _build():
    def fn(f0, f1, x):
        return f0(x) * f1(x)

    return fn


@peer("test_partials_graph_break_reconstruct", args=lambda: [udf_mul, udf_mul, T(2, 2)])
def _build():
    def fn(udf_mul_0, udf_mul_1, x):
        lambda0 = functools.partial(udf_mul_0, y=x)
        lambda1 = functools.partial(udf_mul_1, y=x)

        print("break")
        return torch.mul(lambda0(x), lambda1(x))

    return fn


@peer("test_partials_graph_break_reconstruct_mix", args=lambda: [udf_mul, udf_add, T(2, 2)])
def _build():
    def fn(udf_mul_0, udf_add_1, x):
        lambda0 = functools.partial(udf_mul_0, y=x)
        lambda1 = functools.partial(udf_add_1, x)

        print("break")
        return torch.mul(lambda0(x), lambda1(x))

    return fn


@peer("test_partials_graph_break_reconstruct_mix_no_source", args=lambda: [udf_mul, T(2, 2)])
def _build():
    def fn(udf_mul_0, x):
        udf_add_1 = lambda x, y: x + y

        lambda0 = functools.partial(udf_mul_0, y=x)
        lambda1 = functools.partial(udf_add_1, x)

        print("break")
        return torch.mul(lambda0(x), lambda1(x))

    return fn


@peer("test_partials_graph_break_reconstruct_args_and_kwargs", args=lambda: [udf_mul2, T(2, 2)])
def _build():
    def fn(udf_mul_0, x):
        lambda0 = functools.partial(udf_mul_0, x, 4, z=x)
        lambda1 = functools.partial(udf_mul_0, 4, z=x)

        return torch.mul(lambda0(), lambda1(5))

    return fn


@peer("test_partials_recompilation", args=None, variants={
    "fn": lambda: [functools.partial(udf_mul, y=torch.ones(2, 2) * 3), functools.partial(udf_mul, y=torch.ones(2, 2) * 2), T(2, 2)],
})
def _build():
    def fn(f0, f1, x):
        return f0(x) * f1(x)

    return fn


@peer("test_partials_recompilation", args=None, variants={
    "fn2": lambda: [functools.partial(udf_mul, y=torch.ones(2, 2) * 3), functools.partial(udf_mul, y=torch.ones(2, 2) * 2), [T(2, 2)]],
})
def _build():
    def fn2(f0, f1, args):
        return f0(*args) * f1(*args)

    return fn2


@peer("test_manual_seed", args=lambda: [])
def _build():
    def foo():
        torch.manual_seed(3)
        return torch.randint(0, 5, (5,))

    return foo


@peer("test_partial_across_graph_break_uninvoked", args=lambda: [T(1, kind="rand"), 10])
def _build():
    from functools import partial

    def bar(x, **kwargs):
        return x + x

    def foo(x, i):
        def inner():
            print("this is a graph_break")
            return op(x)

        op = partial(bar, dim=10)
        x = inner()
        op = partial(bar, other=10)
        return inner() + x

    return foo


@peer("test_no_recompile_inner_function", args=lambda: [T(2, kind="rand")])
def _build():
    def forward(inp):
        def g(y):
            return inp + y

        print("graph break")
        return g(torch.rand([1]))

    return forward

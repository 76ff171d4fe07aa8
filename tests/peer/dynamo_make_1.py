# ruff: noqa
# flake8: noqa
# fmt: off
# (formatting off: the ported function bodies keep upstream's layout, line for line)
"""PyTorch Dynamo's function tests (part: @make_test functions, upstream order, first third); see dynamo_common.py.
Upstream's single module namespace is kept: every part sees the common definitions and
the other parts' module-level names (dynamo_functions.share_namespace)."""

from __future__ import annotations

import dynamo_common

globals().update(dynamo_common.shared_names())

# --------------------------------------------------------------------------------------
# @make_test functions, in upstream order
# --------------------------------------------------------------------------------------


@make_test
def test_inline_jit_annotations(x):
    x = inline_script_if_tracing(x)
    x = inline_ignore(x)
    x = inline_unused(x)
    return


@make_test
def test_inline_script_if_tracing_fn_with_default_args(a, b):
    return inline_script_if_tracing_fn_with_default_args(a, b)


@make_test
def test_inline_lru_cache_fn_with_default_args(a, b):
    return inline_lru_cache_fn_with_default_args(a, 2, b)


@make_test
def test_add(a, b):
    return a + b


@make_test
def test_add_(a, b):
    a_copy = torch.tensor(a)
    return a_copy.add_(b, alpha=5.0)


@make_test
def test_addcdiv(a, b, c):
    # dynamo decomposes this to avoid a graph break when
    # the value kwarg is populated
    return torch.addcdiv(a, b, c, value=5.0)


@make_test
def test_addcdiv_(a, b, c):
    a_copy = torch.tensor(a)
    return a_copy.addcdiv_(b, c, value=5.0)


@make_test
def test_is_not_null(a, b):
    if a is not None and b is not None:
        return a + b


@make_test
def test_functools_partial(a, b):
    return clip01(a + b)


@make_test
def test_itertools_product(a, b):
    v = a
    for x, i in itertools.product([a, b], [1, 2]):
        v = v + x * i
    return v


@make_test
def test_itertools_chain(a, b):
    v = a
    for x in itertools.chain([a, b], [1, 2]):
        v = v + x
    return v


@make_test
def test_itertools_chain_from_iterable(a, b):
    v = a
    for x in itertools.chain.from_iterable([[a, b], [1, 2]]):
        v = v + x
    return v


@make_test
def test_obj_eq(a, b):
    v = a + b
    if MyCls() == None:  # noqa: E711
        return -1
    if MyCls() != None:  # noqa: E711
        v = v.sin()
    if MyCls() == MyCls():
        return -2
    if MyCls() != MyCls():
        return v + 1
    return -3


@make_test
def test_cls_eq(a, b):
    v = a + b
    if MyCls == None:  # noqa: E711
        return -1
    if MyCls != None:  # noqa: E711
        v = v.sin()
    if MyCls != MyCls:
        return -2
    if MyCls == MyCls:
        return v + 1
    return -3


@make_test
def test_obj_is(a, b):
    v = a + b
    if MyCls() is None:  # noqa: E711
        return -1
    if MyCls() is not None:  # noqa: E711
        v = v.sin()
    if MyCls() is MyCls():
        return -2
    if MyCls() is not MyCls():
        return v + 1
    return -3


@make_test
def test_cls_is(a, b):
    v = a + b
    if MyCls is None:  # noqa: E711
        return -1
    if MyCls is not None:  # noqa: E711
        v = v.sin()
    if MyCls is not MyCls:
        return -2
    if MyCls is MyCls:
        return v + 1
    return -3


@make_test
def test_itertools_combinations(a, b):
    combs = []
    for size in itertools.combinations((1, 2, 3, 4), 2):
        combs.append(torch.ones(size))
    return combs


@make_test
def test_np_iinfo(a):
    max_dim = np.iinfo(np.int16).max
    return a + max_dim


@make_test
def test_np_finfo(a):
    min_dim = np.finfo(np.float32).min
    return a + min_dim


@make_test
def test_constant1(a, b, c):
    return a - b * c + 1.0


@make_test
def test_constant2(a, b, c):
    return a - b * c + 1


@make_test
def test_constant3(a):
    b = 1
    c = 2
    d = 3
    return b + c - d + a


@make_test
def test_constant4(a, b):
    c = 2
    d = 3
    if c > d:
        return a - b
    return b - a


@make_test
def test_cls_hasattr(self, x):
    if hasattr(MyCls, "a"):
        x = x + 1
    if hasattr(MyCls, "b"):
        x = x + 2
    return x


@make_test
def test_finfo(a, b):
    if torch.iinfo(torch.int32).bits == 32:
        return torch.finfo(a.dtype).min * b


@make_test
def test_globalfn(a, b):
    return sub(a, b)


@make_test
def test_viatorch(a, b):
    return torch.sub(a, b)


@make_test
def test_viamethod(a, b):
    return a.sub(b)


@make_test
def test_indirect1(a, b):
    t = a.sub
    return t(b)


@make_test
def test_indirect2(a, b):
    t = a.sub
    args = (b,)
    return t(*args)


@make_test
def test_indirect3(a, b):
    t = a.sub
    args = (b,)
    kwargs = {}
    return t(*args, **kwargs)


@make_test
def test_methodcall1(a, b, c):
    return constant3(a, b) * c


@make_test
def test_methodcall2(a, b):
    return constant3(a=b, b=a) + 1


@make_test
def test_methodcall3(a, b):
    return constant3(a, b=1.0) + b


@make_test
def test_device_constant(a):
    return a + torch.ones(1, device=torch.device("cpu"))


@make_test
def test_tuple1(a, b):
    args = (a, b)
    return sub(*args)


@make_test
def test_tuple2(a, b):
    args = [a, b]
    return sub(*args)


@make_test
def test_is_in_onnx_export(x, y):
    if torch.onnx.is_in_onnx_export():
        return x - 1
    else:
        return y + 1


@make_test
def test_is_fx_tracing(x, y):
    if torch.fx._symbolic_trace.is_fx_tracing():
        return x - 1
    else:
        return y + 1


@make_test
def test_listarg1(a, b):
    return torch.cat([a, b])


@make_test
def test_listarg2(a, b):
    return torch.cat((a, b), dim=0)


@make_test
def test_listarg3(a, b):
    kwargs = {"tensors": (a, b), "dim": 0}
    return torch.cat(**kwargs)


@make_test
def test_listarg4(a, b):
    return torch.cat(tensors=[a, b], dim=0)


@make_test
def test_listarg5(a, b):
    args = [(a, b)]
    kwargs = {"dim": 0}
    return torch.cat(*args, **kwargs)


@make_test
def test_deque(a, b):
    d = collections.deque([a, b])
    d.append(a + 1)
    d.extend([a, b])
    d.insert(0, "foo")
    tmp = d.pop()

    another_deque = collections.deque([tmp])
    d.extendleft(another_deque)
    another_deque.clear()
    d.extend(another_deque)

    d[2] = "setitem"
    d = d.copy()
    d.append(d.popleft())

    empty = collections.deque()
    d.extend(empty)

    # dynamo same() util doesn't support deque so just return a list
    return list(d)


@make_test
def test_slice1(a):
    return a[5]


@make_test
def test_slice2(a):
    return a[:5]


@make_test
def test_slice3(a):
    return a[5:]


@make_test
def test_slice4(a):
    return a[2:5]


@make_test
def test_slice5(a):
    return a[::2]


@make_test
def test_slice6(a):
    return torch.unsqueeze(a, 0)[:, 2:]


@make_test
def test_range1(a):
    return torch.tensor(range(a.size(0)))


@make_test
def test_range2(x, y):
    r = x + y
    for i in range(x.size(0) + 2):
        r = r / y
    return r


@make_test
def test_unpack1(a):
    a, b = a[:5], a[5:]
    return a - b


@make_test
def test_unpack2(a):
    packed = [a[:5], a[5:]]
    a, b = packed
    return a - b


@make_test
def test_unpack3(a):
    packed = (a[:5], a[5:])
    a, b = packed
    return a - b


@make_test
def test_fn_with_self_set(a, b):
    # avg_pool2d is an odd one with __self__ set
    return F.avg_pool2d(
        torch.unsqueeze(a, 0) * torch.unsqueeze(b, 1), kernel_size=2, padding=1
    )


@make_test
def test_return_tuple1(a, b):
    return (a - b, b - a, a, b)


@make_test
def test_globalvar(a, b):
    return a - b + d


@make_test
def test_globalmodule(x):
    return e(x)


@make_test
def test_inline_with_default(a, b, c):
    return func_with_default(a, b) * c


@make_test
def test_inner_function(x):
    def fn(x):
        return torch.add(x, x)

    return fn(x)


@make_test
def test_transpose_for_scores(x):
    new_x_shape = x.size()[:-1] + (2, 5)
    x = x.view(*new_x_shape)
    return x.permute(0, 2, 1)


@make_test
def test_return_tuple2(x):
    return (torch.add(x, x), x)


@make_test
def test_load_global_bool(x):
    if flag:
        return torch.add(x, x)
    else:
        return x


@make_test
def test_len_tensor(x):
    z = len(x)
    return torch.add(x, z)


@make_test
def test_len_constant_list(x):
    z = len([1, 2, 3])
    return torch.add(x, z)


@make_test
def test_len_constant_dict(x):
    z = len({"foo": "bar"})
    return torch.add(x, z)


def test_dict_copy__first(x):
    z = dict({"foo": x + 1})
    return z


make_test(test_dict_copy__first)


@make_test
def test_dict_keys(x):
    d = {3: x}
    keys = d.keys()
    d[4] = x + 1
    d2 = {3: 2, 4: "aa"}
    return 3 in keys, 4 in keys, 5 in keys, d2.keys() == keys


@make_test
def test_dict_values(x):
    d = {3: x}
    values = d.values()
    d[3] = x + 1
    d[4] = x + 2
    return len(values)


@make_test
def test_dict_setdefault1(x):
    d = {"a": 1, "b": 2}
    d.setdefault("a", 10)
    if d["a"] == 1:
        return x + 1
    else:
        return x - 1


@make_test
def test_dict_setdefault2(x):
    d = {"a": 1, "b": 2}
    d.setdefault("c", 10)
    if d["c"] == 10:
        return x + 1
    else:
        return x - 1


@make_test
def test_dict_setdefault3(x):
    d = {"a": 1, "b": 2}
    d.setdefault("c")
    if d["c"] is None:
        return x + 1
    else:
        return x - 1


@make_test
def test_dict_update_kwargs(x):
    d = {"a": 2}
    d.update(b=4)
    return x * d["a"] * d["b"]


@make_test
def test_defaultdict_setdefault1(x):
    d = collections.defaultdict.fromkeys("a", "b")
    d["a"] = 1
    d["b"] = 2
    d.setdefault("a", 10)
    if d["a"] == 1:
        return x + 1
    else:
        return x - 1


@make_test
def test_defaultdict_setdefault2(x):
    d = collections.defaultdict.fromkeys("a", "b")
    d["a"] = 1
    d["b"] = 2
    d.setdefault("c", 10)
    if d["c"] == 10:
        return x + 1
    else:
        return x - 1

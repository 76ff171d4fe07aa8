# ruff: noqa
# flake8: noqa
# fmt: off
# (formatting off: the ported function bodies keep upstream's layout, line for line)
"""PyTorch Dynamo's function tests (part: @make_test functions, second third); see dynamo_common.py.
Upstream's single module namespace is kept: every part sees the common definitions and
the other parts' module-level names (dynamo_functions.share_namespace)."""

from __future__ import annotations

import dynamo_common

globals().update(dynamo_common.shared_names())

@make_test
def test_defaultdict_setdefault3(x):
    d = collections.defaultdict.fromkeys("a", "b")
    d["a"] = 1
    d["b"] = 2
    d.setdefault("c")
    if d["c"] is None:
        return x + 1
    else:
        return x - 1


@make_test
def test_callable_lambda(x):
    if callable(lambda x: True):
        return x + 1
    else:
        return x - 1


@make_test
def test_callable_torch(x):
    if callable(torch.abs):
        return x + 1
    else:
        return x - 1


@make_test
def test_callable_builtin(x):
    if callable(sum):
        return x + 1
    else:
        return x - 1


@make_test
def test_len_constant_misc_iterables(x):
    a = len((1, 2, 3))
    b = len("test str")
    c = a + b
    return torch.add(x, c)


@make_test
def test_dict_kwargs(x):
    z = dict(text_embed=x + 1, other=x + 2)
    return z


@make_test
def test_ordered_dict_kwargs(x):
    z = collections.OrderedDict(sample=torch.ones(10))
    return z


@make_test
def test_custom_dict_kwargs(x):
    z = CustomDictSubclass(sample=torch.ones(10))
    return z


@make_test
def test_float(x):
    y = float(1.2)  # noqa: UP018
    y += float("1.2")
    return torch.add(x, y)


@make_test
def test_is_floating_point(x):
    y = x + 1
    return torch.is_floating_point(y), torch.is_floating_point(input=y)


@make_test
def test_dtype(x):
    if x.dtype == torch.float32:
        return x + 1


@make_test
def test_get_default_dtype(x):
    if x.dtype == torch.get_default_dtype():
        return x + 1
    else:
        return x - 1


@make_test
def test_get_autocast_gpu_dtype(x):
    dtype = torch.get_autocast_gpu_dtype()
    return x.type(dtype)


@make_test
def test_is_any_autocast_enabled(x):
    if torch._C._is_any_autocast_enabled():
        return x + 1
    else:
        return x - 1


@make_test
def test_is_checkpoint_valid(x):
    if torch.autograd._is_checkpoint_valid():
        return x + 1
    else:
        return x - 1


@make_test
def test_list_compare_polyfill(x):
    for a, b, c in [
        [(1, 2, 3), (1, 2, 3), 7.77],
        [(1, 4, 3), (1, 2, 3), 3.33],
        [(1, 2), (1, 2, 3), 5.55],
        [(1, 2, 3), (1, 2), 11.11],
        [(1, -1, 3), (1, 2, 3), 13.33],
    ]:
        if a != b:
            x += 1 * c
        if a == b:
            x += 2 * c
        if a < b:
            x += 4 * c
        if a > b:
            x += 8 * c
        if a <= b:
            x += 16 * c
        if a >= b:
            x += 32 * c
    return x


@make_test
def test_promote_types(x):
    if x.dtype == torch.promote_types(torch.int32, torch.float32):
        return x + 1
    else:
        return x - 1


@make_test
def test_cublas_allow_tf32(x):
    if torch.backends.cuda.matmul.allow_tf32:
        return x.sin() + 1

    return x.cos() - 1


@make_test
def test_get_calculate_correct_fan(x):
    fan_in = torch.nn.init._calculate_correct_fan(x, "fan_in")
    return x + fan_in


@make_test
def test_is_complex(x):
    if torch.is_complex(x):
        return x + 1
    else:
        return x - 1


@make_test
def test_tensor_is_complex(x):
    if x.is_complex():
        return x + 1
    else:
        return x - 1


@make_test
def test_get_privateuse1_name(x):
    if torch._C._get_privateuse1_backend_name() == "privateuseone":
        return x + 1
    else:
        return x - 1


@make_test
def test_device(x):
    if not x.is_cuda:
        return x + 1


skip("test_get_device_properties_tensor_device", "needs CUDA (a.to('cuda'))")


@make_test
def test_tensor_type(a, b):
    m = a.to(torch.float16)
    return b.type(m.type())


skip("test_tensor_type2", "needs CUDA (a.to('cuda'))")


@make_test
def test_tensor_type3(a, b):
    m = a.type(torch.HalfTensor)
    return b.type(m.type())


@make_test
def test_tensor_type4(a, b):
    m = a.type("torch.HalfTensor")
    return b.type(m.type())


skip("test_tensor_type5", "needs CUDA (torch.cuda.HalfTensor)")


@make_test
def test_tensor_element_size(a):
    if a.element_size() > 1:
        return (a + a.element_size(), a - a.element_size())
    return (a - a.element_size(), a + a.element_size())


@make_test
def test_ndim(x):
    if x.ndim == 2 and x.ndimension() == 2 and x.dim() == 2:
        return x + 1


@make_test
def test_T(x):
    return torch.ones_like(x.T)


@make_test
def test_mT(x):
    return torch.ones_like(x.mT)


@make_test
def test_is_sparse(x):
    if not x.is_sparse:
        return x + 1


@make_test
def test_shape1(x):
    if x.shape[0] == 10:
        return x + 1


@make_test
def test_shape2(x):
    if x.size(1) == 10:
        return x + 1


@make_test
def test_del(a, b):
    c = a + 1
    d = c + 2
    del c, a
    return b + d


@make_test
def test_chunks1(x):
    chunk_size = 5
    assert x.shape[0] % chunk_size == 0
    assert x.shape[0] // chunk_size == 2
    return x[:chunk_size] - x[chunk_size:]


@make_test
def test_import1(x, y):
    import torch
    from torch import sub

    return sub(torch.add(x, y), y)


@make_test
def test_return_dict(x, y):
    z = [x + y, y, False]
    return {"x": x, "z": z, "a": x, "b": z, "c": x}


@make_test
def test_return_dict2(x, y):
    tmp = {"x": x}
    tmp["z"] = [x + y, y]
    tmp["y"] = y
    tmp["z"].append(False)
    return tmp


@make_test
def test_funcdef_closure(x, y):
    x = x + y + 1.0

    def inner(z):
        nonlocal x, y
        y = x + z + 20.0
        x = y + z + 10.0

    inner(2.0)
    inner(3.0)

    return x, y


@make_test
def test_module_constant(x, y):
    r = x + y
    for i in range(torch._dynamo.testing.three):
        r = r / y
    return r


@make_test
def test_inline_softmax(x, y):
    # This is common in sme huggingface models
    return torch.nn.Softmax(dim=-1)(x + y * 2)


@make_test
def test_dtype_compare(a, b):
    if a.dtype == torch.float16:
        return a + 10
    if a.dtype == torch.float32:
        return a - b * 32


@make_test
def test_build_list_unpack(a, b):
    it1 = (x + 1 for x in (a, b))
    it2 = (x - 1 for x in (a, b))
    return torch.cat([*it1, *it2], dim=-1)


@make_test
def test_tensor_len(a, b):
    return a + b + len(a) + b.__len__()


@make_test
def test_pop(a, b):
    ll = [a, b]
    ll.append(a + 1)
    ll.extend(
        [
            b + 2,
            a + b,
        ]
    )
    ll.pop(-1)
    ll.pop(0)
    ll.pop()
    v1, v2 = ll
    return v1 - v2


@make_test
def test_list_convert(a, b):
    ll = [a + 2, b]
    ll = tuple(ll)
    tmp = b + 3
    ll = list(ll)
    v1, v2 = ll
    return v1 - v2 + tmp


@make_test
def test_list_add(a, b):
    l1 = (a, b)
    l2 = ()  # being a LOAD_CONST in the bytecode
    l3 = l1 + l2
    return l3[0] + l3[1]


@make_test
def test_list_index_with_constant_tensor(a, b):
    l1 = [a, b, a + 1, b + 1]
    return l1[torch.as_tensor(2)]


@make_test
def test_startswith(a, b):
    x = a + b
    if "foobar".startswith("foo") and "test" in constant3.__module__:
        x = x + 1
    return x


@make_test
def test_dict_ops(a, b):
    tmp = {"a": a + 1, "b": b + 2}
    assert tmp.get("zzz") is None
    v = tmp.pop("b") + tmp.get("a") + tmp.get("missing", 3) + tmp.pop("missing", 4)
    tmp.update({"d": 3})
    tmp["c"] = v + tmp["d"]
    if "c" in tmp and "missing" not in tmp:
        return tmp["c"] - tmp["a"] + len(tmp)


@make_test
def test_inline_jit__unwrap_optional(x):
    if torch.jit._unwrap_optional(x) is None:
        return torch.ones(2, 2)
    return x.sin()


@make_test
def test_zip_longest(x):
    list1 = [1, 2, 3]
    list2 = ["a", "b"]
    list3 = [True, False, True, False]
    return torch.sin(x + 1), list(
        itertools.zip_longest(list1, list2, list3, fillvalue=None)
    )


@make_test
def test_call_dict1(x):
    d1 = dict()  # noqa: C408
    d1["x"] = x + 1
    d2 = collections.OrderedDict()
    d2["x"] = x + 2
    return d1["x"] + d2["x"] + 1


@make_test
def test_call_dict2(x):
    d1 = dict()  # noqa: C408
    d1["x"] = x
    d2 = collections.OrderedDict(d1)
    if isinstance(d2, collections.OrderedDict):
        return x + 1
    else:
        return x - 1


@make_test
def test_call_dict3(x):
    my_list = [("a", x), ("b", x + 1), ("c", x + 2)]
    d1 = dict(my_list)
    d1["a"] = x + 10
    d2 = collections.OrderedDict(my_list)
    d2["c"] = x + 20
    return d1["a"] + d2["c"] + 1


@make_test
def test_call_dict4(x):
    my_list = (("a", x), ("b", x + 1), ("c", x + 2))
    d1 = dict(my_list)
    d1["a"] = x + 10
    d2 = collections.OrderedDict(my_list)
    d2["c"] = x + 20
    return d1["a"] + d2["c"] + 1


@make_test
def test_call_dict5(x):
    my_list = iter([("a", x), ("b", x + 1), ("c", x + 2)])
    d1 = dict(my_list)
    d1["a"] = x + 10
    d2 = collections.OrderedDict(my_list)
    d2["c"] = x + 20
    return d1["a"] + d2["c"] + 1


@make_test
def test_dict_fromkeys(x, y):
    lst = ["a", "b"]
    d = dict.fromkeys(lst)
    d1 = dict.fromkeys(d, x + 1)
    d2 = collections.defaultdict.fromkeys(iter(d1), x - 2)
    d3 = collections.OrderedDict.fromkeys(tuple(lst), value=y)
    return d1["a"] * d2["b"] + d2["a"] + d1["b"] + d3["a"] + d3["b"] + 1


@make_test
def test_dict_copy(x):
    my_list = [("a", x), ("b", x + 1), ("c", x + 2)]
    d1 = dict(my_list)
    d1["a"] = x + 10
    d2 = d1.copy()
    d2["a"] = x - 5
    d2["b"] = x + 3
    d3 = collections.OrderedDict(my_list)
    d3["c"] = x + 20
    d4 = d3.copy()
    d4["c"] = x - 10
    return d1["a"] * d2["a"] + d2["b"] + d3["c"] * d4["c"] + 1


@make_test
def test_dict_update(x, y, z):
    d = {"a": x, "b": y}
    d.update({"a": y - 1})
    d.update([("b", z + 1), ["c", z]])
    d.update(zip("ab", [z + 3, y + 2]))

    od = collections.OrderedDict(a=x * 3, b=y + 2)
    od.update({"a": y + 5})
    od.update([["b", z + 6], ("c", z - 7)])
    od.update(zip("ab", [z - 3, x + 2]))
    return d["a"] * od["a"] + od["c"] + d["b"] + od["b"] * d["c"]


@make_test
def test_min_max(a, b):
    c = a + b
    a = a.sum()
    b = b.sum()
    a = min(max(a, 0), 1)
    b = max(0, min(1, b))
    return max(a, b) - min(a, b) + c


@make_test
def test_symbool_to_int(x):
    # this is roughly the pattern found in einops.unpack()
    if sum(s == -1 for s in x.size()) == 0:
        return x + 1
    else:
        return x - 1


@make_test
def test_map_sum(a, b, c, d):
    return sum(map(lambda x: x + 1, [a, b, c, d]))


@make_test
def test_sum(a, b, c, d):
    return sum([a, b, c, d])


@make_test
def test_sum_with_start_arg(a, b, c, d):
    return sum([b, c, d], a)


@make_test
def test_sum_with_start_kwarg(a, b, c, d):
    return sum([b, c, d], start=a)


@make_test(expected_frame_count=0)
def test_sum_shortcut():
    return sum([0, 1.0, 2, 3.0])


@make_test(expected_frame_count=0)
def test_sum_shortcut_with_start_arg():
    return sum([0, 1.0, 2, 3.0], -10)


@make_test(expected_frame_count=0)
def test_sum_shortcut_with_start_kwarg():
    return sum([0, 1.0, 2, 3.0], start=-10)


@make_test
def test_reduce(a, b, c, d):
    return functools.reduce(operator.add, [a, b, c, d])


@make_test
def test_reduce_with_initial(a, b, c, d):
    return functools.reduce(operator.add, [b, c, d], a)


@make_test(expected_frame_count=0)
def test_reduce_with_single(x):
    return functools.reduce(lambda a, b: (a, b), [x])


@make_test(expected_frame_count=0)
def test_reduce_with_single_with_initial(x, y):
    return functools.reduce(lambda a, b: (a, b), [y], x)

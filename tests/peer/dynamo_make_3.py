# ruff: noqa
# flake8: noqa
# fmt: off
# (formatting off: the ported function bodies keep upstream's layout, line for line)
"""PyTorch Dynamo's function tests (part: @make_test functions, last third); see dynamo_common.py.
Upstream's single module namespace is kept: every part sees the common definitions and
the other parts' module-level names (dynamo_functions.share_namespace)."""

from __future__ import annotations

import dynamo_common

globals().update(dynamo_common.shared_names())

@make_test(expected_frame_count=0)
def test_reduce_with_none_initial(x):
    return functools.reduce(lambda a, b: (a, b), [x], None)


@make_test
def test_tuple_contains(a, b):
    v1 = "a"
    v2 = "b"
    v3 = "c"
    vals1 = (v1, v2, v3)
    vals2 = ("d", "e", "f")
    if "a" in vals1 and "b" not in vals2:
        return a + b
    return a - b


@make_test
def test_set_update_bytecode(x):
    # This produces bytecode SET_UPDATE since python 3.9
    var = {"apple", "banana", "cherry"}
    if isinstance(var, set):
        return x + 1
    else:
        return x - 1


@make_test
def test_set_update_list_with_duplicated_items(x):
    list1 = ["apple", "banana", "apple"]
    list2 = ["orange", "banana"]
    if len({*list1, *list2}) == 3:
        return x + 1
    else:
        return x - 1


@make_test
def test_set_contains(a, b):
    vals = set(["a", "b", "c"])
    if "a" in vals:
        x = a + b
    else:
        x = a - b
    if "d" in vals:
        y = a + b
    else:
        y = a - b
    return x, y


@make_test
def test_set_intersection(a, b):
    set1 = {"apple", "banana", "cherry"}
    set2 = {"google", "microsoft", "apple"}
    intersection_set = set1.intersection(set2)
    if "apple" in intersection_set:
        x = a + b
    else:
        x = a - b
    if "banana" in intersection_set:
        y = a + b
    else:
        y = a - b
    return x, y


@make_test
def test_set_union(a, b):
    set1 = {"apple", "banana", "cherry"}
    set2 = {"google", "microsoft", "apple"}
    union_set = set1.union(set2)
    if "apple" in union_set:
        x = a + b
    else:
        x = a - b
    if "banana" in union_set:
        y = a + b
    else:
        y = a - b
    return x, y


@make_test
def test_set_difference(a, b):
    set1 = {"apple", "banana", "cherry"}
    set2 = {"google", "microsoft", "apple"}
    difference_set = set1.difference(set2)
    if "apple" in difference_set:
        x = a + b
    else:
        x = a - b
    if "banana" in difference_set:
        y = a + b
    else:
        y = a - b
    return x, y


@make_test
def test_tuple_iadd(a, b):
    output = (a, b)
    output += (a + b, a - b)
    return output


@make_test
def test_unpack_ex1(x):
    output = (x, x + 1, x + 2, x + 3)
    a, b, *cd = output
    return a - b / cd[0]


@make_test
def test_unpack_ex2(x):
    output = (x, x + 1, x + 2, x + 3)
    *ab, c, d = output
    return c - d / ab[0]


@make_test
def test_unpack_ex3(x):
    output = (x, x + 1, x + 2, x + 3)
    a, *bc, d = output
    return a - d / bc[0]


@make_test
def test_const_tuple_add1(x):
    output = (x, x + 1, x + 2, x + 3)
    output = () + output + ()
    return output[2] + output[3]


@make_test
def test_const_tuple_add2(x):
    output = (x, x + 1, x + 2, x + 3)
    output = (None,) + output + (None,)
    return output[2] + output[3]


@make_test
def test_list_truth(a, b):
    tmp = [1, 2, 3]
    if tmp:
        return a + b
    else:
        return a - b


@make_test
def test_list_reversed(a, b):
    tmp = [a + 1, a + 2, a + 3]
    return a + b + next(iter(reversed(tmp)))


@make_test
def test_list_sorted1(x):
    tmp = [1, 10, 3, 0]
    return x + 1, sorted(tmp), sorted(tmp, reverse=True)


@make_test
def test_list_sorted2(x):
    y = [
        ("john", "A", 8),
        ("jane", "B", 5),
        ("dave", "B", 10),
    ]
    return (
        x + 1,
        sorted(y),
        sorted(y, key=lambda student: student[2]),
        sorted(y, key=lambda student: student[2], reverse=True),
    )


@make_test
def test_tuple_sorted(x):
    tmp = (1, 10, 3, 0)
    return x + 1, sorted(tmp), sorted(tmp, reverse=True)


@make_test
def test_dict_sorted(x):
    tmp = {1: "D", 10: "B", 3: "E", 0: "F"}
    return x + 1, sorted(tmp), sorted(tmp, reverse=True)


@make_test
def test_list_clear(a, b):
    tmp = [a + 1, a + 2]
    tmp.clear()
    tmp.append(a + b)
    return tmp


@make_test
def test_not_list(a):
    return not [a + 1]


@make_test
def test_islice_chain(a, b):
    tmp1 = [a + 1, a + 2]
    tmp2 = [a + 3, a + 4]
    a, b = list(itertools.islice(itertools.chain(tmp1, tmp2), 1, 3))
    c = next(itertools.islice(tmp1, 1, None))
    return a - b / c


@make_test
def test_namedtuple(a, b):
    mytuple = collections.namedtuple("mytuple", ["x", "y", "xy"])
    tmp = mytuple(a, b, a + b)
    return mytuple(tmp.x, tmp[1], tmp.xy + b)


@make_test
def test_namedtuple_defaults(a, b):
    mytuple = collections.namedtuple(
        "mytuple", ["x", "y", "xy"], defaults=(None, 1, None)
    )
    tmp = mytuple(a, xy=b)
    return mytuple(tmp.x, tmp[1], tmp.xy + b)


@make_test
def test_namedtuple_user_methods(a, b):
    mytuple = FunctionTests.MyNamedTuple(a, b)
    return mytuple.add(), mytuple.static_method(), mytuple.class_method()


@make_test
def test_namedtuple_hasattr(a, b):
    mytuple = FunctionTests.MyNamedTuple(a, b)

    def isinstance_namedtuple(obj) -> bool:
        return (
            isinstance(obj, tuple)
            and hasattr(obj, "_asdict")
            and hasattr(obj, "_fields")
        )

    if isinstance_namedtuple(mytuple):
        return a + b
    else:
        return a - b


@make_test
def test_torch_size_hasattr(x):
    if hasattr(x.shape, "_fields"):
        return x + 1
    else:
        return x - 1


@make_test
def test_is_quantized(a, b):
    if not a.is_quantized:
        return a + b


@make_test
def test_fstrings1(a, b):
    x = 1.229
    tmp = f"{x:.2f} bar"
    if tmp.startswith("1.23"):
        return a + b


@make_test
def test_fstrings2(x):
    tmp = f"{x.shape[0]} bar"
    if tmp.startswith("10"):
        return x + 1


@make_test
def test_fstrings3(x):
    tmp = f"{x.__class__.__name__} foo"
    if tmp.startswith("Tensor"):
        return x + 1


@make_test
def test_fstrings4(x):
    tmp = f"{x.shape[0]} bar"
    if "10" in tmp:
        return x + 1


@make_test
def test_fstrings5(x):
    tmp = f"{x.shape[0]} bar"
    if "10" in (tmp + "haha"):
        return x + 1


@make_test
def test_fstrings6(x):
    tmp = f"{x.shape[0] + x.shape[1]}"
    if "20" in tmp:
        return x + 1


@make_test
def test_tensor_new_with_size(x):
    y = torch.rand(5, 8)
    z = x.new(y.size())
    assert z.size() == y.size()


@make_test
def test_tensor_new_with_shape(x):
    y = torch.rand(5, 8)
    z = x.new(y.shape)
    assert z.size() == y.size()


@make_test
def test_jit_annotate(x):
    y = torch.jit.annotate(Any, x + 1)
    return y + 2


@make_test
def test_is_contiguous_memory_format(tensor):
    if torch.jit.is_scripting():
        return None
    elif tensor.is_contiguous(memory_format=torch.contiguous_format):
        return tensor + 1


@make_test
def test_list_slice_assignment(x):
    m = [1, 2, 3, 4]
    m[1:] = [6] * (len(m) - 1)
    return x + 1


@make_test
def test_distributed_is_available(x):
    if torch.distributed.is_available():
        return x + 1
    else:
        return x - 1


if torch.distributed.is_available():

    @make_test
    def test_distributed_is_initialized(x):
        if torch.distributed.is_initialized():
            return x + 1
        else:
            return x - 1

else:
    skip("test_distributed_is_initialized", "torch.distributed is not available")


@make_test
def test_torch_distributions_functions(x):
    normal = torch.distributions.Normal(x, torch.tensor(1))
    independent = torch.distributions.Independent(normal, 1)
    return independent.log_prob(x)


@make_test
def test_context_wrapping_nested_functions_no_closure(x):
    @torch.no_grad()
    def augment(x: torch.Tensor) -> torch.Tensor:
        return (x + 1) * 2

    return augment(x)


@make_test
def test_numpy_meshgrid(x, y):
    r1, r2 = np.meshgrid(x.numpy(), y.numpy())
    return torch.from_numpy(r1), torch.from_numpy(r2)


@make_test
def test_torch_from_numpy(x):
    a = x.numpy()
    b = torch.from_numpy(a)
    if b.size(0) == 1:
        return torch.tensor(True)
    else:
        return torch.tensor(False)


@make_test
def test_numpy_size(x):
    a = x.numpy()
    return a.size


@make_test
def test_numpy_attributes(x):
    a = x.numpy()
    return (
        a.itemsize,
        a.strides,
        a.shape,
        a.ndim,
        a.size,
        torch.from_numpy(a.T),
        torch.from_numpy(a.real),
        torch.from_numpy(a.imag),
    )


@make_test
def test_mean_sum_np(x: torch.Tensor):
    x_mean = np.mean(x.numpy(), 1)
    x_sum = np.sum(x_mean)
    x_sum_array = np.asarray(x_sum)
    return torch.from_numpy(x_sum_array)


@make_test
def test_return_numpy_ndarray(x):
    a = x.numpy()
    return a.T


@make_test
def test_return_multiple_numpy_ndarray(x):
    a = x.numpy()
    return a.T, a.imag, a.real


@make_test
def test_ndarray_method(x):
    a = x.numpy()
    return a.copy()


@make_test
def test_ndarray_transpose(x):
    a = x.numpy()
    return a.transpose(0, 1)


@make_test
def test_ndarray_reshape(x):
    a = x.numpy()
    return a.reshape([1, a.size])


@make_test
def test_ndarray_methods_returning_scalar(x):
    a = x.numpy()
    return a.max(axis=0), a.all(axis=0)


@make_test
def test_ndarray_builtin_functions(x):
    a = x.numpy()
    return a + a, a - a


@make_test
def test_numpy_dtype_argument_to_function(x):
    return np.ones_like(x, dtype=np.float64)


@make_test
def test_numpy_dtype_call_in_function(x):
    dt = np.dtype("float")
    return np.full_like(x, 2.4, dtype=dt)


@make_test
def test_numpy_linalg(x):
    return np.linalg.norm(x.numpy(), axis=0)


@make_test
def test_numpy_fft(x):
    return np.fft.fftshift(x.numpy())


@make_test
def test_numpy_random():
    x = np.random.randn(2, 2)
    return x - x


@make_test
def test_partials_torch_op_kwarg(x):
    par_mul = functools.partial(torch.mul, other=torch.ones(10, 10))
    return par_mul(x)


@make_test
def test_partials_torch_op_arg(x):
    par_mul = functools.partial(torch.mul, torch.ones(10, 10))
    return par_mul(x)


@make_test
def test_partials_udf_arg(x):
    par_mul = functools.partial(udf_mul, torch.ones(10, 10))
    return par_mul(x)


@make_test
def test_list_add_then_mutate(x):
    my_list = [1, x]
    y = x / 4.0
    my_list = my_list + [x / 2.0, 4]
    my_list.append(y)
    return sum(my_list)


@make_test
def test_list_expand_lhs(x):
    return sum(4 * [x])


@make_test
def test_in_not_in(x):
    mylist = [1, 2, 3, 4, 5, x]
    myotherlist = [1, 2, 3, 4, 5]
    assert 3 in mylist
    assert 6 not in myotherlist
    return sum(mylist)


@make_test
def test_are_functorch_transforms_active(x):
    if torch._C._are_functorch_transforms_active():
        return x + 1
    else:
        return x - 1


@make_test
def test_partials_udf_kwarg(x):
    par_mul = functools.partial(udf_mul, y=torch.ones(10, 10))
    return par_mul(x)


@make_test
def test_partials_udf_kwarg_module(x, y):
    par_mod = functools.partial(udf_module, mod=SmallNN())
    return par_mod(x=x, y=y)


@make_test
def test_partials_udf_kwarg_method(x, y):
    par_mod = functools.partial(udf_module, mod=SmallNN().forward)
    return par_mod(x=x, y=y)


@make_test
def test_partials_lambda(x):
    multiply = lambda x, y: x * y
    triple = functools.partial(multiply, y=3)
    return triple(x)


if torch.distributed.is_available():

    @make_test
    def test_flat_param_same_storage_size(x, y):
        import torch.distributed.fsdp._flat_param as flat_param

        if flat_param._same_storage_size(x, 100):
            x = x + 1
        else:
            x = x - 1
        if flat_param._same_storage_size(y, 123):
            y = y + 1
        else:
            y = y - 1
        return x, y

else:
    skip("test_flat_param_same_storage_size", "torch.distributed is not available")

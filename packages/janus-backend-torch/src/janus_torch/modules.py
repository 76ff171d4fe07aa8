"""How calls of `torch.nn.Module` instances are inlined by the converter.

`module(x)` runs `Module.__call__`: hooks, then `forward`.  The converter cannot see into
torch's own code (it is opaque to it), so `inline_target` hands it one of the plain
Python functions below, bound to the module.  The converter inlines them like user
code, which has two effects:

* parameters are read as attribute paths (`model.fc.weight`) and become graph inputs
  guarded by spec, flags such as `.training` become guarded constants: replacing a
  parameter or calling `model.eval()` is seen on the next call;
* `len(module._forward_hooks) ...` in `_no_hooks` turns "this module has no hooks" into
  host guards, so registering a hook later makes the graph miss instead of silently
  skipping the hook.

A user module (`forward` written in Python) is called through `call_user_module`; torch's
own modules through a hand-written equivalent of their `forward` (only those listed in
`_TORCH_FORWARDS`; any other torch module is not inlined and its call falls back).
"""

from __future__ import annotations

import types
from typing import Any, Callable, Dict, Optional

import torch
import torch.nn.functional as F
from torch.nn.modules import module as torch_module_state

from janus.source import is_user_function

_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
_GLOBAL_HOOK_DICTS = (
    "_global_forward_hooks",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
)


# -- the functions the converter inlines (keep them plain: the converter reads their AST) --
def _no_hooks(module):
    # every len() becomes a host guard `len(...) == 0`
    return (
        len(module._forward_hooks)
        + len(module._forward_pre_hooks)
        + len(module._backward_hooks)
        + len(module._backward_pre_hooks)
        + len(torch_module_state._global_forward_hooks)
        + len(torch_module_state._global_forward_pre_hooks)
        + len(torch_module_state._global_backward_hooks)
        + len(torch_module_state._global_backward_pre_hooks)
    ) == 0


def call_user_module(self, *args, **kwargs):
    _no_hooks(self)
    return self.forward(*args, **kwargs)


def linear_forward(self, input):
    _no_hooks(self)
    return F.linear(input, self.weight, self.bias)


def dropout_forward(self, input):
    _no_hooks(self)
    return F.dropout(input, self.p, self.training)


def identity_forward(self, input):
    _no_hooks(self)
    return input


def relu_forward(self, input):
    _no_hooks(self)
    return F.relu(input)


def tanh_forward(self, input):
    _no_hooks(self)
    return torch.tanh(input)


def sigmoid_forward(self, input):
    _no_hooks(self)
    return torch.sigmoid(input)


def gelu_forward(self, input):
    _no_hooks(self)
    return F.gelu(input, approximate=self.approximate)


def softmax_forward(self, input):
    _no_hooks(self)
    return F.softmax(input, self.dim, _stacklevel=5)


def log_softmax_forward(self, input):
    _no_hooks(self)
    return F.log_softmax(input, self.dim, _stacklevel=5)


def layer_norm_forward(self, input):
    _no_hooks(self)
    return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)


def embedding_forward(self, input):
    _no_hooks(self)
    return F.embedding(
        input, self.weight, self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse
    )


def sequential_forward(self, input):
    _no_hooks(self)
    children = self._modules
    for name in children:
        input = children[name](input)
    return input


def lstm_cell_forward(self, input, hx=None):
    _no_hooks(self)
    if hx is None:
        zeros = torch.zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
        hx = (zeros, zeros)
    return torch.lstm_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


def gru_cell_forward(self, input, hx=None):
    _no_hooks(self)
    if hx is None:
        hx = torch.zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
    return torch.gru_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


def conv1d_forward(self, input):
    _no_hooks(self)
    return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


def conv2d_forward(self, input):
    _no_hooks(self)
    return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


def max_pool1d_forward(self, input):
    _no_hooks(self)
    return F.max_pool1d(
        input,
        self.kernel_size,
        self.stride,
        self.padding,
        self.dilation,
        ceil_mode=self.ceil_mode,
        return_indices=self.return_indices,
    )


def max_pool2d_forward(self, input):
    _no_hooks(self)
    return F.max_pool2d(
        input,
        self.kernel_size,
        self.stride,
        self.padding,
        self.dilation,
        ceil_mode=self.ceil_mode,
        return_indices=self.return_indices,
    )


def avg_pool1d_forward(self, input):
    _no_hooks(self)
    return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


def avg_pool2d_forward(self, input):
    _no_hooks(self)
    return F.avg_pool2d(
        input,
        self.kernel_size,
        self.stride,
        self.padding,
        self.ceil_mode,
        self.count_include_pad,
        self.divisor_override,
    )


def flatten_forward(self, input):
    _no_hooks(self)
    return input.flatten(self.start_dim, self.end_dim)


def batch_norm_forward(self, input):
    """`_BatchNorm.forward` in training mode: torch's batch_norm updates copies of the
    running statistics (one fused kernel, as in eager), which are written back to the
    buffers by in-place copies: the converter turns those into assign effects committed
    after the graph (`inline_target` requires a fixed momentum).  The backend marks
    batch_norm calls as never merged or removed by the passes (they write the copies)."""
    _no_hooks(self)
    if not self.training and self.track_running_stats:
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
    if self.track_running_stats:
        running_mean, running_var = self.running_mean.clone(), self.running_var.clone()
        out = F.batch_norm(input, running_mean, running_var, self.weight, self.bias, True, self.momentum, self.eps)
        self.num_batches_tracked.add_(1)
        self.running_mean.copy_(running_mean)
        self.running_var.copy_(running_var)
        return out
    return F.batch_norm(input, None, None, self.weight, self.bias, True, 0.0, self.eps)


def module_parameters(self, recurse=True):
    """`Module.parameters()`: the parameters read as attribute paths (graph inputs, guarded
    like any other), in torch's order (pre-order over modules), each object once."""
    found = []
    for _name, param in module_named_parameters(self, "", recurse):
        found.append(param)
    # torch returns a generator; the converter has no iterators, and a list iterates the
    # same (`next(model.parameters())` fails conversion instead: next() of a list)
    return found


def module_named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
    # the `_modules`/`_parameters` reads become key and length guards: adding a module or
    # a parameter later makes the graph miss
    found = []
    modules = [(prefix, self)]
    seen_modules = []
    while modules:
        mod_prefix, mod = modules.pop(0) if not recurse else modules.pop()
        if remove_duplicate and any(mod is m for m in seen_modules):
            continue
        seen_modules.append(mod)
        params = mod._parameters
        for name in params:
            param = params[name]
            if param is None or (remove_duplicate and any(param is f for _, f in found)):
                continue
            found.append((mod_prefix + ("." if mod_prefix else "") + name, param))
        if recurse:
            children = mod._modules
            names = [name for name in children if children[name] is not None]
            names.reverse()  # a stack: the first child is visited next (torch's pre-order)
            for name in names:
                modules.append((mod_prefix + ("." if mod_prefix else "") + name, children[name]))
    return found


def call_whole(self, *args, **kwargs):
    """A torch module without a forward of ours, no buffers and no children: guarded to
    have no hooks, then called whole (`Module.__call__` becomes one graph node)."""
    _no_hooks(self)
    return torch.nn.Module.__call__(self, *args, **kwargs)


# -- choosing what to inline -------------------------------------------------------------
_TORCH_FORWARDS: Dict[Any, Callable] = {
    torch.nn.Linear.forward: linear_forward,
    torch.nn.Dropout.forward: dropout_forward,
    torch.nn.Identity.forward: identity_forward,
    torch.nn.ReLU.forward: relu_forward,
    torch.nn.Tanh.forward: tanh_forward,
    torch.nn.Sigmoid.forward: sigmoid_forward,
    torch.nn.GELU.forward: gelu_forward,
    torch.nn.Softmax.forward: softmax_forward,
    torch.nn.LogSoftmax.forward: log_softmax_forward,
    torch.nn.LayerNorm.forward: layer_norm_forward,
    torch.nn.Embedding.forward: embedding_forward,
    torch.nn.Sequential.forward: sequential_forward,
    torch.nn.LSTMCell.forward: lstm_cell_forward,
    torch.nn.GRUCell.forward: gru_cell_forward,
    torch.nn.Conv1d.forward: conv1d_forward,
    torch.nn.Conv2d.forward: conv2d_forward,
    torch.nn.MaxPool1d.forward: max_pool1d_forward,
    torch.nn.MaxPool2d.forward: max_pool2d_forward,
    torch.nn.AvgPool1d.forward: avg_pool1d_forward,
    torch.nn.AvgPool2d.forward: avg_pool2d_forward,
    torch.nn.Flatten.forward: flatten_forward,
    torch.nn.BatchNorm1d.forward: batch_norm_forward,
    torch.nn.BatchNorm2d.forward: batch_norm_forward,
}
_GENERIC_RANDOM = ("dropout", "rrelu")

_MODULE_CALLS = (torch.nn.Module.__call__,)


def callable_whole(module: torch.nn.Module) -> bool:
    """A torch module with no forward of ours may be called whole, as one graph node (the
    graph calls the live module, hooks included), when it has no buffers (nothing it
    could update) and draws no random numbers."""
    if type(module).__module__.split(".")[0] != "torch":
        return False
    name = type(module).__name__.lower()
    if any(r in name for r in _GENERIC_RANDOM) or any(True for _ in module.buffers()):
        return False
    return not any(True for _ in module.children())  # leaf modules only: their hooks are guarded


def has_hooks(module: torch.nn.Module) -> bool:
    return any(getattr(module, d, None) for d in _HOOK_DICTS) or any(
        getattr(torch_module_state, d, None) for d in _GLOBAL_HOOK_DICTS
    )


_PARAMETER_METHODS = {
    torch.nn.Module.parameters: module_parameters,
    torch.nn.Module.named_parameters: module_named_parameters,
}


def inline_target(fn: Any) -> Optional[Callable]:
    """The callable the converter should inline for a call of `fn`, or None."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, torch.nn.Module) and isinstance(fn, types.MethodType):
        mine = _PARAMETER_METHODS.get(fn.__func__)
        return types.MethodType(mine, owner) if mine is not None else None
    if not isinstance(fn, torch.nn.Module):
        return None
    cls = type(fn)
    if cls.__call__ not in _MODULE_CALLS or cls._call_impl is not torch.nn.Module._call_impl:
        return None  # a custom __call__: the converter decides on its own
    if "forward" in fn.__dict__ or has_hooks(fn):
        return None
    forward = getattr(cls, "forward", None)
    if forward is None:
        return None
    if is_user_function(forward, ("torch",)):
        return types.MethodType(call_user_module, fn)
    mine = _TORCH_FORWARDS.get(forward)
    if mine is None:
        return types.MethodType(call_whole, fn) if callable_whole(fn) else None
    if mine in (conv1d_forward, conv2d_forward) and fn.padding_mode != "zeros":
        return None
    if mine is batch_norm_forward and (
        fn.momentum is None or (fn.training and fn.track_running_stats and fn.running_mean is None)
    ):
        return None
    if mine is dropout_forward and getattr(fn, "inplace", False):
        return None
    if mine is embedding_forward and fn.sparse:
        return None
    return types.MethodType(mine, fn)

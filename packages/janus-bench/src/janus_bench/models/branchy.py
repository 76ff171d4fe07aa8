"""``branchy``: data-dependent control flow in a Python loop.

    for _ in range(depth):                 # ten times
        x = tanh(x @ W)
        if x.sum() > 0:  x = x * 2         # the direction depends on the data
        else:            x = x - 1

Inference only; the weight is a frozen parameter (torch: ``requires_grad_(False)``).
Which way each `if` goes changes from batch to batch, so a graph that speculates on
the branch direction fails its assertion on some calls.
"""

from __future__ import annotations

from typing import Any, Dict

from ._common import normal, rng, tf_device, torch_device, uniform
from .registry import register

SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(batch=4, hidden=16, depth=10),
    "quick": dict(batch=16, hidden=64, depth=10),
    "paper": dict(batch=256, hidden=1024, depth=10),
}


def build_torch(size, seed, device="cpu"):
    import torch
    from torch import nn

    class Branchy(nn.Module):
        def __init__(self, w, depth):
            super().__init__()
            self.W = nn.Parameter(torch.from_numpy(w))
            self.depth = depth

        def forward(self, x):
            for _ in range(self.depth):
                x = torch.tanh(x @ self.W)
                if x.sum() > 0:
                    x = x * 2
                else:
                    x = x - 1
            return x

    h = size["hidden"]
    dev = torch_device(device)
    model = Branchy(uniform(rng(seed, 0), (h, h), h) * 2.0, size["depth"]).to(dev)
    model.requires_grad_(False)
    r = rng(seed, 1)

    def make_batch():
        return (torch.from_numpy(normal(r, (size["batch"], h))).to(dev),)

    return model.forward, make_batch


def build_tf(size, seed, device="cpu"):
    import tensorflow as tf

    class Branchy(tf.Module):
        def __init__(self, w, depth):
            super().__init__()
            self.W = tf.Variable(w, trainable=False, name="W")
            self.depth = depth

        def __call__(self, x):
            for _ in range(self.depth):
                x = tf.tanh(tf.matmul(x, self.W))
                if tf.reduce_sum(x) > 0:
                    x = x * 2
                else:
                    x = x - 1
            return x

    h = size["hidden"]
    with tf.device(tf_device(device)):
        model = Branchy(uniform(rng(seed, 0), (h, h), h) * 2.0, size["depth"])
    r = rng(seed, 1)

    def make_batch():
        with tf.device(tf_device(device)):
            return (tf.constant(normal(r, (size["batch"], h))),)

    return model.__call__, make_batch


register(
    "branchy",
    family="branchy",
    sizes=SIZES,
    samples=lambda s: s["batch"],
    description="tanh(x @ W) then a data-dependent if/else, ten times (inference)",
    torch=build_torch,
    tf=build_tf,
)

"""``treernn``: a recursive TreeRNN over random binary trees (the paper's TreeNN case).

A tree is nested Python tuples whose leaves are word ids (ints); ``make_batch``
returns a NEW random tree (8-24 leaves in the quick profile) on every call, so the
structure of the computation changes from call to call.  The model is a recursive
Python method::

    def node(self, t):
        if isinstance(t, int):
            return self.emb[t]
        return tanh(W @ concat(node(t[0]), node(t[1])) + b)

Inference only; parameters are frozen.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from ._common import normal, rng, tf_device, torch_device, uniform
from .registry import register

SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(min_leaves=3, max_leaves=6, hidden=16, vocab=50),
    "quick": dict(min_leaves=8, max_leaves=24, hidden=64, vocab=1000),
    "paper": dict(min_leaves=8, max_leaves=48, hidden=300, vocab=20000),
}


def random_tree(r: np.random.Generator, n_leaves: int, vocab: int):
    """A uniformly split random binary tree over `n_leaves` leaf ids (nested tuples)."""
    if n_leaves == 1:
        return int(r.integers(vocab))
    left = int(r.integers(1, n_leaves))
    return (random_tree(r, left, vocab), random_tree(r, n_leaves - left, vocab))


def tree_maker(size, seed):
    r = rng(seed, 1)

    def make_tree():
        n = int(r.integers(size["min_leaves"], size["max_leaves"] + 1))
        return random_tree(r, n, size["vocab"])

    return make_tree


def _init(size, seed):
    r = rng(seed, 0)
    h = size["hidden"]
    return dict(emb=normal(r, (size["vocab"], h)) * 0.5, W=uniform(r, (h, 2 * h), 2 * h), b=uniform(r, (h,), 2 * h))


def build_torch(size, seed, device="cpu"):
    import torch
    from torch import nn

    class TreeRNN(nn.Module):
        def __init__(self, init):
            super().__init__()
            self.emb = nn.Parameter(torch.from_numpy(init["emb"]))
            self.W = nn.Parameter(torch.from_numpy(init["W"]))
            self.b = nn.Parameter(torch.from_numpy(init["b"]))

        def node(self, t):
            if isinstance(t, int):
                return self.emb[t]
            left = self.node(t[0])
            right = self.node(t[1])
            return torch.tanh(self.W @ torch.cat([left, right]) + self.b)

        def forward(self, tree):
            return self.node(tree)

    model = TreeRNN(_init(size, seed)).to(torch_device(device))
    model.requires_grad_(False)
    make_tree = tree_maker(size, seed)
    return model.forward, lambda: (make_tree(),)


def build_tf(size, seed, device="cpu"):
    import tensorflow as tf

    class TreeRNN(tf.Module):
        def __init__(self, init):
            super().__init__()
            self.emb = tf.Variable(init["emb"], trainable=False, name="emb")
            self.W = tf.Variable(init["W"], trainable=False, name="W")
            self.b = tf.Variable(init["b"], trainable=False, name="b")

        def node(self, t):
            if isinstance(t, int):
                return self.emb[t]
            left = self.node(t[0])
            right = self.node(t[1])
            return tf.tanh(tf.linalg.matvec(self.W, tf.concat([left, right], axis=0)) + self.b)

        def __call__(self, tree):
            return self.node(tree)

    with tf.device(tf_device(device)):
        model = TreeRNN(_init(size, seed))
    make_tree = tree_maker(size, seed)
    return model.__call__, lambda: (make_tree(),)


register(
    "treernn",
    family="treernn",
    sizes=SIZES,
    samples=lambda s: 1,
    paper_model="TreeRNN (TreeNN)",
    description="recursive TreeRNN, a new random binary tree (nested tuples) every call (inference)",
    torch=build_torch,
    tf=build_tf,
)

"""``treelstm``: a binary (constituency) TreeLSTM on SST-like trees, one training step
per call (Tai et al. 2015, the paper's TreeNN training workload).

A tree is nested Python tuples whose leaves are word ids (the generator of
``treernn``); ``make_batch`` returns a NEW random tree and its sentiment label (5
classes) on every call.  The model is a recursive Python method::

    def node(self, t):
        if isinstance(t, int):                  # leaf: i, o, u gates from the word vector
            return self.leaf(self.emb[t])
        (hl, cl), (hr, cl) = self.node(t[0]), self.node(t[1])
        return self.compose(hl, cl, hr, cr)     # i, f_l, f_r, o, u gates from [hl, hr]

and the loss is the softmax cross-entropy of a linear classifier at the root.  The
word vectors are frozen (as with GloVe vectors); SGD on the TreeLSTM and classifier
weights.  torch: ``nn.Module`` + ``loss.backward()`` + ``torch.optim.SGD``; tf:
``tf.Module`` + ``tf.GradientTape`` + ``assign_sub``.  Returns the loss.
"""

from __future__ import annotations

from typing import Any, Dict

from ._common import normal, rng, tf_device, torch_device, uniform
from .registry import register
from .treernn import tree_maker

SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(min_leaves=3, max_leaves=6, embed=16, hidden=16, vocab=50, classes=5, lr=0.05),
    "quick": dict(min_leaves=3, max_leaves=6, embed=64, hidden=64, vocab=1000, classes=5, lr=0.05),
    "paper": dict(min_leaves=8, max_leaves=48, embed=300, hidden=150, vocab=20000, classes=5, lr=0.05),
}


def _init(size, seed):
    r = rng(seed, 0)
    e, h, k = size["embed"], size["hidden"], size["classes"]
    return dict(
        emb=normal(r, (size["vocab"], e)) * 0.5,
        w_leaf=uniform(r, (e, 3 * h), e),
        b_leaf=uniform(r, (3 * h,), e),
        u_node=uniform(r, (2 * h, 5 * h), 2 * h),
        b_node=uniform(r, (5 * h,), 2 * h),
        w_cls=uniform(r, (h, k), h),
        b_cls=uniform(r, (k,), h),
    )


def _data(size, seed):
    make_tree = tree_maker(size, seed)
    r = rng(seed, 2)

    def next_tree():
        return make_tree(), int(r.integers(size["classes"]))

    return next_tree


def build_torch(size, seed, device="cpu"):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class BinaryTreeLSTM(nn.Module):
        def __init__(self, init):
            super().__init__()
            self.emb = nn.Parameter(torch.from_numpy(init["emb"]), requires_grad=False)  # frozen word vectors
            self.w_leaf = nn.Parameter(torch.from_numpy(init["w_leaf"]))
            self.b_leaf = nn.Parameter(torch.from_numpy(init["b_leaf"]))
            self.u_node = nn.Parameter(torch.from_numpy(init["u_node"]))
            self.b_node = nn.Parameter(torch.from_numpy(init["b_node"]))
            self.w_cls = nn.Parameter(torch.from_numpy(init["w_cls"]))
            self.b_cls = nn.Parameter(torch.from_numpy(init["b_cls"]))

        def leaf(self, x):
            i, o, u = (x @ self.w_leaf + self.b_leaf).chunk(3)
            c = torch.sigmoid(i) * torch.tanh(u)
            return torch.sigmoid(o) * torch.tanh(c), c

        def compose(self, hl, cl, hr, cr):
            i, fl, fr, o, u = (torch.cat([hl, hr]) @ self.u_node + self.b_node).chunk(5)
            c = torch.sigmoid(i) * torch.tanh(u) + torch.sigmoid(fl) * cl + torch.sigmoid(fr) * cr
            return torch.sigmoid(o) * torch.tanh(c), c

        def node(self, t):
            if isinstance(t, int):
                return self.leaf(self.emb[t])
            hl, cl = self.node(t[0])
            hr, cr = self.node(t[1])
            return self.compose(hl, cl, hr, cr)

        def forward(self, tree):
            h, _ = self.node(tree)
            return h @ self.w_cls + self.b_cls

    dev = torch_device(device)
    model = BinaryTreeLSTM(_init(size, seed)).to(dev)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=size["lr"])
    next_tree = _data(size, seed)

    def treelstm_train(tree, label):
        logits = model(tree)
        loss = F.cross_entropy(logits[None], label)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach()

    def make_batch():
        tree, label = next_tree()
        return tree, torch.tensor([label], device=dev)

    return treelstm_train, make_batch


def build_tf(size, seed, device="cpu"):
    import tensorflow as tf

    class BinaryTreeLSTM(tf.Module):
        def __init__(self, init):
            super().__init__(name="tree_lstm")
            self.emb = tf.Variable(init["emb"], trainable=False, name="emb")  # frozen word vectors
            self.w_leaf = tf.Variable(init["w_leaf"], name="w_leaf")
            self.b_leaf = tf.Variable(init["b_leaf"], name="b_leaf")
            self.u_node = tf.Variable(init["u_node"], name="u_node")
            self.b_node = tf.Variable(init["b_node"], name="b_node")
            self.w_cls = tf.Variable(init["w_cls"], name="w_cls")
            self.b_cls = tf.Variable(init["b_cls"], name="b_cls")

        def leaf(self, x):
            i, o, u = tf.split(tf.linalg.matvec(self.w_leaf, x, transpose_a=True) + self.b_leaf, 3)
            c = tf.sigmoid(i) * tf.tanh(u)
            return tf.sigmoid(o) * tf.tanh(c), c

        def compose(self, hl, cl, hr, cr):
            gates = tf.linalg.matvec(self.u_node, tf.concat([hl, hr], axis=0), transpose_a=True) + self.b_node
            i, fl, fr, o, u = tf.split(gates, 5)
            c = tf.sigmoid(i) * tf.tanh(u) + tf.sigmoid(fl) * cl + tf.sigmoid(fr) * cr
            return tf.sigmoid(o) * tf.tanh(c), c

        def node(self, t):
            if isinstance(t, int):
                return self.leaf(self.emb[t])
            hl, cl = self.node(t[0])
            hr, cr = self.node(t[1])
            return self.compose(hl, cl, hr, cr)

        def __call__(self, tree):
            h, _ = self.node(tree)
            return tf.linalg.matvec(self.w_cls, h, transpose_a=True) + self.b_cls

    with tf.device(tf_device(device)):
        model = BinaryTreeLSTM(_init(size, seed))
    lr = size["lr"]
    next_tree = _data(size, seed)

    def treelstm_train(tree, label):
        with tf.GradientTape() as tape:
            logits = model(tree)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=label, logits=logits[None]))
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        for v, g in zip(variables, grads):
            v.assign_sub(lr * g)
        return loss

    def make_batch():
        tree, label = next_tree()
        with tf.device(tf_device(device)):
            return tree, tf.constant([label], dtype=tf.int64)

    return treelstm_train, make_batch


register(
    "treelstm",
    family="treelstm",
    sizes=SIZES,
    samples=lambda s: 1,
    training=True,
    paper_model="TreeLSTM (TreeNN, SST)",
    description="binary TreeLSTM by a recursive Python method over a new random SST-like tree "
    "(nested tuples) every call, root classifier + cross-entropy, one SGD step per call",
    torch=build_torch,
    tf=build_tf,
)

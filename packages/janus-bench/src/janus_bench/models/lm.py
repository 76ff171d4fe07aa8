"""LSTM language models (the paper's RNN training workloads), one training step per call.

* ``lstm_lm``: the PTB word-level LM (Zaremba et al. 2014, "medium"): embedding, a
  2-layer LSTM unrolled over the time steps with a Python ``for`` loop (the cells are
  written out), a full softmax over the vocabulary and the mean cross-entropy.
  Truncated BPTT: the final (h, c) of each layer is kept on the model and fed to the
  next call (torch: detached tensors on the module; tf: non-trainable variables, as a
  stateful Keras RNN keeps them), as a PTB training loop does.  SGD with
  global-norm gradient clipping (5).  Dropout is left out (its masks would differ
  between the frameworks).
* ``lm_large_vocab``: the same structure with a large vocabulary (1B-words shapes in
  the paper profile) trained with a *sampled* softmax: tf calls
  ``tf.nn.sampled_softmax_loss``; torch computes the same loss by hand (true logit +
  the logits of the sampled candidates, minus log expected counts, accidental hits
  removed, cross-entropy against column 0).  The candidates are drawn per batch by a
  log-uniform (Zipfian) sampler in NumPy in the input pipeline (what
  ``tf.random.log_uniform_candidate_sampler`` does, unique=True) and passed as
  ``sampled_values``, so both frameworks see the same candidates.

The word ids are synthetic, log-uniformly (Zipf-like) distributed over the vocabulary;
one call = one batch of ``batch x steps`` tokens = one optimizer step; returns the loss.
torch: ``nn.Module`` + ``loss.backward()`` + ``torch.optim.SGD``; tf: ``tf.Module`` +
``tf.GradientTape`` + SGD on the variables (``scatter_sub`` for the embedding's
``IndexedSlices`` gradient).
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from ._common import rng, tf_device, torch_device, uniform
from .registry import register

LM_SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(vocab=50, hidden=16, layers=2, batch=4, steps=5, lr=1.0, clip=5.0),
    "quick": dict(vocab=10000, hidden=64, layers=2, batch=20, steps=8, lr=1.0, clip=5.0),
    "paper": dict(vocab=10000, hidden=650, layers=2, batch=20, steps=35, lr=1.0, clip=5.0),
}
LARGE_SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(vocab=500, hidden=16, layers=2, batch=4, steps=5, num_sampled=32, lr=1.0, clip=5.0),
    "quick": dict(vocab=100000, hidden=64, layers=2, batch=20, steps=8, num_sampled=512, lr=1.0, clip=5.0),
    "paper": dict(vocab=793471, hidden=512, layers=2, batch=128, steps=20, num_sampled=8192, lr=1.0, clip=5.0),
}


def _init(size, seed):
    r = rng(seed, 0)
    v, h = size["vocab"], size["hidden"]
    p = dict(embedding=uniform(r, (v, h), 10))  # ~U(-0.3, 0.3)
    for layer in range(size["layers"]):
        p[f"w_ih{layer}"] = uniform(r, (h, 4 * h), h)
        p[f"w_hh{layer}"] = uniform(r, (h, 4 * h), h)
        p[f"b{layer}"] = uniform(r, (4 * h,), h)
    p["softmax_w"] = uniform(r, (v, h), h)  # [num_classes, dim]: tf.nn.sampled_softmax_loss's layout
    p["softmax_b"] = np.zeros((v,), np.float32)
    return p


def _log_uniform_ids(r: np.random.Generator, vocab: int, shape) -> np.ndarray:
    """Zipf-like ids: P(k) = log((k+2)/(k+1)) / log(vocab+1)."""
    ids = np.floor(np.exp(r.random(shape) * np.log(vocab + 1.0))).astype(np.int64) - 1
    return np.clip(ids, 0, vocab - 1)


def _log_uniform_prob(ids: np.ndarray, vocab: int) -> np.ndarray:
    ids = ids.astype(np.float64)
    return (np.log(ids + 2.0) - np.log(ids + 1.0)) / np.log(vocab + 1.0)


def _sample_candidates(r: np.random.Generator, vocab: int, num_sampled: int, labels: np.ndarray):
    """`tf.random.log_uniform_candidate_sampler(unique=True)` in NumPy: `num_sampled`
    distinct ids and the expected counts of the labels and of the candidates."""
    seen: Dict[int, None] = {}
    tries = 0
    while len(seen) < num_sampled:
        chunk = _log_uniform_ids(r, vocab, (2 * (num_sampled - len(seen)),))
        for k in chunk.tolist():
            tries += 1
            seen.setdefault(k)
            if len(seen) == num_sampled:
                break
    sampled = np.fromiter(seen, dtype=np.int64, count=num_sampled)
    expected = lambda ids: (-np.expm1(tries * np.log1p(-_log_uniform_prob(ids, vocab)))).astype(np.float32)
    return sampled, expected(labels), expected(sampled)


def _data(size, seed, sampled: bool):
    r = rng(seed, 1)
    b, t, v = size["batch"], size["steps"], size["vocab"]

    def next_np():
        words = _log_uniform_ids(r, v, (b, t + 1))
        x, y = words[:, :-1], words[:, 1:]
        if not sampled:
            return x, y
        return (x, y) + _sample_candidates(r, v, size["num_sampled"], y.reshape(-1))

    return next_np


# --------------------------------------------------------------------------- torch
def _build_torch(size, seed, device, sampled: bool):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class LSTMCell(nn.Module):
        def __init__(self, w_ih, w_hh, b):
            super().__init__()
            self.w_ih = nn.Parameter(torch.from_numpy(w_ih))
            self.w_hh = nn.Parameter(torch.from_numpy(w_hh))
            self.b = nn.Parameter(torch.from_numpy(b))

        def forward(self, x, state):
            h, c = state
            gates = x @ self.w_ih + h @ self.w_hh + self.b
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            return h, c

    class LSTMLM(nn.Module):
        def __init__(self, init):
            super().__init__()
            self.hidden = size["hidden"]
            self.embedding = nn.Parameter(torch.from_numpy(init["embedding"]))
            self.cells = nn.ModuleList(
                [LSTMCell(init[f"w_ih{k}"], init[f"w_hh{k}"], init[f"b{k}"]) for k in range(size["layers"])]
            )
            self.softmax_w = nn.Parameter(torch.from_numpy(init["softmax_w"]))
            self.softmax_b = nn.Parameter(torch.from_numpy(init["softmax_b"]))
            # carried across calls (truncated BPTT)
            self.state = [
                (torch.zeros(size["batch"], self.hidden), torch.zeros(size["batch"], self.hidden)) for _ in self.cells
            ]

        def forward(self, tokens):
            batch, steps = tokens.shape
            state = self.state
            emb = F.embedding(tokens, self.embedding)  # [batch, steps, hidden]
            outputs = []
            for t in range(steps):
                x = emb[:, t]
                new_state = []
                for cell, s in zip(self.cells, state):
                    x, c = cell(x, s)
                    new_state.append((x, c))
                state = new_state
                outputs.append(x)
            self.state = [(h.detach(), c.detach()) for h, c in state]
            return torch.stack(outputs, dim=1).reshape(batch * steps, self.hidden)

    NEG_MAX = -torch.finfo(torch.float32).max  # what tf adds to accidental hits

    def sampled_softmax_loss(weights, biases, labels, inputs, sampled_ids, true_expected, sampled_expected):
        true_logits = (inputs * weights[labels]).sum(1) + biases[labels] - torch.log(true_expected)
        sampled_logits = inputs @ weights[sampled_ids].t() + biases[sampled_ids] - torch.log(sampled_expected)
        hits = labels[:, None] == sampled_ids[None, :]  # accidental hits
        sampled_logits = sampled_logits.masked_fill(hits, NEG_MAX)
        logits = torch.cat([true_logits[:, None], sampled_logits], dim=1)
        return F.cross_entropy(logits, torch.zeros_like(labels))

    dev = torch_device(device)
    model = LSTMLM(_init(size, seed)).to(dev)
    model.state = [(h.to(dev), c.to(dev)) for h, c in model.state]
    opt = torch.optim.SGD(model.parameters(), lr=size["lr"])
    clip = size["clip"]
    next_np = _data(size, seed, sampled)

    def lstm_lm_train(tokens, targets):
        hidden = model(tokens)
        logits = hidden @ model.softmax_w.t() + model.softmax_b
        loss = F.cross_entropy(logits, targets.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss.detach()

    def lm_large_vocab_train(tokens, targets, sampled_ids, true_expected, sampled_expected):
        hidden = model(tokens)
        loss = sampled_softmax_loss(
            model.softmax_w, model.softmax_b, targets.reshape(-1), hidden, sampled_ids, true_expected, sampled_expected
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss.detach()

    def make_batch():
        return tuple(torch.from_numpy(a).to(dev) for a in next_np())

    return (lm_large_vocab_train if sampled else lstm_lm_train), make_batch


def build_lm_torch(size, seed, device="cpu"):
    return _build_torch(size, seed, device, sampled=False)


def build_large_torch(size, seed, device="cpu"):
    return _build_torch(size, seed, device, sampled=True)


# --------------------------------------------------------------------------- tf
def _build_tf(size, seed, device, sampled: bool):
    import tensorflow as tf

    class LSTMCell(tf.Module):
        def __init__(self, w_ih, w_hh, b, name):
            super().__init__(name=name)
            self.w_ih = tf.Variable(w_ih, name="w_ih")
            self.w_hh = tf.Variable(w_hh, name="w_hh")
            self.b = tf.Variable(b, name="b")

        def __call__(self, x, state):
            h, c = state
            gates = tf.matmul(x, self.w_ih) + tf.matmul(h, self.w_hh) + self.b
            i, f, g, o = tf.split(gates, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            return h, c

    class LSTMLM(tf.Module):
        def __init__(self, init):
            super().__init__(name="lstm_lm")
            self.hidden = size["hidden"]
            self.embedding = tf.Variable(init["embedding"], name="embedding")
            self.cells = [
                LSTMCell(init[f"w_ih{k}"], init[f"w_hh{k}"], init[f"b{k}"], name=f"cell{k}")
                for k in range(size["layers"])
            ]
            self.softmax_w = tf.Variable(init["softmax_w"], name="softmax_w")
            self.softmax_b = tf.Variable(init["softmax_b"], name="softmax_b")
            # carried across calls (truncated BPTT), in variables as a stateful Keras RNN keeps it
            self.state = [
                (
                    tf.Variable(tf.zeros([size["batch"], self.hidden]), trainable=False, name=f"h{k}"),
                    tf.Variable(tf.zeros([size["batch"], self.hidden]), trainable=False, name=f"c{k}"),
                )
                for k in range(size["layers"])
            ]

        def __call__(self, tokens):
            batch, steps = tokens.shape
            state = self.state
            emb = tf.nn.embedding_lookup(self.embedding, tokens)  # [batch, steps, hidden]
            outputs = []
            for t in range(steps):
                x = emb[:, t]
                new_state = []
                for cell, s in zip(self.cells, state):
                    x, c = cell(x, s)
                    new_state.append((x, c))
                state = new_state
                outputs.append(x)
            for (h_var, c_var), (h, c) in zip(self.state, state):
                h_var.assign(h)
                c_var.assign(c)
            return tf.reshape(tf.stack(outputs, axis=1), [batch * steps, self.hidden])

    with tf.device(tf_device(device)):
        model = LSTMLM(_init(size, seed))
    lr, clip, vocab = size["lr"], size["clip"], size["vocab"]
    next_np = _data(size, seed, sampled)

    def apply_sgd(loss, tape):
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        grads, _ = tf.clip_by_global_norm(grads, clip)
        for v, g in zip(variables, grads):
            if isinstance(g, tf.IndexedSlices):
                v.scatter_sub(tf.IndexedSlices(lr * g.values, g.indices, g.dense_shape))
            else:
                v.assign_sub(lr * g)

    def lstm_lm_train(tokens, targets):
        with tf.GradientTape() as tape:
            hidden = model(tokens)
            logits = tf.matmul(hidden, model.softmax_w, transpose_b=True) + model.softmax_b
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.reshape(targets, [-1]), logits=logits)
            )
        apply_sgd(loss, tape)
        return loss

    def lm_large_vocab_train(tokens, targets, sampled_ids, true_expected, sampled_expected):
        with tf.GradientTape() as tape:
            hidden = model(tokens)
            loss = tf.reduce_mean(
                tf.nn.sampled_softmax_loss(
                    weights=model.softmax_w,
                    biases=model.softmax_b,
                    labels=tf.reshape(targets, [-1, 1]),
                    inputs=hidden,
                    num_sampled=size["num_sampled"],
                    num_classes=vocab,
                    sampled_values=(sampled_ids, tf.reshape(true_expected, [-1, 1]), sampled_expected),
                    remove_accidental_hits=True,
                )
            )
        apply_sgd(loss, tape)
        return loss

    def make_batch():
        with tf.device(tf_device(device)):
            return tuple(tf.constant(a) for a in next_np())

    return (lm_large_vocab_train if sampled else lstm_lm_train), make_batch


def build_lm_tf(size, seed, device="cpu"):
    return _build_tf(size, seed, device, sampled=False)


def build_large_tf(size, seed, device="cpu"):
    return _build_tf(size, seed, device, sampled=True)


register(
    "lstm_lm",
    family="lm",
    sizes=LM_SIZES,
    samples=lambda s: s["batch"] * s["steps"],
    training=True,
    paper_model="LSTM language model (PTB)",
    description="PTB LSTM LM: embedding + 2-layer LSTM unrolled by a Python loop, full softmax, "
    "state carried across calls, SGD + clipping; one training step per call (samples = tokens)",
    torch=build_lm_torch,
    tf=build_lm_tf,
)
register(
    "lm_large_vocab",
    family="lm",
    sizes=LARGE_SIZES,
    samples=lambda s: s["batch"] * s["steps"],
    training=True,
    paper_model="LM with large vocabulary (1B words, sampled softmax)",
    description="2-layer LSTM LM over a large vocabulary with sampled softmax (tf.nn.sampled_softmax_loss / "
    "the same by hand in torch), candidates from a NumPy log-uniform sampler; one training step "
    "per call (samples = tokens)",
    torch=build_large_torch,
    tf=build_large_tf,
)

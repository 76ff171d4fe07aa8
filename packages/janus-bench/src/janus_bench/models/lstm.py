"""LSTM workloads: an LSTM cell unrolled over T steps with a Python `for` loop.

* ``lstm_forward``: inference, returns the last hidden state (torch: under
  ``torch.no_grad()``).
* ``lstm_train``: the same LSTM plus a linear head and an MSE loss; one call is one
  training step (forward, backward, SGD update).  torch: ``loss.backward()`` +
  ``torch.optim.SGD``; tf: ``tf.GradientTape`` + ``Variable.assign_sub``.

Weights are attributes of an ``nn.Module`` / ``tf.Module``, initialised from NumPy with
the seed, so both frameworks start from the same numbers.
"""

from __future__ import annotations

from typing import Any, Dict

from ._common import normal, rng, tf_device, torch_device, uniform
from .registry import register

SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(steps=4, batch=4, input=16, hidden=16, lr=0.05),
    "quick": dict(steps=20, batch=16, input=64, hidden=64, lr=0.05),
    "paper": dict(steps=35, batch=128, input=650, hidden=650, lr=0.05),
}


def _init(size, seed):
    r = rng(seed, 0)
    i, h = size["input"], size["hidden"]
    return dict(
        w_ih=uniform(r, (i, 4 * h), h),
        w_hh=uniform(r, (h, 4 * h), h),
        bias=uniform(r, (4 * h,), h),
        w_out=uniform(r, (h, 1), h),
        b_out=uniform(r, (1,), h),
    )


# --------------------------------------------------------------------------- torch
def _torch_model(size, seed, device, head: bool):
    import torch
    from torch import nn

    class LSTM(nn.Module):
        def __init__(self, init):
            super().__init__()
            self.hidden = size["hidden"]
            self.w_ih = nn.Parameter(torch.from_numpy(init["w_ih"]))
            self.w_hh = nn.Parameter(torch.from_numpy(init["w_hh"]))
            self.bias = nn.Parameter(torch.from_numpy(init["bias"]))

        def forward(self, xs):
            batch = xs.shape[1]
            h = torch.zeros(batch, self.hidden, device=xs.device)
            c = torch.zeros(batch, self.hidden, device=xs.device)
            for t in range(xs.shape[0]):
                gates = xs[t] @ self.w_ih + h @ self.w_hh + self.bias
                i, f, g, o = gates.chunk(4, dim=1)
                i = torch.sigmoid(i)
                f = torch.sigmoid(f)
                g = torch.tanh(g)
                o = torch.sigmoid(o)
                c = f * c + i * g
                h = o * torch.tanh(c)
            return h

    class Regressor(nn.Module):
        def __init__(self, init):
            super().__init__()
            self.lstm = LSTM(init)
            self.w_out = nn.Parameter(torch.from_numpy(init["w_out"]))
            self.b_out = nn.Parameter(torch.from_numpy(init["b_out"]))

        def forward(self, xs):
            h = self.lstm(xs)
            return h @ self.w_out + self.b_out

    init = _init(size, seed)
    model = Regressor(init) if head else LSTM(init)
    return model.to(torch_device(device))


def _torch_batches(size, seed, device, with_targets: bool):
    import torch

    r = rng(seed, 1)
    dev = torch_device(device)

    def make_batch():
        xs = torch.from_numpy(normal(r, (size["steps"], size["batch"], size["input"]))).to(dev)
        if not with_targets:
            return (xs,)
        ys = torch.from_numpy(normal(r, (size["batch"], 1))).to(dev)
        return xs, ys

    return make_batch


def build_forward_torch(size, seed, device="cpu"):
    import torch

    model = _torch_model(size, seed, device, head=False)
    model.eval()

    def lstm_forward(xs):
        with torch.no_grad():
            return model(xs)

    return lstm_forward, _torch_batches(size, seed, device, with_targets=False)


def build_train_torch(size, seed, device="cpu"):
    import torch

    model = _torch_model(size, seed, device, head=True)
    opt = torch.optim.SGD(model.parameters(), lr=size["lr"])

    def lstm_train(xs, ys):
        pred = model(xs)
        loss = ((pred - ys) ** 2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss.detach()

    return lstm_train, _torch_batches(size, seed, device, with_targets=True)


# --------------------------------------------------------------------------- tf
def _tf_model(size, seed, head: bool):
    import tensorflow as tf

    class LSTM(tf.Module):
        def __init__(self, init):
            super().__init__()
            self.hidden = size["hidden"]
            self.w_ih = tf.Variable(init["w_ih"], name="w_ih")
            self.w_hh = tf.Variable(init["w_hh"], name="w_hh")
            self.bias = tf.Variable(init["bias"], name="bias")

        def __call__(self, xs):
            batch = xs.shape[1]
            h = tf.zeros([batch, self.hidden])
            c = tf.zeros([batch, self.hidden])
            for t in range(xs.shape[0]):
                gates = tf.matmul(xs[t], self.w_ih) + tf.matmul(h, self.w_hh) + self.bias
                i, f, g, o = tf.split(gates, 4, axis=1)
                i = tf.sigmoid(i)
                f = tf.sigmoid(f)
                g = tf.tanh(g)
                o = tf.sigmoid(o)
                c = f * c + i * g
                h = o * tf.tanh(c)
            return h

    class Regressor(tf.Module):
        def __init__(self, init):
            super().__init__()
            self.lstm = LSTM(init)
            self.w_out = tf.Variable(init["w_out"], name="w_out")
            self.b_out = tf.Variable(init["b_out"], name="b_out")

        def __call__(self, xs):
            h = self.lstm(xs)
            return tf.matmul(h, self.w_out) + self.b_out

    init = _init(size, seed)
    return Regressor(init) if head else LSTM(init)


def _tf_batches(size, seed, device, with_targets: bool):
    import tensorflow as tf

    r = rng(seed, 1)

    def make_batch():
        with tf.device(tf_device(device)):
            xs = tf.constant(normal(r, (size["steps"], size["batch"], size["input"])))
            if not with_targets:
                return (xs,)
            ys = tf.constant(normal(r, (size["batch"], 1)))
            return xs, ys

    return make_batch


def build_forward_tf(size, seed, device="cpu"):
    import tensorflow as tf

    with tf.device(tf_device(device)):
        model = _tf_model(size, seed, head=False)

    def lstm_forward(xs):
        return model(xs)

    return lstm_forward, _tf_batches(size, seed, device, with_targets=False)


def build_train_tf(size, seed, device="cpu"):
    import tensorflow as tf

    with tf.device(tf_device(device)):
        model = _tf_model(size, seed, head=True)
    lr = size["lr"]

    def lstm_train(xs, ys):
        with tf.GradientTape() as tape:
            pred = model(xs)
            loss = tf.reduce_mean(tf.square(pred - ys))
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        for v, g in zip(variables, grads):
            v.assign_sub(lr * g)
        return loss

    return lstm_train, _tf_batches(size, seed, device, with_targets=True)


register(
    "lstm_forward",
    family="lstm",
    sizes=SIZES,
    samples=lambda s: s["batch"],
    paper_model="LSTM (RNN)",
    description="LSTM cell unrolled over T steps (Python for loop), inference",
    torch=build_forward_torch,
    tf=build_forward_tf,
)
register(
    "lstm_train",
    family="lstm",
    sizes=SIZES,
    samples=lambda s: s["batch"],
    training=True,
    paper_model="LSTM (RNN)",
    description="LSTM + linear head + MSE, one SGD training step per call",
    torch=build_train_torch,
    tf=build_train_tf,
)

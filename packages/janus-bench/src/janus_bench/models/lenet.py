"""``lenet``: LeNet-5 on MNIST shapes (1x28x28 images, 10 classes), one SGD training
step per call: conv(5x5,6) - relu - maxpool - conv(5x5,16) - relu - maxpool -
fc 120 - fc 84 - fc 10, softmax cross-entropy.

torch: ``nn.Conv2d`` / ``nn.Linear`` modules, NCHW, ``torch.optim.SGD``.
tf: ``tf.nn.conv2d`` on NHWC with ``tf.Variable`` weights, ``tf.GradientTape``.
"""

from __future__ import annotations

from typing import Any, Dict

from ._common import normal, rng, tf_device, torch_device, uniform
from .registry import register

SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(batch=4, lr=0.01),
    "quick": dict(batch=32, lr=0.01),
    "paper": dict(batch=64, lr=0.01),
}

# (name, shape in torch layout, fan_in)
_SHAPES = [
    ("c1w", (6, 1, 5, 5), 25),
    ("c1b", (6,), 25),
    ("c2w", (16, 6, 5, 5), 150),
    ("c2b", (16,), 150),
    ("f1w", (120, 256), 256),
    ("f1b", (120,), 256),
    ("f2w", (84, 120), 120),
    ("f2b", (84,), 120),
    ("f3w", (10, 84), 84),
    ("f3b", (10,), 84),
]


def _init(seed):
    r = rng(seed, 0)
    return {name: uniform(r, shape, fan_in) for name, shape, fan_in in _SHAPES}


def _data(size, seed):
    r = rng(seed, 1)

    def next_np():
        images = normal(r, (size["batch"], 1, 28, 28))
        labels = r.integers(0, 10, size=(size["batch"],))
        return images, labels

    return next_np


def build_torch(size, seed, device="cpu"):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 4 * 4, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    model = LeNet()
    init = _init(seed)
    with torch.no_grad():
        for (mod, attr), key in zip(
            [(m, a) for m in (model.conv1, model.conv2, model.fc1, model.fc2, model.fc3) for a in ("weight", "bias")],
            [n for n, _s, _f in _SHAPES],
        ):
            getattr(mod, attr).copy_(torch.from_numpy(init[key]))
    dev = torch_device(device)
    model.to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=size["lr"])
    next_np = _data(size, seed)

    def lenet_train(images, labels):
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss.detach()

    def make_batch():
        images, labels = next_np()
        return torch.from_numpy(images).to(dev), torch.from_numpy(labels).to(dev)

    return lenet_train, make_batch


def build_tf(size, seed, device="cpu"):
    import tensorflow as tf

    class LeNet(tf.Module):
        def __init__(self, init):
            super().__init__()
            hwio = lambda w: w.transpose(2, 3, 1, 0).copy()  # OIHW -> HWIO
            self.c1w = tf.Variable(hwio(init["c1w"]), name="c1w")
            self.c1b = tf.Variable(init["c1b"], name="c1b")
            self.c2w = tf.Variable(hwio(init["c2w"]), name="c2w")
            self.c2b = tf.Variable(init["c2b"], name="c2b")
            # torch flattens (C, H, W), NHWC flattens (H, W, C): permute fc1's inputs to match
            f1w = init["f1w"].reshape(120, 16, 4, 4).transpose(2, 3, 1, 0).reshape(256, 120).copy()
            self.f1w = tf.Variable(f1w, name="f1w")
            self.f1b = tf.Variable(init["f1b"], name="f1b")
            self.f2w = tf.Variable(init["f2w"].T.copy(), name="f2w")
            self.f2b = tf.Variable(init["f2b"], name="f2b")
            self.f3w = tf.Variable(init["f3w"].T.copy(), name="f3w")
            self.f3b = tf.Variable(init["f3b"], name="f3b")

        def __call__(self, x):
            x = tf.nn.relu(tf.nn.conv2d(x, self.c1w, strides=1, padding="VALID") + self.c1b)
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
            x = tf.nn.relu(tf.nn.conv2d(x, self.c2w, strides=1, padding="VALID") + self.c2b)
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
            x = tf.reshape(x, [x.shape[0], -1])
            x = tf.nn.relu(tf.matmul(x, self.f1w) + self.f1b)
            x = tf.nn.relu(tf.matmul(x, self.f2w) + self.f2b)
            return tf.matmul(x, self.f3w) + self.f3b

    with tf.device(tf_device(device)):
        model = LeNet(_init(seed))
    lr = size["lr"]
    next_np = _data(size, seed)

    def lenet_train(images, labels):
        with tf.GradientTape() as tape:
            logits = model(images)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        for v, g in zip(variables, grads):
            v.assign_sub(lr * g)
        return loss

    def make_batch():
        images, labels = next_np()
        with tf.device(tf_device(device)):
            return tf.constant(images.transpose(0, 2, 3, 1).copy()), tf.constant(labels)

    return lenet_train, make_batch


register(
    "lenet",
    family="lenet",
    sizes=SIZES,
    samples=lambda s: s["batch"],
    training=True,
    paper_model="LeNet (CNN)",
    description="LeNet-5 on MNIST shapes, one SGD training step per call",
    torch=build_torch,
    tf=build_tf,
)

"""``gan``: a DCGAN on MNIST shapes (1x28x28 images, 100-d noise).  One call is one
GAN training iteration: a discriminator step (real vs. detached fake, BCE) then a
generator step (non-saturating loss through the just-updated discriminator), each
with its own Adam optimizer (lr 2e-4, beta1 0.5, as in DCGAN).  Returns
``(d_loss, g_loss)``.

Generator: fc -> BN -> ReLU -> (2*ngf, 7, 7) -> 4x4/2 transposed conv -> BN -> ReLU ->
4x4/2 transposed conv -> tanh.  Discriminator: 4x4/2 conv -> LeakyReLU(0.2) -> 4x4/2
conv -> BN -> LeakyReLU -> fc -> logit.  Batch norm in training mode.

torch: ``nn.Module`` + ``nn.ConvTranspose2d``, NCHW, ``loss.backward()``, two
``torch.optim.Adam``.  tf: ``tf.Module`` over ``tf.nn`` ops, NHWC, an outer generator
``tf.GradientTape`` (paused during the discriminator step) and two
``tf.keras.optimizers.Adam``.  Weights are DCGAN's N(0, 0.02), drawn once in NumPy.
"""

from __future__ import annotations

from typing import Any, Dict

from ._common import rng, tf_device, torch_device
from ._convnets import NamedInit, hwio, hwoi, nhwc, tf_batchnorm_class, torch_load
from .registry import register

SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(batch=4, nz=16, ngf=4, ndf=4, lr=2e-4),
    "quick": dict(batch=16, nz=64, ngf=16, ndf=16, lr=2e-4),
    "paper": dict(batch=64, nz=100, ngf=64, ndf=64, lr=2e-4),
}
STD = 0.02


def _weights(size, seed):
    """All weights in torch layout."""
    init = NamedInit(seed)
    nz, g, d = size["nz"], size["ngf"], size["ndf"]
    return {
        "g.fc": init.normal("g.fc", (2 * g * 49, nz), STD),
        "g.deconv1": init.normal("g.deconv1", (2 * g, g, 4, 4), STD),
        "g.deconv2": init.normal("g.deconv2", (g, 1, 4, 4), STD),
        "g.deconv2.bias": init.normal("g.deconv2.bias", (1,), STD),
        "d.conv1": init.normal("d.conv1", (d, 1, 4, 4), STD),
        "d.conv1.bias": init.normal("d.conv1.bias", (d,), STD),
        "d.conv2": init.normal("d.conv2", (2 * d, d, 4, 4), STD),
        "d.fc": init.normal("d.fc", (1, 2 * d * 49), STD),
        "d.fc.bias": init.normal("d.fc.bias", (1,), STD),
    }


def _data(size, seed):
    r = rng(seed, 1)

    def next_np():
        real = r.uniform(-1.0, 1.0, size=(size["batch"], 1, 28, 28)).astype("float32")
        z = r.standard_normal((size["batch"], size["nz"])).astype("float32")
        return real, z

    return next_np


# --------------------------------------------------------------------------- torch
def build_torch(size, seed, device="cpu"):
    import torch
    import torch.nn.functional as F
    from torch import nn

    w = _weights(size, seed)
    nz, g, d = size["nz"], size["ngf"], size["ndf"]

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(nz, 2 * g * 49, bias=False)
            self.bn0 = nn.BatchNorm1d(2 * g * 49)
            self.deconv1 = nn.ConvTranspose2d(2 * g, g, 4, stride=2, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(g)
            self.deconv2 = nn.ConvTranspose2d(g, 1, 4, stride=2, padding=1)
            for p, key in (
                (self.fc.weight, "g.fc"),
                (self.deconv1.weight, "g.deconv1"),
                (self.deconv2.weight, "g.deconv2"),
                (self.deconv2.bias, "g.deconv2.bias"),
            ):
                torch_load(p, w[key])

        def forward(self, z):
            h = F.relu(self.bn0(self.fc(z))).view(-1, 2 * g, 7, 7)
            h = F.relu(self.bn1(self.deconv1(h)))
            return torch.tanh(self.deconv2(h))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, d, 4, stride=2, padding=1)
            self.conv2 = nn.Conv2d(d, 2 * d, 4, stride=2, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(2 * d)
            self.fc = nn.Linear(2 * d * 49, 1)
            for p, key in (
                (self.conv1.weight, "d.conv1"),
                (self.conv1.bias, "d.conv1.bias"),
                (self.conv2.weight, "d.conv2"),
                (self.fc.weight, "d.fc"),
                (self.fc.bias, "d.fc.bias"),
            ):
                torch_load(p, w[key])

        def forward(self, x):
            h = F.leaky_relu(self.conv1(x), 0.2)
            h = F.leaky_relu(self.bn2(self.conv2(h)), 0.2)
            return self.fc(torch.flatten(h, 1))

    dev = torch_device(device)
    G, D = Generator().to(dev), Discriminator().to(dev)
    g_opt = torch.optim.Adam(G.parameters(), lr=size["lr"], betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=size["lr"], betas=(0.5, 0.999))
    next_np = _data(size, seed)

    def gan_train(real, z):
        fake = G(z)
        ones = torch.ones(real.shape[0], 1, device=real.device)
        zeros = torch.zeros(real.shape[0], 1, device=real.device)
        # discriminator: real -> 1, fake -> 0 (no gradient into G)
        d_loss = F.binary_cross_entropy_with_logits(D(real), ones) + F.binary_cross_entropy_with_logits(
            D(fake.detach()), zeros
        )
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        # generator: make the updated D call the fakes real
        g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        return d_loss.detach(), g_loss.detach()

    def make_batch():
        real, z = next_np()
        return torch.from_numpy(real).to(dev), torch.from_numpy(z).to(dev)

    return gan_train, make_batch


# --------------------------------------------------------------------------- tf
def build_tf(size, seed, device="cpu"):
    import tensorflow as tf

    BatchNorm = tf_batchnorm_class()
    w = _weights(size, seed)
    nz, g, d = size["nz"], size["ngf"], size["ndf"]
    pad1 = [[0, 0], [1, 1], [1, 1], [0, 0]]

    class Generator(tf.Module):
        def __init__(self):
            super().__init__()
            # torch's fc output is (C, 7, 7)-ordered; reorder its rows to (7, 7, C) for NHWC
            fc = w["g.fc"].reshape(2 * g, 7, 7, nz).transpose(1, 2, 0, 3).reshape(49 * 2 * g, nz)
            self.fc = tf.Variable(fc.T.copy(), name="fc")
            self.bn0 = BatchNorm(2 * g * 49)
            self.deconv1 = tf.Variable(hwoi(w["g.deconv1"]), name="deconv1")
            self.bn1 = BatchNorm(g)
            self.deconv2 = tf.Variable(hwoi(w["g.deconv2"]), name="deconv2")
            self.deconv2_b = tf.Variable(w["g.deconv2.bias"], name="deconv2_b")

        def __call__(self, z):
            n = z.shape[0]
            h = tf.reshape(tf.nn.relu(self.bn0(tf.matmul(z, self.fc))), [n, 7, 7, 2 * g])
            h = tf.nn.conv2d_transpose(h, self.deconv1, [n, 14, 14, g], strides=2, padding="SAME")
            h = tf.nn.relu(self.bn1(h))
            h = tf.nn.conv2d_transpose(h, self.deconv2, [n, 28, 28, 1], strides=2, padding="SAME")
            return tf.tanh(h + self.deconv2_b)

    class Discriminator(tf.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tf.Variable(hwio(w["d.conv1"]), name="conv1")
            self.conv1_b = tf.Variable(w["d.conv1.bias"], name="conv1_b")
            self.conv2 = tf.Variable(hwio(w["d.conv2"]), name="conv2")
            self.bn2 = BatchNorm(2 * d)
            fc = w["d.fc"].reshape(1, 2 * d, 7, 7).transpose(2, 3, 1, 0).reshape(49 * 2 * d, 1)
            self.fc = tf.Variable(fc, name="fc")
            self.fc_b = tf.Variable(w["d.fc.bias"], name="fc_b")

        def __call__(self, x):
            h = tf.nn.leaky_relu(tf.nn.conv2d(x, self.conv1, 2, pad1) + self.conv1_b, 0.2)
            h = tf.nn.leaky_relu(self.bn2(tf.nn.conv2d(h, self.conv2, 2, pad1)), 0.2)
            return tf.matmul(tf.reshape(h, [h.shape[0], -1]), self.fc) + self.fc_b

    def bce(logits, label):
        return tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), label), logits=logits)
        )

    with tf.device(tf_device(device)):
        G, D = Generator(), Discriminator()
        g_opt = tf.keras.optimizers.Adam(size["lr"], beta_1=0.5, beta_2=0.999, epsilon=1e-8)
        d_opt = tf.keras.optimizers.Adam(size["lr"], beta_1=0.5, beta_2=0.999, epsilon=1e-8)
    next_np = _data(size, seed)

    def gan_train(real, z):
        with tf.GradientTape() as g_tape:
            fake = G(z)
            with g_tape.stop_recording():
                with tf.GradientTape() as d_tape:
                    d_loss = bce(D(real), 1.0) + bce(D(tf.stop_gradient(fake)), 0.0)
                d_vars = D.trainable_variables
                d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
            g_loss = bce(D(fake), 1.0)
        g_vars = G.trainable_variables
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    def make_batch():
        real, z = next_np()
        with tf.device(tf_device(device)):
            return tf.constant(nhwc(real)), tf.constant(z)

    return gan_train, make_batch


register(
    "gan",
    family="gan",
    sizes=SIZES,
    samples=lambda s: s["batch"],
    training=True,
    paper_model="GAN (DCGAN, MNIST)",
    description="DCGAN on MNIST shapes: one discriminator and one generator Adam step per call "
    "(two optimizers), returns (d_loss, g_loss)",
    torch=build_torch,
    tf=build_tf,
)

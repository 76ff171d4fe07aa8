"""``pix2pix``: image-to-image conditional GAN (Isola et al.), one training iteration
per call: the generator maps A -> fake B, then a discriminator Adam step (PatchGAN on
(A, B) pairs, real vs. detached fake, BCE, halved), then a generator Adam step
(adversarial BCE + 100 * L1(fake B, B)).  Returns ``(d_loss, g_loss)``.

Generator: the U-Net of the reference implementation, log2(image) levels: 4x4/2 convs
with LeakyReLU(0.2) and batch norm (none on the outermost and innermost), 4x4/2
transposed convs with ReLU and batch norm, skip connections concatenating each
encoder level to the decoder (skip first, as in the reference), tanh output.  (The
reference's dropout in the decoder is left out: it would make the two frameworks'
runs differ.)  Discriminator: the 70x70 PatchGAN (C64-C128-C256-C512 at 4x4, the last
two at stride 1, then a 1-channel conv), batch norm in training mode.

torch: ``nn.Module`` + ``nn.ConvTranspose2d``, NCHW, two ``torch.optim.Adam``.
tf: ``tf.Module`` over ``tf.nn`` ops, NHWC, tapes + two ``tf.keras.optimizers.Adam``.
Weights N(0, 0.02) from NumPy, keyed by layer name, shared by both.
"""

from __future__ import annotations

import math
from typing import Any, Dict

from ._common import rng, tf_device, torch_device
from ._convnets import NamedInit, hwio, hwoi, nhwc, tf_batchnorm_class, torch_load
from .registry import register

SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(batch=2, image=32, channels=3, ngf=4, ndf=4, lr=2e-4, l1=100.0),
    "quick": dict(batch=4, image=32, channels=3, ngf=8, ndf=8, lr=2e-4, l1=100.0),
    "paper": dict(batch=1, image=256, channels=3, ngf=64, ndf=64, lr=2e-4, l1=100.0),
}
STD = 0.02


def _plan(size):
    """U-Net channels per level, and the PatchGAN's (cin, cout, stride, batch norm, bias) layers."""
    depth = int(round(math.log2(size["image"])))
    ngf, ndf, c = size["ngf"], size["ndf"], size["channels"]
    chans = [min(ngf * 2**i, ngf * 8) for i in range(depth)]
    disc = [(2 * c, ndf, 2, False, True)]
    for i in range(1, 4):
        disc.append((disc[-1][1], ndf * min(2**i, 8), 2 if i < 3 else 1, True, False))
    disc.append((disc[-1][1], 1, 1, False, True))
    return depth, chans, disc


def _weights(size, seed):
    """Torch-layout weights: down{i} (out, in, 4, 4), up{i} (in, out, 4, 4), disc{i}."""
    init = NamedInit(seed)
    depth, chans, disc = _plan(size)
    c = size["channels"]
    w = {}
    for i in range(depth):
        w[f"down{i}"] = init.normal(f"down{i}", (chans[i], c if i == 0 else chans[i - 1], 4, 4), STD)
        cin = chans[i] if i == depth - 1 else 2 * chans[i]
        w[f"up{i}"] = init.normal(f"up{i}", (cin, c if i == 0 else chans[i - 1], 4, 4), STD)
    w["up0.bias"] = init.normal("up0.bias", (c,), STD)
    for j, (cin, cout, _s, _bn, bias) in enumerate(disc):
        w[f"disc{j}"] = init.normal(f"disc{j}", (cout, cin, 4, 4), STD)
        if bias:
            w[f"disc{j}.bias"] = init.normal(f"disc{j}.bias", (cout,), STD)
    return w


def _data(size, seed):
    r = rng(seed, 1)
    shape = (size["batch"], size["channels"], size["image"], size["image"])

    def next_np():
        a = r.uniform(-1.0, 1.0, size=shape).astype("float32")
        b = r.uniform(-1.0, 1.0, size=shape).astype("float32")
        return a, b

    return next_np


# --------------------------------------------------------------------------- torch
def build_torch(size, seed, device="cpu"):
    import torch
    import torch.nn.functional as F
    from torch import nn

    depth, chans, disc = _plan(size)
    w = _weights(size, seed)
    c = size["channels"]

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.ModuleList()
            self.down_bn = nn.ModuleList()
            self.up = nn.ModuleList()
            self.up_bn = nn.ModuleList()
            for i in range(depth):
                cin = c if i == 0 else chans[i - 1]
                self.down.append(nn.Conv2d(cin, chans[i], 4, stride=2, padding=1, bias=False))
                torch_load(self.down[i].weight, w[f"down{i}"])
                self.down_bn.append(nn.BatchNorm2d(chans[i]) if 0 < i < depth - 1 else nn.Identity())
                up_in = chans[i] if i == depth - 1 else 2 * chans[i]
                up_out = c if i == 0 else chans[i - 1]
                self.up.append(nn.ConvTranspose2d(up_in, up_out, 4, stride=2, padding=1, bias=(i == 0)))
                torch_load(self.up[i].weight, w[f"up{i}"])
                self.up_bn.append(nn.BatchNorm2d(up_out) if i > 0 else nn.Identity())
            torch_load(self.up[0].bias, w["up0.bias"])

        def forward(self, x):
            skips = []
            h = x
            for i in range(depth):
                h = self.down[i](h if i == 0 else F.leaky_relu(h, 0.2))
                h = self.down_bn[i](h)
                skips.append(h)
            for i in reversed(range(depth)):
                h = self.up[i](F.relu(h))
                if i == 0:
                    return torch.tanh(h)
                h = torch.cat([skips[i - 1], self.up_bn[i](h)], dim=1)

    class PatchGAN(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList()
            self.bns = nn.ModuleList()
            for j, (cin, cout, stride, bn, bias) in enumerate(disc):
                conv = nn.Conv2d(cin, cout, 4, stride=stride, padding=1, bias=bias)
                torch_load(conv.weight, w[f"disc{j}"])
                if bias:
                    torch_load(conv.bias, w[f"disc{j}.bias"])
                self.convs.append(conv)
                self.bns.append(nn.BatchNorm2d(cout) if bn else nn.Identity())

        def forward(self, a, b):
            h = torch.cat([a, b], dim=1)
            for j, (conv, bn) in enumerate(zip(self.convs, self.bns)):
                h = bn(conv(h))
                if j < len(self.convs) - 1:
                    h = F.leaky_relu(h, 0.2)
            return h

    dev = torch_device(device)
    G, D = UNet().to(dev), PatchGAN().to(dev)
    g_opt = torch.optim.Adam(G.parameters(), lr=size["lr"], betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=size["lr"], betas=(0.5, 0.999))
    l1_weight = size["l1"]
    next_np = _data(size, seed)

    def gan_loss(pred, real: bool):
        target = torch.ones_like(pred) if real else torch.zeros_like(pred)
        return F.binary_cross_entropy_with_logits(pred, target)

    def pix2pix_train(real_a, real_b):
        fake_b = G(real_a)
        # discriminator step
        d_loss = 0.5 * (gan_loss(D(real_a, fake_b.detach()), False) + gan_loss(D(real_a, real_b), True))
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        # generator step: fool the updated D, stay close to B in L1
        g_loss = gan_loss(D(real_a, fake_b), True) + l1_weight * F.l1_loss(fake_b, real_b)
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        return d_loss.detach(), g_loss.detach()

    def make_batch():
        a, b = next_np()
        return torch.from_numpy(a).to(dev), torch.from_numpy(b).to(dev)

    return pix2pix_train, make_batch


# --------------------------------------------------------------------------- tf
def build_tf(size, seed, device="cpu"):
    import tensorflow as tf

    BatchNorm = tf_batchnorm_class()
    depth, chans, disc = _plan(size)
    w = _weights(size, seed)
    pad1 = [[0, 0], [1, 1], [1, 1], [0, 0]]

    class UNet(tf.Module):
        def __init__(self):
            super().__init__()
            self.down = [tf.Variable(hwio(w[f"down{i}"]), name=f"down{i}") for i in range(depth)]
            self.down_bn = [BatchNorm(chans[i]) if 0 < i < depth - 1 else None for i in range(depth)]
            self.up = [tf.Variable(hwoi(w[f"up{i}"]), name=f"up{i}") for i in range(depth)]
            self.up_bn = [BatchNorm(chans[i - 1]) if i > 0 else None for i in range(depth)]
            self.up0_b = tf.Variable(w["up0.bias"], name="up0_b")

        def __call__(self, x):
            skips = []
            h = x
            for i in range(depth):
                h = tf.nn.conv2d(h if i == 0 else tf.nn.leaky_relu(h, 0.2), self.down[i], 2, pad1)
                if self.down_bn[i] is not None:
                    h = self.down_bn[i](h)
                skips.append(h)
            for i in reversed(range(depth)):
                n, hh, ww, _ = h.shape
                out_c = self.up[i].shape[2]
                h = tf.nn.conv2d_transpose(tf.nn.relu(h), self.up[i], [n, 2 * hh, 2 * ww, out_c], 2, "SAME")
                if i == 0:
                    return tf.tanh(h + self.up0_b)
                h = tf.concat([skips[i - 1], self.up_bn[i](h)], axis=-1)

    class PatchGAN(tf.Module):
        def __init__(self):
            super().__init__()
            self.convs = [tf.Variable(hwio(w[f"disc{j}"]), name=f"disc{j}") for j in range(len(disc))]
            self.biases = [
                tf.Variable(w[f"disc{j}.bias"], name=f"disc{j}_b") if bias else None
                for j, (_ci, _co, _s, _bn, bias) in enumerate(disc)
            ]
            self.bns = [BatchNorm(cout) if bn else None for (_ci, cout, _s, bn, _b) in disc]
            self.strides = [s for (_ci, _co, s, _bn, _b) in disc]

        def __call__(self, a, b):
            h = tf.concat([a, b], axis=-1)
            for j in range(len(self.convs)):
                h = tf.nn.conv2d(h, self.convs[j], self.strides[j], pad1)
                if self.biases[j] is not None:
                    h = h + self.biases[j]
                if self.bns[j] is not None:
                    h = self.bns[j](h)
                if j < len(self.convs) - 1:
                    h = tf.nn.leaky_relu(h, 0.2)
            return h

    def gan_loss(pred, real: bool):
        target = tf.ones_like(pred) if real else tf.zeros_like(pred)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=pred))

    with tf.device(tf_device(device)):
        G, D = UNet(), PatchGAN()
        g_opt = tf.keras.optimizers.Adam(size["lr"], beta_1=0.5, beta_2=0.999, epsilon=1e-8)
        d_opt = tf.keras.optimizers.Adam(size["lr"], beta_1=0.5, beta_2=0.999, epsilon=1e-8)
    l1_weight = size["l1"]
    next_np = _data(size, seed)

    def pix2pix_train(real_a, real_b):
        with tf.GradientTape() as g_tape:
            fake_b = G(real_a)
            with g_tape.stop_recording():
                with tf.GradientTape() as d_tape:
                    d_loss = 0.5 * (
                        gan_loss(D(real_a, tf.stop_gradient(fake_b)), False) + gan_loss(D(real_a, real_b), True)
                    )
                d_vars = D.trainable_variables
                d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
            g_loss = gan_loss(D(real_a, fake_b), True) + l1_weight * tf.reduce_mean(tf.abs(fake_b - real_b))
        g_vars = G.trainable_variables
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    def make_batch():
        a, b = next_np()
        with tf.device(tf_device(device)):
            return tf.constant(nhwc(a)), tf.constant(nhwc(b))

    return pix2pix_train, make_batch


register(
    "pix2pix",
    family="pix2pix",
    sizes=SIZES,
    samples=lambda s: s["batch"],
    training=True,
    paper_model="pix2pix (image-to-image GAN)",
    description="pix2pix: U-Net generator with skip connections + PatchGAN discriminator, "
    "one D and one G Adam step per call (BCE + 100*L1), returns (d_loss, g_loss)",
    torch=build_torch,
    tf=build_tf,
)

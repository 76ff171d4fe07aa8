"""Helpers shared by the convolutional model modules (resnet, inception, gan, pix2pix):
NumPy weights keyed by a layer's *name* (so torch and tf, which build their layers in
their own order and layouts, get the same numbers), weight layout conversions, and a
training-mode batch normalisation for ``tf.Module`` models that mirrors
``torch.nn.BatchNorm2d`` (batch statistics, biased variance for normalising,
unbiased variance for the running estimate, momentum 0.1)."""

from __future__ import annotations

import functools
import zlib

import numpy as np


class NamedInit:
    """``init.he("layer1.0.conv1", (out, in, kh, kw))``: the same array for the same
    (seed, name) in any order.  Shapes are given in torch layout."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, 0, zlib.crc32(name.encode())])

    def he(self, name: str, shape, fan_in: int = None) -> np.ndarray:
        fan_in = fan_in or int(np.prod(shape[1:]))
        return (self.rng(name).standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def normal(self, name: str, shape, std: float) -> np.ndarray:
        return (self.rng(name).standard_normal(shape) * std).astype(np.float32)

    def uniform(self, name: str, shape, fan_in: int) -> np.ndarray:
        k = 1.0 / np.sqrt(max(fan_in, 1))
        return self.rng(name).uniform(-k, k, size=shape).astype(np.float32)


def hwio(w: np.ndarray) -> np.ndarray:
    """Conv kernel, torch (out, in, kh, kw) -> tf (kh, kw, in, out)."""
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def hwoi(w: np.ndarray) -> np.ndarray:
    """Transposed-conv kernel, torch (in, out, kh, kw) -> tf conv2d_transpose (kh, kw, out, in)."""
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def torch_load(param, array: np.ndarray) -> None:
    """Overwrite a torch parameter in place with a NumPy array."""
    import torch

    with torch.no_grad():
        param.copy_(torch.from_numpy(array))


@functools.cache
def tf_batchnorm_class():
    import tensorflow as tf

    class BatchNorm(tf.Module):
        """Batch normalisation in training mode over N, H, W of an NHWC tensor (or N of NC)."""

        def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1, name=None):
            super().__init__(name=name)
            self.eps, self.momentum = eps, momentum
            self.gamma = tf.Variable(tf.ones([channels]), name="gamma")
            self.beta = tf.Variable(tf.zeros([channels]), name="beta")
            self.moving_mean = tf.Variable(tf.zeros([channels]), trainable=False, name="moving_mean")
            self.moving_var = tf.Variable(tf.ones([channels]), trainable=False, name="moving_var")

        def __call__(self, x):
            axes = list(range(len(x.shape) - 1))
            mean, var = tf.nn.moments(x, axes=axes)
            n = 1
            for a in axes:
                n *= x.shape[a]
            m = self.momentum
            self.moving_mean.assign((1 - m) * self.moving_mean + m * tf.stop_gradient(mean))
            self.moving_var.assign((1 - m) * self.moving_var + m * tf.stop_gradient(var) * (n / max(n - 1, 1)))
            return tf.nn.batch_normalization(x, mean, var, self.beta, self.gamma, self.eps)

    return BatchNorm

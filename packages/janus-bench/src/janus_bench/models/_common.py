"""Helpers shared by the model modules: seeded NumPy initialisation (so a seed gives the
same weights and data in both frameworks) and device names."""

from __future__ import annotations

import numpy as np


def rng(seed: int, stream: int) -> np.random.Generator:
    """Independent generators per (seed, stream): stream 0 weights, 1 data, ..."""
    return np.random.default_rng([int(seed), int(stream)])


def uniform(r: np.random.Generator, shape, fan_in: int) -> np.ndarray:
    k = 1.0 / np.sqrt(max(fan_in, 1))
    return r.uniform(-k, k, size=shape).astype(np.float32)


def normal(r: np.random.Generator, shape) -> np.ndarray:
    return r.standard_normal(size=shape).astype(np.float32)


def torch_device(device: str) -> str:
    return "cuda" if device == "cuda" else "cpu"


def tf_device(device: str) -> str:
    return "/GPU:0" if device == "cuda" else "/CPU:0"

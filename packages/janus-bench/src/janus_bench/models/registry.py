"""The workload registry.

A *workload* is one model of the benchmark suite (``lstm_forward``, ``branchy``, ...).
It has one native, imperative *implementation* per framework, written the way a user
of that framework writes it (plain Python with loops, ifs, recursion, module
attributes).  An implementation exposes::

    step_fn, make_batch = impl.build(size_profile, seed, device="cpu")
    out = step_fn(*make_batch())          # the call being timed
    impl.samples_per_call(size_profile)   # for samples/s

`make_batch()` returns a fresh batch (a tuple of positional arguments) on each call;
the sequence of batches is a pure function of `seed`, so two builds with the same
seed see the same data (the differential tests rely on it).

Each model family lives in its own module of `janus_bench.models` and registers its
workloads with `register(...)` at import time; `PLANNED` lists the paper's models that
are not implemented yet (the runner reports them as such).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

PROFILES = ("smoke", "quick", "paper")
FRAMEWORKS = ("torch", "tf")

BuildFn = Callable[..., Tuple[Callable[..., Any], Callable[[], tuple]]]


@dataclass(frozen=True)
class Implementation:
    """One framework's version of a workload."""

    workload: str
    framework: str
    _build: BuildFn
    _samples: Callable[[Dict[str, Any]], int]
    sizes: Dict[str, Dict[str, Any]]

    def build(self, size_profile: str, seed: int = 0, device: str = "cpu"):
        """Returns ``(step_fn, make_batch)``."""
        return self._build(self.size(size_profile), seed, device)

    def size(self, size_profile: str) -> Dict[str, Any]:
        if size_profile not in self.sizes:
            raise ValueError(f"unknown size profile {size_profile!r}; expected one of {', '.join(PROFILES)}")
        return dict(self.sizes[size_profile])

    def samples_per_call(self, size_profile: str) -> int:
        return int(self._samples(self.size(size_profile)))


@dataclass
class Workload:
    name: str
    description: str
    family: str  # module under janus_bench.models
    paper_model: Optional[str]  # the paper's model this stands for, if any
    training: bool  # one call = one optimizer step (mutates weights)
    sizes: Dict[str, Dict[str, Any]]
    implementations: Dict[str, Implementation] = field(default_factory=dict)

    def impl(self, framework: str) -> Implementation:
        if framework not in self.implementations:
            raise KeyError(
                f"workload {self.name!r} has no {framework} implementation "
                f"(has: {', '.join(self.implementations) or 'none'})"
            )
        return self.implementations[framework]


_REGISTRY: Dict[str, Workload] = {}


def register(
    name: str,
    *,
    description: str,
    family: str,
    sizes: Dict[str, Dict[str, Any]],
    samples: Callable[[Dict[str, Any]], int],
    training: bool = False,
    paper_model: Optional[str] = None,
    **builders: BuildFn,
) -> Workload:
    """Register workload `name` with one builder per framework (``torch=``, ``tf=``).
    A builder is ``build(size: dict, seed: int, device: str) -> (step_fn, make_batch)``."""
    missing = [p for p in PROFILES if p not in sizes]
    if missing:
        raise ValueError(f"workload {name!r} lacks size profiles {missing}")
    unknown = [fw for fw in builders if fw not in FRAMEWORKS]
    if unknown:
        raise ValueError(f"workload {name!r}: unknown frameworks {unknown}")
    w = Workload(name, description, family, paper_model, training, sizes)
    for fw, fn in builders.items():
        w.implementations[fw] = Implementation(name, fw, fn, samples, sizes)
    _REGISTRY[name] = w
    return w


def get_workload(name: str) -> Workload:
    if name not in _REGISTRY:
        planned = f" ({name!r} is planned, not implemented yet)" if name in PLANNED else ""
        raise KeyError(f"unknown workload {name!r}{planned}; available: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def workloads() -> List[str]:
    """Names of the registered workloads, in registration order."""
    return list(_REGISTRY)


# The rest of the paper's evaluation (NSDI'19, Table 1 / Figure 6).  To add one: write
# models/<family>.py with `build_torch` / `build_tf` and call `register(...)` at module
# level; models/__init__.py imports every module and drops implemented names from here.
PLANNED: Dict[str, str] = {
    "resnet50": "ResNet-50 on ImageNet shapes (CNN, training)",
    "inception_v3": "Inception-v3 on ImageNet shapes (CNN, training)",
    "lstm_lm": "LSTM language model on PTB shapes (RNN, training)",
    "lm_large_vocab": "large-vocabulary LSTM LM (1B words shapes, sampled softmax)",
    "treelstm": "TreeLSTM on SST-like trees (TreeNN, training)",
    "a3c": "A3C actor-critic (DRL, training)",
    "ppo": "PPO (DRL, training)",
    "gan": "GAN (generator + discriminator steps)",
    "pix2pix": "pix2pix image-to-image GAN",
}

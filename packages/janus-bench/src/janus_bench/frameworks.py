"""Framework plumbing: importing torch / TensorFlow quietly, JANUS backend availability,
native graph modes, synchronisation, conversion of outputs to NumPy, and the
description of the machine and versions."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
from typing import Any, Callable, Dict, Optional

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FRAMEWORK_MODULE = {"torch": "torch", "tf": "tensorflow"}
BACKEND_MODULE = {"torch": "janus_torch", "tf": "janus_tf"}
BACKEND_DIST = {"torch": "janus-backend-torch", "tf": "janus-backend-tf"}


def import_framework(fw: str):
    """Import the framework module, or raise ImportError with a clear message."""
    if fw not in FRAMEWORK_MODULE:
        raise ValueError(f"unknown framework {fw!r}; expected torch or tf")
    mod = importlib.import_module(FRAMEWORK_MODULE[fw])
    if fw == "tf":
        try:
            mod.get_logger().setLevel("ERROR")
            mod.autograph.set_verbosity(0)
        except Exception:
            pass
    return mod


def framework_available(fw: str) -> bool:
    return importlib.util.find_spec(FRAMEWORK_MODULE[fw]) is not None


def janus_backend_problem(fw: str) -> Optional[str]:
    """None when ``janus.jit(..., backend=fw)`` can be created, else why not."""
    try:
        import janus

        names = janus.backends()
    except Exception as e:  # janus itself is broken
        return f"janus unusable: {type(e).__name__}: {e}"
    if fw not in names:
        hint = "" if importlib.util.find_spec(BACKEND_MODULE[fw]) else f" ({BACKEND_DIST[fw]} not installed)"
        return f"no JANUS backend {fw!r} registered{hint}; registered: {', '.join(names)}"
    return None


def janus_backend_importable(fw: str) -> bool:
    return importlib.util.find_spec(BACKEND_MODULE[fw]) is not None


# --------------------------------------------------------------------------- modes
def native_compile(fw: str, fn: Callable, torch_backend: str = "inductor") -> Callable:
    """The framework's own graph mode: ``torch.compile`` (Inductor) / ``tf.function``."""
    if fw == "torch":
        import torch

        return torch.compile(fn, backend=torch_backend)
    if fw == "tf":
        import tensorflow as tf

        return tf.function(fn)
    raise ValueError(fw)


def native_name(fw: str, torch_backend: str = "inductor") -> str:
    return {"torch": f"torch.compile(backend={torch_backend!r})", "tf": "tf.function"}[fw]


def sync(fw: str, device: str, out: Any = None) -> None:
    """Wait for queued device work (a no-op on CPU)."""
    if device != "cuda":
        return
    if fw == "torch":
        import torch

        torch.cuda.synchronize()
    elif fw == "tf":
        to_numpy(out)


def reset_native_caches(fw: str) -> None:
    """Forget compiled code between workloads so one model's recompile budget does not
    leak into the next (torch.compile's cache is per code object, but be safe)."""
    if fw == "torch":
        try:
            import torch._dynamo

            torch._dynamo.reset()
        except Exception:
            pass


def to_numpy(value: Any) -> Any:
    """Outputs (tensors, nested tuples/lists/dicts, Python numbers) as NumPy arrays."""
    if isinstance(value, (tuple, list)):
        return type(value)(to_numpy(v) for v in value)
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy"):  # tf EagerTensor / Variable
        return np.asarray(value.numpy())
    return np.asarray(value)


# --------------------------------------------------------------------------- environment
def _version(dist: str) -> Optional[str]:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def set_threads(n: int, frameworks) -> None:
    """Intra-op threads for torch and TensorFlow (call before TensorFlow runs anything)."""
    if "torch" in frameworks and framework_available("torch"):
        import torch

        torch.set_num_threads(n)
    if "tf" in frameworks and framework_available("tf"):
        tf = import_framework("tf")
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(n)
        except RuntimeError:  # TensorFlow already initialised
            pass


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def environment(device: str, frameworks) -> Dict[str, Any]:
    versions: Dict[str, Optional[str]] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "janus-core": _version("janus-core"),
        "janus-bench": _version("janus-bench"),
        "janus-backend-torch": _version("janus-backend-torch"),
        "janus-backend-tf": _version("janus-backend-tf"),
        "torch": _version("torch"),
        "tensorflow": _version("tensorflow") or _version("tensorflow-cpu") or _version("tensorflow_cpu"),
    }
    info: Dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "device": device,
        "device_name": cpu_model() if device == "cpu" else None,
        "versions": versions,
        "janus_backends": [],
        "threads": {},
        "load_avg": _loadavg(),
    }
    try:
        import janus

        versions["janus"] = getattr(janus, "__version__", None)
        info["janus_backends"] = janus.backends()
    except Exception as e:
        info["janus_backends"] = [f"error: {type(e).__name__}: {e}"]
    if "torch" in frameworks and framework_available("torch"):
        try:
            import torch

            versions["torch"] = torch.__version__
            info["threads"]["torch"] = torch.get_num_threads()
            info["threads"]["torch_interop"] = torch.get_num_interop_threads()
            if device == "cuda" and torch.cuda.is_available():
                info["device_name"] = torch.cuda.get_device_name(0)
        except Exception:
            pass
    if "tf" in frameworks and framework_available("tf"):
        try:
            tf = import_framework("tf")
            versions["tensorflow"] = tf.__version__
            info["threads"]["tf_intra_op"] = tf.config.threading.get_intra_op_parallelism_threads()
            info["threads"]["tf_inter_op"] = tf.config.threading.get_inter_op_parallelism_threads()
            if device == "cuda" and info["device_name"] is None:
                gpus = tf.config.list_physical_devices("GPU")
                info["device_name"] = gpus[0].name if gpus else None
        except Exception:
            pass
    return info


def device_problem(fw: str, device: str) -> Optional[str]:
    """None when `fw` can run on `device`, else why not."""
    if device == "cpu":
        return None
    if fw == "torch":
        import torch

        return None if torch.cuda.is_available() else "torch: CUDA is not available"
    if fw == "tf":
        tf = import_framework("tf")
        return None if tf.config.list_physical_devices("GPU") else "tensorflow: no GPU visible"
    return f"unknown framework {fw}"

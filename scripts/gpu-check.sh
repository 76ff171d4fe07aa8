#!/usr/bin/env bash
# GPU checks, on a machine with a CUDA device (the normal test run skips GPU-only cases):
#   1. the torch backend's GPU tests: the conformance corpus with its tensors on CUDA
#      against eager, the device in specs and guards, the CUDA-graphs tier, RNG parity;
#   2. the quick benchmark on the GPU (torch; tf too when TensorFlow sees a GPU).
# Usage: scripts/gpu-check.sh [extra janus-bench arguments]; PYTHON selects the
# interpreter (default: .venv/bin/python if present, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
"$PY" - <<'PYEOF'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit("gpu-check: no CUDA device visible to torch")
print(f"gpu-check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
PYEOF
"$PY" -m pytest -q -p no:cacheprovider packages/janus-backend-torch/tests/test_gpu.py -rs
FRAMEWORKS=torch
if "$PY" -c "import sys, tensorflow as tf; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)" 2>/dev/null; then
  FRAMEWORKS=torch,tf
fi
"$PY" -m janus_bench --quick --device cuda --frameworks "$FRAMEWORKS" --out bench-results-gpu --no-progress "$@"

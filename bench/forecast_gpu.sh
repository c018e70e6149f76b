#!/usr/bin/env bash
# GPU batch throughput of the forecasting transformer, with the CPU figure rerun on the same machine.
# Run from the repository root on a machine with an NVIDIA GPU: bash bench/forecast_gpu.sh [OUT_DIR]
# Needs python3 with torch, numpy and pandas importable; installs nothing.
set -u
out="${1:-${OUT:-/tmp}}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$out/gpu.txt"
py="${PYTHON:-python3}"
for candidate in .venv/bin/python python3 python; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import torch, numpy, pandas, tqdm" 2>/dev/null; then
    py="$candidate"; break
  fi
done
if ! "$py" -c "import torch, numpy, pandas, tqdm" 2>"$out/import_error.txt"; then
  echo "torch/numpy/pandas/tqdm not importable with $py: skipping the GPU benchmark" | tee -a "$out/gpu.txt"
  cat "$out/import_error.txt"
  exit 0
fi
"$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
PYTHONPATH=. "$py" bench/forecast_gpu.py --models-dir "${MODELS_DIR:-twin_engine/models}" --out "$out/forecast_gpu.json"

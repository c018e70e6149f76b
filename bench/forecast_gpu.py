"""Batch throughput of the forecasting transformer on CUDA and on CPU in the same process.

Usage: PYTHONPATH=. python bench/forecast_gpu.py [--models-dir twin_engine/models] [--out result.json]

Inputs are synthetic windows with the production shape (112 days x 6 channels, 30% missing), because
throughput depends on shape, not on values. Two figures per device: `net` (tensors already on the device,
forward pass only) and `predict` (the public `predict` path: numpy feature build, transfer, forward, copy
back), beside `predict_host_inputs` (the earlier path: features built on the CPU, copied to the device per
chunk). The CPU figure is rerun here so both numbers come from the same machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from twin_engine.forecast.transformer import PatchTransformerModel
from twin_engine.forecast.windows import HISTORY_DAYS, WindowSet
from twin_engine.registry import load_artifact


def synthetic_windows(m: int, rng: np.random.Generator) -> WindowSet:
    history = rng.normal(5.0, 1.5, (m, HISTORY_DAYS, 6)).astype(np.float32)
    history[rng.random(history.shape) < 0.3] = np.nan
    history[:, :, 5] = 0.0
    return WindowSet(
        history=history,
        targets=np.full((m, 28), np.nan, dtype=np.float32),
        loc=np.nanmean(history[:, :, 0], axis=1).astype(np.float32),
        scale=1.8,
        grade=np.array(["A"] * m),
        subject=np.arange(m),
        origin=np.zeros(m, dtype=np.int64),
    )


def timed(fn, repeats: int) -> float:
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def measure(directory: Path, config: dict[str, object], device: str, batch: int) -> dict[str, float]:
    model = PatchTransformerModel.load(directory, config, device)
    windows = synthetic_windows(batch, np.random.default_rng(0))
    x, s = model._inputs(windows)
    x, s = x.to(model.device), s.to(model.device)
    net = model._net
    assert net is not None

    def forward() -> None:
        with torch.inference_mode():
            for i in range(0, batch, 16384):
                net(x[i : i + 16384], s[i : i + 16384])

    def predict_host_inputs() -> None:
        # The earlier path: features built on the CPU, then copied to the device chunk by chunk.
        with torch.inference_mode():
            x_cpu, s_cpu = model._inputs(windows, torch.device("cpu"))
            outs = model._forward_chunks(x_cpu, s_cpu)
        windows.loc[:, None, None] + windows.scale * np.concatenate(outs, axis=0)[:, :28, :]

    net_s = timed(forward, 5)
    predict_s = timed(lambda: model.predict(windows, 28), 3)
    host_s = timed(predict_host_inputs, 3)
    return {
        "batch": batch,
        "net_series_per_s": round(batch / net_s),
        "predict_series_per_s": round(batch / predict_s),
        "predict_host_inputs_series_per_s": round(batch / host_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models-dir", type=Path, default=Path("twin_engine/models"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    art = load_artifact(args.models_dir, "forecaster")
    metric = "mood_rating"
    config = art.manifest["config"][metric]["members"]["transformer"]  # type: ignore[index]
    directory = art.directory / metric
    result: dict[str, object] = {
        "artifact": f"{art.name} {art.version}",
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cpu": [measure(directory, config, "cpu", b) for b in (1000, 8192)],
    }
    if torch.cuda.is_available():
        result["cuda"] = [measure(directory, config, "cuda", b) for b in (8192, 65536, 262144)]
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()

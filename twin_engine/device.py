"""Explicit compute-device choice for torch models: CPU by default, CUDA only when asked and present."""

from __future__ import annotations

import torch

from twin_engine.errors import DeviceUnavailableError


def select_device(requested: str | None = None) -> torch.device:
    """Resolve "cpu", "cuda" or None/"auto" (CUDA when available, else CPU).

    Raises:
        DeviceUnavailableError: "cuda" was requested on a machine without a usable GPU.
    """
    if requested in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cpu":
        return torch.device("cpu")
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailableError("CUDA was requested but torch.cuda.is_available() is False")
        return torch.device(requested)
    raise DeviceUnavailableError(f"unknown device {requested!r} (use cpu, cuda or auto)")

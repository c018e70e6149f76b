"""Global patch transformer: one torch encoder trained across patients, predicting quantiles per day.

The history window is cut into weekly patches (target, its missingness mask and standardised covariates
with masks); a summary token carries the patient's level and data density. The head emits monotone
quantiles (a median plus cumulative softplus steps) for every horizon day. CPU by default; the device is
an explicit argument (see `twin_engine.device`).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from twin_engine.device import select_device
from twin_engine.errors import ModelArtifactError, NotFittedError
from twin_engine.forecast.base import MAX_HORIZON, MEDIAN_INDEX, QUANTILES
from twin_engine.forecast.windows import HISTORY_DAYS, WindowSet

PATCH = 7
SMALL_BATCH = 64


class _PatchEncoder(nn.Module):
    def __init__(self, in_channels: int, d_model: int, layers: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.patches = HISTORY_DAYS // PATCH
        self.embed = nn.Linear(PATCH * in_channels, d_model)
        self.summary = nn.Linear(4, d_model)
        self.position = nn.Parameter(torch.zeros(1, self.patches + 1, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=2 * d_model, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(2 * d_model)
        self.head = nn.Linear(2 * d_model, MAX_HORIZON * len(QUANTILES))

    def forward(self, seq: torch.Tensor, summary: torch.Tensor) -> torch.Tensor:
        b = seq.shape[0]
        tokens = self.embed(seq.reshape(b, self.patches, -1))
        x = torch.cat([self.summary(summary)[:, None, :], tokens], dim=1) + self.position
        x = self.encoder(x)
        z = self.head(self.norm(torch.cat([x[:, 0], x[:, -1]], dim=-1)))
        z = z.reshape(b, MAX_HORIZON, len(QUANTILES))
        # Monotone quantiles: the median plus cumulative positive steps either side of it.
        mid = z[:, :, MEDIAN_INDEX : MEDIAN_INDEX + 1]
        up = torch.cumsum(nn.functional.softplus(z[:, :, MEDIAN_INDEX + 1 :]), dim=-1)
        down = torch.flip(torch.cumsum(nn.functional.softplus(z[:, :, :MEDIAN_INDEX].flip(-1)), dim=-1), [-1])
        return torch.cat([mid - down, mid, mid + up], dim=-1)


def _pinball(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    diff = target[:, :, None] - pred
    loss = torch.maximum(q * diff, (q - 1.0) * diff) * mask[:, :, None]
    return loss.sum() / (mask.sum() * q.shape[0]).clamp(min=1.0)


class PatchTransformerModel:
    """Public wrapper: feature tensors, training loop with early stopping, batched inference, save/load."""

    name = "transformer"

    def __init__(
        self,
        d_model: int = 48,
        layers: int = 2,
        heads: int = 4,
        dropout: float = 0.1,
        max_epochs: int = 12,
        patience: int = 3,
        batch_size: int = 512,
        learning_rate: float = 3e-3,
        seed: int = 0,
        device: str | None = "cpu",
        progress: bool = False,
    ) -> None:
        self.hparams = {"d_model": d_model, "layers": layers, "heads": heads, "dropout": dropout}
        self.max_epochs, self.patience, self.batch_size = max_epochs, patience, batch_size
        self.learning_rate, self.seed, self.progress = learning_rate, seed, progress
        self.device = select_device(device)
        self._net: _PatchEncoder | None = None
        self._cov_mean: np.ndarray | None = None
        self._cov_std: np.ndarray | None = None
        self.epochs_run = 0

    def _inputs(self, w: WindowSet, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's inputs, built with torch on `device`.

        Predicting on a GPU, the raw history (6 channels) crosses the bus once and the features (11 channels)
        are made there: building them with numpy on the CPU bounded GPU throughput at a third of what the
        forward pass allows.
        """
        assert self._cov_mean is not None and self._cov_std is not None
        dev = device or torch.device("cpu")
        history = torch.as_tensor(w.history, dtype=torch.float32, device=dev)
        loc = torch.as_tensor(w.loc, dtype=torch.float32, device=dev)
        cov_mean = torch.as_tensor(self._cov_mean, dtype=torch.float32, device=dev)
        cov_std = torch.as_tensor(self._cov_std, dtype=torch.float32, device=dev)
        y = (history[:, :, 0] - loc[:, None]) / w.scale
        y_mask = torch.isfinite(y)
        y_filled = torch.nan_to_num(y)
        cov = (history[:, :, 1:] - cov_mean) / cov_std
        cov_mask = torch.isfinite(cov)
        seq = torch.cat(
            [y_filled[:, :, None], y_mask[:, :, None].float(), torch.nan_to_num(cov), cov_mask[:, :, :-1].float()],
            dim=2,
        )
        count = y_mask.sum(dim=1).float()
        spread = torch.sqrt((y_filled**2).sum(dim=1) / count.clamp(min=1))
        recent = y_mask[:, -14:].float().mean(dim=1)
        summary = torch.stack([loc / w.scale, count / HISTORY_DAYS, spread, recent], dim=1)
        return seq, summary

    def fit(self, train: WindowSet, valid: WindowSet) -> None:
        """Train with AdamW; stop when the validation quantile loss stops improving (`patience` epochs)."""
        torch.manual_seed(self.seed)
        cov = train.history[:, :, 1:].reshape(-1, train.history.shape[2] - 1)
        self._cov_mean = np.nan_to_num(np.nanmean(cov, axis=0)).astype(np.float32)
        self._cov_std = (np.nan_to_num(np.nanstd(cov, axis=0), nan=1.0) + 1e-3).astype(np.float32)
        in_channels = 2 + 2 * (train.history.shape[2] - 1) - 1
        self._net = _PatchEncoder(in_channels, **self.hparams).to(self.device)  # type: ignore[arg-type]
        opt = torch.optim.AdamW(self._net.parameters(), lr=self.learning_rate, weight_decay=1e-4)
        q = torch.as_tensor(QUANTILES, dtype=torch.float32, device=self.device)
        xs, ss = self._inputs(train)
        yt = torch.as_tensor(np.nan_to_num((train.targets - train.loc[:, None]) / train.scale))
        mt = torch.as_tensor(np.isfinite(train.targets).astype(np.float32))
        xv, sv = self._inputs(valid)
        yv = torch.as_tensor(np.nan_to_num((valid.targets - valid.loc[:, None]) / valid.scale))
        mv = torch.as_tensor(np.isfinite(valid.targets).astype(np.float32))
        best, best_state, stale = float("inf"), None, 0
        gen = torch.Generator().manual_seed(self.seed)
        bar = tqdm(range(self.max_epochs), desc="transformer", disable=not self.progress, unit="epoch")
        for _epoch in bar:
            self._net.train()
            order = torch.randperm(len(train), generator=gen)
            for start in range(0, len(train), self.batch_size):
                idx = order[start : start + self.batch_size]
                pred = self._net(xs[idx].to(self.device), ss[idx].to(self.device))
                loss = _pinball(pred, yt[idx].to(self.device), mt[idx].to(self.device), q)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self._net.parameters(), 1.0)
                opt.step()
            val = self._loss(xv, sv, yv, mv, q)
            self.epochs_run += 1
            bar.set_postfix(valid_loss=f"{val:.4f}")
            if val < best - 1e-4:
                best, stale = val, 0
                best_state = {k: v.detach().clone() for k, v in self._net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            self._net.load_state_dict(best_state)
        self._net.eval()

    @torch.inference_mode()
    def _loss(self, x: torch.Tensor, s: torch.Tensor, y: torch.Tensor, m: torch.Tensor, q: torch.Tensor) -> float:
        assert self._net is not None
        self._net.eval()
        total, weight = 0.0, 0.0
        for start in range(0, x.shape[0], 4096):
            sl = slice(start, start + 4096)
            pred = self._net(x[sl].to(self.device), s[sl].to(self.device))
            w = float(m[sl].sum())
            total += float(_pinball(pred, y[sl].to(self.device), m[sl].to(self.device), q)) * w
            weight += w
        return total / max(weight, 1.0)

    @torch.inference_mode()
    def predict(self, windows: WindowSet, horizon: int) -> np.ndarray:
        """Raw quantiles (m, horizon, len(QUANTILES)), computed in batches of 4096 windows."""
        if self._net is None:
            raise NotFittedError("PatchTransformerModel.predict before fit/load")
        x, s = self._inputs(windows, self.device)
        threads = torch.get_num_threads()
        if self.device.type == "cpu" and len(windows) < SMALL_BATCH:
            # Intra-op threads cost more than they save on a handful of windows (p99 x10 on 2 cores).
            torch.set_num_threads(1)
        try:
            outs = self._forward_chunks(x, s)
        finally:
            torch.set_num_threads(threads)
        z = np.concatenate(outs, axis=0)[:, :horizon, :] if outs else np.zeros((0, horizon, len(QUANTILES)))
        return windows.loc[:, None, None] + windows.scale * z

    def _forward_chunks(self, x: torch.Tensor, s: torch.Tensor) -> list[np.ndarray]:
        assert self._net is not None
        return [
            self._net(x[i : i + 4096].to(self.device), s[i : i + 4096].to(self.device)).cpu().numpy()
            for i in range(0, x.shape[0], 4096)
        ]

    def save(self, directory: Path) -> dict[str, object]:
        """Weights to transformer.pt (CPU tensors); covariate standardisation into the config."""
        if self._net is None or self._cov_mean is None or self._cov_std is None:
            raise NotFittedError("cannot save an unfitted transformer")
        state = {k: v.detach().cpu() for k, v in self._net.state_dict().items()}
        torch.save(state, directory / "transformer.pt")
        return {
            **self.hparams,
            "in_channels": int(self._net.embed.in_features // PATCH),
            "cov_mean": self._cov_mean.tolist(),
            "cov_std": self._cov_std.tolist(),
            "epochs_run": self.epochs_run,
        }

    @classmethod
    def load(cls, directory: Path, config: dict[str, object], device: str | None = "cpu") -> PatchTransformerModel:
        """Rebuild the network and load weights (never unpickles arbitrary objects)."""
        model = cls(device=device, **{k: config[k] for k in ("d_model", "layers", "heads", "dropout")})  # type: ignore[arg-type]
        model._cov_mean = np.asarray(config["cov_mean"], dtype=np.float32)
        model._cov_std = np.asarray(config["cov_std"], dtype=np.float32)
        net = _PatchEncoder(int(config["in_channels"]), **model.hparams)  # type: ignore[arg-type, call-overload]
        try:
            data = (directory / "transformer.pt").read_bytes()
            net.load_state_dict(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
        except (OSError, RuntimeError, KeyError) as exc:
            raise ModelArtifactError(f"cannot load transformer weights: {exc}") from exc
        model._net = net.to(model.device).eval()
        return model

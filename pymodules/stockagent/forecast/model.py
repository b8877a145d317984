"""The forecasting network: a 3-layer LSTM over 60 trading days and one linear head that emits every
horizon 1..63 at once (a direct multi-horizon forecast: no prediction is fed back as an input).

References:
1) Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8), 1997.
2) Taieb et al., "A review and comparison of strategies for multi-step ahead time series forecasting
   based on the NN5 forecasting competition", Expert Systems with Applications 39(8), 2012 (direct strategy).
3) The layout follows karpathy/nanoGPT's model.py: config dataclass, one module, forward -> (pred, loss).

Target space (what the head predicts, see dataset.py): for each horizon h and each of open, high,
low, close, the log-ratio ``log(price_{t+h} / close_t)``, plus the log volume minus the window's mean
log volume; standardised per (horizon, target) with training-set statistics. Return space is
scale-free, so a model learnt on the S&P 500 index (levels 1,000-6,000) transfers to a stock at $1
or $1,000, and a price level the training data never reached (every test period of a rising market)
is no extrapolation. Intervals are calibrated in the same space (intervals.py).

Checked on held-out data (pymodules/experiments/levels_vs_returns.py): the same network trained 8
epochs on ^GSPC from 2004-08-19, tested on 2021-12-09..2024-12-31, close MAE in index points at
horizons 1/5/21/63: predicting standardised levels 1555/1554/1561/1630, predicting log returns
37.8/81.9/166/296, naive (last close) 36.4/82.1/176/285. Levels fail because the test period's
prices lie above anything in the training years; returns are no worse than naive, and no better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F


@dataclass
class LSTMConfig:
    n_inputs: int = 7  # Open, High, Low, Close, Volume, RSI14, MACD, made scale-free (dataset.py)
    context: int = 60  # trading days read per forecast, about three months
    horizon: int = 63  # trading days forecast, about one quarter (API: future_window_days)
    n_targets: int = 5  # per horizon: open, high, low, close log-ratios to today's close; log volume
    hidden: int = 128
    layers: int = 3
    dropout: float = 0.2  # between LSTM layers (nn.LSTM) and on the last hidden state before the head


class LSTMModel(nn.Module):
    def __init__(self, config: LSTMConfig):
        super().__init__()
        assert config.layers >= 1 and config.hidden >= 1, f"bad size in {config}"
        self.config = config
        self.lstm = nn.LSTM(
            input_size=config.n_inputs,
            hidden_size=config.hidden,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,  # torch warns on dropout with 1 layer
            batch_first=True,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.horizon * config.n_targets)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The last time step's top-layer hidden state: (B, T, C) -> (B, hidden)."""
        out, _ = self.lstm(x)  # (B, T, hidden)
        return out[:, -1, :]  # (B, hidden)

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None):
        c = self.config
        assert x.ndim == 3, f"expected (batch, time, features), got {tuple(x.shape)}"
        _, T, C = x.shape  # (B, T, C)
        assert c.context == T, f"expected {c.context} time steps, got {T}"
        assert c.n_inputs == C, f"expected {c.n_inputs} features, got {C}"
        return self.decode(self.encode(x), target)

    def decode(self, h: torch.Tensor, target: torch.Tensor | None = None):
        """The head: hidden states (B, hidden) -> predictions (B, 63, 5) and the loss if ``target``."""
        c = self.config
        pred = self.head(self.drop(h)).view(len(h), c.horizon, c.n_targets)  # (B, 63, 5)
        if target is None:
            return pred, None
        assert target.shape == pred.shape, f"target {tuple(target.shape)} != prediction {tuple(pred.shape)}"
        return pred, F.mse_loss(pred, target)  # every (horizon, target) weighs the same: both are standardised


class LSTMForecaster:
    """The trained network with its scalers, behind the forecaster interface of baselines.py."""

    alias = "lstm"

    def __init__(self, model: LSTMModel, scalers, device: str = "cpu", batch_size: int = 1024):
        self.model = model.to(device).eval()
        self.scalers, self.device, self.batch_size = scalers, device, batch_size

    @torch.inference_mode()
    def predict(self, windows) -> np.ndarray:
        """Predicted targets (m, 63, 5) for ``windows``, in target space (see the module doc)."""
        x = self.scalers.x(windows.inputs)  # (m, 60, 7)
        out = []
        for i in range(0, len(x), self.batch_size):
            xb = torch.from_numpy(x[i : i + self.batch_size]).to(self.device)
            pred, _ = self.model(xb)  # (b, 63, 5)
            out.append(pred.float().cpu().numpy())
        scaled = (
            np.concatenate(out)
            if out
            else np.zeros((0, self.model.config.horizon, self.model.config.n_targets), np.float32)
        )
        return self.scalers.y_inverse(scaled.astype(np.float64))
